//! A directory tree that strata extracted, written out through a [`Sink`] (a flat tar): how
//! `--tar` handles images that only an in-order extraction gets right (an upper layer writing
//! through a lower layer's symlink). The tree is read without following symlinks; hardlink
//! groups (of any non-directory) are found by inode; only the xattrs an extraction sets are
//! carried.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::FileType;

use super::dir_sink::DirSink;
use super::fs::{Meta, Root};
use super::merge::{Sink, Special};

/// Writes everything below `root` (its own metadata included) into `sink`, then finishes it.
pub fn write_tree(root: &Root, sink: &mut dyn Sink) -> io::Result<()> {
    let top = root.open_dir_nofollow("")?;
    sink.dir("", &meta_of(&top, true)?, false)?;
    let mut first_names: HashMap<(u64, u64), String> = HashMap::new();
    // Paths, not open directories, wait their turn: a wide tree would run out of descriptors.
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let dir = root.open_dir_nofollow(&rel)?;
        let mut names = Root::list(&dir)?;
        names.sort();
        for name in names {
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let st = Root::lstat(&dir, &name)?;
            let mut meta = Meta::of_stat(&st);
            let kind = FileType::from_raw_mode(st.st_mode);
            // Any non-directory can have second names: symlinks, fifos and devices as well as
            // files (an image may hardlink them, and the extraction keeps the link).
            if kind != FileType::Directory && st.st_nlink > 1 {
                let inode = (st.st_dev, st.st_ino);
                if let Some(first) = first_names.get(&inode) {
                    sink.hardlink(&path, first, false)?;
                    continue;
                }
                first_names.insert(inode, path.clone());
            }
            match kind {
                FileType::Directory => {
                    let child = Root::open_subdir(&dir, &name)?;
                    meta.xattrs = carried_xattrs(&child)?;
                    sink.dir(&path, &meta, false)?;
                    pending.push(path);
                }
                FileType::RegularFile => {
                    let mut file = Root::open_read(&dir, &name)?;
                    meta.xattrs = carried_xattrs(&file)?;
                    let size = st.st_size.max(0) as u64;
                    sink.file(&path, &meta, size, false, &mut file, false)?;
                }
                FileType::Symlink => {
                    let target = Root::read_link(&dir, &name)?;
                    sink.symlink(&path, &target, &meta, false)?;
                }
                FileType::Fifo => sink.special(&path, Special::Fifo, &meta, false)?,
                FileType::CharacterDevice => {
                    let (major, minor) =
                        (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
                    sink.special(&path, Special::Char(major, minor), &meta, false)?
                }
                FileType::BlockDevice => {
                    let (major, minor) =
                        (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
                    sink.special(&path, Special::Block(major, minor), &meta, false)?
                }
                // Sockets never come from a layer.
                _ => {}
            }
        }
    }
    sink.finish()
}

fn meta_of(fd: &OwnedFd, with_xattrs: bool) -> io::Result<Meta> {
    let st = rustix::fs::fstat(fd)?;
    Ok(Meta {
        xattrs: if with_xattrs {
            carried_xattrs(fd)?
        } else {
            Vec::new()
        },
        ..Meta::of_stat(&st)
    })
}

/// The xattrs an extraction could have set from the image; not those the filesystem adds
/// itself (`security.selinux`).
fn carried_xattrs(fd: &impl std::os::fd::AsFd) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut xattrs = Root::xattrs_of(fd)?;
    xattrs.retain(|(name, _)| DirSink::xattr_allowed(true, name));
    Ok(xattrs)
}
