//! Where an archive's files live: a layout directory, an uncompressed tar read in place by
//! offset (random access, layers can be scanned in parallel), or a stream (stdin or a
//! compressed outer archive) that is read once, in order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{ArchiveError, Problem};
use crate::layer::{self, LayerError, LayerErrorKind, LayerStats, Sniffed};
use crate::progress::{CountingReader, Progress};

/// Manifests, indexes and configs are read whole; beyond this they are refused.
pub const JSON_LIMIT: u64 = 16 * 1024 * 1024;
const LINK_HOPS: usize = 16;

/// How the archive itself is packaged, as reported in `source.container`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packaging {
    Directory,
    Tar,
    TarGzip,
    TarZstd,
}

impl Packaging {
    pub fn name(self) -> &'static str {
        match self {
            Packaging::Directory => "directory",
            Packaging::Tar => "tar",
            Packaging::TarGzip => "tar+gzip",
            Packaging::TarZstd => "tar+zstd",
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
}

#[derive(Debug, Clone)]
enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// Symlinks and hardlinks, their target already resolved to an archive path.
    Link(String),
}

#[derive(Default)]
struct Streamed {
    /// Entries that looked like JSON, kept whole.
    json: HashMap<String, Vec<u8>>,
    /// Every other regular entry, scanned as a layer while it went by.
    scanned: HashMap<String, Result<LayerStats, Arc<LayerError>>>,
    links: HashMap<String, String>,
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

    /// Layers can be read independently (and so in parallel).
    pub fn random_access(&self) -> bool {
        !matches!(self.kind, Kind::Streamed(_))
    }

    fn error(&self, entry: &str, problem: Problem) -> ArchiveError {
        ArchiveError::new(
            &self.display,
            Some(crate::render::escape_for_message(entry, 200)),
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
        }
    }

    /// Size of a stored blob, if known without reading it (for progress totals).
    pub fn stored_size(&self, path: &str) -> Option<u64> {
        let norm = normalize(path).ok()?;
        match &self.kind {
            Kind::Dir(root) => std::fs::metadata(root.join(norm)).ok().map(|m| m.len()),
            Kind::Tar { members, .. } => resolve_tar(members, &norm).ok().map(|(_, size)| size),
            Kind::Streamed(_) => None,
        }
    }

    /// Opens a stored blob for reading. Only random-access containers can do this; a streamed
    /// one must be opened with [`Container::open_spooled`] first.
    pub fn open_blob(&self, path: &str, entry: &str) -> Result<Box<dyn Read + Send>, ArchiveError> {
        let fail = |p: Problem| self.error(entry, p);
        let norm = normalize(path).map_err(fail)?;
        match &self.kind {
            Kind::Dir(root) => {
                let file =
                    open_in_dir(root, &norm).map_err(|p| fail(p.with_missing("layer blob")))?;
                Ok(Box::new(file))
            }
            Kind::Tar { file, members } => {
                let (offset, size) =
                    resolve_tar(members, &norm).map_err(|p| fail(p.with_missing("layer blob")))?;
                Ok(Box::new(Section {
                    file: file.clone(),
                    pos: offset,
                    end: offset + size,
                }))
            }
            Kind::Streamed(_) => Err(fail(Problem::BadContent {
                what: "archive",
                detail: "a streamed archive cannot be read twice; open it spooled".into(),
            })),
        }
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
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf().map_err(|e| err(Problem::Io(e)))?;
        let (packaging, mut reader): (Packaging, Box<dyn Read + '_>) = match layer::sniff(head) {
            Sniffed::Known(layer::Compression::Gzip) => (
                Packaging::TarGzip,
                Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            ),
            Sniffed::Known(layer::Compression::Zstd) => (
                Packaging::TarZstd,
                Box::new(
                    zstd::stream::read::Decoder::with_buffer(buffered)
                        .map_err(|e| err(Problem::Io(e)))?,
                ),
            ),
            Sniffed::Known(layer::Compression::None) => (Packaging::Tar, Box::new(buffered)),
            Sniffed::Unsupported(name) => {
                return Err(err(Problem::UnsupportedOuterCompression(name)))
            }
        };
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
                layer::scan_layer(file, progress).map_err(|e| fail(e.into()))
            }
            Kind::Tar { file, members } => {
                let (offset, size) =
                    resolve_tar(members, &norm).map_err(|p| fail(p.with_missing("layer blob")))?;
                let section = Section {
                    file: file.clone(),
                    pos: offset,
                    end: offset + size,
                };
                layer::scan_layer(section, progress).map_err(|e| fail(e.into()))
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
                        layer::scan_layer(&bytes[..], progress).map_err(|e| fail(e.into()))
                    }
                    None => Err(fail(Problem::Missing("layer blob".into()))),
                }
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

/// Errors of a layer scanned during a streamed read are kept in the container; rebuild one to
/// report, with the same message and the stored digest.
fn clone_layer_error(e: &LayerError) -> LayerError {
    use std::error::Error as _;
    let cause = e.kind.source().map(|s| s.to_string()).unwrap_or_default();
    let text = if cause.is_empty() {
        e.to_string()
    } else {
        format!("{e}: {cause}")
    };
    LayerError {
        kind: LayerErrorKind::Read(io::Error::other(text)),
        stored: e.stored.clone(),
    }
}

/// A byte range of the outer tar, read with `pread` so several can be read at once.
struct Section {
    file: Arc<File>,
    pos: u64,
    end: u64,
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

/// Archive paths are relative, `/`-separated, without `.` or empty parts; `..` may not climb
/// above the archive root.
pub fn normalize(path: &str) -> Result<String, Problem> {
    if path.starts_with('/') {
        return Err(Problem::PathEscapes);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(Problem::PathEscapes)?;
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
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

fn resolve_tar(members: &HashMap<String, Member>, path: &str) -> Result<(u64, u64), Problem> {
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

fn resolve_links(links: &HashMap<String, String>, path: &str) -> Result<String, Problem> {
    let mut current = path.to_string();
    for _ in 0..LINK_HOPS {
        match links.get(&current) {
            None => return Ok(current),
            Some(target) => current = target.clone(),
        }
    }
    Err(Problem::LinkLoop)
}

/// Where a link entry of the outer tar points, as an archive path; `None` if outside.
fn link_target<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Option<String> {
    let target = entry.link_name_bytes()?;
    let target = String::from_utf8_lossy(&target).into_owned();
    match entry.header().entry_type() {
        // Hardlink names are relative to the archive root; symlinks to the link's directory.
        tar::EntryType::Link => normalize(&target).ok(),
        _ => {
            let parent = parent_of(name);
            normalize(&format!("{parent}/{target}")).ok()
        }
    }
}

/// Walks the headers of an uncompressed tar once, remembering where each member's data lies.
fn index_tar(file: &File) -> Result<HashMap<String, Member>, Problem> {
    let mut reader = file;
    reader.rewind().map_err(Problem::Io)?;
    let mut archive = tar::Archive::new(reader);
    let mut members = HashMap::new();
    let entries = archive.entries_with_seek().map_err(Problem::CorruptTar)?;
    for (n, entry) in entries.enumerate() {
        let entry = entry.map_err(|e| {
            if n == 0 {
                Problem::NotAnArchive(Some(e))
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

/// Reads a stream (stdin or a compressed outer archive) once: JSON-looking entries are kept,
/// every other regular entry is scanned as a layer on the way past.
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
    let mut buffered = BufReader::with_capacity(256 * 1024, counted);
    let head = buffered.fill_buf().map_err(|e| err(Problem::Io(e)))?;
    let (packaging, reader): (Packaging, Box<dyn Read + '_>) = match layer::sniff(head) {
        Sniffed::Known(layer::Compression::Gzip) => (
            Packaging::TarGzip,
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        ),
        Sniffed::Known(layer::Compression::Zstd) => (
            Packaging::TarZstd,
            Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(|e| err(Problem::Io(e)))?,
            ),
        ),
        Sniffed::Known(layer::Compression::None) => (Packaging::Tar, Box::new(buffered)),
        Sniffed::Unsupported(name) => return Err(err(Problem::UnsupportedOuterCompression(name))),
    };
    let streamed = read_stream(reader).map_err(err)?;
    Ok(Container {
        display,
        packaging,
        kind: Kind::Streamed(streamed),
    })
}

fn read_stream(reader: Box<dyn Read + '_>) -> Result<Streamed, Problem> {
    let mut archive = tar::Archive::new(reader);
    let mut out = Streamed::default();
    let entries = archive.entries().map_err(Problem::CorruptTar)?;
    let mut seen = 0usize;
    for (n, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| {
            if n == 0 {
                Problem::NotAnArchive(Some(e))
            } else {
                Problem::CorruptTar(e)
            }
        })?;
        seen += 1;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Ok(name) = normalize(&raw) else { continue };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let mut head = vec![0u8; 64.min(size as usize)];
                entry.read_exact(&mut head).map_err(Problem::CorruptTar)?;
                let looks_json = head
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b'{' || *b == b'[');
                if looks_json && size <= JSON_LIMIT {
                    let mut bytes = head;
                    entry.read_to_end(&mut bytes).map_err(Problem::CorruptTar)?;
                    out.json.insert(name, bytes);
                } else {
                    let result = layer::scan_layer(io::Cursor::new(head).chain(&mut entry), None);
                    if let Err(LayerError {
                        kind: LayerErrorKind::Read(e),
                        ..
                    }) = &result
                    {
                        // The outer stream itself failed: nothing after this can be trusted.
                        return Err(Problem::CorruptTar(io::Error::new(e.kind(), e.to_string())));
                    }
                    out.scanned.insert(name, result.map_err(Arc::new));
                }
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                if let Some(target) = link_target(&entry, &name) {
                    out.links.insert(name, target);
                }
            }
            _ => {}
        }
    }
    // Drain what follows the end marker so a decoder checks its trailer (gzip CRC).
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(Problem::CorruptTar)?;
    if seen == 0 {
        return Err(Problem::NotAnArchive(None));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_paths_inside() {
        assert_eq!(normalize("./a/./b//c").unwrap(), "a/b/c");
        assert_eq!(normalize("a/../b").unwrap(), "b");
        assert!(matches!(normalize("../x"), Err(Problem::PathEscapes)));
        assert!(matches!(normalize("a/../../x"), Err(Problem::PathEscapes)));
        assert!(matches!(
            normalize("/etc/passwd"),
            Err(Problem::PathEscapes)
        ));
    }

    #[test]
    fn links_resolve_and_loops_stop() {
        let mut links = HashMap::new();
        links.insert("a".to_string(), "b".to_string());
        links.insert("b".to_string(), "c".to_string());
        assert_eq!(resolve_links(&links, "a").unwrap(), "c");
        links.insert("c".to_string(), "a".to_string());
        assert!(matches!(resolve_links(&links, "a"), Err(Problem::LinkLoop)));
    }
}
