//! A regular file's data into the directory: chunk by chunk, or with its zero runs as holes.

use std::io::{self, Read};

use super::SpaceGuard;
use crate::extract::entry::FileData;

pub(super) fn copy_file_data(
    data: &mut dyn FileData,
    file: &mut std::fs::File,
    buf: &mut [u8],
    space: &mut SpaceGuard,
) -> io::Result<()> {
    use std::io::Write;
    data.pass(buf, &mut |chunk| {
        space.charge(file, chunk.len() as u64)?;
        file.write_all(chunk)
    })
}

/// Copies `data` into `file`, seeking over blocks of zeros instead of writing them.
pub(super) fn copy_sparse(
    data: &mut dyn Read,
    file: &mut std::fs::File,
    size: u64,
    space: &mut SpaceGuard,
) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    const BLOCK: usize = 64 * 1024;
    let mut buf = vec![0u8; BLOCK];
    loop {
        // Full blocks keep the holes aligned to the filesystem's blocks.
        let mut filled = 0;
        while filled < BLOCK {
            match data.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        if buf[..filled].iter().all(|&b| b == 0) {
            file.seek(SeekFrom::Current(filled as i64))?;
        } else {
            space.charge(file, filled as u64)?;
            file.write_all(&buf[..filled])?;
        }
        if filled < BLOCK {
            break;
        }
    }
    // A trailing hole: only the length says it is there.
    file.set_len(size)
}
