//! An uncompressed tar read in place: one walk over its headers records where each member's
//! data lies, and blobs are then read by offset with `pread`, several at once if need be.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::paths::{link_target, normalize, LINK_HOPS};
use crate::error::Problem;

#[derive(Debug, Clone)]
pub enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// Symlinks and hardlinks, their target already resolved to an archive path.
    Link(String),
}

/// A byte range of the outer tar, read with `pread` so several can be read at once.
pub struct Section {
    pub file: Arc<File>,
    pub pos: u64,
    pub end: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(left as usize);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends inside this entry",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

pub fn resolve_tar(members: &HashMap<String, Member>, path: &str) -> Result<(u64, u64), Problem> {
    let mut current = path.to_string();
    for _ in 0..LINK_HOPS {
        match members.get(&current) {
            None => return Err(Problem::Missing(String::new())),
            Some(Member::File { offset, size }) => return Ok((*offset, *size)),
            Some(Member::Link(target)) => current = target.clone(),
        }
    }
    Err(Problem::LinkLoop)
}

/// Walks the headers of an uncompressed tar once, remembering where each member's data lies.
pub fn index_tar(file: &File) -> Result<HashMap<String, Member>, Problem> {
    let mut reader = file;
    reader.rewind().map_err(Problem::Io)?;
    let mut archive = tar::Archive::new(reader);
    let mut members = HashMap::new();
    let entries = archive.entries_with_seek().map_err(Problem::CorruptTar)?;
    for (n, entry) in entries.enumerate() {
        let entry = entry.map_err(|e| {
            if n == 0 {
                // The parser's complaint would quote the file's first bytes: leave it out.
                drop(e);
                Problem::NotAnArchive(None)
            } else {
                Problem::CorruptTar(e)
            }
        })?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // Entries that climb out of the archive can never be referenced; leave them out.
        let Ok(name) = normalize(&raw) else { continue };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                members.insert(
                    name,
                    Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(target) = link_target(&entry, &name) {
                    members.insert(name, Member::Link(target));
                }
            }
            _ => {}
        }
    }
    // The data of the last member must be there too: a tar cut mid-member is corrupt.
    let len = file.metadata().map_err(Problem::Io)?.len();
    if let Some(end) = members
        .values()
        .filter_map(|m| match m {
            Member::File { offset, size } => Some(offset + size),
            Member::Link(_) => None,
        })
        .max()
    {
        if end > len {
            return Err(Problem::CorruptTar(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the last member needs {end} bytes but the file has {len}"),
            )));
        }
    }
    if members.is_empty() {
        return Err(Problem::NotAnArchive(None));
    }
    Ok(members)
}
