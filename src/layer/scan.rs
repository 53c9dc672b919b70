//! One streaming pass over a layer blob: hash the stored bytes (blob digest), sniff and undo the
//! compression, hash the decompressed bytes (diffID) to their very end, count them, and walk the
//! tar headers (entry count, docker size). The two hashes run on a second thread.

use std::io::{self, BufReader, Read};

use super::{Compression, Decoder, LayerError, LayerErrorKind, LayerStats, Measured, CHUNK};
use crate::digest::{BackgroundHasher, InlineHasher, Stream, StreamHasher};
use crate::progress::Progress;
use crate::targuard::TarGuard;

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
    let compression = super::sniff_stream(&mut stored)?;

    let walk = match compression {
        Compression::None => walk_tar(&mut stored).map(|w| (w, None)),
        _ => match Decoder::new(&mut stored, compression) {
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
        measured: Measured {
            digest: Some(digest),
            compressed_size: Some(compressed_size),
            diff_id: Some(diff_id),
        },
        compression,
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
                crate::rawname::escape_for_message(last, 120)
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
