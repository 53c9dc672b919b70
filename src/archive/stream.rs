//! A stream (stdin or a compressed outer archive) read once, in order: JSON-looking entries are
//! kept whole, every other regular entry is scanned as a layer as it goes by, so no blob has to
//! be read twice or held in memory.

use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

use super::container::{Packaging, JSON_LIMIT};
use super::paths::{link_target, normalize};
use crate::error::Problem;
use crate::layer::{self, LayerError, LayerErrorKind, LayerStats, Sniffed};

#[derive(Default)]
pub struct Streamed {
    /// Entries that looked like JSON, kept whole.
    pub json: HashMap<String, Vec<u8>>,
    /// Every other regular entry, scanned as a layer while it went by.
    pub scanned: HashMap<String, Result<LayerStats, Arc<LayerError>>>,
    pub links: HashMap<String, String>,
}

/// Undoes the outer compression, told from the first bytes.
pub fn outer_decoder<'a, R: BufRead + 'a>(
    mut buffered: R,
) -> Result<(Packaging, Box<dyn Read + 'a>), Problem> {
    let head = buffered.fill_buf().map_err(Problem::Io)?;
    let compression = match layer::sniff(head) {
        Sniffed::Known(c) => c,
        Sniffed::Unsupported(name) => return Err(Problem::UnsupportedOuterCompression(name)),
    };
    let packaging = match compression {
        layer::Compression::None => Packaging::Tar,
        layer::Compression::Gzip => Packaging::TarGzip,
        layer::Compression::Zstd => Packaging::TarZstd,
    };
    let decoder = layer::Decoder::new(buffered, compression).map_err(Problem::Io)?;
    Ok((packaging, Box::new(decoder)))
}

pub fn read_stream(reader: Box<dyn Read + '_>) -> Result<Streamed, Problem> {
    let mut archive = tar::Archive::new(reader);
    let mut out = Streamed::default();
    let entries = archive.entries().map_err(Problem::CorruptTar)?;
    let mut seen = 0usize;
    for (n, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| {
            if n == 0 {
                // The parser's complaint would quote the file's first bytes: leave it out.
                drop(e);
                Problem::NotAnArchive(None)
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
                    let result = layer::scan_layer(
                        io::Cursor::new(head).chain(&mut entry),
                        None,
                        Some(size),
                    );
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

/// Errors of a layer scanned during a streamed read are kept in the container; rebuild one to
/// report, with the same message and the stored digest.
pub fn clone_layer_error(e: &LayerError) -> LayerError {
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
