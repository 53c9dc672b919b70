//! Rebuilds a layer's original tar from what a Docker data root keeps of it: the layer's
//! `tar-split.json.gz` (one JSON object per line: raw header and padding bytes, or "here comes
//! file NAME, SIZE bytes, CRC-64 X") and the unpacked files in `overlay2/<cache-id>/diff/`.
//! Concatenated, they are the exact tar `docker load` or a pull was given, so its sha256 is the
//! layer's diffID: hashing this stream proves the files on disk are the layer's.
//!
//! Everything read is untrusted: lines are capped, names with `..` are refused, files are
//! opened beneath the `diff/` directory without following any symlink, and a file whose size
//! or CRC-64 differs from the record fails the stream with an error naming it. Memory is one
//! line plus one read buffer, whatever the layer's size.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::OwnedFd;

use flate2::read::MultiGzDecoder;
use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

mod codec;

pub use codec::{base64_decode, Crc64};

/// A tar-split line holds one tar header (with its pax/GNU extensions) or padding; beyond this
/// it was not written by Docker.
pub const MAX_LINE: u64 = 32 * 1024 * 1024;

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// A fault of the data root, with the file it is about (relative to the data root).
#[derive(Debug, Clone)]
pub struct Fault {
    pub path: String,
    pub detail: String,
    /// The files on disk are not the layer's (changed, missing, resized): a verification
    /// finding, not an unreadable input.
    pub changed: bool,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.detail)
    }
}

impl std::error::Error for Fault {}

impl Fault {
    pub fn io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The fault inside an I/O error this module made, if it is one.
    pub fn of(e: &io::Error) -> Option<&Fault> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Fault>())
    }
}

#[derive(serde::Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_raw: Option<String>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    payload: Option<String>,
}

enum Current {
    Idle,
    Bytes {
        buf: Vec<u8>,
        at: usize,
    },
    File {
        file: File,
        name: String,
        size: u64,
        left: u64,
        crc: Crc64,
        want: u64,
    },
    /// Zeros standing in for a file that is missing or short on disk (collecting mode only):
    /// the stream keeps its shape, so the files after it are still checked.
    Filler {
        left: u64,
    },
    Done,
}

/// The original layer tar, read from a tar-split and a `diff/` directory.
pub struct TarSplitReader {
    lines: BufReader<MultiGzDecoder<File>>,
    diff: OwnedFd,
    /// `overlay2/<cache-id>/diff`, for naming files in errors.
    diff_display: String,
    split_display: String,
    line_no: u64,
    line: Vec<u8>,
    current: Current,
    /// When set, a file changed on disk is recorded here and the stream goes on (the diffID
    /// will not match, and every changed file is named), instead of failing at the first.
    collected: Option<Vec<Fault>>,
}

impl TarSplitReader {
    /// `split` is the opened `tar-split.json.gz`, `diff` the opened `diff/` directory.
    pub fn new(
        split: File,
        split_display: String,
        diff: OwnedFd,
        diff_display: String,
    ) -> TarSplitReader {
        TarSplitReader {
            lines: BufReader::with_capacity(64 * 1024, MultiGzDecoder::new(split)),
            diff,
            diff_display,
            split_display,
            line_no: 0,
            line: Vec::new(),
            current: Current::Idle,
            collected: None,
        }
    }

    /// Records files changed on disk instead of failing on the first; see [`Self::faults`].
    pub fn collecting(mut self) -> TarSplitReader {
        self.collected = Some(Vec::new());
        self
    }

    /// The changed files found so far in collecting mode.
    pub fn faults(&self) -> &[Fault] {
        self.collected.as_deref().unwrap_or(&[])
    }

    /// In collecting mode a fault about changed content is kept and Ok(true) returned; any
    /// other error is handed back.
    fn tolerate(&mut self, err: io::Error) -> io::Result<bool> {
        let changed = Fault::of(&err).filter(|f| f.changed).cloned();
        match (&mut self.collected, changed) {
            (Some(list), Some(fault)) => {
                list.push(fault);
                Ok(true)
            }
            _ => Err(err),
        }
    }

    fn split_fault(&self, detail: String) -> io::Error {
        Fault {
            path: self.split_display.clone(),
            detail: format!("line {}: {detail}", self.line_no),
            changed: false,
        }
        .io()
    }

    fn file_fault(&self, name: &str, detail: String, changed: bool) -> io::Error {
        Fault {
            path: format!(
                "{}/{}",
                self.diff_display,
                crate::rawname::escape_for_message(name, 300)
            ),
            detail,
            changed,
        }
        .io()
    }

    /// Reads the next line and makes it the current entry.
    fn advance(&mut self) -> io::Result<()> {
        loop {
            self.line.clear();
            let n = (&mut self.lines)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| {
                    Fault {
                        path: self.split_display.clone(),
                        detail: format!("not a readable gzip stream ({e})"),
                        changed: false,
                    }
                    .io()
                })?;
            if n == 0 {
                self.current = Current::Done;
                return Ok(());
            }
            self.line_no += 1;
            if n as u64 > MAX_LINE {
                return Err(self.split_fault(format!("longer than the {MAX_LINE}-byte limit")));
            }
            if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let line: Line = serde_json::from_slice(&self.line)
                .map_err(|e| self.split_fault(format!("not a tar-split entry ({e})")))?;
            match line.kind {
                2 => {
                    let payload = line.payload.unwrap_or_default();
                    let buf = base64_decode(&payload)
                        .ok_or_else(|| self.split_fault("payload is not base64".into()))?;
                    self.current = Current::Bytes { buf, at: 0 };
                    return Ok(());
                }
                1 => {
                    let size = line.size.unwrap_or(0);
                    if size < 0 {
                        return Err(self.split_fault(format!("negative size {size}")));
                    }
                    // Directories, links and empty files have no content to read.
                    if size == 0 {
                        continue;
                    }
                    return self.open_file(line, size as u64);
                }
                other => return Err(self.split_fault(format!("unknown entry type {other}"))),
            }
        }
    }

    fn open_file(&mut self, line: Line, size: u64) -> io::Result<()> {
        let name_bytes = match (&line.name_raw, &line.name) {
            (Some(raw), _) => base64_decode(raw)
                .ok_or_else(|| self.split_fault("name_raw is not base64".into()))?,
            (None, Some(name)) => name.as_bytes().to_vec(),
            (None, None) => return Err(self.split_fault("a file entry without a name".into())),
        };
        let shown = String::from_utf8_lossy(&name_bytes).into_owned();
        let rel = relative(&name_bytes)
            .ok_or_else(|| self.split_fault(format!("refused file name `{}`", shown)))?;
        let want = match line.payload.as_deref().and_then(base64_decode) {
            Some(sum) if sum.len() == 8 => {
                u64::from_be_bytes(sum.try_into().expect("checked length"))
            }
            _ => {
                return Err(self.split_fault(format!("file `{shown}` has no valid CRC-64 payload")))
            }
        };
        let opened = rfs::openat2(
            &self.diff,
            rel.as_slice(),
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY,
            Mode::empty(),
            BENEATH,
        );
        let fd = match opened {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                return self.fill_in(
                    size,
                    self.file_fault(
                        &shown,
                        format!("missing (tar-split.json.gz records {size} bytes)"),
                        true,
                    ),
                )
            }
            Err(Errno::LOOP) | Err(Errno::XDEV) => {
                return self.fill_in(
                    size,
                    self.file_fault(
                        &shown,
                        "is a symlink or lies under one; links in a data root are not followed"
                            .into(),
                        true,
                    ),
                )
            }
            Err(e) => return Err(self.file_fault(&shown, format!("cannot open it ({e})"), false)),
        };
        let stat = rfs::fstat(&fd).map_err(io::Error::from)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            let fault = self.file_fault(
                &shown,
                "not a regular file (tar-split.json.gz records file content)".into(),
                true,
            );
            return self.fill_in(size, fault);
        }
        self.current = Current::File {
            file: File::from(fd),
            name: shown,
            size,
            left: size,
            crc: Crc64::new(),
            want,
        };
        Ok(())
    }

    /// A file that cannot be read as recorded: fails the stream, or in collecting mode is
    /// recorded and replaced by `left` zeros.
    fn fill_in(&mut self, left: u64, fault: io::Error) -> io::Result<()> {
        self.tolerate(fault)?;
        self.current = Current::Filler { left };
        Ok(())
    }

    /// The current file was read to its recorded size: it must end there and match its CRC.
    fn finish_file(&mut self) -> io::Result<()> {
        let Current::File {
            file,
            name,
            size,
            crc,
            want,
            ..
        } = &mut self.current
        else {
            return Ok(());
        };
        let mut probe = [0u8; 1];
        let extra = file.read(&mut probe)?;
        let (name, size, found, want) = (name.clone(), *size, crc.value(), *want);
        self.current = Current::Idle;
        if extra > 0 {
            let fault = self.file_fault(
                &name,
                format!("changed on disk: larger than the {size} bytes tar-split.json.gz records"),
                true,
            );
            self.tolerate(fault)?;
        } else if found != want {
            let fault = self.file_fault(
                &name,
                format!(
                    "changed on disk: CRC-64 {found:016x}, tar-split.json.gz records {want:016x}"
                ),
                true,
            );
            self.tolerate(fault)?;
        }
        Ok(())
    }
}

/// A tar-split name as a path relative to `diff/`: `/` and `.` components dropped, `..` and
/// NUL refused.
fn relative(name: &[u8]) -> Option<Vec<u8>> {
    if name.contains(&0) {
        return None;
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join(&b'/'))
}

impl Read for TarSplitReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.current {
                Current::Done => return Ok(0),
                Current::Filler { left } => {
                    if *left == 0 {
                        self.current = Current::Idle;
                        continue;
                    }
                    let n = out.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    out[..n].fill(0);
                    *left -= n as u64;
                    return Ok(n);
                }
                Current::Idle => self.advance()?,
                Current::Bytes { buf, at } => {
                    if *at == buf.len() {
                        self.current = Current::Idle;
                        continue;
                    }
                    let n = out.len().min(buf.len() - *at);
                    out[..n].copy_from_slice(&buf[*at..*at + n]);
                    *at += n;
                    return Ok(n);
                }
                Current::File {
                    file,
                    left,
                    crc,
                    size,
                    name,
                    ..
                } => {
                    if *left == 0 {
                        self.finish_file()?;
                        continue;
                    }
                    let cap = out.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = file.read(&mut out[..cap])?;
                    if n == 0 {
                        let (name, size, left) = (name.clone(), *size, *left);
                        let got = size - left;
                        let fault = self.file_fault(
                            &name,
                            format!(
                                "changed on disk: {got} bytes, tar-split.json.gz records {size}"
                            ),
                            true,
                        );
                        self.fill_in(left, fault)?;
                        continue;
                    }
                    crc.update(&out[..n]);
                    *left -= n as u64;
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_beneath_diff() {
        assert_eq!(relative(b"./etc/hosts").unwrap(), b"etc/hosts");
        assert_eq!(relative(b"/usr//bin/./sh").unwrap(), b"usr/bin/sh");
        assert!(relative(b"../etc/shadow").is_none());
        assert!(relative(b"a/../../b").is_none());
        assert!(relative(b"./").is_none());
        assert!(relative(b"a\0b").is_none());
    }
}
