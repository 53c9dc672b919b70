//! Limits a user can set on what building a tree may take (`--max-layers`, `--max-files`,
//! `--max-size`), and what to leave out (`--no-devices`). The defaults are far above any real
//! image; a hostile one that goes past a limit is refused with an error naming the limit and
//! the flag that sets it. The counts are shared by every merge of one run (the layer store
//! unpacks layers in parallel), so a limit holds for the image, not for each layer.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// overlayfs' own limit on lower layers, and the default for every reader.
pub const DEFAULT_MAX_LAYERS: usize = 500;
/// Tar entries read, of every type, in all layers together.
pub const DEFAULT_MAX_FILES: u64 = 10_000_000;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_layers: usize,
    pub max_files: u64,
    /// Bytes of file content written; `None`: only the free-space rule of [`super::space`].
    pub max_size: Option<u64>,
    /// Character and block devices are skipped (and counted) instead of created.
    pub no_devices: bool,
    used: Arc<Used>,
    /// What one pass over a layer counted ([`Limits::for_layer`]), so that a layer read again
    /// can give it back.
    layer: Option<Arc<Used>>,
}

#[derive(Debug, Default)]
struct Used {
    entries: AtomicU64,
    bytes: AtomicU64,
    devices_skipped: AtomicU64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_layers: DEFAULT_MAX_LAYERS,
            max_files: DEFAULT_MAX_FILES,
            max_size: None,
            no_devices: false,
            used: Arc::default(),
            layer: None,
        }
    }
}

/// A limit reached: which, its value, the flag that raises it, and the image's own count
/// when it is known up front (layers; entries and bytes are counted only up to the limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LimitReached {
    pub what: &'static str,
    pub limit: u64,
    pub flag: &'static str,
    pub found: Option<u64>,
}

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (limit, flag) = (self.limit, self.flag);
        // "more than 1 entry", "1 layer": the noun follows the number it is read with.
        let noun = |n: u64| match (n, self.what) {
            (1, "layers") => "layer",
            (1, "entries") => "entry",
            (1, "bytes of file content") => "byte of file content",
            _ => self.what,
        };
        let what = noun(limit);
        match self.found {
            Some(n) => write!(
                f,
                "refused: the image has {n} {}, more than the limit of {limit} set by {flag} (raise it to go on)",
                noun(n)
            ),
            None => write!(
                f,
                "refused: the image has more than {limit} {what}, the limit set by {flag} (raise it to go on)"
            ),
        }
    }
}

impl LimitReached {
    pub fn find(e: &io::Error) -> Option<&LimitReached> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<LimitReached>())
    }
}

impl Limits {
    pub fn new(
        max_layers: usize,
        max_files: u64,
        max_size: Option<u64>,
        no_devices: bool,
    ) -> Limits {
        Limits {
            max_layers,
            max_files,
            max_size,
            no_devices,
            used: Arc::default(),
            layer: None,
        }
    }

    /// Counts from zero again (an extraction that starts over, in order).
    pub fn restart(&self) {
        self.used.entries.store(0, Ordering::Relaxed);
        self.used.bytes.store(0, Ordering::Relaxed);
        self.used.devices_skipped.store(0, Ordering::Relaxed);
    }

    /// Checks a number of layers against `--max-layers`.
    pub fn layers(&self, n: usize) -> Result<(), LimitReached> {
        if n > self.max_layers {
            return Err(LimitReached {
                what: "layers",
                limit: self.max_layers as u64,
                flag: "--max-layers",
                found: Some(n as u64),
            });
        }
        Ok(())
    }

    /// Counts one more tar entry against `--max-files`.
    pub fn entry(&self) -> Result<(), LimitReached> {
        if let Some(layer) = &self.layer {
            layer.entries.fetch_add(1, Ordering::Relaxed);
        }
        let n = self.used.entries.fetch_add(1, Ordering::Relaxed) + 1;
        if n > self.max_files {
            return Err(LimitReached {
                what: "entries",
                limit: self.max_files,
                flag: "--max-files",
                found: None,
            });
        }
        Ok(())
    }

    /// Counts `n` more bytes of file content against `--max-size`, before they are written.
    pub fn bytes(&self, n: u64) -> io::Result<()> {
        if let Some(layer) = &self.layer {
            layer.bytes.fetch_add(n, Ordering::Relaxed);
        }
        let total = self.used.bytes.fetch_add(n, Ordering::Relaxed) + n;
        match self.max_size {
            Some(max) if total > max => Err(io::Error::other(LimitReached {
                what: "bytes of file content",
                limit: max,
                flag: "--max-size",
                found: None,
            })),
            _ => Ok(()),
        }
    }

    pub fn skipped_device(&self) {
        if let Some(layer) = &self.layer {
            layer.devices_skipped.fetch_add(1, Ordering::Relaxed);
        }
        self.used.devices_skipped.fetch_add(1, Ordering::Relaxed);
    }

    /// The same limits and counts, remembering apart what one pass over one layer counts, for
    /// [`Limits::give_back`].
    pub fn for_layer(&self) -> Limits {
        Limits {
            layer: Some(Arc::default()),
            ..self.clone()
        }
    }

    /// Un-counts what this layer's pass counted (from [`Limits::for_layer`]): the layer store
    /// reads a layer again when it writes through a lower symlink, and its entries are still
    /// the image's entries once, as `strata extract` counts them.
    pub fn give_back(&self) {
        let Some(layer) = &self.layer else {
            return;
        };
        for (used, own) in [
            (&self.used.entries, &layer.entries),
            (&self.used.bytes, &layer.bytes),
            (&self.used.devices_skipped, &layer.devices_skipped),
        ] {
            let n = own.swap(0, Ordering::Relaxed);
            used.fetch_sub(n.min(used.load(Ordering::Relaxed)), Ordering::Relaxed);
        }
    }

    /// Device nodes left out because of `--no-devices`, so far.
    pub fn devices_skipped(&self) -> u64 {
        self.used.devices_skipped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_given_back_counts_once() {
        let image = Limits::new(10, 3, Some(100), false);
        image.entry().unwrap();
        let layer = image.for_layer();
        layer.entry().unwrap();
        layer.entry().unwrap();
        layer.bytes(60).unwrap();
        assert!(layer.entry().is_err(), "the image's count is shared");
        layer.give_back();
        let again = image.for_layer();
        again.entry().unwrap();
        again.entry().unwrap();
        again.bytes(90).unwrap();
        assert!(again.entry().is_err());
        assert!(again.bytes(20).is_err());
    }

    #[test]
    fn limits_name_their_flag_and_are_shared_by_clones() {
        let l = Limits::new(3, 2, Some(10), false);
        let other = l.clone();
        l.entry().unwrap();
        other.entry().unwrap();
        let e = l.entry().unwrap_err();
        assert_eq!(e.flag, "--max-files");
        assert!(e.to_string().contains("more than 2 entries"), "{e}");
        l.bytes(10).unwrap();
        let e = other.bytes(1).unwrap_err();
        assert_eq!(LimitReached::find(&e).unwrap().flag, "--max-size");
        assert!(l.layers(3).is_ok());
        let e = l.layers(4).unwrap_err();
        assert!(
            e.to_string().contains("4 layers, more than the limit of 3"),
            "{e}"
        );
        l.restart();
        l.entry().unwrap();
    }

    #[test]
    fn a_limit_of_one_reads_in_the_singular() {
        let l = Limits::new(1, 1, Some(1), false);
        l.entry().unwrap();
        let e = l.entry().unwrap_err();
        assert!(
            e.to_string().contains("more than 1 entry, the limit"),
            "{e}"
        );
        let e = l.layers(2).unwrap_err();
        assert!(
            e.to_string()
                .contains("has 2 layers, more than the limit of 1"),
            "{e}"
        );
        l.bytes(1).unwrap();
        let e = l.bytes(1).unwrap_err().to_string();
        assert!(e.contains("more than 1 byte of file content"), "{e}");
    }
}
