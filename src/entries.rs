//! A layer read as a verified stream of classified entries: the blob is decompressed and hashed
//! on the way (stored digest, diffID, size), its tar structure bounded by [`TarGuard`], every
//! entry name classified (content, whiteout, opaque marker, aufs metadata) and counted against
//! the limits, and the stream read to its true end so that a digest or size that differs from
//! what the manifest and config claim fails the layer. Readers that only look at entries (the
//! explore commands) consume layers through [`read_layer`] and never check digests themselves.

use std::io;

use crate::error::{ArchiveError, Problem};
use crate::extract::limits::Limits;
use crate::extract::pipe::{LayerDigests, Pipelined};
use crate::extract::rules::{classify, BadName, EntryKind};
use crate::image::{Image, LayerRef};
use crate::layer::LayerError;
use crate::targuard::{SparseBudget, TarGuard};

/// An entry of a layer's tar, positioned on its header with its data still to read.
pub type TarEntry<'a> = tar::Entry<'a, TarGuard<Pipelined>>;

/// Where the error about an entry points: "layer 3 (blobs/sha256/…): entry `etc/passwd`".
pub fn entry_context(layer: &LayerRef, name: &str) -> String {
    format!(
        "{}: entry `{}`",
        layer_context(layer),
        crate::render::escape_for_message(name, 200)
    )
}

pub fn layer_context(layer: &LayerRef) -> String {
    format!("layer {} ({})", layer.index, layer.path)
}

/// Reads layer `layer` of `image` from start to end, calling `each` with every entry's position
/// in the layer, its classified name and the entry itself (aufs metadata is passed too, so
/// that positions stay those of the tar). Fails on a corrupt or truncated tar, a refused name,
/// a limit reached, or digests that differ from the claims; `each` may fail too, and its error
/// ends the read. Returns the digests found.
pub fn read_layer(
    image: &Image,
    layer: &LayerRef,
    limits: &Limits,
    sparse: &SparseBudget,
    mut each: impl FnMut(usize, EntryKind, &mut TarEntry<'_>) -> Result<(), ArchiveError>,
) -> Result<LayerDigests, ArchiveError> {
    let fail = |what: String, p: Problem| ArchiveError::new(&image.source_path, Some(what), p);
    let context = layer_context(layer);
    let blob = image.container.open_blob(&layer.path, &context)?;
    let mut archive = tar::Archive::new(TarGuard::expanding(
        Pipelined::start(blob, true),
        sparse.clone(),
    ));
    // Entry data nobody reads is passed over in the stream's own buffers (see TarGuard's Seek).
    let entries = archive
        .entries_with_seek()
        .map_err(|e| fail(context.clone(), tar_problem(e)))?;
    for (position, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| fail(context.clone(), tar_problem(e)))?;
        let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
        let at = |p: Problem| fail(entry_context(layer, &name), p);
        limits.entry().map_err(|e| at(e.into()))?;
        let kind = classify(&name).map_err(|e| at(bad_name(e)))?;
        each(position, kind, &mut entry)?;
    }
    let mut rest = archive.into_inner().into_inner();
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| fail(context.clone(), Problem::CorruptTar(e)))?;
    let found = rest.digests();
    check_digests(layer, found.clone(), &|p| fail(context.clone(), p))?;
    Ok(found.expect("check_digests refuses a stream without digests"))
}

/// What a failed read of a layer's tar stream means: the layer reader's own typed error (an
/// unsupported compression, a decompression or read failure) when that is what failed, else a
/// corrupt or truncated tar.
pub fn tar_problem(e: io::Error) -> Problem {
    if e.get_ref().is_some_and(|inner| inner.is::<LayerError>()) {
        if let Ok(layer) = e.into_inner().expect("checked").downcast::<LayerError>() {
            return Problem::Layer(*layer);
        }
        unreachable!("checked to be a LayerError");
    }
    Problem::CorruptTar(e)
}

/// The refusal of an entry name, as a problem of the image's content.
pub fn bad_name(e: BadName) -> Problem {
    Problem::BadContent {
        what: "entry name",
        detail: format!("refused: {e}"),
    }
}

/// Compares what reading the layer found with what the manifest and config claim.
pub fn check_digests(
    layer: &LayerRef,
    found: Option<LayerDigests>,
    fail: &dyn Fn(Problem) -> ArchiveError,
) -> Result<(), ArchiveError> {
    let Some(found) = found else {
        return Err(fail(Problem::BadContent {
            what: "layer",
            detail: "the layer stream ended before its digests were known".into(),
        }));
    };
    let mismatch = |what: &'static str, expected: String, found: String| Problem::Mismatch {
        what,
        expected,
        found,
    };
    if let (Some(claimed), Some(stored)) = (&layer.claimed_digest, &found.stored) {
        if claimed != stored {
            return Err(fail(mismatch(
                "blob digest",
                claimed.to_string(),
                stored.to_string(),
            )));
        }
    }
    if let Some(size) = layer.claimed_size {
        if size != found.stored_size {
            return Err(fail(mismatch(
                "blob size",
                size.to_string(),
                found.stored_size.to_string(),
            )));
        }
    }
    if let Some(diff_id) = &layer.config_diff_id {
        if *diff_id != found.diff_id {
            return Err(fail(mismatch(
                "diffID",
                diff_id.to_string(),
                found.diff_id.to_string(),
            )));
        }
    }
    Ok(())
}
