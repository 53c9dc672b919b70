//! A layer read as a verified stream of classified entries: the blob is decompressed and hashed
//! on the way (stored digest, diffID, size), its tar structure bounded by [`TarGuard`], every
//! entry name classified (content, whiteout, opaque marker, aufs metadata) and counted against
//! the limits, and the stream read to its true end so that a digest or size that differs from
//! what the manifest and config claim fails the layer. Readers that only look at entries (the
//! explore commands) consume layers through [`read_layer`] and never check digests themselves.

use std::io;

use crate::error::{ArchiveError, Problem};
use crate::extract::limits::{LimitReached, Limits};
use crate::extract::pipe::Pipelined;
use crate::extract::rules::{classify, BadName, EntryKind};
use crate::image::{Image, LayerRef};
use crate::layer::{LayerError, Measured};
use crate::targuard::{PaxTap, SparseBudget, TarGuard};

/// An entry of a layer's tar, positioned on its header with its data still to read.
pub type TarEntry<'a> = tar::Entry<'a, TarGuard<Pipelined>>;

/// Where the error about an entry points: "layer 3 (blobs/sha256/…): entry `etc/passwd`".
pub fn entry_context(layer: &LayerRef, name: &str) -> String {
    format!(
        "{}: entry `{}`",
        layer_context(layer),
        crate::rawname::escape_for_message(name, 200)
    )
}

pub fn layer_context(layer: &LayerRef) -> String {
    format!("layer {} ({})", layer.index, layer.path)
}

/// Reads layer `layer` of `image` from start to end, calling `each` with every entry's position
/// in the layer, its classified name, the entry itself and the guard's tap on its pax records
/// (for [`crate::extract::entry::meta_of`]; aufs metadata is passed too, so
/// that positions stay those of the tar). Fails on a corrupt or truncated tar, a refused name,
/// a limit reached (entries, and file content read for `--max-size`), or digests that differ from the claims; `each` may fail too, and its error
/// ends the read. Returns the digests found.
pub fn read_layer(
    image: &Image,
    layer: &LayerRef,
    limits: &Limits,
    sparse: &SparseBudget,
    mut each: impl FnMut(usize, EntryKind, &mut TarEntry<'_>, &PaxTap) -> Result<(), ArchiveError>,
) -> Result<Measured, ArchiveError> {
    let fail = |what: String, p: Problem| ArchiveError::new(&image.source_path, Some(what), p);
    let context = layer_context(layer);
    let blob = image.container.open_blob(&layer.path, &context)?;
    let stored_size = image.container.stored_size(&layer.path);
    let mut guard = TarGuard::expanding(
        Pipelined::start_sized(blob, true, stored_size),
        sparse.clone(),
    );
    let pax = guard.pax_tap();
    let mut archive = tar::Archive::new(guard);
    // Entry data nobody reads is passed over in the stream's own buffers (see TarGuard's Seek).
    let entries = archive
        .entries_with_seek()
        .map_err(|e| fail(context.clone(), tar_problem(e)))?;
    for (position, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| fail(context.clone(), tar_problem(e)))?;
        let name = crate::rawname::from_bytes(&entry.path_bytes()).into_owned();
        let at = |p: Problem| fail(entry_context(layer, &name), p);
        limits.entry().map_err(|e| at(e.into()))?;
        if entry.header().entry_type().is_file() || entry.header().entry_type().is_gnu_sparse() {
            // What `--max-size` bounds here: the file content the command reads.
            if let Err(e) = limits.bytes(entry.size()) {
                let reached = LimitReached::find(&e).cloned();
                return Err(at(reached.map_or(Problem::CorruptTar(e), Problem::Limit)));
            }
        }
        let kind = classify(&name).map_err(|e| at(bad_name(e)))?;
        each(position, kind, &mut entry, &pax)?;
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

/// Fails on the first of the layer's claims that what reading it found contradicts (see
/// [`LayerRef::compare`]), or when the read ended before its digests were known.
pub fn check_digests(
    layer: &LayerRef,
    found: Option<Measured>,
    fail: &dyn Fn(Problem) -> ArchiveError,
) -> Result<(), ArchiveError> {
    let Some(found) = found else {
        return Err(fail(Problem::BadContent {
            what: "layer",
            detail: "the layer stream ended before its digests were known".into(),
        }));
    };
    match layer.compare(&found).iter().find_map(|c| c.mismatch()) {
        Some(problem) => Err(fail(problem)),
        None => Ok(()),
    }
}

/// Reads `layers` with up to two (the machine's parallelism) read ahead of the one being
/// consumed, each on its own worker, and hands every result to `consume` in layer order.
/// Reading a layer (decompressing, hashing, parsing) is independent of the layers below; only
/// applying it is not. The first failure in layer order ends the pass: a failed read is given
/// to `consume` like a result, and an error from `consume` stops the workers.
pub fn read_in_order<'a, T: Send, E: Send>(
    layers: &'a [LayerRef],
    read: impl Fn(&'a LayerRef) -> Result<T, E> + Sync,
    mut consume: impl FnMut(&'a LayerRef, Result<T, E>) -> Result<(), E>,
) -> Result<(), E> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};

    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 2)
        .min(layers.len());
    if workers <= 1 {
        return layers.iter().try_for_each(|l| consume(l, read(l)));
    }
    let next = AtomicUsize::new(0);
    // A worker takes a token before it starts a layer and the consumer gives one back per
    // layer consumed, so at most `workers` layers are read and not yet consumed.
    let (give_token, tokens) = mpsc::sync_channel::<()>(workers);
    for _ in 0..workers {
        let _ = give_token.send(());
    }
    let tokens = Mutex::new(tokens);
    // `None` says a read panicked: the consumer stops, and the scope passes the panic on.
    let (results, received) = mpsc::channel::<(usize, Option<Result<T, E>>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let results = results.clone();
            let (next, tokens, read) = (&next, &tokens, &read);
            scope.spawn(move || loop {
                let token = tokens.lock().unwrap_or_else(|p| p.into_inner()).recv();
                if token.is_err() {
                    return;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(layer) = layers.get(index) else {
                    return;
                };
                let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(layer)));
                match read {
                    Ok(result) => {
                        if results.send((index, Some(result))).is_err() {
                            return;
                        }
                    }
                    Err(panic) => {
                        let _ = results.send((index, None));
                        std::panic::resume_unwind(panic);
                    }
                }
            });
        }
        drop(results);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        while wanted < layers.len() {
            let Some(result) = waiting.remove(&wanted) else {
                match received.recv() {
                    Ok((index, Some(result))) => {
                        waiting.insert(index, result);
                        continue;
                    }
                    Ok((_, None)) | Err(_) => break,
                }
            };
            consume(&layers[wanted], result)?;
            wanted += 1;
            let _ = give_token.try_send(());
        }
        // Dropping the token sender (end of scope) releases workers waiting for a token.
        drop(give_token);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn layers(n: usize) -> Vec<LayerRef> {
        (0..n)
            .map(|index| LayerRef::unclaimed(index, format!("blobs/{index}")))
            .collect()
    }

    #[test]
    fn results_come_in_layer_order_with_bounded_read_ahead() {
        let layers = layers(40);
        let (started, consumed) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut order = Vec::new();
        read_in_order(
            &layers,
            |layer| {
                let ahead =
                    started.fetch_add(1, Ordering::SeqCst) - consumed.load(Ordering::SeqCst);
                assert!(ahead < 2, "{ahead} layers read ahead of the consumer");
                // Later layers finish first, so the consumer has to put them back in order.
                std::thread::sleep(std::time::Duration::from_micros(
                    ((40 - layer.index) * 50) as u64,
                ));
                Ok::<_, String>(layer.index * 10)
            },
            |layer, read| {
                assert_eq!(read?, layer.index * 10);
                order.push(layer.index);
                consumed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(order, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn the_first_failure_in_layer_order_is_the_one_reported() {
        let layers = layers(6);
        let mut consumed = Vec::new();
        let result = read_in_order(
            &layers,
            |layer| match layer.index {
                // Layer 4 fails at once, layer 2 only after a while: 2 is still the answer.
                2 => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    Err(format!("layer {} is corrupt", layer.index))
                }
                4 => Err("layer 4 is corrupt".to_string()),
                i => Ok(i),
            },
            |_, read| {
                consumed.push(read?);
                Ok(())
            },
        );
        assert_eq!(result, Err("layer 2 is corrupt".to_string()));
        assert_eq!(consumed, [0, 1]);
    }

    #[test]
    fn a_consumer_error_stops_the_pass() {
        let layers = layers(50);
        let reads = AtomicUsize::new(0);
        let result = read_in_order(
            &layers,
            |layer| {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>(layer.index)
            },
            |layer, _| match layer.index {
                3 => Err("stop".to_string()),
                _ => Ok(()),
            },
        );
        assert_eq!(result, Err("stop".to_string()));
        assert!(
            reads.load(Ordering::SeqCst) <= 6,
            "kept reading after the error"
        );
    }

    #[test]
    fn one_layer_and_none_are_read_in_place() {
        for n in [0, 1] {
            let mut seen = 0;
            read_in_order(
                &layers(n),
                |l| Ok::<_, String>(l.index),
                |_, r| {
                    seen += 1 + r?;
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, n);
        }
    }
}
