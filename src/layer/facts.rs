//! One layer's facts, in two halves: what the archive claims about it ([`LayerRef`]: where its
//! blob lies, the manifest's digest, size and media type, the config's diffID) and what reading
//! its bytes measured ([`Measured`]; a whole pass adds the content statistics of
//! [`LayerStats`]). [`LayerRef::compare`] is the one place the two are held against each other:
//! `verify` and `inspect` show its comparisons as checks, and every reader that consumes a
//! layer's entries (extract, the explore commands) fails on its first contradiction.

use crate::digest::Digest;
use crate::error::Problem;

use super::Compression;

/// What the archive claims about one layer, before any of its bytes are read.
#[derive(Debug, Clone)]
pub struct LayerRef {
    pub index: usize,
    /// Where the blob lies inside the archive.
    pub path: String,
    pub media_type: Option<String>,
    /// Digest and size the manifest (or the blob's own name) claims.
    pub claimed_digest: Option<Digest>,
    pub claimed_size: Option<u64>,
    /// `rootfs.diff_ids[index]` of the config.
    pub config_diff_id: Option<Digest>,
}

/// What one read of a layer's bytes measured of the facts the manifest and config claim
/// (go-containerregistry's `Digest`, `Size` and `DiffID`). A fact is `None` when the read did
/// not establish it: it failed first (see [`super::LayerError::measured`]), or it was not asked
/// to hash a compressed blob (see [`crate::extract::pipe::Pipelined::start`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measured {
    /// sha256 of the blob as stored.
    pub digest: Option<Digest>,
    /// The blob's length as stored.
    pub compressed_size: Option<u64>,
    /// sha256 of the whole decompressed stream, including anything after the tar end marker.
    pub diff_id: Option<Digest>,
}

/// Everything the single pass learns about one layer: the digests of [`Measured`], all known
/// (accessors below), and what the tar holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    pub measured: Measured,
    pub compression: Compression,
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

const WHOLE_PASS: &str = "a whole pass measures every digest";

impl LayerStats {
    /// sha256 of the blob as stored.
    pub fn digest(&self) -> &Digest {
        self.measured.digest.as_ref().expect(WHOLE_PASS)
    }

    pub fn compressed_size(&self) -> u64 {
        self.measured.compressed_size.expect(WHOLE_PASS)
    }

    pub fn diff_id(&self) -> &Digest {
        self.measured.diff_id.as_ref().expect(WHOLE_PASS)
    }
}

/// A fact both the claims and a read speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    BlobDigest,
    BlobSize,
    DiffId,
}

impl Fact {
    /// The check's name in `verify` (and its JSON).
    pub fn key(self) -> &'static str {
        match self {
            Fact::BlobDigest => "blob_digest",
            Fact::BlobSize => "blob_size",
            Fact::DiffId => "diff_id",
        }
    }

    /// The fact's name in the error of a reader that refuses the layer.
    pub fn label(self) -> &'static str {
        match self {
            Fact::BlobDigest => "blob digest",
            Fact::BlobSize => "blob size",
            Fact::DiffId => "diffID",
        }
    }
}

/// One claim held against what was measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub fact: Fact,
    /// What the manifest or config claims; `None` only for a diffID the config does not give.
    pub claimed: Option<String>,
    /// What the read measured; `None` when it did not establish it.
    pub found: Option<String>,
}

impl Comparison {
    /// The claim and the measurement are both known and differ: the archive is not what it
    /// says. (A fact that is unknown on either side contradicts nothing; `verify` still counts
    /// it as a failed check.)
    pub fn mismatch(&self) -> Option<Problem> {
        match (&self.claimed, &self.found) {
            (Some(expected), Some(found)) if expected != found => Some(Problem::Mismatch {
                what: self.fact.label(),
                expected: expected.clone(),
                found: found.clone(),
            }),
            _ => None,
        }
    }
}

impl LayerRef {
    /// Layer `index`, stored at `path`, before the manifest or config claims anything of it.
    pub fn unclaimed(index: usize, path: String) -> LayerRef {
        LayerRef {
            index,
            path,
            media_type: None,
            claimed_digest: None,
            claimed_size: None,
            config_diff_id: None,
        }
    }

    /// The one comparison of this layer's claims with what reading it measured: its blob digest
    /// and size where the manifest (or the blob's name) claims them, and its diffID always (a
    /// layer the config vouches nothing for is itself a finding).
    pub fn compare(&self, found: &Measured) -> Vec<Comparison> {
        let text = |d: &Option<Digest>| d.as_ref().map(|d| d.to_string());
        let mut out = Vec::with_capacity(3);
        if self.claimed_digest.is_some() {
            out.push(Comparison {
                fact: Fact::BlobDigest,
                claimed: text(&self.claimed_digest),
                found: text(&found.digest),
            });
        }
        if let Some(size) = self.claimed_size {
            out.push(Comparison {
                fact: Fact::BlobSize,
                claimed: Some(size.to_string()),
                found: found.compressed_size.map(|n| n.to_string()),
            });
        }
        out.push(Comparison {
            fact: Fact::DiffId,
            claimed: text(&self.config_diff_id),
            found: text(&found.diff_id),
        });
        out
    }
}
