//! Where an archive's files live: a layout directory, an uncompressed tar read in place by
//! offset (random access, layers can be scanned in parallel), or a stream (stdin or a
//! compressed outer archive) that is read once, in order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dockerroot::DockerRoot;
use super::paths::{normalize, resolve_links};
use super::stream::{clone_layer_error, outer_decoder, read_stream, Streamed};
use super::tarfile::{index_tar, resolve_tar, Member, Section};
use super::tarsplit::Fault;
use crate::error::{ArchiveError, Problem};
use crate::layer::{self, LayerStats, Sniffed};
use crate::progress::{CountingReader, Progress};

/// Manifests, indexes and configs are read whole; beyond this they are refused.
pub const JSON_LIMIT: u64 = 16 * 1024 * 1024;

/// How the archive itself is packaged, as reported in `source.container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    Directory,
    Tar,
    TarGzip,
    TarZstd,
    /// A Docker data root: layers rebuilt from `tar-split.json.gz` and the files on disk.
    DataRoot,
}

impl Packaging {
    pub fn name(self) -> &'static str {
        match self {
            Packaging::Directory => "directory",
            Packaging::Tar => "tar",
            Packaging::TarGzip => "tar+gzip",
            Packaging::TarZstd => "tar+zstd",
            Packaging::DataRoot => "data-root",
        }
    }
}

pub struct Container {
    pub display: String,
    pub packaging: Packaging,
    kind: Kind,
}

enum Kind {
    Dir(PathBuf),
    Tar {
        file: Arc<File>,
        members: HashMap<String, Member>,
    },
    Streamed(Streamed),
    DockerRoot(DockerRoot),
}

impl Container {
    /// Opens `path` (`-` is stdin) and finds out how it is packaged.
    pub fn open(path: &Path) -> Result<Container, ArchiveError> {
        let display = path.display().to_string();
        let err = |p: Problem| ArchiveError::new(&display, None, p);
        if path.as_os_str() == "-" {
            let stdin = Box::new(io::stdin().lock());
            return open_stream(display.clone(), stdin, None);
        }
        let meta = std::fs::metadata(path).map_err(|e| err(Problem::Io(e)))?;
        if meta.is_dir() {
            return Ok(Container {
                display,
                packaging: Packaging::Directory,
                kind: Kind::Dir(path.to_path_buf()),
            });
        }
        let file = File::open(path).map_err(|e| err(Problem::Io(e)))?;
        let mut head = [0u8; 8];
        let n = file
            .read_at(&mut head, 0)
            .map_err(|e| err(Problem::Io(e)))?;
        match layer::sniff(&head[..n]) {
            Sniffed::Known(layer::Compression::None) => {
                let members = index_tar(&file).map_err(err)?;
                Ok(Container {
                    display,
                    packaging: Packaging::Tar,
                    kind: Kind::Tar {
                        file: Arc::new(file),
                        members,
                    },
                })
            }
            Sniffed::Known(_) => open_stream(display, Box::new(file), Some(meta.len())),
            Sniffed::Unsupported(name) => Err(err(Problem::UnsupportedOuterCompression(name))),
        }
    }

    /// A Docker data root; its blobs are the layerdb directories of its layers.
    pub fn docker_root(root: DockerRoot) -> Container {
        Container {
            display: root.display(),
            packaging: Packaging::DataRoot,
            kind: Kind::DockerRoot(root),
        }
    }

    /// The data root (`docker-root:`, `containers-storage:`) the image is read from, if any.
    pub fn data_root(&self) -> Option<&DockerRoot> {
        match &self.kind {
            Kind::DockerRoot(root) => Some(root),
            _ => None,
        }
    }

    /// Layers can be read independently (and so in parallel).
    pub fn random_access(&self) -> bool {
        !matches!(self.kind, Kind::Streamed(_))
    }

    fn error(&self, entry: &str, problem: Problem) -> ArchiveError {
        ArchiveError::new(
            &self.display,
            Some(crate::rawname::escape_for_message(entry, 200)),
            problem,
        )
    }

    pub fn exists(&self, path: &str) -> bool {
        let Ok(path) = normalize(path) else {
            return false;
        };
        match &self.kind {
            Kind::Dir(root) => root.join(&path).is_file(),
            Kind::Tar { members, .. } => members.contains_key(&path),
            Kind::Streamed(s) => {
                s.json.contains_key(&path)
                    || s.scanned.contains_key(&path)
                    || s.links.contains_key(&path)
            }
            Kind::DockerRoot(root) => root.exists(&path),
        }
    }

    /// Is `path` stored as a symlink or hardlink to another member (docker save stores a layer
    /// identical to an earlier one so)? Always false for a directory.
    pub fn is_link(&self, path: &str) -> bool {
        let Ok(path) = normalize(path) else {
            return false;
        };
        match &self.kind {
            Kind::Dir(_) | Kind::DockerRoot(_) => false,
            Kind::Tar { members, .. } => matches!(members.get(&path), Some(Member::Link(_))),
            Kind::Streamed(s) => s.links.contains_key(&path),
        }
    }

    /// Reads a small file (manifest, index, config) whole. `what` names it in errors.
    pub fn read_json_file(&self, path: &str, what: &'static str) -> Result<Vec<u8>, ArchiveError> {
        let norm = normalize(path).map_err(|p| self.error(path, p))?;
        let fail = |p: Problem| self.error(&norm, p);
        match &self.kind {
            Kind::Dir(root) => {
                let file = open_in_dir(root, &norm)
                    .map_err(|p| self.error(&norm, p.with_missing(what)))?;
                read_capped(file, what).map_err(fail)
            }
            Kind::Tar { file, members } => {
                let (offset, size) =
                    resolve_tar(members, &norm).map_err(|p| fail(p.with_missing(what)))?;
                if size > JSON_LIMIT {
                    return Err(fail(Problem::TooLarge {
                        what,
                        limit: JSON_LIMIT,
                    }));
                }
                let mut buf = vec![0u8; size as usize];
                file.read_exact_at(&mut buf, offset)
                    .map_err(|e| fail(Problem::Io(e)))?;
                Ok(buf)
            }
            Kind::Streamed(s) => {
                let target = resolve_links(&s.links, &norm).map_err(fail)?;
                match s.json.get(&target) {
                    Some(bytes) => Ok(bytes.clone()),
                    None if s.scanned.contains_key(&target) => Err(fail(Problem::BadContent {
                        what,
                        detail: format!("the {what} is not JSON"),
                    })),
                    None => Err(fail(Problem::Missing(what.into()))),
                }
            }
            Kind::DockerRoot(root) => root.read(&norm, what, JSON_LIMIT),
        }
    }

    /// Size of a stored blob, if known without reading it (for progress totals).
    pub fn stored_size(&self, path: &str) -> Option<u64> {
        let norm = normalize(path).ok()?;
        match &self.kind {
            Kind::Dir(root) => std::fs::metadata(root.join(norm)).ok().map(|m| m.len()),
            Kind::Tar { members, .. } => resolve_tar(members, &norm).ok().map(|(_, size)| size),
            Kind::Streamed(_) | Kind::DockerRoot(_) => None,
        }
    }

    /// Opens a stored blob for reading. Only random-access containers can do this; a streamed
    /// one must be opened with [`Container::open_spooled`] first.
    pub fn open_blob(&self, path: &str, entry: &str) -> Result<Box<dyn Read + Send>, ArchiveError> {
        if let Some(section) = self.blob_section(path, entry)? {
            return Ok(Box::new(section));
        }
        let fail = |p: Problem| self.error(entry, p);
        match &self.kind {
            Kind::DockerRoot(root) => {
                Ok(Box::new(root.open_layer(&normalize(path).map_err(fail)?)?))
            }
            _ => Err(fail(Problem::BadContent {
                what: "archive",
                detail: "a streamed archive cannot be read twice; open it spooled".into(),
            })),
        }
    }

    /// Where the blob at `path` lies in a file, for reading by offset (a layout directory's
    /// blob file, or a member of a tar); `None` for a stream or a data root.
    pub fn blob_section(&self, path: &str, entry: &str) -> Result<Option<Section>, ArchiveError> {
        let fail = |p: Problem| self.error(entry, p.with_missing("layer blob"));
        let norm = normalize(path).map_err(fail)?;
        Ok(match &self.kind {
            Kind::Dir(root) => {
                let file = open_in_dir(root, &norm).map_err(fail)?;
                let end = file.metadata().map_err(|e| fail(Problem::Io(e)))?.len();
                Some(Section {
                    file: Arc::new(file),
                    pos: 0,
                    end,
                })
            }
            Kind::Tar { file, members } => {
                let (pos, size) = resolve_tar(members, &norm).map_err(fail)?;
                Some(Section {
                    file: file.clone(),
                    pos,
                    end: pos + size,
                })
            }
            Kind::Streamed(_) | Kind::DockerRoot(_) => None,
        })
    }

    /// Like [`Container::open`], but a stream (stdin, a compressed archive) is first copied,
    /// decompressed, to an unnamed temporary file so that its blobs can be read in any order.
    pub fn open_spooled(path: &Path) -> Result<Container, ArchiveError> {
        let display = path.display().to_string();
        let err = |p: Problem| ArchiveError::new(&display, None, p);
        let is_dir =
            path.as_os_str() != "-" && std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
        if is_dir {
            return Container::open(path);
        }
        let raw: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            let file = File::open(path).map_err(|e| err(Problem::Io(e)))?;
            let mut head = [0u8; 8];
            let n = file
                .read_at(&mut head, 0)
                .map_err(|e| err(Problem::Io(e)))?;
            if layer::sniff(&head[..n]) == Sniffed::Known(layer::Compression::None) {
                return Container::open(path);
            }
            Box::new(file)
        };
        let (packaging, mut reader) =
            outer_decoder(BufReader::with_capacity(256 * 1024, raw)).map_err(err)?;
        let mut spool = tempfile::tempfile().map_err(|e| err(Problem::Io(e)))?;
        io::copy(&mut reader, &mut spool).map_err(|e| err(Problem::CorruptTar(e)))?;
        let members = index_tar(&spool).map_err(err)?;
        Ok(Container {
            display,
            packaging,
            kind: Kind::Tar {
                file: Arc::new(spool),
                members,
            },
        })
    }

    /// The one pass over a layer blob. `entry` names the layer in errors.
    pub fn scan_layer(
        &self,
        path: &str,
        entry: &str,
        progress: Option<&Progress>,
    ) -> Result<LayerStats, ArchiveError> {
        let fail = |p: Problem| self.error(entry, p);
        let norm = normalize(path).map_err(fail)?;
        match &self.kind {
            Kind::Dir(root) => {
                let file =
                    open_in_dir(root, &norm).map_err(|p| fail(p.with_missing("layer blob")))?;
                let size = file.metadata().ok().map(|m| m.len());
                layer::scan_layer(file, progress, size).map_err(|e| fail(e.into()))
            }
            Kind::Tar { file, members } => {
                let (offset, size) =
                    resolve_tar(members, &norm).map_err(|p| fail(p.with_missing("layer blob")))?;
                let section = Section {
                    file: file.clone(),
                    pos: offset,
                    end: offset + size,
                };
                layer::scan_layer(section, progress, Some(size)).map_err(|e| fail(e.into()))
            }
            Kind::Streamed(s) => {
                let target = resolve_links(&s.links, &norm).map_err(fail)?;
                if let Some(result) = s.scanned.get(&target) {
                    return result
                        .clone()
                        .map_err(|e| fail(Problem::Layer(clone_layer_error(&e))));
                }
                match s.json.get(&target) {
                    Some(bytes) => {
                        let size = Some(bytes.len() as u64);
                        layer::scan_layer(&bytes[..], progress, size).map_err(|e| fail(e.into()))
                    }
                    None => Err(fail(Problem::Missing("layer blob".into()))),
                }
            }
            Kind::DockerRoot(root) => {
                let reader = root.open_layer(&norm)?;
                layer::scan_layer(reader, progress, None).map_err(|e| {
                    // A fault of the data root names its own file: report it as the error.
                    let fault = match &e.kind {
                        layer::LayerErrorKind::Read(io)
                        | layer::LayerErrorKind::Tar { source: io, .. } => Fault::of(io).cloned(),
                        _ => None,
                    };
                    match fault {
                        Some(f) => ArchiveError::new(&self.display, None, Problem::DataRoot(f)),
                        None => fail(e.into()),
                    }
                })
            }
        }
    }
}

impl Problem {
    /// A "not found" from the filesystem or the member table, told as a missing entry.
    fn with_missing(self, what: &str) -> Problem {
        match self {
            Problem::Io(e) if e.kind() == io::ErrorKind::NotFound => Problem::Missing(what.into()),
            Problem::Missing(_) => Problem::Missing(what.into()),
            other => other,
        }
    }
}

/// Opens a file inside a layout directory, refusing anything that resolves outside it (a blob
/// that is a symlink out of the layout) and anything but a regular file.
fn open_in_dir(root: &Path, rel: &str) -> Result<File, Problem> {
    let root = root.canonicalize().map_err(Problem::Io)?;
    let full = root.join(rel).canonicalize().map_err(Problem::Io)?;
    if !full.starts_with(&root) {
        return Err(Problem::PathEscapes);
    }
    let file = File::open(&full).map_err(Problem::Io)?;
    if !file.metadata().map_err(Problem::Io)?.is_file() {
        return Err(Problem::NotAFile);
    }
    Ok(file)
}

fn read_capped<R: Read>(reader: R, what: &'static str) -> Result<Vec<u8>, Problem> {
    let mut buf = Vec::new();
    reader
        .take(JSON_LIMIT + 1)
        .read_to_end(&mut buf)
        .map_err(Problem::Io)?;
    if buf.len() as u64 > JSON_LIMIT {
        return Err(Problem::TooLarge {
            what,
            limit: JSON_LIMIT,
        });
    }
    Ok(buf)
}

/// Reads a stream (stdin or a compressed outer archive) once; see [`super::stream`].
fn open_stream(
    display: String,
    raw: Box<dyn Read + '_>,
    length: Option<u64>,
) -> Result<Container, ArchiveError> {
    let err = |p: Problem| ArchiveError::new(&display, None, p);
    let progress = Progress::new(length, "reading archive");
    let counted = CountingReader {
        inner: raw,
        progress: &progress,
    };
    let (packaging, reader) =
        outer_decoder(BufReader::with_capacity(256 * 1024, counted)).map_err(err)?;
    let streamed = read_stream(reader).map_err(err)?;
    Ok(Container {
        display,
        packaging,
        kind: Kind::Streamed(streamed),
    })
}
