//! The library's error: which archive, which entry or layer inside it, and what is wrong.
//! Displayed on one line; lower-level causes (I/O, JSON) stay in the `source()` chain.

use std::fmt;

use crate::digest::BadDigest;
use crate::layer::LayerError;

#[derive(Debug)]
pub struct ArchiveError {
    /// The archive as the user named it.
    pub archive: String,
    /// The entry, blob or layer inside the archive, if the problem is with one.
    pub entry: Option<String>,
    pub problem: Problem,
}

impl ArchiveError {
    pub fn new(archive: &str, entry: Option<String>, problem: Problem) -> ArchiveError {
        ArchiveError {
            archive: archive.to_string(),
            entry,
            problem,
        }
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.archive)?;
        if let Some(entry) = &self.entry {
            write!(f, ": {entry}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for ArchiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.problem)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("cannot read it")]
    Io(#[source] std::io::Error),
    #[error("cannot write it")]
    Write(#[source] std::io::Error),
    #[error(
        "not an image archive: not a tar, an OCI layout directory, or a gzip/zstd-compressed tar"
    )]
    NotAnArchive(#[source] Option<std::io::Error>),
    #[error("{0}-compressed archives are not supported (only gzip and zstd)")]
    UnsupportedOuterCompression(&'static str),
    #[error("the tar archive is corrupt or truncated")]
    CorruptTar(#[source] std::io::Error),
    #[error("not an image archive: it has neither manifest.json (docker save) nor index.json (OCI layout)")]
    NoManifest,
    #[error("missing from the archive ({0})")]
    Missing(String),
    #[error("{}", json_problem(what, source))]
    BadJson {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{detail}")]
    BadContent { what: &'static str, detail: String },
    #[error("larger than the {limit}-byte limit for {what}")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("{what} mismatch: expected {expected}, found {found}")]
    Mismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("refused: {what} mismatch, the blob is not the one its descriptor names: expected {expected}, found {found}")]
    NotAsDescribed {
        what: &'static str,
        expected: String,
        found: String,
    },
    #[error("an upper layer writes through this entry (a symlink made by a lower layer); only an in-order extraction into a directory can apply that")]
    WritesThrough,
    #[error(transparent)]
    OverLimit(#[from] crate::extract::budget::OverLimit),
    #[error(transparent)]
    Limit(#[from] crate::extract::limits::LimitReached),
    #[error("path points outside the archive")]
    PathEscapes,
    #[error("does not exist")]
    Absent,
    #[error("is a symlink or lies under one; links in a data root are not followed")]
    Symlink,
    /// The data root's files are not what its records say (see `archive::tarsplit`).
    #[error("{0}")]
    DataRoot(crate::archive::tarsplit::Fault),
    #[error("not a regular file")]
    NotAFile,
    #[error("too many levels of links inside the archive")]
    LinkLoop,
    #[error("not a container image: {0}")]
    NotAnImage(String),
    #[error("the archive holds no image")]
    NoImages,
    #[error("{}", several_images(*count, *total, wanted.as_deref(), listing))]
    SeveralImages {
        /// How many images are left to choose from.
        count: usize,
        /// How many the archive holds.
        total: usize,
        /// The `--image` that matched them all, if one was given.
        wanted: Option<String>,
        listing: String,
    },
    #[error("no image matches `{wanted}`; the archive holds:\n{listing}")]
    NoMatch { wanted: String, listing: String },
    #[error("no image `{wanted}` in this data root; its tags:\n{listing}")]
    NotInDataRoot { wanted: String, listing: String },
    #[error("no image for platform {wanted}; available: {available}")]
    NoPlatform { wanted: String, available: String },
    #[error(transparent)]
    BadDigest(#[from] BadDigest),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

fn several_images(count: usize, total: usize, wanted: Option<&str>, listing: &str) -> String {
    let head = match wanted {
        Some(w) => format!(
            "`{}` matches {count} of the archive's {total} images",
            crate::rawname::escape_for_message(w, 100)
        ),
        None => format!("the archive holds {count} images"),
    };
    format!("{head}; pick one with --image REF (a tag, a digest, or #N for the number):\n{listing}")
}

fn json_problem(what: &str, e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("{what} does not have the expected fields"),
        serde_json::error::Category::Eof => format!("{what} is truncated JSON"),
        _ => format!("{what} is not valid JSON"),
    }
}
