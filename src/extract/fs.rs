//! Filesystem operations confined to one directory. Every path is resolved inside the root by the
//! kernel (`openat2` with `RESOLVE_IN_ROOT`): symlinks already in the tree — absolute or
//! relative, made by the image itself — are followed as if the root were `/`, so nothing can
//! reach outside it. The last component is never followed: it is created with `O_EXCL`,
//! `mkdirat`, `symlinkat`, `mknodat` or `linkat`, never opened with `O_TRUNC`.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{
    self as rfs, AtFlags, Dev, FileType, Mode, OFlags, RawMode, ResolveFlags, Timespec, Timestamps,
    XattrFlags,
};

use super::rules::{file_name, parent};
use crate::rawname::{from_bytes, to_bytes as os};

/// An open directory that every operation stays inside.
pub struct Root {
    fd: OwnedFd,
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);
const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

/// Which of owner and mode [`Root::set_meta_fd`] sets (xattrs and the mtime it always does).
#[derive(Debug, Clone, Copy)]
pub struct Set {
    pub owner: bool,
    pub mode: bool,
}

/// The process's umask, read once (from `/proc/self/status`, which changes nothing: the
/// `umask` call can only read it by setting it, racing other threads). `None` when unknown.
pub fn process_umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

/// The permission bits a new file can be created with, when the umask leaves them whole and
/// `mode` has no setuid, setgid or sticky bit (a chown after creation would clear those):
/// then no chmod is needed.
pub fn creatable_perm(mode: u32) -> Option<u32> {
    let perm = mode & 0o777;
    let umask = process_umask()?;
    (mode & 0o7000 == 0 && perm & umask == 0).then_some(perm)
}

/// Metadata to give an entry once it is created.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl Meta {
    /// Owner, permission bits and mtime as a stat gives them (a negative mtime as 0, as an
    /// archive stores it); xattrs are the caller's to read.
    pub fn of_stat(st: &rustix::fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: st.st_mtime.max(0) as u64,
            xattrs: Vec::new(),
        }
    }
}

impl Root {
    pub fn open(dir: &Path) -> io::Result<Root> {
        let fd = rfs::open(dir, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())?;
        Ok(Root { fd })
    }

    /// A root on a directory already opened (by the layer store, relative to its own fd).
    pub fn from_fd(fd: OwnedFd) -> Root {
        Root { fd }
    }

    /// The root directory itself.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Opens directory `dir` (a cleaned relative path; "" is the root) inside the root,
    /// creating missing components with mode 0755. `created` hears of each one made.
    pub fn dir(&self, dir: &str, created: &mut dyn FnMut(&str)) -> io::Result<OwnedFd> {
        match rfs::openat2(
            &self.fd,
            &*os(if dir.is_empty() { "." } else { dir }),
            DIR_FLAGS,
            Mode::empty(),
            IN_ROOT,
        ) {
            Ok(fd) => return Ok(fd),
            Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        self.walk_creating(dir, created)
    }

    /// The slow path of [`Root::dir`]: walks `dir` one component at a time, following symlinks
    /// by reading them and restarting from the root (absolute targets) or the current directory
    /// (relative ones), with `..` clamped at the root — the same resolution as
    /// `RESOLVE_IN_ROOT` — and creates what is missing where the walk has really got to. So a
    /// symlink `x -> /etc` made by the image sends `x/passwd` to `DEST/etc/passwd`, creating
    /// `DEST/etc` if need be, and never anywhere outside.
    fn walk_creating(&self, dir: &str, created: &mut dyn FnMut(&str)) -> io::Result<OwnedFd> {
        const MAX_SYMLINKS: usize = 40;
        let mut pending: std::collections::VecDeque<String> =
            dir.split('/').map(str::to_string).collect();
        let mut real: Vec<String> = Vec::new();
        let mut fd = self.fd.as_fd().try_clone_to_owned()?;
        let mut hops = 0;
        while let Some(part) = pending.pop_front() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    real.pop();
                    fd = self.open_real(&real)?;
                    continue;
                }
                _ => {}
            }
            let stat = match rfs::statat(&fd, &*os(&part), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
                Err(rustix::io::Errno::NOENT) => None,
                Err(e) => return Err(e.into()),
            };
            match stat {
                Some(FileType::Directory) => {}
                Some(FileType::Symlink) => {
                    hops += 1;
                    if hops > MAX_SYMLINKS {
                        return Err(rustix::io::Errno::LOOP.into());
                    }
                    let target = rfs::readlinkat(&fd, &*os(&part), Vec::new())?;
                    let target = from_bytes(target.as_bytes()).into_owned();
                    if target.starts_with('/') {
                        real.clear();
                        fd = self.fd.as_fd().try_clone_to_owned()?;
                    }
                    for (i, t) in target.split('/').enumerate() {
                        pending.insert(i, t.to_string());
                    }
                    continue;
                }
                Some(_) => return Err(rustix::io::Errno::NOTDIR.into()),
                None => {
                    rfs::mkdirat(&fd, &*os(&part), Mode::from_raw_mode(0o755))?;
                    let mut made = real.clone();
                    made.push(part.clone());
                    created(&made.join("/"));
                }
            }
            fd = rfs::openat(
                &fd,
                &*os(&part),
                DIR_FLAGS | OFlags::NOFOLLOW,
                Mode::empty(),
            )?;
            real.push(part);
        }
        Ok(fd)
    }

    fn open_real(&self, real: &[String]) -> io::Result<OwnedFd> {
        let path = if real.is_empty() {
            ".".to_string()
        } else {
            real.join("/")
        };
        Ok(rfs::openat2(
            &self.fd,
            &*os(&path),
            DIR_FLAGS | OFlags::NOFOLLOW,
            Mode::empty(),
            IN_ROOT,
        )?)
    }

    /// The directory holding `path` and the name inside it.
    pub fn parent_of<'p>(
        &self,
        path: &'p str,
        created: &mut dyn FnMut(&str),
    ) -> io::Result<(OwnedFd, &'p str)> {
        Ok((self.dir(parent(path), created)?, file_name(path)))
    }

    /// Removes whatever is at `name` in `dir` (a whole subtree for a directory), without
    /// following symlinks.
    pub fn remove(dir: &OwnedFd, name: &str) -> io::Result<()> {
        Self::remove_reporting(dir, name).map(|_| ())
    }

    /// [`Root::remove`], saying whether anything was there to remove (paths resolved before
    /// may then lead elsewhere). Works at any depth with a few descriptors: see
    /// [`super::remove`].
    pub fn remove_reporting(dir: &OwnedFd, name: &str) -> io::Result<bool> {
        super::remove::remove_at(dir, &os(name))
    }

    /// The names in a directory, without `.` and `..`.
    pub fn list(dir: &OwnedFd) -> io::Result<Vec<String>> {
        Ok(rfs::Dir::read_from(dir)?
            .filter_map(Result::ok)
            .map(|e| from_bytes(e.file_name().to_bytes()).into_owned())
            .filter(|n| n != "." && n != "..")
            .collect())
    }

    pub fn create_file(dir: &OwnedFd, name: &str) -> io::Result<File> {
        Self::create_file_with(dir, name, 0o600)
    }

    /// [`Root::create_file`] with permission bits `perm` (less the umask) from the start.
    pub fn create_file_with(dir: &OwnedFd, name: &str, perm: u32) -> io::Result<File> {
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(
            dir,
            &*os(name),
            flags,
            Mode::from_raw_mode(perm as RawMode & 0o777),
        )?;
        Ok(File::from(fd))
    }

    pub fn mkdir(dir: &OwnedFd, name: &str) -> io::Result<()> {
        let raw = os(name);
        match rfs::mkdirat(dir, &*raw, Mode::from_raw_mode(0o755)) {
            Err(rustix::io::Errno::EXIST) => {
                let st = rfs::statat(dir, &*raw, AtFlags::SYMLINK_NOFOLLOW)?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    Ok(())
                } else {
                    Self::remove(dir, name)?;
                    Ok(rfs::mkdirat(dir, &*raw, Mode::from_raw_mode(0o755))?)
                }
            }
            other => Ok(other?),
        }
    }

    pub fn symlink(dir: &OwnedFd, name: &str, target: &[u8]) -> io::Result<()> {
        Ok(rfs::symlinkat(target, dir, &*os(name))?)
    }

    pub fn mknod(dir: &OwnedFd, name: &str, kind: FileType, mode: u32, dev: Dev) -> io::Result<()> {
        Ok(rfs::mknodat(
            dir,
            &*os(name),
            kind,
            Mode::from_raw_mode(mode as RawMode & 0o7777),
            dev,
        )?)
    }

    /// Hardlinks `name` in `dir` to the existing non-directory `target` (a path inside the root).
    pub fn hardlink(&self, dir: &OwnedFd, name: &str, target: &str) -> io::Result<()> {
        let target_dir = rfs::openat2(
            &self.fd,
            &*os(if parent(target).is_empty() {
                "."
            } else {
                parent(target)
            }),
            DIR_FLAGS,
            Mode::empty(),
            IN_ROOT,
        )?;
        let target_name = os(file_name(target));
        let st = rfs::statat(&target_dir, &*target_name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            return Err(io::Error::other("hardlink target is a directory"));
        }
        Ok(rfs::linkat(
            &target_dir,
            &*target_name,
            dir,
            &*os(name),
            AtFlags::empty(),
        )?)
    }

    /// Sets owner, mode, xattrs and mtime, in that order (chown clears setuid bits; the mtime
    /// must come last). Owners only when `set.owner` is set (running as root, and the entry
    /// was not made with them already); the mode unless `set.mode` says it was made with it.
    pub fn set_meta_fd(
        fd: &impl AsFd,
        meta: &Meta,
        set: Set,
        xattr_ok: &dyn Fn(&str) -> bool,
    ) -> io::Result<()> {
        if set.owner {
            rfs::fchown(
                fd,
                Some(rustix::process::Uid::from_raw(meta.uid as u32)),
                Some(rustix::process::Gid::from_raw(meta.gid as u32)),
            )?;
        }
        if set.mode {
            rfs::fchmod(fd, Mode::from_raw_mode(meta.mode as RawMode & 0o7777))?;
        }
        for (name, value) in &meta.xattrs {
            if xattr_ok(name) {
                rfs::fsetxattr(fd, name.as_str(), value, XattrFlags::empty())?;
            }
        }
        rfs::futimens(fd, &times(meta.mtime))?;
        Ok(())
    }

    /// Owner and mtime of a symlink or special file, by name, without following it.
    pub fn set_meta_at(
        dir: &OwnedFd,
        name: &str,
        meta: &Meta,
        chown: bool,
        mode: bool,
    ) -> io::Result<()> {
        if chown {
            rfs::chownat(
                dir,
                &*os(name),
                Some(rustix::process::Uid::from_raw(meta.uid as u32)),
                Some(rustix::process::Gid::from_raw(meta.gid as u32)),
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
        if mode {
            rfs::chmodat(
                dir,
                &*os(name),
                Mode::from_raw_mode(meta.mode as RawMode & 0o7777),
                AtFlags::empty(),
            )?;
        }
        rfs::utimensat(
            dir,
            &*os(name),
            &times(meta.mtime),
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
        Ok(())
    }

    /// What is at `name` in `dir`, without following a symlink.
    pub fn lstat(dir: &OwnedFd, name: &str) -> io::Result<rfs::Stat> {
        Ok(rfs::statat(dir, &*os(name), AtFlags::SYMLINK_NOFOLLOW)?)
    }

    /// Hardlinks `name` in `dir` to `src_name` in `src_dir` (possibly another root's).
    pub fn link_at(src_dir: &OwnedFd, src_name: &str, dir: &OwnedFd, name: &str) -> io::Result<()> {
        Ok(rfs::linkat(
            src_dir,
            &*os(src_name),
            dir,
            &*os(name),
            AtFlags::empty(),
        )?)
    }

    /// Opens the regular file `name` in `dir` for reading, without following a symlink.
    pub fn open_read(dir: &OwnedFd, name: &str) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(File::from(rfs::openat(
            dir,
            &*os(name),
            flags,
            Mode::empty(),
        )?))
    }

    /// Opens the directory `name` in `dir`, without following a symlink.
    pub fn open_subdir(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
        Ok(rfs::openat(
            dir,
            &*os(name),
            DIR_FLAGS | OFlags::NOFOLLOW,
            Mode::empty(),
        )?)
    }

    /// The target of the symlink `name` in `dir`, as bytes.
    pub fn read_link(dir: &OwnedFd, name: &str) -> io::Result<Vec<u8>> {
        Ok(rfs::readlinkat(dir, &*os(name), Vec::new())?.into_bytes())
    }

    /// The extended attributes of an open file, names that are not UTF-8 left out.
    pub fn xattrs_of(fd: &impl AsFd) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut names = vec![0u8; 1024];
        let len = loop {
            match rfs::flistxattr(fd, &mut names) {
                Ok(n) => break n,
                Err(rustix::io::Errno::RANGE) => names.resize(names.len() * 4, 0),
                Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            }
            if names.len() > 1 << 20 {
                return Err(rustix::io::Errno::RANGE.into());
            }
        };
        let mut out = Vec::new();
        for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            let mut value = vec![0u8; 65536];
            let n = rfs::fgetxattr(fd, name, &mut value)?;
            value.truncate(n);
            out.push((name.to_string(), value));
        }
        Ok(out)
    }

    /// Opens an existing directory inside the root through directories only: any symlink on
    /// the way fails the call (`ELOOP`), as does a non-directory (`ENOTDIR`).
    pub fn open_dir_strict(&self, path: &str) -> io::Result<OwnedFd> {
        self.open_existing_dir(path, IN_ROOT | ResolveFlags::NO_SYMLINKS)
    }

    /// Opens an existing directory inside the root without following a final symlink.
    pub fn open_dir_nofollow(&self, path: &str) -> io::Result<OwnedFd> {
        self.open_existing_dir(path, IN_ROOT)
    }

    fn open_existing_dir(&self, path: &str, resolve: ResolveFlags) -> io::Result<OwnedFd> {
        let p = if path.is_empty() { "." } else { path };
        Ok(rfs::openat2(
            &self.fd,
            &*os(p),
            DIR_FLAGS | OFlags::NOFOLLOW,
            Mode::empty(),
            resolve,
        )?)
    }
}

fn times(mtime: u64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime.min(i64::MAX as u64) as i64,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}
