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

    /// Hands the `size` bytes of an entry's data, which start at byte `at` of the stream and
    /// which the tar crate has not read, to `out`; how many there were. Refused unless the
    /// stream is at `at`: a slip in the accounting would otherwise hand out the wrong bytes.
    pub(crate) fn pass_data(
        &self,
        at: u64,
        size: u64,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<u64> {
        let mut shared = self.0.borrow_mut();
        let here = shared.guard.position();
        if here != at {
            return Err(io::Error::other(format!(
                "internal error: the layer stream is at byte {here}, the entry's data starts at {at}"
            )));
        }
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

    /// Checks that the entry the tar crate just handed out, whose header is at `header_at`, is
    /// the one the guard last parsed: a difference means the two walk different structures,
    /// and the entry is refused rather than read one of two ways.
    pub(crate) fn check_entry(&self, header_at: u64) -> io::Result<()> {
        match self.0.borrow().guard.last_header_at() {
            Some(at) if at == header_at => Ok(()),
            at => Err(io::Error::other(format!(
                "internal error: the tar reader found an entry header at byte {header_at}, the guard at {at:?}"
            ))),
        }
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
                io::Error::other(
                    "internal error: a layer stream cannot seek back over data it handed out",
                )
            })?;
        shared.passed = 0;
        shared.guard.seek(SeekFrom::Current(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::entry::{Exact, FileData};
    use crate::extract::limits::Limits;

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
                        .pass_data(entry.raw_file_position(), entry.size(), &mut |chunk| {
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
            .pass_data(first.raw_file_position(), first.size(), &mut |_| {
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
        stream.check_entry(0).unwrap();
        let elsewhere = stream.check_entry(512).unwrap_err();
        assert!(
            elsewhere.to_string().contains("internal error"),
            "{elsewhere}"
        );
        let wrong = stream.pass_data(0, 10, &mut |_| Ok(())).unwrap_err();
        assert!(wrong.to_string().contains("internal error"), "{wrong}");
        assert_eq!(stream.pass_data(512, 10, &mut |_| Ok(())).unwrap(), 10);
        let err = reader.seek(SeekFrom::Current(4)).unwrap_err();
        assert!(err.to_string().contains("cannot seek back"), "{err}");
    }

    /// An entry's name and, for a regular file, its data.
    type Named = (Vec<u8>, Vec<u8>);

    /// Each entry as the applier sees it through a LayerStream (regular files handed out by
    /// `Exact::pass`), or the error.
    fn through_stream(tar: &[u8]) -> Result<Vec<Named>, String> {
        let stream = stream_of(tar.to_vec());
        let limits = Limits::default();
        let mut archive = tar::Archive::new(stream.clone());
        let mut out = Vec::new();
        for entry in archive.entries_with_seek().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            stream
                .check_entry(entry.raw_header_position())
                .map_err(|e| e.to_string())?;
            let name = entry.path_bytes().into_owned();
            let mut data = Vec::new();
            if is_regular(&entry) {
                let (size, data_at) = (entry.size(), entry.raw_file_position());
                let mut exact = Exact {
                    inner: &mut entry,
                    direct: Some(&stream),
                    data_at,
                    drained: false,
                    n: 0,
                    size,
                    limits: &limits,
                };
                exact
                    .pass(&mut [0u8; 64], &mut |c| {
                        data.extend_from_slice(c);
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
            }
            out.push((name, data));
        }
        Ok(out)
    }

    /// The same with the tar crate alone, reading every regular file through `Entry::read`.
    fn reference(tar: &[u8]) -> Result<Vec<Named>, String> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            let name = entry.path_bytes().into_owned();
            let mut data = Vec::new();
            if is_regular(&entry) {
                entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
                if (data.len() as u64) < entry.size() {
                    return Err("truncated".into());
                }
            }
            out.push((name, data));
        }
        Ok(out)
    }

    fn is_regular<R: Read>(entry: &tar::Entry<'_, R>) -> bool {
        matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        )
    }

    fn same(tar: &[u8]) {
        match (through_stream(tar), reference(tar)) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(_), Err(_)) => {}
            (got, want) => panic!("through the stream {got:?}, the tar crate alone {want:?}"),
        }
    }

    fn header(kind: tar::EntryType, name: &str, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_path(name).unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        h
    }

    fn raw(h: &tar::Header, data: &[u8]) -> Vec<u8> {
        let mut v = h.as_bytes().to_vec();
        v.extend_from_slice(data);
        v.resize(v.len().div_ceil(512) * 512, 0);
        v
    }

    /// Handing data out gives what reading it through the tar crate gives, in every header form
    /// around it, or fails where that fails.
    #[test]
    fn handed_out_data_is_what_the_tar_crate_reads() {
        let big: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8 | 1).collect();
        // A pax size record overrides the header's.
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("size", &b"700"[..])]).unwrap();
        let mut t = b.into_inner().unwrap();
        t.truncate(t.len() - 1024);
        t.extend(raw(&header(tar::EntryType::Regular, "p", 3), &big[..700]));
        t.extend(raw(&header(tar::EntryType::Regular, "q", 5), b"hello"));
        t.extend([0u8; 1024]);
        same(&t);
        assert_eq!(through_stream(&t).unwrap()[0].1, &big[..700]);
        // GNU long name and long link, an empty file, one of exactly a block.
        let mut b = tar::Builder::new(Vec::new());
        let long = "d/".repeat(120) + "f";
        let mut h = tar::Header::new_gnu();
        h.set_size(big.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, &long, &big[..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        b.append_link(&mut h, "s", &long).unwrap();
        for (name, data) in [("z", &b""[..]), ("e", &big[..512])] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            b.append_data(&mut h, name, data).unwrap();
        }
        same(&b.into_inner().unwrap());
        // Contiguous files and a global header between files.
        let mut t = raw(&header(tar::EntryType::Continuous, "c", 2), b"ab");
        t.extend(raw(
            &header(tar::EntryType::XGlobalHeader, "g", 23),
            b"22 comment=aaaaaaaaaaa\n",
        ));
        t.extend(raw(
            &header(tar::EntryType::Regular, "f", 1000),
            &big[..1000],
        ));
        same(&t);
        // No end-of-archive blocks, no padding, data cut short.
        same(&raw(
            &header(tar::EntryType::Regular, "a", 1024),
            &big[..1024],
        ));
        let mut t = raw(&header(tar::EntryType::Regular, "a", 10), &big[..10]);
        t.truncate(512 + 10);
        same(&t);
        let mut t = raw(&header(tar::EntryType::Regular, "a", 1000), &big[..1000]);
        t.truncate(512 + 600);
        same(&t);
        assert!(through_stream(&t).unwrap_err().contains("truncated"));
        // A directory claiming data is refused by the guard (readers disagree on it).
        let mut t = raw(&header(tar::EntryType::Directory, "d/", 600), &big[..600]);
        t.extend(raw(&header(tar::EntryType::Regular, "f", 3), b"abc"));
        assert!(through_stream(&t).unwrap_err().contains("readers disagree"));
    }

    /// The same over the threaded reader (a blob over 2 MiB), with files across its chunks.
    #[test]
    fn handed_out_data_crosses_the_reader_chunks() {
        let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut b = tar::Builder::new(Vec::new());
        let sizes = [
            1_048_000usize,
            1 << 20,
            1,
            3_000_000,
            511,
            0,
            1_048_576 - 512,
        ];
        for (i, len) in sizes.iter().enumerate() {
            let mut h = tar::Header::new_gnu();
            h.set_size(*len as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, format!("f{i}"), &big[..*len])
                .unwrap();
        }
        let t = b.into_inner().unwrap();
        assert!(t.len() > 4 << 20);
        same(&t);
        assert_eq!(through_stream(&t).unwrap().len(), sizes.len());
        same(&t[..3 << 20]);
    }

    /// A hand-out that failed part way (here at `--max-size`) leaves the entry truncated, on
    /// every later read or hand-out: never an empty rest that passes for the end.
    #[test]
    fn after_a_failed_hand_out_the_entry_stays_truncated() {
        let mut t = raw(&header(tar::EntryType::Regular, "a", 3000), &[7u8; 3000]);
        t.extend([0u8; 1024]);
        let stream = stream_of(t);
        let limits = Limits::new(10, 10, Some(100), false);
        let mut archive = tar::Archive::new(stream.clone());
        let mut entries = archive.entries_with_seek().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        let data_at = entry.raw_file_position();
        let mut exact = Exact {
            inner: &mut entry,
            direct: Some(&stream),
            data_at,
            drained: false,
            n: 0,
            size: 3000,
            limits: &limits,
        };
        let err = exact.pass(&mut [0u8; 64], &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("max-size"), "{err}");
        let again = exact.pass(&mut [0u8; 64], &mut |_| Ok(())).unwrap_err();
        let read = exact.read_to_end(&mut Vec::new()).unwrap_err();
        for e in [again, read] {
            assert!(e.to_string().contains("ends after"), "{e}");
        }
    }
}
