//! The tree's own operations: entries written (through the converter's hooks), parents made,
//! what stands in the way replaced, and the directory metadata applied at the end.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::fs::{makedev, FileType};

use super::data::{copy_file_data, copy_sparse};
use super::{conflict, remove_below, Converter, DirSink, MissingLink, Tree, DIR_META};
use crate::extract::engine::Decision;
use crate::extract::entry::FileData;
use crate::extract::fs::{creatable_perm, Meta, Root, Set};
use crate::extract::merge::Special;
use crate::extract::rules::{file_name, parent};
use crate::extract::space::SpaceGuard;

impl Tree {
    /// The directory written into.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// Counts `bytes` of what is kept for the end (`what`, for the error) against the bound.
    pub fn keep(&mut self, bytes: usize, what: &'static str) -> io::Result<()> {
        self.budget.take(bytes, what)
    }

    /// The metadata directory `path` gets at the end.
    pub fn set_dir_meta(&mut self, path: String, meta: Meta) {
        self.dirs.insert(path, meta);
    }

    /// The guard against filling the destination filesystem.
    pub fn space(&mut self) -> &mut SpaceGuard {
        &mut self.space
    }

    pub fn parent_of<'p, C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &'p str,
    ) -> io::Result<(Arc<OwnedFd>, &'p str)> {
        Ok((
            self.dir_making_parents(conv, parent(path))?,
            file_name(path),
        ))
    }

    /// Opens the directory `dir`, making it and its missing parents the way a layer's omitted
    /// parents are made.
    pub fn dir_making_parents<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        dir: &str,
    ) -> io::Result<Arc<OwnedFd>> {
        if let Some(fd) = self.last_dirs.get(dir) {
            return Ok(fd);
        }
        // Parents a layer leaves out are made as the spec says (0755, root) with a fixed mtime,
        // so the same image always gives the same tree; an explicit entry later overrides this.
        let mut implicit = Vec::new();
        let fd = Arc::new(
            self.root
                .dir(dir, &mut |made| implicit.push(made.to_string()))?,
        );
        for p in implicit {
            self.budget.take(p.len(), DIR_META)?;
            let meta = conv.implied_dir(&p).unwrap_or(Meta {
                mode: 0o755,
                ..Meta::default()
            });
            self.dirs.entry(p).or_insert(meta);
        }
        self.last_dirs.put(dir, fd.clone());
        Ok(fd)
    }

    /// Creates `name` in `dir` with `create`, first removing what stands there when the entry
    /// replaces it. Where the converter's whiteout devices are, the layer's own whiteout may
    /// stand where the layer's own entry goes: that is removed when found.
    pub(super) fn place<T, C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        (dir, name): (&OwnedFd, &str),
        replace: bool,
        create: impl Fn(&OwnedFd, &str) -> io::Result<T>,
    ) -> io::Result<T> {
        if replace || self.overwrite {
            self.remove(conv, dir, name)?;
        }
        match create(dir, name) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && conv.whiteout_devices() => {
                self.remove(conv, dir, name)?;
                create(dir, name).map_err(conflict)
            }
            other => other.map_err(conflict),
        }
    }

    pub(super) fn remove<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        dir: &OwnedFd,
        name: &str,
    ) -> io::Result<()> {
        // The layer store passes every entry as a replacement: most find nothing to remove,
        // and only a removal can make the cached parent stale.
        if Root::remove_reporting(dir, name)? {
            self.last_dirs.clear();
            conv.forget_resolved();
        }
        Ok(())
    }

    /// A non-directory now stands at `path`: a directory entry queued there is void.
    pub(super) fn not_a_dir<C: Converter + ?Sized>(&mut self, conv: &mut C, path: &str) {
        let was_dir = self.dirs.remove(path).is_some();
        if was_dir {
            // A directory was replaced: whatever was queued below it is gone too.
            remove_below(&mut self.dirs, path);
        }
        conv.non_dir_at(path, was_dir);
    }

    pub(super) fn note_meta(&mut self, meta: &Meta) {
        if !self.privileged && (meta.uid != 0 || meta.gid != 0) {
            self.skipped_owners = true;
        }
        let privileged = self.privileged;
        self.skipped_xattrs += meta
            .xattrs
            .iter()
            .filter(|(n, _)| !DirSink::xattr_allowed(privileged, n))
            .count() as u64;
    }

    pub fn set_meta_fd(&mut self, fd: &impl std::os::fd::AsFd, meta: &Meta) -> io::Result<()> {
        let set = Set {
            owner: self.privileged,
            mode: true,
        };
        self.set_meta_fd_as(fd, meta, set)
    }

    /// [`Tree::set_meta_fd`], owner and mode only as `set` says.
    fn set_meta_fd_as(
        &mut self,
        fd: &impl std::os::fd::AsFd,
        meta: &Meta,
        set: Set,
    ) -> io::Result<()> {
        let privileged = self.privileged;
        let mut failed_xattrs = 0;
        let result = Root::set_meta_fd(fd, meta, set, &|n| DirSink::xattr_allowed(privileged, n));
        if let Err(e) = &result {
            // An xattr the filesystem refuses (no user xattrs, no capability as non-root) is
            // skipped and counted; everything else is an error.
            if matches!(
                e.raw_os_error(),
                Some(libc::EPERM | libc::EOPNOTSUPP | libc::ENODATA)
            ) {
                failed_xattrs += meta.xattrs.len() as u64;
                let without = Meta {
                    xattrs: Vec::new(),
                    ..meta.clone()
                };
                Root::set_meta_fd(fd, &without, set, &|_| false)?;
            } else {
                result?;
            }
        }
        self.skipped_xattrs += failed_xattrs;
        Ok(())
    }

    /// A regular file of `size` bytes from `data`, as [`Sink::file`].
    pub(super) fn file<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &str,
        (meta, size, sparse): (&Meta, u64, bool),
        data: &mut dyn FileData,
        replace: bool,
    ) -> io::Result<()> {
        let path = &*conv.real(self, path)?;
        self.not_a_dir(conv, path);
        let (dir, name) = self.parent_of(conv, path)?;
        // Made with its owner, as the kernel gives it, a file needs no chown; made with its
        // permission bits too, no chmod (most files of most images). A file still to be given
        // its owner is made 0600: with its final bits, the interim group would have them.
        let owner = self.privileged && self.new_files.owner != Some((meta.uid, meta.gid));
        let perm = creatable_perm(meta.mode).filter(|_| self.new_files.exact_mode && !owner);
        let set = Set {
            owner,
            mode: perm.is_none(),
        };
        let mut file = self.place(conv, (&dir, name), replace, |d, n| {
            Root::create_file_with(d, n, perm.unwrap_or(0o600))
        })?;
        if sparse {
            // A few KB of tar can describe a file of any size made of holes: write them as holes.
            copy_sparse(data, &mut file, size, &mut self.space)?;
        } else {
            self.space.expect(&file, size)?;
            copy_file_data(data, &mut file, &mut self.copy_buf, &mut self.space)?;
        }
        self.note_meta(meta);
        self.set_meta_fd_as(&file, meta, set)
    }

    pub(super) fn dir<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &str,
        meta: &Meta,
    ) -> io::Result<()> {
        let path = &*conv.real(self, path)?;
        // It may replace a symlink of the layer that paths resolved through.
        conv.forget_resolved();
        conv.dir_at(path);
        if !path.is_empty() {
            // An existing directory is kept (an upper layer or an earlier duplicate may have
            // put children in it); anything else in the way is replaced.
            let (dir, name) = self.parent_of(conv, path)?;
            Root::mkdir(&dir, name)?;
        }
        self.note_meta(meta);
        let xattr_bytes: usize = meta.xattrs.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.budget.take(path.len() + xattr_bytes, DIR_META)?;
        self.dirs.insert(path.to_string(), meta.clone());
        Ok(())
    }

    pub(super) fn symlink<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &str,
        target: &[u8],
        meta: &Meta,
        replace: bool,
    ) -> io::Result<()> {
        let path = &*conv.real(self, path)?;
        conv.forget_resolved();
        self.not_a_dir(conv, path);
        let (dir, name) = self.parent_of(conv, path)?;
        self.place(conv, (&dir, name), replace, |d, n| {
            Root::symlink(d, n, target)
        })?;
        self.note_meta(meta);
        Root::set_meta_at(&dir, name, meta, self.privileged, false)
    }

    /// A fifo or device node, as [`Sink::special`].
    pub fn special<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &str,
        kind: Special,
        meta: &Meta,
        replace: bool,
    ) -> io::Result<()> {
        let path = &*conv.real(self, path)?;
        self.not_a_dir(conv, path);
        let (file_type, dev) = match kind {
            Special::Fifo => (FileType::Fifo, 0),
            Special::Char(ma, mi) => (FileType::CharacterDevice, makedev(ma, mi)),
            Special::Block(ma, mi) => (FileType::BlockDevice, makedev(ma, mi)),
        };
        let whiteout =
            conv.whiteout_devices() && dev == 0 && file_type == FileType::CharacterDevice;
        if file_type != FileType::Fifo && !self.privileged && !whiteout {
            self.skipped_devices += 1;
            return Ok(());
        }
        let (dir, name) = self.parent_of(conv, path)?;
        self.place(conv, (&dir, name), replace, |d, n| {
            Root::mknod(d, n, file_type, meta.mode, dev)
        })?;
        self.note_meta(meta);
        Root::set_meta_at(&dir, name, meta, self.privileged, true)
    }

    pub(super) fn hardlink<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        path: &str,
        target: &str,
        replace: bool,
    ) -> io::Result<()> {
        let path = &*conv.real(self, path)?;
        let target = &*conv.real(self, target)?;
        self.not_a_dir(conv, path);
        let (dir, name) = self.parent_of(conv, path)?;
        if replace || self.overwrite {
            self.remove(conv, &dir, name)?;
        }
        let mut linked = self.root.hardlink(&dir, name, target);
        if conv.whiteout_devices()
            && linked
                .as_ref()
                .is_err_and(|e| e.kind() == io::ErrorKind::AlreadyExists)
        {
            // See `place`.
            self.remove(conv, &dir, name)?;
            linked = self.root.hardlink(&dir, name, target);
        }
        match linked {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let link = MissingLink {
                    dir: &dir,
                    name,
                    path,
                    target,
                };
                conv.missing_target(self, link).unwrap_or(Err(e))
            }
            other => other.map_err(conflict),
        }
    }

    pub(super) fn carry_out<C: Converter + ?Sized>(
        &mut self,
        conv: &mut C,
        decision: &Decision,
    ) -> io::Result<()> {
        match decision {
            Decision::Hide { implied: Some(dir) } => self.dir_making_parents(conv, dir).map(|_| ()),
            Decision::Delete(path) => self.delete_path(path),
            Decision::Clear(dir) => self.clear_below(dir),
            Decision::Whiteout(_) | Decision::MarkOpaque(_) => conv.mark(self, decision),
            Decision::Hide { implied: None } | Decision::Write { .. } | Decision::Nothing => Ok(()),
        }
    }

    /// Applies the queued directory metadata, deepest first: a parent made read-only must not
    /// stop its children being set.
    pub fn finish_now(&mut self) -> io::Result<()> {
        let mut dirs: Vec<(String, Meta)> = std::mem::take(&mut self.dirs).into_iter().collect();
        dirs.sort_by_cached_key(|(p, _)| {
            std::cmp::Reverse(if p.is_empty() {
                0
            } else {
                p.matches('/').count() + 1
            })
        });
        for (path, meta) in &dirs {
            let fd = self.root.open_dir_nofollow(path)?;
            self.set_meta_fd(&fd, meta)?;
        }
        Ok(())
    }
}

/// The last few directories entries went to, most recent first. A tar lists a directory's
/// files, then a subdirectory's, then more of its own: one remembered directory would be
/// resolved again after every subdirectory.
#[derive(Default)]
pub(super) struct RecentDirs(Vec<(String, Arc<OwnedFd>)>);

const RECENT_DIRS: usize = 8;

impl RecentDirs {
    fn get(&mut self, dir: &str) -> Option<Arc<OwnedFd>> {
        let at = self.0.iter().position(|(d, _)| d == dir)?;
        let hit = self.0.remove(at);
        let fd = hit.1.clone();
        self.0.insert(0, hit);
        Some(fd)
    }

    fn put(&mut self, dir: &str, fd: Arc<OwnedFd>) {
        self.0.truncate(RECENT_DIRS - 1);
        self.0.insert(0, (dir.to_string(), fd));
    }

    /// Anything removed may have been one of them, or above one.
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}
