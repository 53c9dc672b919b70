//! Reading one tar entry of a layer: its metadata, the kind of a special file, its data read
//! to exactly the size its header gives, and what a failed sink call means.

use std::io::{self, Read};

use super::budget::OverLimit;
use super::fs::Meta;
use super::layer_stream::LayerStream;
use super::limits::{LimitReached, Limits};
use super::merge::Special;
use crate::error::Problem;
use crate::targuard::PaxTap;

/// The kind of a fifo or device node entry.
pub(crate) fn special_of<R: Read>(entry: &tar::Entry<'_, R>) -> Option<Special> {
    let h = entry.header();
    let major = || h.device_major().ok().flatten().unwrap_or(0);
    let minor = || h.device_minor().ok().flatten().unwrap_or(0);
    match h.entry_type() {
        tar::EntryType::Fifo => Some(Special::Fifo),
        tar::EntryType::Char => Some(Special::Char(major(), minor())),
        tar::EntryType::Block => Some(Special::Block(major(), minor())),
        _ => None,
    }
}

/// What a failed sink call means: a truncated entry, a memory bound reached, or a write error.
pub(crate) fn problem_of(e: io::Error) -> Problem {
    if Exact::<&[u8]>::is_truncation(&e) {
        return Problem::CorruptTar(e);
    }
    if let Some(over) = OverLimit::find(&e) {
        return Problem::OverLimit(over.clone());
    }
    if let Some(limit) = LimitReached::find(&e) {
        return Problem::Limit(limit.clone());
    }
    if let Some(m) = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<super::dir_sink::MarkerThroughSymlink>())
    {
        return Problem::BadContent {
            what: "whiteout",
            detail: m.to_string(),
        };
    }
    Problem::Write(e)
}

/// Mode, owner, mtime and xattrs (pax `SCHILY.xattr.*` records) of an entry; its pax records
/// as the guard read them (`pax`, tapped from the guard the entry was read through).
pub(crate) fn meta_of<R: Read>(entry: &tar::Entry<'_, R>, pax: &PaxTap) -> io::Result<Meta> {
    let h = entry.header();
    let mut meta = Meta {
        mode: h.mode()?,
        uid: h.uid()?,
        gid: h.gid()?,
        mtime: h.mtime()?,
        xattrs: Vec::new(),
    };
    for (key, value) in pax.records(entry.raw_header_position())? {
        let number = || {
            // pax times may carry a fraction: `1700000000.5`.
            let whole = value.split(|b| *b == b'.').next().unwrap_or_default();
            std::str::from_utf8(whole).ok()?.parse::<u64>().ok()
        };
        match key.as_slice() {
            // pax records override the header's fields (ids and times too large for it).
            b"uid" => meta.uid = number().unwrap_or(meta.uid),
            b"gid" => meta.gid = number().unwrap_or(meta.gid),
            b"mtime" => meta.mtime = number().unwrap_or(meta.mtime),
            _ => {
                let Some(name) = key.strip_prefix(b"SCHILY.xattr.") else {
                    continue;
                };
                // Docker would set it (a name is any C string); dropped, the tree would differ.
                let Ok(name) = std::str::from_utf8(name) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the xattr name `SCHILY.xattr.{}` is not UTF-8 (not supported)",
                            String::from_utf8_lossy(name)
                        ),
                    ));
                };
                // Linux's XATTR_SIZE_MAX: larger values cannot be set anyway.
                let len = value.len();
                if len > 65536 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the xattr {name} is {len} bytes (the limit is 65536)"),
                    ));
                }
                meta.xattrs.push((name.to_string(), value));
            }
        }
    }
    // u32::MAX itself is chown's "leave unchanged" (-1), which would leave the file root's.
    if meta.uid >= u64::from(u32::MAX) || meta.gid >= u64::from(u32::MAX) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "owner {}:{} does not fit a Linux uid/gid",
                meta.uid, meta.gid
            ),
        ));
    }
    Ok(meta)
}

/// Entry data that must be exactly as long as its header says: the tar parser ends a short
/// entry quietly, and a truncated file must not pass for a complete one.
pub(crate) struct Exact<'a, R> {
    pub(crate) inner: &'a mut R,
    /// The layer stream `inner` reads from, when the data may be handed out straight from its
    /// buffers (a plain regular file's, not read yet).
    pub(crate) direct: Option<&'a LayerStream>,
    /// Where the data starts in the layer stream (the tar crate's `raw_file_position`).
    pub(crate) data_at: u64,
    /// Set once the data went out through `direct`: `inner` must not be read after that (it
    /// would read on past the entry).
    pub(crate) drained: bool,
    pub(crate) n: u64,
    pub(crate) size: u64,
    /// `--max-size` counts the bytes before the sink writes them.
    pub(crate) limits: &'a Limits,
}

#[derive(Debug, thiserror::Error)]
#[error("the entry's data ends after {got} of its {size} bytes (truncated layer?)")]
struct Truncated {
    got: u64,
    size: u64,
}

impl<R> Exact<'_, R> {
    fn is_truncation(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Truncated>())
    }

    /// After the data went out directly there is nothing more to read; if it did not all go
    /// out (the stream ended, or the hand-out failed part way), that is a truncation, every time
    /// it is asked.
    fn drained_end(&self) -> io::Result<()> {
        if self.n < self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                Truncated {
                    got: self.n,
                    size: self.size,
                },
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.drained {
            return self.drained_end().map(|()| 0);
        }
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        self.limits.bytes(n as u64)?;
        if n == 0 && !buf.is_empty() && self.n < self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                Truncated {
                    got: self.n,
                    size: self.size,
                },
            ));
        }
        Ok(n)
    }
}

impl<R: Read> FileData for Exact<'_, R> {
    fn pass(
        &mut self,
        scratch: &mut [u8],
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.drained {
            return self.drained_end();
        }
        let direct = match self.direct {
            Some(stream) if self.n == 0 => stream,
            _ => return pass_by_reading(self, scratch, out),
        };
        self.drained = true;
        let (n, limits) = (&mut self.n, self.limits);
        // Counted once the sink took them: a chunk refused or failed did not go out.
        direct.pass_data(self.data_at, self.size, &mut |chunk| {
            limits.bytes(chunk.len() as u64)?;
            out(chunk)?;
            *n += chunk.len() as u64;
            Ok(())
        })?;
        self.drained_end()
    }
}

/// A regular file's data on its way to a sink.
pub trait FileData: Read {
    /// Hands all of the data to `out`, chunk by chunk, read through `scratch`; a source that
    /// holds the bytes in buffers of its own hands those out instead, without the copy.
    fn pass(
        &mut self,
        scratch: &mut [u8],
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        pass_by_reading(self, scratch, out)
    }
}

impl FileData for std::fs::File {}

fn pass_by_reading<R: Read + ?Sized>(
    data: &mut R,
    scratch: &mut [u8],
    out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    loop {
        match data.read(scratch) {
            Ok(0) => return Ok(()),
            Ok(n) => out(&scratch[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_with_pax(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().copied()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        h.set_uid(7);
        h.set_gid(8);
        h.set_mtime(9);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", std::io::empty()).unwrap();
        b.into_inner().unwrap()
    }

    fn meta(tar: &[u8]) -> io::Result<Meta> {
        let mut guard = crate::targuard::TarGuard::new(tar);
        let pax = guard.pax_tap();
        let mut archive = tar::Archive::new(guard);
        let entry = archive.entries()?.next().expect("one entry")?;
        meta_of(&entry, &pax)
    }

    #[test]
    fn pax_records_override_ids_and_times() {
        let tar = entry_with_pax(&[
            ("uid", b"5000000"),
            ("gid", b"6000000"),
            ("mtime", b"1700000000.25"),
        ]);
        let m = meta(&tar).unwrap();
        assert_eq!(
            (m.uid, m.gid, m.mtime),
            (5_000_000, 6_000_000, 1_700_000_000)
        );
        let plain = meta(&entry_with_pax(&[("comment", b"x")])).unwrap();
        assert_eq!((plain.uid, plain.gid, plain.mtime), (7, 8, 9));
    }

    #[test]
    fn owners_beyond_32_bits_are_refused_not_truncated_to_root() {
        let tar = entry_with_pax(&[("uid", b"4294967296")]);
        let err = meta(&tar).unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }

    #[test]
    fn a_binary_xattr_value_holding_a_newline_is_read_whole() {
        // cap_dac_override and cap_fowner: permitted bits 0x0a, a newline byte.
        let capability = [
            1, 0, 0, 2, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let tar = entry_with_pax(&[
            ("SCHILY.xattr.security.capability", &capability[..]),
            ("SCHILY.xattr.user.note", b"two\nlines"),
        ]);
        let m = meta(&tar).unwrap();
        assert_eq!(
            m.xattrs,
            vec![
                ("security.capability".to_string(), capability.to_vec()),
                ("user.note".to_string(), b"two\nlines".to_vec()),
            ]
        );
        assert_eq!((m.uid, m.gid, m.mtime), (7, 8, 9));
    }

    /// Docker would set an xattr whose name is not UTF-8; strata cannot carry it, and says so
    /// rather than write a tree without it.
    #[test]
    fn an_xattr_name_that_is_not_utf8_is_refused_not_dropped() {
        let body = b"SCHILY.xattr.user.\xff=v\n";
        let record = [format!("{} ", body.len() + 3).as_bytes(), body].concat();
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_path("././@PaxHeader").unwrap();
        h.set_size(record.len() as u64);
        h.set_cksum();
        let mut tar = h.as_bytes().to_vec();
        tar.extend_from_slice(&record);
        tar.resize(1024, 0);
        tar.extend(entry_with_pax(&[]));
        let err = meta(&tar).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }
}
