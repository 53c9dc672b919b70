//! Arbitrary bytes as a layer: through `TarGuard` and the `tar` crate's reader the way strata
//! reads layers (every entry's header, names, pax records and data read out, sparse entries
//! counted against a budget), and through `strata::layer::scan_layer` (the one pass `inspect`
//! and `verify` make). Never panics; memory stays bounded (run with `-rss_limit_mb`/
//! `-malloc_limit_mb`: the guard must refuse huge pax/GNU long-name records before the tar
//! crate allocates them). The guard must walk the structure the tar crate walks: each entry the
//! tar crate hands out has its header where the guard last parsed one, and the pax records the
//! guard hands out for it (read by their length prefix, as Docker reads them) are the tar
//! crate's reading of them wherever that reading succeeds.
#![no_main]

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use strata::targuard::{SparseBudget, TarGuard};

/// At most this much entry data is read per input: a sparse entry may claim terabytes of holes
/// (the budget refuses past 16 GiB, far beyond what a fuzz run can read).
const READ_CAP: u64 = 8 << 20;

/// The guard, shared so that its state can be seen while the tar crate reads through it.
struct Shared<'a>(Rc<RefCell<TarGuard<&'a [u8]>>>);

impl Read for Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

fn walk(data: &[u8], expanding: bool) -> io::Result<()> {
    let mut guard = if expanding {
        TarGuard::expanding(data, SparseBudget::default())
    } else {
        TarGuard::new(data)
    };
    let tap = guard.pax_tap();
    let guard = Rc::new(RefCell::new(guard));
    let mut archive = tar::Archive::new(Shared(guard.clone()));
    let mut read = 0u64;
    for entry in archive.entries()? {
        let mut entry = entry?;
        assert_eq!(
            guard.borrow().last_header_at(),
            Some(entry.raw_header_position()),
            "the tar crate and the guard disagree on where this entry's header is"
        );
        let h = entry.header();
        let _ = (
            h.entry_type(),
            h.mode(),
            h.uid(),
            h.gid(),
            h.mtime(),
            h.size(),
        );
        let _ = (h.device_major(), h.device_minor(), h.username_bytes());
        let _ = entry.path_bytes();
        let _ = entry.link_name_bytes();
        let records = tap
            .records(entry.raw_header_position())
            .expect("the guard hands out the pax records of the entry the tar crate is on");
        // A global header's own records, which the tar crate hands out for it, are global
        // ones Docker ignores; Go drops the local ones before it: the guard gives it none.
        let pax = match entry.header().entry_type().is_pax_global_extensions() {
            true => Ok(None),
            false => entry.pax_extensions(),
        };
        if let Ok(None) = pax {
            assert!(records.is_empty(), "pax records the tar crate does not see");
        }
        if let Ok(Some(exts)) = pax {
            let mut in_step = true;
            for (i, e) in exts.enumerate() {
                let Ok(e) = e else {
                    // A record whose value holds a newline: the tar crate cannot read it,
                    // nor (in step) the ones after it.
                    in_step = false;
                    continue;
                };
                let record = (e.key_bytes().to_vec(), e.value_bytes().to_vec());
                if in_step {
                    assert_eq!(
                        records.get(i),
                        Some(&record),
                        "pax record {i} read two ways"
                    );
                } else {
                    assert!(
                        records.contains(&record),
                        "a pax record only the tar crate sees"
                    );
                }
            }
        }
        let _ = strata::rawname::from_bytes(&entry.path_bytes());
        let budget = READ_CAP.saturating_sub(read);
        if budget == 0 {
            break;
        }
        read += io::copy(&mut (&mut entry).take(budget), &mut io::sink())?;
    }
    // Drain what follows the end marker, as strata does before comparing digests.
    let mut rest = archive.into_inner();
    io::copy(&mut (&mut rest).take(READ_CAP), &mut io::sink())?;
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = walk(data, false);
    let _ = walk(data, true);
    let size = Some(data.len() as u64);
    let scanned = strata::layer::scan_layer(data, None, size);
    // One input in eight also goes through the threaded scan (the one big blobs get), which
    // must give the same stats, or fail too (which error comes first may differ: the two read
    // ahead by different amounts) with the same stored digest; the thread it spawns would slow
    // every input down.
    if data.len() % 8 == 0 {
        let threaded = strata::layer::scan_layer(data, None, None);
        match (&scanned, &threaded) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.stored, b.stored),
            _ => panic!("inline {scanned:?} but threaded {threaded:?}"),
        }
    }
    if let Ok(stats) = scanned {
        // A plain tar is its own diffID.
        if stats.compression == strata::layer::Compression::None {
            assert_eq!(stats.digest(), stats.diff_id());
            assert_eq!(stats.compressed_size(), data.len() as u64);
        }
    }
    if let Ok((_, mut r)) = strata::layer::decompressed(data) {
        let _ = io::copy(&mut r.by_ref().take(READ_CAP), &mut io::sink());
    }
});
