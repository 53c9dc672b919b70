//! A layer's guarded tar stream shared by the tar crate, which reads the headers from it, and
//! the applier, which hands a regular file's data to the sink straight from the stream's
//! buffers. Through the tar crate's `Entry` data can only be copied out, one more copy of every
//! byte on the thread that writes the tree, which is the slower of a plain layer's two.

use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};
use std::rc::Rc;

use super::pipe::Pipelined;
use crate::targuard::TarGuard;

#[derive(Clone)]
pub(crate) struct LayerStream(Rc<RefCell<Shared>>);

struct Shared {
    guard: TarGuard<Pipelined>,
    /// Bytes handed out by [`LayerStream::pass_data`] since the tar crate last moved: its own
    /// position does not count them, so its next skip (a seek, see below) is that much shorter.
    passed: u64,
}

impl LayerStream {
    pub(crate) fn new(guard: TarGuard<Pipelined>) -> LayerStream {
        LayerStream(Rc::new(RefCell::new(Shared { guard, passed: 0 })))
    }

    /// Hands the next `size` bytes (an entry's data, which the tar crate has not read) to
    /// `out`; how many there were.
    pub(crate) fn pass_data(
        &self,
        size: u64,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<u64> {
        let mut shared = self.0.borrow_mut();
        // Counted as they are handed out, so that what was consumed is known also when a write
        // fails part way (the guard consumes every chunk it hands out).
        let mut handed = 0u64;
        let got = shared.guard.pass(size, &mut |chunk| {
            handed += chunk.len() as u64;
            out(chunk)
        });
        shared.passed += handed;
        got
    }

    /// The guard back, once the tar crate's handle is dropped (`None` while it is not).
    pub(crate) fn into_guard(self) -> Option<TarGuard<Pipelined>> {
        Rc::try_unwrap(self.0)
            .ok()
            .map(|shared| shared.into_inner().guard)
    }
}

impl Read for LayerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().guard.read(buf)
    }
}

/// The tar crate moves to the next header with a forward seek over what it believes is left of
/// the entry (`Archive::entries_with_seek`); what was handed out directly is no longer there.
impl Seek for LayerStream {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut shared = self.0.borrow_mut();
        let SeekFrom::Current(delta) = to else {
            return shared.guard.seek(to);
        };
        let left = u64::try_from(delta)
            .ok()
            .and_then(|d| d.checked_sub(shared.passed))
            .and_then(|d| i64::try_from(d).ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a layer stream cannot seek back over data it handed out",
                )
            })?;
        shared.passed = 0;
        shared.guard.seek(SeekFrom::Current(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn stream_of(tar: Vec<u8>) -> LayerStream {
        let size = tar.len() as u64;
        let blob = Box::new(io::Cursor::new(tar));
        LayerStream::new(TarGuard::new(Pipelined::start_sized(
            blob,
            true,
            Some(size),
        )))
    }

    /// Data handed out directly is not skipped a second time: the next header is found where
    /// it is, whether the entry before was handed out, read, or passed over.
    #[test]
    fn the_tar_crate_moves_on_after_data_handed_out() {
        let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let files: [(&str, &[u8]); 4] =
            [("a", &big), ("b", b"bee"), ("c", &big[..700]), ("d", b"")];
        let stream = stream_of(tar_of(&files));
        let mut archive = tar::Archive::new(stream.clone());
        let mut seen = Vec::new();
        for (i, entry) in archive.entries_with_seek().unwrap().enumerate() {
            let mut entry = entry.unwrap();
            let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
            let mut data = Vec::new();
            match i {
                0 | 3 => {
                    let got = stream
                        .pass_data(entry.size(), &mut |chunk| {
                            data.extend_from_slice(chunk);
                            Ok(())
                        })
                        .unwrap();
                    assert_eq!(got, entry.size());
                }
                1 => {
                    entry.read_to_end(&mut data).unwrap();
                }
                _ => data = files[i].1.to_vec(), // passed over by the tar crate's seek
            }
            seen.push((name, data));
        }
        let want: Vec<_> = files
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_vec()))
            .collect();
        assert_eq!(seen, want);
        drop(archive);
        let mut rest = stream
            .into_guard()
            .expect("the tar crate's handle is gone")
            .into_inner();
        io::copy(&mut rest, &mut io::sink()).unwrap();
        assert!(rest.digests().is_some(), "the stream was read to its end");
    }

    /// A write that fails part way through the data still leaves the tar crate at the next
    /// header (what was consumed before the failure is not skipped again).
    #[test]
    fn the_next_header_is_found_after_a_failed_hand_out() {
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 13) as u8).collect();
        let stream = stream_of(tar_of(&[("a", &big), ("b", b"bee")]));
        let mut archive = tar::Archive::new(stream.clone());
        let mut entries = archive.entries_with_seek().unwrap();
        let first = entries.next().unwrap().unwrap();
        let mut calls = 0;
        let err = stream
            .pass_data(first.size(), &mut |_| {
                calls += 1;
                Err(io::Error::other("disk full"))
            })
            .unwrap_err();
        assert_eq!((err.to_string().as_str(), calls), ("disk full", 1));
        drop(first);
        let mut second = entries.next().unwrap().unwrap();
        assert_eq!(&*second.path_bytes(), b"b");
        let mut data = Vec::new();
        second.read_to_end(&mut data).unwrap();
        assert_eq!(data, b"bee");
    }

    #[test]
    fn a_seek_back_over_handed_out_data_is_refused() {
        let stream = stream_of(tar_of(&[("a", b"0123456789")]));
        let mut reader = stream.clone();
        let mut header = [0u8; 512];
        reader.read_exact(&mut header).unwrap();
        assert_eq!(stream.pass_data(10, &mut |_| Ok(())).unwrap(), 10);
        let err = reader.seek(SeekFrom::Current(4)).unwrap_err();
        assert!(err.to_string().contains("cannot seek back"), "{err}");
    }
}
