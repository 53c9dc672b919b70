//! Mounting overlayfs with the new mount API (`fsopen`/`fsconfig`/`fsmount`/`move_mount`):
//! each lower layer is added with `lowerdir+`, so the number of layers is not limited by the
//! one-page option string of mount(2).

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount, unmount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags,
};

pub struct OverlaySpec<'a> {
    /// The layer store's root and each lower layer's short `l/` name (top first), for the
    /// classic mount(2) path on kernels without `lowerdir+`: docker's way of keeping the option
    /// string within one page.
    pub short: Option<(&'a Path, Vec<String>)>,
    /// Lower layers, the top one first.
    pub lowers: &'a [PathBuf],
    /// Upper and work directories; none for a read-only mount.
    pub upper: Option<(&'a Path, &'a Path)>,
    /// Rootless: keep overlay metadata in `user.overlay.*` xattrs.
    pub userxattr: bool,
}

pub fn mount_overlay(spec: &OverlaySpec<'_>, target: &Path) -> io::Result<()> {
    // STRATA_MOUNT_API=classic takes the mount(2) path on purpose (to test it).
    let classic = std::env::var("STRATA_MOUNT_API").is_ok_and(|v| v == "classic");
    if !classic {
        match mount_new_api(spec, target) {
            Err(e) if e.raw_os_error() == Some(22) && spec.short.is_some() => {}
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
            .map(|n| format!("l/{n}"))
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
    // The relative l/ names resolve from the store root: mount from there.
    let previous = std::env::current_dir()?;
    std::env::set_current_dir(root)?;
    let result = rustix::mount::mount(
        "overlay",
        &target,
        "overlay",
        rustix::mount::MountFlags::empty(),
        data.as_c_str(),
    );
    std::env::set_current_dir(previous)?;
    result.map_err(|e| with_context(e, "the kernel refused the overlay"))
}

fn mount_new_api(spec: &OverlaySpec<'_>, target: &Path) -> io::Result<()> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| with_context(e, "overlayfs is not available"))?;
    for lower in spec.lowers {
        fsconfig_set_string(&fs, "lowerdir+", lower.as_path()).map_err(|e| {
            with_context(
                e,
                "the kernel refused a lower layer (needs Linux 6.8+ for lowerdir+)",
            )
        })?;
    }
    if let Some((upper, work)) = spec.upper {
        fsconfig_set_string(&fs, "upperdir", upper)?;
        fsconfig_set_string(&fs, "workdir", work)?;
    }
    if spec.userxattr {
        fsconfig_set_flag(&fs, "userxattr")?;
    }
    fsconfig_create(&fs).map_err(|e| with_context(e, "the kernel refused the overlay"))?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty())?;
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

pub fn unmount_overlay(target: &Path) -> io::Result<()> {
    Ok(unmount(target, UnmountFlags::empty())?)
}

fn with_context(e: rustix::io::Errno, what: &str) -> io::Error {
    let e: io::Error = e.into();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Whether `path` is a mountpoint now, from /proc/self/mountinfo.
pub fn is_mounted(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(info) = std::fs::read("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.as_os_str().as_bytes();
    info.split(|b| *b == b'\n')
        .filter_map(|l| l.split(|b| *b == b' ').nth(4))
        .any(|mp| unescape_mountinfo(mp) == wanted)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` (octal); names are bytes.
fn unescape_mountinfo(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (field[i], octal) {
            (b'\\', Some(d)) => {
                let v = u32::from(d[0] - b'0') * 64
                    + u32::from(d[1] - b'0') * 8
                    + u32::from(d[2] - b'0');
                out.push(v as u8);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_names_are_unescaped_as_bytes() {
        assert_eq!(unescape_mountinfo(b"/tmp/a\\040b"), b"/tmp/a b");
        assert_eq!(
            unescape_mountinfo("/tmp/café".as_bytes()),
            "/tmp/café".as_bytes()
        );
        assert_eq!(unescape_mountinfo(b"/x\\134y"), b"/x\\y");
        assert_eq!(unescape_mountinfo(b"/end\\"), b"/end\\");
    }
}
