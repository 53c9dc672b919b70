//! Showing an image the way docker's overlay2 driver shows it to a container: every layer
//! unpacked once into a content-addressed store, stacked as overlayfs lower layers, with an
//! upper and work directory per mount for copy-on-write.
//!
//! - `store/`: the layer store on disk (layout, locks, publishing, pruning);
//! - `unpack.rs`: the layers an image needs, unpacked into the store in parallel;
//! - `layer/`: one layer in overlayfs form, the converter the extraction's directory sink is
//!   given (whiteouts as devices, opaque xattrs, hardlinks into the layers below);
//! - `lowers.rs`: the unpacked layers below one layer, opened as needed;
//! - `in_place.rs`: an image of a data root mounted from the data root's own layer directories;
//! - `records.rs`, `mount.rs`, `mountinfo.rs`: mounts, their records and the mount table.

pub mod in_place;
pub mod layer;
pub mod lowers;
pub mod mount;
pub mod mountinfo;
pub mod records;
pub mod store;
pub mod unpack;

use std::io;
use std::path::Path;

use crate::error::{ArchiveError, Problem};
use crate::extract::fs::Root;

pub use in_place::{in_place_lowers, InPlace};
pub use records::{mount_records, mount_source, new_mount_dir, remove_mount_dir, MountRecord};
pub use unpack::{ensure_layers, Ensured};

/// overlayfs stacks at most this many lower layers (the kernel's `OVL_MAX_STACK`).
pub const MAX_LAYERS: usize = 500;

/// The refusal of an image of `layers` layers, more than [`MAX_LAYERS`].
fn too_many_layers(source: &str, layers: usize) -> ArchiveError {
    ArchiveError::new(
        source,
        None,
        Problem::BadContent {
            what: "image",
            detail: format!(
                "{layers} layers: overlayfs stacks at most {MAX_LAYERS} lower layers (mount fewer with --layer N, or use extract)"
            ),
        },
    )
}

/// Removes a directory tree strata made, without following symlinks in it.
pub fn remove_all(path: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let fd = rustix::fs::open(
        parent,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
        rustix::fs::Mode::empty(),
    )?;
    use std::os::unix::ffi::OsStrExt;
    Root::remove(&fd, &crate::rawname::from_bytes(name.as_bytes()))
}

/// 16 random hex digits, for names that must not repeat (mount and session dirs).
pub fn random_id() -> io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// How many of the layers `top_first` (unpacked layer dirs, the top one first) a mount stacks.
/// overlayfs always merges the roots of its layers and takes no opaque mark on a layer's own
/// root, so a layer whose root opaque marker hides every layer below it ends the stack itself.
pub fn stack_depth(top_first: &[std::path::PathBuf]) -> io::Result<usize> {
    depth_by(top_first, |dir, name, value| {
        rustix::fs::lgetxattr(dir, name, value)
    })
}

/// [`stack_depth`] of layers already opened (what is checked is what gets mounted).
pub fn stack_depth_of(top_first: &[std::os::fd::OwnedFd]) -> io::Result<usize> {
    depth_by(top_first, |fd, name, value| {
        rustix::fs::fgetxattr(fd, name, value)
    })
}

fn depth_by<T>(
    top_first: &[T],
    get: impl Fn(&T, &str, &mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<usize> {
    for (i, layer) in top_first.iter().enumerate() {
        for name in ["trusted.overlay.opaque", "user.overlay.opaque"] {
            let mut value = [0u8; 2];
            match get(layer, name, &mut value) {
                Ok(n) if &value[..n] == b"y" => return Ok(i + 1),
                Ok(_) | Err(rustix::io::Errno::NODATA | rustix::io::Errno::RANGE) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(top_first.len())
}
