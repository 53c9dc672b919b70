//! Mounting overlayfs with the new mount API (`fsopen`/`fsconfig`/`fsmount`/`move_mount`):
//! each lower layer is added with `lowerdir+`, so the number of layers is not limited by the
//! one-page option string of mount(2).

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_fd, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen,
    move_mount, unmount, FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags,
};

#[derive(Default)]
pub struct OverlaySpec<'a> {
    /// A directory and each lower layer's path relative to it (top first), for the classic
    /// mount(2) path on kernels without `lowerdir+`: the layer store's root and its short
    /// `l/<name>` links (docker's way of keeping the option string within one page), or a data
    /// root and its layers' `diff` dirs. The names must not hold `:`, `,` or a backslash.
    pub short: Option<(&'a Path, Vec<String>)>,
    /// Lower layers, the top one first.
    pub lowers: &'a [PathBuf],
    /// Upper and work directories; none for a read-only mount.
    pub upper: Option<(&'a Path, &'a Path)>,
    /// Rootless: keep overlay metadata in `user.overlay.*` xattrs.
    pub userxattr: bool,
    /// The lower layers opened by the store (top first, like `lowers`): handed to the kernel
    /// as descriptors where it takes them, so what was checked is what gets mounted.
    pub lower_fds: Vec<OwnedFd>,
    /// The mount's source in mountinfo (`strata-<id>`), by which strata recognises it later.
    pub source: Option<String>,
    /// `nosuid` and `nodev`: setuid bits, file capabilities and device nodes of the image have
    /// no effect through the mount.
    pub nosuid: bool,
    pub nodev: bool,
}

impl OverlaySpec<'_> {
    fn attr_flags(&self) -> MountAttrFlags {
        let mut f = MountAttrFlags::empty();
        if self.nosuid {
            f |= MountAttrFlags::MOUNT_ATTR_NOSUID;
        }
        if self.nodev {
            f |= MountAttrFlags::MOUNT_ATTR_NODEV;
        }
        f
    }
}

pub fn mount_overlay(spec: &OverlaySpec<'_>, target: &Path) -> io::Result<()> {
    // STRATA_MOUNT_API=classic takes the mount(2) path on purpose (to test it).
    let classic = std::env::var("STRATA_MOUNT_API").is_ok_and(|v| v == "classic");
    if !classic {
        match mount_new_api(spec, target) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && spec.short.is_some() => {}
            other => return other,
        }
    }
    mount_classic(spec, target)
}

/// mount(2) with relative `l/` names from the store root, as docker's overlay2 does.
fn mount_classic(spec: &OverlaySpec<'_>, target: &Path) -> io::Result<()> {
    let Some((root, names)) = &spec.short else {
        return Err(io::Error::other(
            "the classic overlay mount needs the layer store's short names",
        ));
    };
    let target = target.canonicalize()?;
    let mut data = format!(
        "lowerdir={}",
        names
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(":")
    );
    if let Some((upper, work)) = spec.upper {
        data.push_str(&format!(
            ",upperdir={},workdir={}",
            upper.display(),
            work.display()
        ));
    }
    if spec.userxattr {
        data.push_str(",userxattr");
    }
    if data.len() >= 4096 {
        return Err(io::Error::other(format!(
            "{} layers do not fit in one page of mount options; this kernel lacks lowerdir+",
            names.len()
        )));
    }
    let data = std::ffi::CString::new(data).map_err(io::Error::other)?;
    // The relative names resolve from that directory: mount from there.
    let previous = std::env::current_dir()?;
    std::env::set_current_dir(root)?;
    let mut flags = rustix::mount::MountFlags::empty();
    if spec.nosuid {
        flags |= rustix::mount::MountFlags::NOSUID;
    }
    if spec.nodev {
        flags |= rustix::mount::MountFlags::NODEV;
    }
    let result = rustix::mount::mount(
        spec.source.as_deref().unwrap_or("overlay"),
        &target,
        "overlay",
        flags,
        data.as_c_str(),
    );
    std::env::set_current_dir(previous)?;
    result.map_err(|e| with_context(e, "the kernel refused the overlay"))
}

fn mount_new_api(spec: &OverlaySpec<'_>, target: &Path) -> io::Result<()> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| with_context(e, "overlayfs is not available"))?;
    if let Some(source) = &spec.source {
        fsconfig_set_string(&fs, "source", source.as_str())?;
    }
    let refused = |e| {
        with_context(
            e,
            "the kernel refused a lower layer (needs Linux 6.8+ for lowerdir+)",
        )
    };
    for (i, lower) in spec.lowers.iter().enumerate() {
        // Linux 6.13+ takes the layer as a descriptor; older kernels only by path.
        let by_fd = spec
            .lower_fds
            .get(i)
            .map(|fd| fsconfig_set_fd(&fs, "lowerdir+", fd));
        match by_fd {
            Some(Ok(())) => {}
            Some(Err(rustix::io::Errno::INVAL)) | None => {
                fsconfig_set_string(&fs, "lowerdir+", lower.as_path()).map_err(refused)?
            }
            Some(Err(e)) => return Err(refused(e)),
        }
    }
    if let Some((upper, work)) = spec.upper {
        fsconfig_set_string(&fs, "upperdir", upper)?;
        fsconfig_set_string(&fs, "workdir", work)?;
    }
    if spec.userxattr {
        fsconfig_set_flag(&fs, "userxattr")?;
    }
    fsconfig_create(&fs).map_err(|e| with_context(e, "the kernel refused the overlay"))?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, spec.attr_flags())?;
    move_mount(
        &mnt,
        "",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| with_context(e, "cannot attach the overlay at the mountpoint"))?;
    Ok(())
}

/// Unmounts the overlay at `target`. A mount a process is just leaving (its last file being
/// closed, a shell exiting) is busy for a moment: that is waited out for up to two seconds;
/// a mount still busy then says how to find who holds it.
pub fn unmount_overlay(target: &Path) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match unmount(target, UnmountFlags::empty()) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::BUSY) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(rustix::io::Errno::BUSY) => {
                return Err(io::Error::other(format!(
                    "the mount is busy: a process has a file or its working directory in it \
                         (`fuser -vm {}` names it)",
                    target.display()
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn with_context(e: rustix::io::Errno, what: &str) -> io::Error {
    let e: io::Error = e.into();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

pub use super::mountinfo::is_mounted;
