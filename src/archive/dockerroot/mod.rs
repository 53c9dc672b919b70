//! A Docker data root (overlay2 graphdriver) read without the daemon, as one more source of the
//! image model: the config from `image/overlay2/imagedb/content/sha256/<ID>`, tags from
//! `repositories.json`, and each layer from `layerdb/sha256/<chainID>/` as a blob rebuilt from
//! its `tar-split.json.gz` and `overlay2/<cache-id>/diff/` (see [`super::tarsplit`]).
//!
//! Read-only and untrusted: nothing is ever written, every file is opened relative to the data
//! root's directory fd with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (a symlink anywhere under
//! the root is refused, never followed), small files are read with a cap, and names taken from
//! the data root (cache IDs, image IDs) are checked before they become paths.
//!
//! This module opens and reads files beneath the root; what they mean is in its submodules:
//! `refs` (tags and references), `image` (an image's config and layers) and `layer`
//! (a layer's directory and its rebuilt tar).

mod image;
mod layer;
mod refs;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

pub use image::{ConfigFields, Recorded};
pub use refs::normalize;

pub const DEFAULT_ROOT: &str = "/var/lib/docker";
/// Where the graphdriver keeps image metadata.
pub const IMAGE_DIR: &str = "image/overlay2";
/// `size`, `diff`, `parent`, `cache-id`: a line each.
const SMALL: u64 = 4096;

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

pub struct DockerRoot {
    pub dir: PathBuf,
    fd: OwnedFd,
}

impl DockerRoot {
    pub fn open(dir: &Path) -> Result<DockerRoot, ArchiveError> {
        let display = dir.display().to_string();
        let fd = rfs::open(
            dir,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            let problem = if e == Errno::NOTDIR {
                Problem::BadContent {
                    what: "data root",
                    detail: "not a directory (a Docker data root, such as /var/lib/docker)".into(),
                }
            } else {
                Problem::Io(e.into())
            };
            ArchiveError::new(&display, None, problem)
        })?;
        Ok(DockerRoot {
            dir: dir.to_path_buf(),
            fd,
        })
    }

    pub fn display(&self) -> String {
        self.dir.display().to_string()
    }

    fn error(&self, rel: &str, problem: Problem) -> ArchiveError {
        ArchiveError::new(&self.display(), Some(rel.to_string()), problem)
    }

    fn open_beneath(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Problem> {
        if rel.split('/').any(|p| p == ".." || p.is_empty()) || rel.contains('\0') {
            return Err(Problem::PathEscapes);
        }
        rfs::openat2(
            &self.fd,
            rel,
            flags | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| match e {
            Errno::NOENT => Problem::Absent,
            Errno::LOOP | Errno::XDEV => Problem::Symlink,
            e => Problem::Io(e.into()),
        })
    }

    /// A regular file under the root.
    pub fn open_file(&self, rel: &str) -> Result<File, ArchiveError> {
        let fd = self
            .open_beneath(rel, OFlags::empty())
            .map_err(|p| self.error(rel, p))?;
        let stat = rfs::fstat(&fd).map_err(|e| self.error(rel, Problem::Io(e.into())))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(self.error(rel, Problem::NotAFile));
        }
        Ok(File::from(fd))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.open_file(rel).is_ok()
    }

    /// A file read whole, refused beyond `limit` bytes.
    pub fn read(&self, rel: &str, what: &'static str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let file = self.open_file(rel)?;
        let mut buf = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.error(rel, Problem::Io(e)))?;
        if buf.len() as u64 > limit {
            return Err(self.error(rel, Problem::TooLarge { what, limit }));
        }
        Ok(buf)
    }

    /// A one-line metadata file (`diff`, `size`, `cache-id`, `parent`), trimmed.
    pub fn read_line(&self, rel: &str, what: &'static str) -> Result<String, ArchiveError> {
        let bytes = self.read(rel, what, SMALL)?;
        String::from_utf8(bytes)
            .map(|s| s.trim().to_string())
            .map_err(|_| {
                self.error(
                    rel,
                    Problem::BadContent {
                        what,
                        detail: format!("the {what} file is not text"),
                    },
                )
            })
    }

    pub fn read_digest(&self, rel: &str, what: &'static str) -> Result<Digest, ArchiveError> {
        let text = self.read_line(rel, what)?;
        Digest::parse(&text).map_err(|e| self.error(rel, e.into()))
    }

    /// The names in a directory under the root.
    pub fn list(&self, rel: &str) -> Result<Vec<String>, ArchiveError> {
        let fd = self
            .open_beneath(rel, OFlags::DIRECTORY)
            .map_err(|p| self.error(rel, p))?;
        let dir = rfs::Dir::read_from(&fd).map_err(|e| self.error(rel, Problem::Io(e.into())))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| self.error(rel, Problem::Io(e.into())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// A directory under the root, opened (never through a symlink).
    pub fn open_dir(&self, rel: &str) -> Result<OwnedFd, ArchiveError> {
        self.open_beneath(rel, OFlags::DIRECTORY)
            .map_err(|p| self.error(rel, p))
    }

    /// What is at `rel` (not following a final symlink): None when nothing is.
    pub fn kind_of(&self, rel: &str) -> Result<Option<FileType>, ArchiveError> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let fd = match self.open_beneath(dir, OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Problem::Absent) => return Ok(None),
            Err(p) => return Err(self.error(dir, p)),
        };
        match rfs::statat(&fd, name, rfs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.error(rel, Problem::Io(e.into()))),
        }
    }

    /// The target of the symlink at `rel` (read, never followed).
    pub fn read_link(&self, rel: &str) -> Result<Vec<u8>, ArchiveError> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let fd = self.open_dir(dir)?;
        rfs::readlinkat(&fd, name, Vec::new())
            .map(|t| t.into_bytes())
            .map_err(|e| {
                let problem = if e == Errno::NOENT {
                    Problem::Absent
                } else {
                    Problem::Io(e.into())
                };
                self.error(rel, problem)
            })
    }
}
