//! Writes a tree into a directory through [`Root`], so that nothing lands outside it: the merged
//! tree of `strata extract`, or (with the overlay store's [`Converter`]) one layer of a layer
//! store. Directory metadata is applied last, deepest first, so a read-only or 0000 directory
//! still receives its children and keeps its mtime.

use std::collections::BTreeMap;
use std::io;

mod convert;
mod data;
mod markers;
mod tree;

use tree::RecentDirs;

pub use convert::{Converter, Merged, MissingLink};
pub use markers::MarkerThroughSymlink;

use super::budget::Budget;
use super::engine::Decision;
use super::entry::FileData;
use super::fs::{Meta, Root};
use super::merge::{Sink, Special};
use super::space::SpaceGuard;

const DIR_META: &str = "directory metadata";

/// A [`Tree`] written as its [`Converter`] says.
pub struct DirSink<C: Converter = Merged> {
    tree: Tree,
    conv: C,
}

/// The directory being written, and what is kept for its end.
pub struct Tree {
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
    /// The directories of the latest entries: tars list siblings together, so most entries
    /// reuse one instead of resolving their parent again. Dropped whenever anything is removed.
    last_dirs: RecentDirs,
    /// What the metadata and paths kept for the end may cost.
    budget: Budget,
    /// File data passes through here: one write per chunk the layer reader hands over, where
    /// `io::copy`'s 8 KiB buffer made a dozen.
    copy_buf: Vec<u8>,
    /// Stops before the destination filesystem runs out of space (see [`super::space`]).
    space: SpaceGuard,
    /// What the kernel is known to give every file made here (see [`NewFiles::of`]).
    new_files: NewFiles,
}

/// What the kernel gives a file made below a root, when that is certain, so that a file
/// already made right needs no chown or chmod.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NewFiles {
    /// The owner (uid, gid) of every new file.
    owner: Option<(u64, u64)>,
    /// A new file's mode is the mode asked for less the umask, nothing else.
    exact_mode: bool,
}

impl NewFiles {
    /// Only for a root that is empty, on a local filesystem that honours the mode and owner
    /// rules (tmpfs, ext2/3/4, xfs, btrfs; not NFS, CIFS or FUSE, which may impose their own):
    /// every directory below is then made here, 0755 and without the setgid bit, its own
    /// metadata applied at the end. Then a new file's mode is exact unless the root has a
    /// default ACL (which replaces the umask, and which new directories inherit), and, running
    /// as root into a root of root's own group without the setgid bit, its owner is the
    /// process's, with or without a `grpid` mount (where files take their directory's group).
    fn of(root: &Root, privileged: bool) -> NewFiles {
        const LOCAL: [i64; 4] = [0x0102_1994, 0xEF53, 0x5846_5342, 0x9123_683E];
        let fd = root.fd();
        // f_type is an i64 here, an i32 on some targets.
        #[allow(clippy::unnecessary_cast)]
        let local = rustix::fs::fstatfs(fd).is_ok_and(|fs| LOCAL.contains(&(fs.f_type as i64)));
        let fresh = local && Root::list(fd).is_ok_and(|names| names.is_empty());
        let st = match rustix::fs::fstat(fd) {
            Ok(st) if fresh => st,
            _ => return NewFiles::default(),
        };
        let no_default_acl = matches!(
            rustix::fs::fgetxattr(fd, "system.posix_acl_default", &mut [0u8; 0]),
            Err(rustix::io::Errno::NODATA | rustix::io::Errno::OPNOTSUPP)
        );
        let gid = rustix::process::getegid().as_raw();
        let owner = (privileged && st.st_mode & 0o2000 == 0 && st.st_gid == gid).then(|| {
            (
                u64::from(rustix::process::geteuid().as_raw()),
                u64::from(gid),
            )
        });
        NewFiles {
            owner,
            exact_mode: no_default_acl,
        }
    }
}

impl DirSink {
    /// For `strata extract`: the merged tree into `root`; with `replace_existing` (`--force`,
    /// and the in-order extraction, whose entries replace what lower layers wrote), whatever
    /// stands in an entry's way is replaced.
    pub fn for_extract(root: Root, replace_existing: bool) -> DirSink {
        let mut sink = DirSink::with(root, Merged);
        sink.tree.overwrite = replace_existing;
        sink
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
}

impl<C: Converter> DirSink<C> {
    /// A sink writing into `root` as `conv` says.
    pub fn with(root: Root, conv: C) -> DirSink<C> {
        let root_dir = (
            String::new(),
            Meta {
                mode: 0o755,
                ..Meta::default()
            },
        );
        let privileged = rustix::process::geteuid().is_root();
        let new_files = NewFiles::of(&root, privileged);
        let tree = Tree {
            root,
            privileged,
            dirs: BTreeMap::from([root_dir]),
            skipped_devices: 0,
            skipped_owners: false,
            skipped_xattrs: 0,
            overwrite: false,
            last_dirs: RecentDirs::default(),
            budget: Budget::default(),
            copy_buf: vec![0; 256 * 1024],
            space: SpaceGuard::default(),
            new_files,
        };
        DirSink { tree, conv }
    }

    /// The tree written so far (what was skipped, for notes).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The tree and the converter, for a converter's own steps after the pass.
    pub fn parts(&mut self) -> (&mut Tree, &mut C) {
        (&mut self.tree, &mut self.conv)
    }

    /// The converter, once the pass is over.
    pub fn into_converter(self) -> C {
        self.conv
    }
}

impl<C: Converter> Sink for DirSink<C> {
    fn file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        sparse: bool,
        data: &mut dyn FileData,
        replace: bool,
    ) -> io::Result<()> {
        let how = (meta, size, sparse);
        self.tree.file(&mut self.conv, path, how, data, replace)
    }

    fn dir(&mut self, path: &str, meta: &Meta, _replace: bool) -> io::Result<()> {
        self.tree.dir(&mut self.conv, path, meta)
    }

    fn symlink(&mut self, path: &str, target: &[u8], meta: &Meta, replace: bool) -> io::Result<()> {
        self.tree
            .symlink(&mut self.conv, path, target, meta, replace)
    }

    fn special(&mut self, path: &str, kind: Special, meta: &Meta, replace: bool) -> io::Result<()> {
        self.tree.special(&mut self.conv, path, kind, meta, replace)
    }

    fn hardlink(&mut self, path: &str, target: &str, replace: bool) -> io::Result<()> {
        self.tree.hardlink(&mut self.conv, path, target, replace)
    }

    fn carry_out(&mut self, decision: &Decision) -> io::Result<()> {
        self.tree.carry_out(&mut self.conv, decision)
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.conv.finish(&mut self.tree)? {
            self.tree.finish_now()?;
        }
        Ok(())
    }
}

/// The keys of everything below directory `path` ("" is the root) in a map ordered by path:
/// `path/` up to, not including, `path0` (`0` is the byte after `/`).
pub(crate) fn below_range(path: &str) -> (std::ops::Bound<String>, std::ops::Bound<String>) {
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

pub(crate) fn conflict(e: io::Error) -> io::Error {
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
        let mut sink = DirSink::for_extract(Root::open(tmp.path()).unwrap(), false);
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
