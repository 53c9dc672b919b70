//! Layers: what the archive claims about each and what reading its bytes measures
//! ([`facts`]), the one streaming pass that measures it ([`scan`]), and how a blob's
//! compression is told and undone (here, for every reader of blobs and compressed archives).

use std::io::{self, BufRead, BufReader, Read};

use crate::digest::Digest;

mod facts;
mod scan;

pub use facts::{Comparison, Fact, LayerRef, LayerStats, Measured};
pub use scan::{scan_layer, Walk, INLINE_BELOW};

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

    /// What the failed pass still measured: the blob's digest and size when the stored bytes
    /// could be read to their end, never the diffID.
    pub fn measured(&self) -> Measured {
        Measured {
            digest: self.stored.as_ref().map(|(d, _)| d.clone()),
            compressed_size: self.stored.as_ref().map(|(_, n)| *n),
            diff_id: None,
        }
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

/// The decompressed stream of `buffered`, stored with `compression`: the one place a decoder is
/// chosen, for layer blobs and compressed outer archives alike.
pub enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    /// Fails only when the zstd decoder cannot be set up.
    pub fn new(buffered: R, compression: Compression) -> io::Result<Decoder<R>> {
        Ok(match compression {
            Compression::None => Decoder::Plain(buffered),
            Compression::Gzip => {
                Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
            }
            Compression::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(buffered)?),
        })
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }
}

const CHUNK: usize = 256 * 1024;

/// The compression of a buffered blob, from its first bytes (nothing consumed); an unsupported
/// one is an error.
pub(crate) fn sniff_stream(blob: &mut impl BufRead) -> Result<Compression, LayerError> {
    let head = blob
        .fill_buf()
        .map_err(|e| LayerError::bare(LayerErrorKind::Read(e)))?;
    match sniff(head) {
        Sniffed::Known(c) => Ok(c),
        Sniffed::Unsupported(name) => Err(LayerError::bare(
            LayerErrorKind::UnsupportedCompression(name),
        )),
    }
}

/// The decompressed stream of a layer blob, compression sniffed from its first bytes.
pub fn decompressed<'a, R: Read + Send + 'a>(
    blob: R,
) -> Result<(Compression, Box<dyn Read + Send + 'a>), LayerError> {
    let mut buffered = BufReader::with_capacity(CHUNK, blob);
    let compression = sniff_stream(&mut buffered)?;
    let decoder = Decoder::new(buffered, compression).map_err(|e| {
        LayerError::bare(LayerErrorKind::Decompress {
            compression: compression.name(),
            source: e,
        })
    })?;
    Ok((compression, Box::new(decoder)))
}

#[cfg(test)]
mod tests;
