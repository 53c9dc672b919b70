//! One streaming pass over a layer blob: hash the stored bytes (blob digest), sniff and undo the
//! compression, hash the decompressed bytes (diffID) to their very end, count them, and walk the
//! tar headers (entry count, docker size). The two hashes run on a second thread.

use std::io::{self, BufRead, BufReader, Read};

use crate::digest::{BackgroundHasher, Digest, InlineHasher, Stream, StreamHasher};
use crate::progress::Progress;
use crate::targuard::TarGuard;

/// How a layer blob is stored, read from its first bytes (media types are not trusted: real
/// archives carry uncompressed blobs labelled `tar+gzip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// What the first bytes of a blob say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Known(Compression),
    /// A compression strata recognises but does not decode.
    Unsupported(&'static str),
}

pub fn sniff(head: &[u8]) -> Sniffed {
    match head {
        [0x1f, 0x8b, ..] => Sniffed::Known(Compression::Gzip),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Sniffed::Known(Compression::Zstd),
        // zstd skippable frames (used by zstd:chunked) come first in some blobs.
        [m, 0x2a, 0x4d, 0x18, ..] if m & 0xf0 == 0x50 => Sniffed::Known(Compression::Zstd),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Sniffed::Unsupported("xz"),
        [b'B', b'Z', b'h', ..] => Sniffed::Unsupported("bzip2"),
        _ => Sniffed::Known(Compression::None),
    }
}

/// Everything the single pass learns about one layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerStats {
    /// sha256 of the blob as stored.
    pub digest: Digest,
    pub compressed_size: u64,
    pub compression: Compression,
    /// sha256 of the whole decompressed stream, including anything after the tar end marker.
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    /// Tar entries of every type (pax and GNU long-name headers are part of their entry).
    pub files: u64,
    /// What docker's overlay2 reports: bytes of non-directory entries, symlinks by target length,
    /// hardlinks once.
    pub size: u64,
    /// Bytes on disk once unpacked, in 4 KiB blocks (docker's containerd image store shows
    /// this; see [`crate::disk_usage`]).
    pub disk_usage: u64,
}

/// A failed layer pass. When the stored bytes could still be read to their end, their digest
/// and size are kept: verify can then say whether the blob is the one the manifest names.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct LayerError {
    #[source]
    pub kind: LayerErrorKind,
    pub stored: Option<(Digest, u64)>,
}

impl LayerError {
    fn bare(kind: LayerErrorKind) -> LayerError {
        LayerError { kind, stored: None }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerErrorKind {
    #[error("reading the blob failed")]
    Read(#[source] io::Error),
    #[error("{0}-compressed layers are not supported (only gzip, zstd and plain tar)")]
    UnsupportedCompression(&'static str),
    #[error("{compression} data is corrupt or truncated")]
    Decompress {
        compression: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("not a valid tar stream at entry {entry}{after}")]
    Tar {
        entry: u64,
        after: String,
        #[source]
        source: io::Error,
    },
}

const CHUNK: usize = 256 * 1024;

/// Passes every byte read through to the hasher (and the progress bar for the stored stream),
/// and counts them.
struct Tee<'h, R, H> {
    inner: R,
    hasher: &'h H,
    which: Stream,
    count: u64,
    progress: Option<&'h Progress>,
    /// The first read error of the inner reader, kept so the caller can tell a failing source
    /// from a failing decoder.
    failed: Option<io::ErrorKind>,
}

impl<R: Read, H: StreamHasher> Read for Tee<'_, R, H> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.failed.get_or_insert(e.kind());
                return Err(e);
            }
        };
        self.hasher.feed(self.which, &buf[..n]);
        self.count += n as u64;
        if let Some(p) = self.progress {
            p.add(n as u64);
        }
        Ok(n)
    }
}

/// The decompressed stream of a layer blob, compression sniffed from its first bytes.
pub fn decompressed<'a, R: Read + Send + 'a>(
    blob: R,
) -> Result<(Compression, Box<dyn Read + Send + 'a>), LayerError> {
    let mut buffered = BufReader::with_capacity(CHUNK, blob);
    let head = buffered
        .fill_buf()
        .map_err(|e| LayerError::bare(LayerErrorKind::Read(e)))?;
    match sniff(head) {
        Sniffed::Known(Compression::None) => Ok((Compression::None, Box::new(buffered))),
        Sniffed::Known(Compression::Gzip) => Ok((
            Compression::Gzip,
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        )),
        Sniffed::Known(Compression::Zstd) => {
            let decoder = zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| {
                LayerError::bare(LayerErrorKind::Decompress {
                    compression: "zstd",
                    source: e,
                })
            })?;
            Ok((Compression::Zstd, Box::new(decoder)))
        }
        Sniffed::Unsupported(name) => Err(LayerError::bare(
            LayerErrorKind::UnsupportedCompression(name),
        )),
    }
}

/// Blobs smaller than this are scanned on the caller's thread with smaller buffers (see
/// [`InlineHasher`]); bigger ones hash on a second thread.
pub const INLINE_BELOW: u64 = crate::extract::pipe::INLINE_BELOW;
const SMALL_CHUNK: usize = 64 * 1024;

/// Reads one layer blob once and returns its stats. `blob` yields the stored bytes;
/// `stored_size`, when known, picks how (see [`INLINE_BELOW`]).
pub fn scan_layer<R: Read>(
    blob: R,
    progress: Option<&Progress>,
    stored_size: Option<u64>,
) -> Result<LayerStats, LayerError> {
    match stored_size {
        Some(size) if size < INLINE_BELOW => {
            scan_with(blob, progress, InlineHasher::default(), SMALL_CHUNK)
        }
        _ => scan_with(blob, progress, BackgroundHasher::start(), CHUNK),
    }
}

fn scan_with<R: Read, H: StreamHasher>(
    blob: R,
    progress: Option<&Progress>,
    hasher: H,
    chunk: usize,
) -> Result<LayerStats, LayerError> {
    let mut stored = BufReader::with_capacity(
        chunk,
        Tee {
            inner: blob,
            hasher: &hasher,
            which: Stream::Stored,
            count: 0,
            progress,
            failed: None,
        },
    );
    let head = stored
        .fill_buf()
        .map_err(|e| LayerError::bare(LayerErrorKind::Read(e)))?;
    let compression = match sniff(head) {
        Sniffed::Known(c) => c,
        Sniffed::Unsupported(name) => {
            return Err(LayerError::bare(LayerErrorKind::UnsupportedCompression(
                name,
            )))
        }
    };

    let walk = match compression {
        Compression::None => walk_tar(&mut stored).map(|w| (w, None)),
        Compression::Gzip => decompress_and_walk(
            flate2::bufread::MultiGzDecoder::new(&mut stored),
            &hasher,
            chunk,
        ),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(&mut stored) {
            Ok(decoder) => decompress_and_walk(decoder, &hasher, chunk),
            Err(e) => Err(WalkError::Io(e)),
        },
    };
    let (walk, uncompressed) = match walk {
        Ok(w) => w,
        Err(e) => {
            let source_failed = stored.get_ref().failed.is_some();
            let kind = classify(e, compression, source_failed);
            // Read the rest of the stored bytes so the blob digest is known all the same.
            let drained = !source_failed && io::copy(&mut stored, &mut io::sink()).is_ok();
            let count = stored.get_ref().count;
            drop(stored);
            let (digest, _) = hasher.finish();
            return Err(LayerError {
                kind,
                stored: drained.then_some((digest, count)),
            });
        }
    };
    let compressed_size = stored.get_ref().count;
    drop(stored);
    let uncompressed_size = uncompressed.unwrap_or(compressed_size);
    let (digest, decompressed_digest) = hasher.finish();
    let diff_id = match compression {
        Compression::None => digest.clone(),
        _ => decompressed_digest,
    };
    Ok(LayerStats {
        digest,
        compressed_size,
        compression,
        diff_id,
        uncompressed_size,
        files: walk.files,
        size: walk.size,
        disk_usage: walk.blocks.total(),
    })
}

/// Failures inside the walk come back as io errors; say which stage failed.
fn classify(e: WalkError, compression: Compression, source_failed: bool) -> LayerErrorKind {
    match e {
        WalkError::Io(e) if source_failed => LayerErrorKind::Read(e),
        WalkError::Io(e) if compression != Compression::None => LayerErrorKind::Decompress {
            compression: compression.name(),
            source: e,
        },
        WalkError::Io(e) => LayerErrorKind::Read(e),
        WalkError::Tar {
            entry,
            after,
            source,
        } => {
            if source_failed {
                LayerErrorKind::Read(source)
            } else if compression != Compression::None && is_decoder_error(&source) {
                LayerErrorKind::Decompress {
                    compression: compression.name(),
                    source,
                }
            } else {
                LayerErrorKind::Tar {
                    entry,
                    after,
                    source,
                }
            }
        }
    }
}

fn is_decoder_error(e: &io::Error) -> bool {
    // The tar parser reports its own problems as `Other`, TarGuard its refusals as InvalidData
    // marked `Refused`; decoders use InvalidInput/InvalidData or UnexpectedEof for corrupt or
    // truncated input.
    !crate::targuard::is_refusal(e)
        && matches!(
            e.kind(),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
        )
        && !e.to_string().contains("archive header")
}

fn decompress_and_walk<D: Read, H: StreamHasher>(
    decoder: D,
    hasher: &H,
    chunk: usize,
) -> Result<(Walk, Option<u64>), WalkError> {
    let mut tee = BufReader::with_capacity(
        chunk,
        Tee {
            inner: decoder,
            hasher,
            which: Stream::Decompressed,
            count: 0,
            progress: None,
            failed: None,
        },
    );
    let walk = walk_tar(&mut tee)?;
    Ok((walk, Some(tee.into_inner().count)))
}

#[derive(Debug, Default)]
pub struct Walk {
    pub files: u64,
    pub size: u64,
    pub blocks: crate::disk_usage::DiskUsage,
}

#[derive(Debug)]
enum WalkError {
    Io(io::Error),
    Tar {
        entry: u64,
        after: String,
        source: io::Error,
    },
}

/// Walks the tar headers, then drains whatever follows the end marker so the hashes cover it.
fn walk_tar<R: Read>(reader: R) -> Result<Walk, WalkError> {
    let mut archive = tar::Archive::new(TarGuard::new(reader));
    let mut walk = Walk::default();
    let mut last_path = String::new();
    let tar_error = |entry: u64, last: &str, source: io::Error| WalkError::Tar {
        entry,
        after: if last.is_empty() {
            String::new()
        } else {
            format!(
                " (after `{}`)",
                crate::render::escape_for_message(last, 120)
            )
        },
        source,
    };
    {
        let entries = archive.entries().map_err(WalkError::Io)?;
        for entry in entries {
            let entry = entry.map_err(|e| tar_error(walk.files, &last_path, e))?;
            walk.files += 1;
            walk.size += docker_size_of(&entry);
            let link_len = entry.link_name_bytes().map_or(0, |l| l.len());
            let header = entry.header();
            walk.blocks.add(
                &entry.path_bytes(),
                header.entry_type(),
                docker_size_of(&entry),
                link_len,
            );
            last_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        }
    }
    let mut rest = archive.into_inner().into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| tar_error(walk.files, &last_path, e))?;
    Ok(walk)
}

fn docker_size_of<R: Read>(entry: &tar::Entry<'_, R>) -> u64 {
    use tar::EntryType::*;
    let header = entry.header();
    match header.entry_type() {
        Regular | Continuous | Char | Block | Fifo => entry.size(),
        GNUSparse => header
            .as_gnu()
            .and_then(|g| g.real_size().ok())
            .unwrap_or_else(|| entry.size()),
        Symlink => entry.link_name_bytes().map_or(0, |l| l.len() as u64),
        // A hardlink shares an inode already counted; directories are not counted by docker.
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Scans `blob` on a hashing thread and inline; both must give the same answer.
    fn scan_both(blob: &[u8]) -> Result<LayerStats, LayerError> {
        let threaded = scan_layer(blob, None, None);
        let inline = scan_layer(blob, None, Some(blob.len() as u64));
        assert!(
            (blob.len() as u64) < INLINE_BELOW,
            "the test blob must be small enough to be read inline"
        );
        assert_eq!(format!("{threaded:?}"), format!("{inline:?}"));
        threaded
    }

    fn tar_with(entries: &[(&str, &[u8])], symlink: Option<(&str, &str)>) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        dir.set_mode(0o755);
        b.append_data(&mut dir, "etc/", io::empty()).unwrap();
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        if let Some((name, target)) = symlink {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, name, target).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "etc/again", "etc/a").unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn sniff_by_magic() {
        assert_eq!(
            sniff(&[0x1f, 0x8b, 8, 0]),
            Sniffed::Known(Compression::Gzip)
        );
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Sniffed::Known(Compression::Zstd)
        );
        assert_eq!(
            sniff(&[0x50, 0x2a, 0x4d, 0x18]),
            Sniffed::Known(Compression::Zstd)
        );
        assert_eq!(sniff(b"etc/passwd\0\0"), Sniffed::Known(Compression::None));
        assert_eq!(sniff(b""), Sniffed::Known(Compression::None));
        assert_eq!(sniff(b"\xfd7zXZ\0rest"), Sniffed::Unsupported("xz"));
        assert_eq!(sniff(b"BZh91AY"), Sniffed::Unsupported("bzip2"));
    }

    #[test]
    fn plain_tar_digest_equals_diff_id_and_sizes_follow_docker() {
        let tar = tar_with(&[("etc/a", b"hello"), ("etc/b", b"")], Some(("etc/l", "a")));
        let stats = scan_both(&tar[..]).unwrap();
        assert_eq!(stats.compression, Compression::None);
        assert_eq!(stats.digest, Digest::of_bytes(&tar));
        assert_eq!(stats.diff_id, stats.digest);
        assert_eq!(stats.compressed_size, tar.len() as u64);
        assert_eq!(stats.uncompressed_size, tar.len() as u64);
        assert_eq!(stats.files, 5);
        // 5 content bytes + 1 byte of symlink target; the hardlink and directory add nothing.
        assert_eq!(stats.size, 6);
    }

    #[test]
    fn gzip_multi_member_with_trailing_data_hashes_everything() {
        let tar = tar_with(&[("etc/a", b"hello")], None);
        let mut trailing = tar.clone();
        trailing.extend_from_slice(b"estargz-toc-would-be-here");
        let (first, second) = trailing.split_at(700);
        let mut blob = Vec::new();
        for part in [first, second] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            gz.write_all(part).unwrap();
            blob.extend(gz.finish().unwrap());
        }
        let stats = scan_both(&blob[..]).unwrap();
        assert_eq!(stats.compression, Compression::Gzip);
        assert_eq!(stats.digest, Digest::of_bytes(&blob));
        assert_eq!(stats.diff_id, Digest::of_bytes(&trailing));
        assert_eq!(stats.uncompressed_size, trailing.len() as u64);
        assert_eq!(stats.files, 3);
    }

    #[test]
    fn zstd_layer() {
        let tar = tar_with(&[("etc/a", b"hello world")], None);
        let blob = zstd::encode_all(&tar[..], 3).unwrap();
        let stats = scan_both(&blob[..]).unwrap();
        assert_eq!(stats.compression, Compression::Zstd);
        assert_eq!(stats.diff_id, Digest::of_bytes(&tar));
        assert_eq!(stats.digest, Digest::of_bytes(&blob));
        assert_eq!(stats.size, 11);
    }

    #[test]
    fn truncated_gzip_is_a_decompress_error() {
        let tar = tar_with(&[("etc/a", &[7u8; 50_000])], None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&tar).unwrap();
        let blob = gz.finish().unwrap();
        let err = scan_both(&blob[..blob.len() / 2]).unwrap_err();
        assert!(
            matches!(
                err.kind,
                LayerErrorKind::Decompress { .. } | LayerErrorKind::Tar { .. }
            ),
            "{err:?}"
        );
        // The stored bytes were still read to their end, so verify can compare the blob digest.
        let half = &blob[..blob.len() / 2];
        assert_eq!(
            err.stored,
            Some((Digest::of_bytes(half), half.len() as u64))
        );
    }

    #[test]
    fn garbage_is_not_a_tar() {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
        let err = scan_both(&junk[..]).unwrap_err();
        assert!(matches!(err.kind, LayerErrorKind::Tar { .. }), "{err:?}");
        assert_eq!(
            err.stored,
            Some((Digest::of_bytes(&junk), junk.len() as u64))
        );
    }

    /// TarGuard's refusal inside a gzip layer is the tar's fault, not the decompressor's (it was
    /// reported as "gzip decompression failed"; found by the targuard fuzz target).
    #[test]
    fn a_refused_header_in_a_gzip_layer_is_a_tar_error() {
        let mut header = [0u8; 512];
        header[..4].copy_from_slice(b"file");
        header[124..136].copy_from_slice(b"zz-not-octal");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&header).unwrap();
        gz.write_all(&[0u8; 1024]).unwrap();
        let blob = gz.finish().unwrap();
        let err = scan_both(&blob).unwrap_err();
        assert!(matches!(err.kind, LayerErrorKind::Tar { .. }), "{err:?}");
        assert!(
            err.to_string().contains("size field") || format!("{err:?}").contains("size field"),
            "{err:?}"
        );
    }

    #[test]
    fn empty_blob_is_an_empty_layer() {
        // A zero-length stream has no entries; tar readers treat it as an empty archive.
        let stats = scan_both(&[][..]).unwrap();
        assert_eq!(stats.files, 0);
        assert_eq!(stats.uncompressed_size, 0);
    }
}
