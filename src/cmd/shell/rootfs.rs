//! Turning the merged overlay into the session's `/`: a fresh `/proc` (of the session's pid
//! namespace), a minimal `/dev` (a tmpfs with the host's null, zero, full, random, urandom and
//! tty bind-mounted — a user namespace may not mknod — plus a new devpts instance and
//! `/dev/shm`), a tmpfs `/tmp`, then pivot_root and the old root detached, so nothing of the
//! host or the store is reachable by path any more.
//!
//! Everything is mounted before pivot_root, while the host's `/proc` is still visible: the
//! kernel lets a user namespace mount proc only where a full proc is already mounted. The
//! image's own `proc`, `dev` and `tmp` are checked to be real directories first (an image's
//! `dev -> /etc` would otherwise aim a mount at the host's path); anything else there is
//! replaced, in this session's upper dir only.

use std::fs;
use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use rustix::mount::{mount, mount_bind, unmount, MountFlags, UnmountFlags};

const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

pub fn enter_image_root(merged: &Path) -> Result<()> {
    for name in ["proc", "dev", "tmp"] {
        real_dir(&merged.join(name))?;
    }
    let nosuid_nodev = MountFlags::NOSUID | MountFlags::NODEV;
    mount_fs(
        "proc",
        &merged.join("proc"),
        "proc",
        nosuid_nodev | MountFlags::NOEXEC,
        "",
    )?;
    let dev = merged.join("dev");
    mount_fs(
        "tmpfs",
        &dev,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        "mode=755,size=65536k",
    )?;
    for name in DEVICES {
        let node = dev.join(name);
        fs::File::create(&node)?;
        mount_bind(Path::new("/dev").join(name), &node)
            .map_err(std::io::Error::from)
            .with_context(|| format!("bind-mounting the host's /dev/{name}"))?;
    }
    fs::DirBuilder::new().mode(0o755).create(dev.join("pts"))?;
    mount_fs(
        "devpts",
        &dev.join("pts"),
        "devpts",
        MountFlags::NOSUID | MountFlags::NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620",
    )?;
    symlink("pts/ptmx", dev.join("ptmx"))?;
    symlink("/proc/self/fd", dev.join("fd"))?;
    for (i, name) in ["stdin", "stdout", "stderr"].iter().enumerate() {
        symlink(format!("/proc/self/fd/{i}"), dev.join(name))?;
    }
    fs::DirBuilder::new().mode(0o1777).create(dev.join("shm"))?;
    mount_fs(
        "shm",
        &dev.join("shm"),
        "tmpfs",
        nosuid_nodev | MountFlags::NOEXEC,
        "mode=1777",
    )?;
    mount_fs(
        "tmpfs",
        &merged.join("tmp"),
        "tmpfs",
        nosuid_nodev,
        "mode=1777",
    )?;
    pivot_into(merged)
}

/// pivot_root(".", "."): the old root ends up stacked on the new one and is detached at once,
/// so no directory of the host (not even a put_old) is left inside the image.
fn pivot_into(merged: &Path) -> Result<()> {
    std::env::set_current_dir(merged).context("entering the merged tree")?;
    rustix::process::pivot_root(".", ".")
        .map_err(std::io::Error::from)
        .context("pivot_root into the image")?;
    unmount(".", UnmountFlags::DETACH)
        .map_err(std::io::Error::from)
        .context("detaching the host's root")?;
    std::env::set_current_dir("/")?;
    Ok(())
}

fn mount_fs(
    source: &str,
    target: &Path,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> Result<()> {
    let data = std::ffi::CString::new(data)?;
    mount(source, target, fstype, flags, Some(data.as_c_str()))
        .map_err(std::io::Error::from)
        .with_context(|| format!("mounting {fstype} on {}", target.display()))
}

/// Makes `path` a real directory (not a symlink) of this session.
fn real_dir(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(path)
            .with_context(|| format!("replacing the image's {}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    fs::create_dir(path).with_context(|| format!("creating {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    Ok(())
}
