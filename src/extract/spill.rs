//! Paths kept for the end of a layer, on disk instead of in memory: a layer store unpacking
//! layers of 60,000 whiteouts with 4,000-byte paths, several at once, kept gigabytes of them.
//! The first [`IN_MEMORY`] bytes stay in memory; the rest go to an unnamed file (`O_TMPFILE`)
//! on the destination's filesystem, gone as soon as it is closed, even after a crash.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::fd::OwnedFd;

use super::budget::OverLimit;

/// Bytes of paths kept in memory before the spill file is used.
const IN_MEMORY: usize = 1 << 20;
/// Bytes of paths one layer may spill: far more than any real image, and bounded.
pub const MAX_SPILLED: u64 = 4 << 30;

pub struct PathSpill {
    buf: Vec<u8>,
    file: Option<File>,
    spilled: u64,
    /// What the paths are, for the error past [`MAX_SPILLED`].
    what: &'static str,
}

impl Default for PathSpill {
    fn default() -> PathSpill {
        PathSpill::new("paths kept for the end of a layer")
    }
}

impl PathSpill {
    pub fn new(what: &'static str) -> PathSpill {
        PathSpill {
            buf: Vec::new(),
            file: None,
            spilled: 0,
            what,
        }
    }

    /// Appends `path`; the spill file, when needed, is made in directory `dir`.
    pub fn push(&mut self, dir: &OwnedFd, path: &str) -> io::Result<()> {
        self.buf
            .extend_from_slice(&(path.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(path.as_bytes());
        if self.buf.len() >= IN_MEMORY {
            self.flush_to_file(dir)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.file.is_none()
    }

    fn flush_to_file(&mut self, dir: &OwnedFd) -> io::Result<()> {
        self.spilled += self.buf.len() as u64;
        if self.spilled > MAX_SPILLED {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                OverLimit {
                    what: self.what,
                    limit: format!("{} MiB of", MAX_SPILLED >> 20),
                },
            ));
        }
        if self.file.is_none() {
            self.file = Some(unnamed_file(dir)?);
        }
        let file = self.file.as_mut().expect("just made");
        file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// The paths, in the order they were pushed.
    pub fn read_back(self) -> io::Result<SpillReader> {
        let file = match self.file {
            Some(mut f) => {
                f.write_all(&self.buf)?;
                f.rewind()?;
                Some(BufReader::with_capacity(256 * 1024, f))
            }
            None => None,
        };
        Ok(SpillReader {
            mem: if file.is_some() { Vec::new() } else { self.buf },
            pos: 0,
            file,
        })
    }
}

/// An unnamed file in `dir` (`O_TMPFILE`), or in the temporary directory where the filesystem
/// has none.
fn unnamed_file(dir: &OwnedFd) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    match rustix::fs::openat(
        dir,
        c".",
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => Ok(File::from(fd)),
        Err(_) => tempfile::tempfile(),
    }
}

pub struct SpillReader {
    mem: Vec<u8>,
    pos: usize,
    file: Option<BufReader<File>>,
}

impl SpillReader {
    pub fn next_path(&mut self) -> io::Result<Option<String>> {
        if let Some(file) = &mut self.file {
            let mut len = [0u8; 4];
            match file.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
            file.read_exact(&mut bytes)?;
            return String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        }
        if self.pos >= self.mem.len() {
            return Ok(None);
        }
        let len = u32::from_le_bytes(self.mem[self.pos..self.pos + 4].try_into().unwrap());
        let start = self.pos + 4;
        self.pos = start + len as usize;
        Ok(Some(
            String::from_utf8_lossy(&self.mem[start..self.pos]).into_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(spill: PathSpill) -> Vec<String> {
        let mut r = spill.read_back().unwrap();
        let mut out = Vec::new();
        while let Some(p) = r.next_path().unwrap() {
            out.push(p);
        }
        out
    }

    #[test]
    fn paths_come_back_in_order_from_memory_and_from_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = rustix::fs::open(
            tmp.path(),
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let mut small = PathSpill::new("test paths");
        small.push(&dir, "a/b").unwrap();
        small.push(&dir, "").unwrap();
        assert_eq!(read_all(small), ["a/b", ""]);
        let long = "x".repeat(4000);
        let mut big = PathSpill::new("test paths");
        let expected: Vec<String> = (0..1000).map(|i| format!("{long}/{i}")).collect();
        for p in &expected {
            big.push(&dir, p).unwrap();
        }
        assert!(big.file.is_some(), "4 MB of paths went to the file");
        assert!(big.buf.len() < IN_MEMORY);
        assert_eq!(read_all(big), expected);
        // The file has no name: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
