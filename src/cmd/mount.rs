//! `strata mount` / `strata umount`: the image's layers from the store, stacked as a real
//! overlayfs with a fresh upper and work dir per mount.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::overlay::mount::{is_mounted, mount_overlay, unmount_overlay, OverlaySpec};
use strata::overlay::store::Store;
use strata::overlay::{ensure_layers, mount_dir, read_mount_info, remove_all};

use crate::cli::{MountArgs, UmountArgs};

pub fn mount(args: MountArgs, out: &mut impl Write) -> Result<ExitCode> {
    if !rustix::process::geteuid().is_root() {
        bail!("mounting an overlay on the host needs root; as an ordinary user run `strata shell IMAGE` (a private mount in a user namespace), or `strata extract IMAGE DIR` for a plain copy");
    }
    let mountpoint = checked_mountpoint(&args.mountpoint)?;
    let (image, top) = super::open_layered(&args.select, args.layer, "mount")?;
    let store = Store::open(Store::locate(args.store.as_deref()), false)
        .context("opening the layer store")?;
    let ensured = ensure_layers(&image, &store, top)?;
    let dir = mount_dir(&store, &mountpoint);
    if dir.exists() {
        if is_mounted(&mountpoint) {
            bail!("{} is already a strata mount", mountpoint.display());
        }
        remove_all(&dir).with_context(|| format!("removing the stale {}", dir.display()))?;
    }
    fs::create_dir_all(&dir)?;
    let upper = dir.join("upper");
    let work = dir.join("work");
    let mut lowers: Vec<_> = ensured.diffs.iter().rev().cloned().collect();
    if args.read_only && lowers.len() == 1 {
        // A read-only overlay needs two lower layers: add an empty one at the bottom.
        let empty = store.root.join("empty");
        fs::create_dir_all(&empty)?;
        lowers.push(empty);
    }
    if !args.read_only {
        fs::create_dir(&upper)?;
        fs::create_dir(&work)?;
        // The merged root is the upper dir: give it the image root's mode and owner.
        let top = fs::metadata(&lowers[0])?;
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::os::unix::fs::chown(&upper, Some(top.uid()), Some(top.gid()))?;
        fs::set_permissions(&upper, fs::Permissions::from_mode(top.mode() & 0o7777))?;
    }
    let short = strata::overlay::short_names(&store, &lowers);
    let spec = OverlaySpec {
        short: short.map(|names| (store.root.as_path(), names)),
        lowers: &lowers,
        upper: (!args.read_only).then_some((upper.as_path(), work.as_path())),
        userxattr: false,
    };
    let info = serde_json::json!({
        "mountpoint": mountpoint,
        "image": image.source_path,
        "image_id": image.config_digest,
        "layers": ensured.chain_ids,
        "read_only": args.read_only,
    });
    fs::write(dir.join("info.json"), serde_json::to_vec_pretty(&info)?)?;
    if let Err(e) = mount_overlay(&spec, &mountpoint) {
        let _ = remove_all(&dir);
        return Err(e).with_context(|| format!("mounting the overlay at {}", mountpoint.display()));
    }
    writeln!(
        out,
        "mounted {} ({} layers: {} unpacked, {} already in {}) at {}",
        image.source_path,
        ensured.diffs.len(),
        ensured.unpacked,
        ensured.reused,
        store.root.display(),
        mountpoint.display()
    )?;
    if args.read_only {
        writeln!(out, "read-only: no upper dir")?;
    } else {
        writeln!(out, "upper dir (your changes): {}", upper.display())?;
    }
    writeln!(out, "unmount with: strata umount {}", mountpoint.display())?;
    Ok(ExitCode::SUCCESS)
}

fn checked_mountpoint(path: &Path) -> Result<std::path::PathBuf> {
    let meta = fs::metadata(path).with_context(|| format!("mountpoint {}", path.display()))?;
    if !meta.is_dir() {
        bail!("mountpoint {} is not a directory", path.display());
    }
    let canonical = path.canonicalize()?;
    if is_mounted(&canonical) {
        bail!(
            "mountpoint {} is busy: something is already mounted there",
            path.display()
        );
    }
    Ok(canonical)
}

pub fn umount(args: UmountArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mountpoint = args
        .mountpoint
        .canonicalize()
        .with_context(|| format!("mountpoint {}", args.mountpoint.display()))?;
    let store = Store::open(Store::locate(args.store.as_deref()), false)
        .context("opening the layer store")?;
    let dir = mount_dir(&store, &mountpoint);
    if read_mount_info(&dir).is_none() {
        bail!(
            "{} is not a strata mount (nothing about it in {})",
            mountpoint.display(),
            store.root.display()
        );
    }
    if is_mounted(&mountpoint) {
        unmount_overlay(&mountpoint)
            .with_context(|| format!("unmounting {}", mountpoint.display()))?;
    }
    if args.keep_upper {
        // Moved out of mounts/: no longer a mount, so its layers can be pruned and a new mount
        // on the same mountpoint cannot reuse (and wipe) it.
        let _ = remove_all(&dir.join("work"));
        let _ = fs::remove_file(dir.join("info.json"));
        let kept_root = store.root.join("kept");
        fs::create_dir_all(&kept_root)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kept = kept_root.join(format!("{id}-{stamp}"));
        fs::rename(&dir, &kept).with_context(|| format!("keeping {}", dir.display()))?;
        writeln!(
            out,
            "unmounted {}; kept the upper dir {}",
            mountpoint.display(),
            kept.join("upper").display()
        )?;
    } else {
        remove_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        writeln!(out, "unmounted {}", mountpoint.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
