//! Writes the merged tree into a directory through [`Root`], so that nothing lands outside it.
//! Directory metadata is applied last, deepest first, so a read-only or 0000 directory still
//! receives its children and keeps its mtime.

use std::collections::BTreeMap;
use std::io::{self, Read};

use rustix::fs::{makedev, FileType};

mod data;
mod layer;
mod markers;
mod through;

use data::{copy_file_data, copy_sparse};

pub use markers::MarkerThroughSymlink;
pub use through::{writes_through_lower, LayerMarks, WritesThroughLower};

use super::budget::Budget;
use super::engine::Decision;
use super::fs::{Meta, Root};
use super::lowers::Lowers;
use super::merge::{Sink, Special};
use super::rules::{file_name, parent};
use super::space::SpaceGuard;
use super::spill::PathSpill;
use std::os::fd::OwnedFd;
use std::sync::Arc as Rc;

const DIR_META: &str = "directory metadata";
const LINKS: &str = "hardlinks waiting for their target";
const WHITEOUTS: &str = "whiteouts and opaque markers";

pub struct DirSink {
    root: Root,
    /// Running as root: owners, device nodes and `trusted.*` xattrs can be restored.
    privileged: bool,
    /// Directory metadata to apply at the end, by path.
    /// Ordered, so that everything below a directory is one range.
    dirs: BTreeMap<String, Meta>,
    pub skipped_devices: u64,
    pub skipped_owners: bool,
    pub skipped_xattrs: u64,
    /// Extracting over existing content (`--force`, or in order): whatever is in the way is
    /// replaced.
    overwrite: bool,
    /// The directory of the previous entry: tars list siblings together, so most entries reuse
    /// it instead of resolving their parent again. Dropped whenever anything is removed.
    last_dir: Option<(String, Rc<OwnedFd>)>,
    /// For an overlayfs layer store: the xattr that marks a directory opaque
    /// (`trusted.overlay.opaque`, or `user.overlay.opaque` for rootless mounts). Set by strata
    /// itself, never copied from the image.
    opaque_xattr: Option<&'static str>,
    /// Directories to mark opaque at the end (kept on disk past a few MB: see [`PathSpill`]).
    opaque_dirs: PathSpill,
    /// Keys of the opaque markers and whiteouts of the layer.
    keys: layer::PathKeys,
    /// Overlay whiteouts (0/0 character devices) are created even when not root: the kernel
    /// allows that one device node to anybody.
    whiteout_devices: bool,
    /// For one layer of a layer store: the unpacked layers below it, nearest first. A hardlink
    /// to a file of a lower layer cannot cross layer directories, so that file is copied.
    lower_layers: Lowers,
    /// Layer-store unpacking in parallel: what needs the lower layers is noted during the pass
    /// and done by [`DirSink::complete`] once they are unpacked.
    defer_lower: bool,
    deferred: Deferred,
    /// What the metadata and paths kept for the end may cost.
    budget: Budget,
    /// File data passes through here: one write per chunk the layer reader hands over, where
    /// `io::copy`'s 8 KiB buffer made a dozen.
    copy_buf: Vec<u8>,
    /// Stops before the destination filesystem runs out of space (see [`super::space`]).
    space: SpaceGuard,
    /// Writing one layer of a layer store through the symlinks of the layers below (see
    /// [`through`]): the last parent directory resolved, and where it led.
    through: Option<Option<(String, String)>>,
}

#[derive(Default)]
struct Deferred {
    /// The layer's whiteouts, settled once the whole layer is unpacked (on disk past a few MB).
    whiteouts: PathSpill,
    /// Keys of the whiteouts and opaque markers, to drop a whiteout below another one.
    marked: std::collections::HashSet<u128>,
    /// Keys of the whiteouts alone: a parent the layer left out there was deleted first.
    whited: std::collections::HashSet<u128>,
    /// Opaque markers of directories the layer only implies where the layers below have a
    /// symlink or a file: applied in order, they clear nothing (there is no directory), and
    /// the pass through the lower layers leaves them out (see `complete`).
    void: std::collections::HashSet<u128>,
    /// Hardlinks to lower-layer files, made once the lower layers exist; a later entry of the
    /// layer at the same path removes its link (the last entry for a path wins).
    links: std::collections::BTreeMap<String, String>,
    implicit_dirs: std::collections::BTreeSet<String>,
    finish_called: bool,
}

impl DirSink {
    /// For `strata extract`: the merged tree into `root`; with `replace_existing` (`--force`,
    /// and the in-order extraction, whose entries replace what lower layers wrote), whatever
    /// stands in an entry's way is replaced.
    pub fn for_extract(root: Root, replace_existing: bool) -> DirSink {
        DirSink {
            overwrite: replace_existing,
            ..DirSink::new(root)
        }
    }

    /// For one layer of an overlay layer store: whiteouts as 0/0 devices, opaque directories
    /// marked with `user.overlay.opaque` when `rootless` (else `trusted.overlay.opaque`), and
    /// what needs the layers below left for [`DirSink::complete`].
    pub fn for_store(root: Root, rootless: bool) -> DirSink {
        let mut sink = DirSink {
            defer_lower: true,
            opaque_xattr: Some(if rootless {
                "user.overlay.opaque"
            } else {
                "trusted.overlay.opaque"
            }),
            whiteout_devices: true,
            ..DirSink::new(root)
        };
        sink.inherit_root_meta();
        sink
    }

    fn new(root: Root) -> DirSink {
        let root_dir = (
            String::new(),
            Meta {
                mode: 0o755,
                ..Meta::default()
            },
        );
        DirSink {
            root,
            privileged: rustix::process::geteuid().is_root(),
            dirs: BTreeMap::from([root_dir]),
            skipped_devices: 0,
            skipped_owners: false,
            skipped_xattrs: 0,
            overwrite: false,
            last_dir: None,
            opaque_xattr: None,
            opaque_dirs: PathSpill::new(WHITEOUTS),
            keys: layer::PathKeys::default(),
            whiteout_devices: false,
            lower_layers: Lowers::default(),
            defer_lower: false,
            deferred: Deferred::default(),
            budget: Budget::default(),
            copy_buf: vec![0; 256 * 1024],
            space: SpaceGuard::default(),
            through: None,
        }
    }

    fn parent_of<'p>(&mut self, path: &'p str) -> io::Result<(Rc<OwnedFd>, &'p str)> {
        Ok((self.dir_making_parents(parent(path))?, file_name(path)))
    }

    /// Opens the directory `dir`, making it and its missing parents the way a layer's omitted
    /// parents are made.
    fn dir_making_parents(&mut self, dir: &str) -> io::Result<Rc<OwnedFd>> {
        if let Some((cached, fd)) = &self.last_dir {
            if cached == dir {
                return Ok(fd.clone());
            }
        }
        // Parents a layer leaves out are made as the spec says (0755, root) with a fixed mtime,
        // so the same image always gives the same tree; an explicit entry later overrides this.
        let mut implicit = Vec::new();
        let fd = Rc::new(
            self.root
                .dir(dir, &mut |made| implicit.push(made.to_string()))?,
        );
        for p in implicit {
            self.budget.take(p.len(), DIR_META)?;
            // In a layer store, a parent this layer leaves out keeps what the layers below
            // have there: otherwise its default metadata would hide theirs in the overlay.
            let meta = self.lower_dir_meta(&p).unwrap_or(Meta {
                mode: 0o755,
                ..Meta::default()
            });
            if self.defer_lower {
                self.deferred.implicit_dirs.insert(p.clone());
            }
            self.dirs.entry(p).or_insert(meta);
        }
        self.last_dir = Some((dir.to_string(), fd.clone()));
        Ok(fd)
    }

    /// Creates `name` in `dir` with `create`, first removing what stands there when the entry
    /// replaces it. In a layer store, the layer's own whiteout device may stand where the
    /// layer's own entry goes (a whiteout listed before the entry): that is removed when found.
    fn place<T>(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        replace: bool,
        create: impl Fn(&OwnedFd, &str) -> io::Result<T>,
    ) -> io::Result<T> {
        if replace || self.overwrite {
            self.remove(dir, name)?;
        }
        match create(dir, name) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && self.whiteout_devices => {
                self.remove(dir, name)?;
                create(dir, name).map_err(conflict)
            }
            other => other.map_err(conflict),
        }
    }

    fn remove(&mut self, dir: &OwnedFd, name: &str) -> io::Result<()> {
        // The layer store passes every entry as a replacement: most find nothing to remove,
        // and only a removal can make the cached parent stale.
        if Root::remove_reporting(dir, name)? {
            self.last_dir = None;
            self.forget_resolved();
        }
        Ok(())
    }

    /// A non-directory now stands at `path`: a directory entry queued there is void.
    fn not_a_dir(&mut self, path: &str) {
        self.deferred.links.remove(path);
        if self.dirs.remove(path).is_some() {
            // A directory was replaced: whatever was queued below it is gone too.
            remove_below(&mut self.dirs, path);
            let below: Vec<String> = self
                .deferred
                .implicit_dirs
                .range(below_range(path))
                .cloned()
                .collect();
            for p in below {
                self.deferred.implicit_dirs.remove(&p);
            }
        }
    }

    /// Which xattrs from the image may be set here. overlayfs' own attributes never are: an
    /// image could otherwise plant whiteouts or redirects for a later overlay mount.
    pub fn xattr_allowed(privileged: bool, name: &str) -> bool {
        if name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") {
            return false;
        }
        name.starts_with("user.")
            || name == "security.capability"
            || name.starts_with("system.posix_acl_")
            || (privileged && name.starts_with("trusted."))
    }

    fn note_meta(&mut self, meta: &Meta) {
        if !self.privileged && (meta.uid != 0 || meta.gid != 0) {
            self.skipped_owners = true;
        }
        let privileged = self.privileged;
        self.skipped_xattrs += meta
            .xattrs
            .iter()
            .filter(|(n, _)| !Self::xattr_allowed(privileged, n))
            .count() as u64;
    }

    fn set_meta_fd(&mut self, fd: &impl std::os::fd::AsFd, meta: &Meta) -> io::Result<()> {
        let privileged = self.privileged;
        let mut failed_xattrs = 0;
        let result = Root::set_meta_fd(fd, meta, privileged, &|n| {
            Self::xattr_allowed(privileged, n)
        });
        if let Err(e) = &result {
            // An xattr the filesystem refuses (no user xattrs, no capability as non-root) is
            // skipped and counted; everything else is an error.
            if matches!(e.raw_os_error(), Some(libc_eperm) if libc_eperm == 1 || libc_eperm == 95 || libc_eperm == 61)
            {
                failed_xattrs += meta.xattrs.len() as u64;
                let without = Meta {
                    xattrs: Vec::new(),
                    ..meta.clone()
                };
                Root::set_meta_fd(fd, &without, privileged, &|_| false)?;
            } else {
                result?;
            }
        }
        self.skipped_xattrs += failed_xattrs;
        Ok(())
    }
}

impl Sink for DirSink {
    fn file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        sparse: bool,
        data: &mut dyn Read,
        replace: bool,
    ) -> io::Result<()> {
        let path = &*self.real(path)?;
        self.not_a_dir(path);
        let (dir, name) = self.parent_of(path)?;
        let mut file = self.place(&dir, name, replace, Root::create_file)?;
        if sparse {
            // A few KB of tar can describe a file of any size made of holes: write them as holes.
            copy_sparse(data, &mut file, size, &mut self.space)?;
        } else {
            self.space.expect(&file, size)?;
            copy_file_data(data, &mut file, &mut self.copy_buf, &mut self.space)?;
        }
        self.note_meta(meta);
        self.set_meta_fd(&file, meta)
    }

    fn dir(&mut self, path: &str, meta: &Meta, replace: bool) -> io::Result<()> {
        let path = &*self.real(path)?;
        // It may replace a symlink of the layer that paths resolved through.
        self.forget_resolved();
        self.deferred.links.remove(path);
        if !path.is_empty() {
            // An existing directory is kept (an upper layer or an earlier duplicate may have
            // put children in it); anything else in the way is replaced.
            let (dir, name) = self.parent_of(path)?;
            let _ = replace;
            Root::mkdir(&dir, name)?;
        }
        self.note_meta(meta);
        let xattr_bytes: usize = meta.xattrs.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.budget.take(path.len() + xattr_bytes, DIR_META)?;
        self.deferred.implicit_dirs.remove(path);
        self.dirs.insert(path.to_string(), meta.clone());
        Ok(())
    }

    fn symlink(&mut self, path: &str, target: &[u8], meta: &Meta, replace: bool) -> io::Result<()> {
        let path = &*self.real(path)?;
        self.forget_resolved();
        self.not_a_dir(path);
        let (dir, name) = self.parent_of(path)?;
        self.place(&dir, name, replace, |d, n| Root::symlink(d, n, target))?;
        self.note_meta(meta);
        Root::set_meta_at(&dir, name, meta, self.privileged, false)
    }

    fn special(&mut self, path: &str, kind: Special, meta: &Meta, replace: bool) -> io::Result<()> {
        let path = &*self.real(path)?;
        self.not_a_dir(path);
        let (file_type, dev) = match kind {
            Special::Fifo => (FileType::Fifo, 0),
            Special::Char(ma, mi) => (FileType::CharacterDevice, makedev(ma, mi)),
            Special::Block(ma, mi) => (FileType::BlockDevice, makedev(ma, mi)),
        };
        let whiteout = self.whiteout_devices && dev == 0 && file_type == FileType::CharacterDevice;
        if file_type != FileType::Fifo && !self.privileged && !whiteout {
            self.skipped_devices += 1;
            return Ok(());
        }
        let (dir, name) = self.parent_of(path)?;
        self.place(&dir, name, replace, |d, n| {
            Root::mknod(d, n, file_type, meta.mode, dev)
        })?;
        self.note_meta(meta);
        Root::set_meta_at(&dir, name, meta, self.privileged, true)
    }

    fn hardlink(&mut self, path: &str, target: &str, replace: bool) -> io::Result<()> {
        let path = &*self.real(path)?;
        let target = &*self.real(target)?;
        self.not_a_dir(path);
        let (dir, name) = self.parent_of(path)?;
        if replace || self.overwrite {
            self.remove(&dir, name)?;
        }
        let mut linked = self.root.hardlink(&dir, name, target);
        if self.whiteout_devices
            && linked
                .as_ref()
                .is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists)
        {
            // See `place`.
            self.remove(&dir, name)?;
            linked = self.root.hardlink(&dir, name, target);
        }
        match linked {
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.defer_lower => {
                self.budget.take(path.len() + target.len(), LINKS)?;
                self.deferred
                    .links
                    .insert(path.to_string(), target.to_string());
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !self.lower_layers.is_empty() => {
                self.copy_from_lower(&dir, name, target)
            }
            other => other.map_err(conflict),
        }
    }

    fn carry_out(&mut self, decision: &Decision) -> io::Result<()> {
        match decision {
            Decision::Hide { implied: Some(dir) } => self.dir_making_parents(dir).map(|_| ()),
            Decision::Delete(path) => self.delete_path(path),
            Decision::Clear(dir) => self.clear_below(dir),
            Decision::Whiteout(path) => self.whiteout(path),
            Decision::MarkOpaque(dir) => self.mark_opaque(dir),
            Decision::Hide { implied: None } | Decision::Write { .. } | Decision::Nothing => Ok(()),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.defer_lower {
            self.deferred.finish_called = true;
            return Ok(());
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        self.settle_whiteouts(&mut deferred)?;
        self.finish_now()
    }
}

/// The keys of everything below directory `path` ("" is the root) in a map ordered by path:
/// `path/` up to, not including, `path0` (`0` is the byte after `/`).
fn below_range(path: &str) -> (std::ops::Bound<String>, std::ops::Bound<String>) {
    use std::ops::Bound;
    if path.is_empty() {
        return (Bound::Excluded(String::new()), Bound::Unbounded);
    }
    (
        Bound::Included(format!("{path}/")),
        Bound::Excluded(format!("{path}0")),
    )
}

/// Drops what is queued below directory `path`, in time proportional to what is dropped.
fn remove_below(dirs: &mut BTreeMap<String, Meta>, path: &str) {
    let below: Vec<String> = dirs
        .range(below_range(path))
        .map(|(p, _)| p.clone())
        .collect();
    for p in below {
        dirs.remove(&p);
    }
}

/// Something already stands where the top-down merge expected a free path: the image writes
/// through a symlink of a lower layer, which only applying the layers in order gets right.
#[derive(Debug, thiserror::Error)]
#[error("the path is already taken (the image writes through a symlink of a lower layer)")]
pub struct Conflict;

pub fn is_conflict(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Conflict>())
}

/// The top-down merge stopped on a [`Conflict`]: the extraction must be redone in order.
pub fn needs_in_order(e: &crate::error::ArchiveError) -> bool {
    match &e.problem {
        crate::error::Problem::Write(io) => is_conflict(io),
        crate::error::Problem::WritesThrough => true,
        _ => false,
    }
}

fn conflict(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        io::Error::new(io::ErrorKind::AlreadyExists, Conflict)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_below_drops_exactly_the_subtree() {
        let mut dirs: BTreeMap<String, Meta> = [
            "",
            "a",
            "a/b",
            "a/b/c",
            "a-b",
            "a0",
            "ab",
            "b",
            "a\u{10FFE9}",
        ]
        .into_iter()
        .map(|p| (p.to_string(), Meta::default()))
        .collect();
        remove_below(&mut dirs, "a");
        let left: Vec<&str> = dirs.keys().map(String::as_str).collect();
        assert_eq!(left, ["", "a", "a-b", "a0", "ab", "a\u{10FFE9}", "b"]);
    }

    /// Directory metadata waits for the end of the merge; a flood of directories with 64 KiB
    /// xattrs is refused once it would pass the bound, not kept until memory runs out.
    #[test]
    fn queued_directory_metadata_is_bounded() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sink = DirSink::new(Root::open(tmp.path()).unwrap());
        let meta = Meta {
            mode: 0o755,
            xattrs: vec![("user.big".into(), vec![7; 65536])],
            ..Meta::default()
        };
        let limit = super::super::budget::MAX_KEPT_BYTES as usize / 65536;
        let failed = (0..limit + 10).find_map(|i| {
            sink.dir(&format!("d{i}"), &meta, false)
                .err()
                .map(|e| (i, e))
        });
        let (at, err) = failed.expect("refused before the bound is passed");
        assert!(at >= limit - 10 && at <= limit, "refused at directory {at}");
        let over = super::super::budget::OverLimit::find(&err).expect("an OverLimit error");
        assert_eq!(over.what, DIR_META);
    }
}
