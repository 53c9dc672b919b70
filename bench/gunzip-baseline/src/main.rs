//! gunzip-baseline FILE...: decompress each gzip file (all members) in turn, sequentially, into a
//! 256 KiB buffer that is thrown away. Prints "<decompressed bytes>\t<file>" per file on stdout.
//! Does no hashing and no tar parsing: it is the floor for `strata verify`'s decompression.

use std::fs::File;
use std::io::{BufReader, Read};
use std::process::ExitCode;

const BUF: usize = 256 * 1024;

fn gunzip(path: &str) -> std::io::Result<u64> {
    let file = BufReader::with_capacity(BUF, File::open(path)?);
    let mut decoder = flate2::bufread::MultiGzDecoder::new(file);
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        match decoder.read(&mut buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: gunzip-baseline FILE...");
        return ExitCode::from(2);
    }
    for path in &paths {
        match gunzip(path) {
            Ok(n) => println!("{n}\t{path}"),
            Err(e) => {
                eprintln!("gunzip-baseline: {path}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
