//! Mounting an image of a data root (`docker-root:`, `containers-storage:`) from the data
//! root's own layer directories, checked and opened without following symlinks.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::fs::FileType;

use super::{too_many_layers, MAX_LAYERS};
use crate::archive::dockerroot::DockerRoot;
use crate::error::{ArchiveError, Problem};
use crate::image::Image;

/// The lower layers of an image read from a data root (`docker-root:`, `containers-storage:`),
/// used where they lie: each layer's `diff/` directory, which the graphdriver keeps in overlay
/// form already (whiteouts as 0/0 devices, `trusted.overlay.opaque`). Nothing is copied.
pub struct InPlace {
    /// The data root, canonical (for the paths the kernel is handed when it takes no fds).
    pub root: PathBuf,
    /// Each layer's `diff/`, relative to the root, bottom first.
    pub rels: Vec<String>,
    /// The same, opened beneath the root without following any symlink, bottom first: what
    /// was checked is what gets mounted.
    pub fds: Vec<std::os::fd::OwnedFd>,
}

impl InPlace {
    /// The layers' directories as absolute paths, bottom first.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.rels.iter().map(|r| self.root.join(r)).collect()
    }
}

/// For an image of a data root, its layers `0..=top` in place: each `diff/` must be a real
/// directory (not a symlink, nothing on the way a symlink), or the whole is refused with the
/// path named. None for an image read from an archive.
pub fn in_place_lowers(image: &Image, top: usize) -> Result<Option<InPlace>, ArchiveError> {
    let Some(root) = image.container.data_root() else {
        return Ok(None);
    };
    if top + 1 > MAX_LAYERS {
        return Err(too_many_layers(&image.source_path, top + 1));
    }
    let mut rels = Vec::with_capacity(top + 1);
    let mut fds = Vec::with_capacity(top + 1);
    for layer in &image.layers[..=top] {
        let rel = root.diff_dir(&layer.path)?;
        fds.push(open_layer_dir(root, &rel)?);
        rels.push(rel);
    }
    let canonical = root
        .dir
        .canonicalize()
        .map_err(|e| ArchiveError::new(&root.display(), None, Problem::Io(e)))?;
    Ok(Some(InPlace {
        root: canonical,
        rels,
        fds,
    }))
}

/// Opens the layer directory `rel` of the data root, refusing it (with the step of the way that
/// is wrong named) unless it is a real directory reached without any symlink.
fn open_layer_dir(root: &DockerRoot, rel: &str) -> Result<OwnedFd, ArchiveError> {
    let refuse = |at: &str, detail: String| {
        ArchiveError::new(
            &root.display(),
            Some(at.to_string()),
            Problem::BadContent {
                what: "layer directory",
                detail,
            },
        )
    };
    // Each step on the way (`overlay2`, `overlay2/<cache-id>`, then `diff`) in turn, so the
    // message names the one that is wrong.
    let mut at = String::new();
    for part in rel.split('/') {
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(part);
        if at != rel {
            if let Some(FileType::Symlink) = root.kind_of(&at)? {
                return Err(refuse(
                    &at,
                    format!(
                        "is a symlink (on the way to {rel}); links in a data root are not followed"
                    ),
                ));
            }
        }
    }
    match root.kind_of(rel)? {
        None => {
            return Err(refuse(
                rel,
                "does not exist: the data root lacks this layer's files".into(),
            ))
        }
        Some(FileType::Directory) => {}
        Some(FileType::Symlink) => {
            return Err(refuse(
                rel,
                "is a symlink, not a directory; links in a data root are not followed".into(),
            ))
        }
        Some(other) => {
            return Err(refuse(
                rel,
                format!("is not a directory ({other:?}), so it cannot be a lower layer"),
            ))
        }
    }
    // Opened with no symlink anywhere on the way (a linked parent directory is refused).
    let fd = root.open_dir(rel)?;
    let st = rustix::fs::fstat(&fd).map_err(|e| {
        ArchiveError::new(
            &root.display(),
            Some(rel.to_string()),
            Problem::Io(e.into()),
        )
    })?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(refuse(rel, "is not a directory".into()));
    }
    Ok(fd)
}
