//! The checks `verify` lists and `inspect` warns of: each one claim of the archive (a
//! descriptor's digest or size, the config's layer count, a layer's digests) against what its
//! bytes are.

use crate::error::{ArchiveError, Problem};
use crate::layer::{Comparison, LayerRef, Measured};

/// One comparison between what the archive claims and what its bytes are.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub what: &'static str,
    pub layer_index: Option<usize>,
    pub expected: String,
    pub found: String,
    pub ok: bool,
    /// The archive entry the check is about.
    #[serde(skip)]
    pub entry: String,
}

impl Check {
    /// A layer's checks, from the one comparison of its claims with what was measured
    /// ([`LayerRef::compare`]): blob digest and size against the manifest's claim, diffID
    /// against the config's. A claim the config does not make, or a fact the read did not
    /// establish (`unknown` says why), fails its check.
    pub fn of_layer(layer: &LayerRef, measured: &Measured, unknown: &str) -> Vec<Check> {
        let of = |c: Comparison| {
            let expected = c.claimed.unwrap_or_else(|| "(none in config)".into());
            let found = c.found.unwrap_or_else(|| unknown.to_string());
            check(
                c.fact.key(),
                Some(layer.index),
                &expected,
                &found,
                &layer.path,
            )
        };
        layer.compare(measured).into_iter().map(of).collect()
    }

    /// The checks of a layer whose pass failed: the blob digest may still be known (the stored
    /// bytes were readable), the diffID is not.
    pub fn of_failed_layer(layer: &LayerRef, error: &ArchiveError) -> Vec<Check> {
        let measured = match &error.problem {
            Problem::Layer(e) => e.measured(),
            _ => Measured::default(),
        };
        let reason = match &error.problem {
            Problem::Missing(_) => "missing".to_string(),
            p => format!("unreadable: {p}"),
        };
        Check::of_layer(layer, &measured, &reason)
    }
}

pub(super) fn check(
    what: &'static str,
    layer_index: Option<usize>,
    expected: &str,
    found: &str,
    entry: &str,
) -> Check {
    Check {
        what,
        layer_index,
        expected: expected.to_string(),
        found: found.to_string(),
        ok: expected == found,
        entry: entry.to_string(),
    }
}

pub fn mismatch_text(archive: &str, c: &Check) -> String {
    let what = match c.layer_index {
        Some(i) => format!("layer {i} {}", c.what),
        None => c.what.to_string(),
    };
    format!(
        "{archive}: {}: {what} mismatch: expected {}, found {}",
        c.entry, c.expected, c.found
    )
}
