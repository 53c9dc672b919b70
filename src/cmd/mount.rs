//! `strata mount` / `strata umount`: the image's layers from the store, stacked as a real
//! overlayfs with a fresh upper and work dir per mount. A mount is known by its source in the
//! mount table (`strata-<id>`, the id of its `mounts/<id>/` dir), never by its path alone.

use std::fs;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::overlay::mount::{mount_overlay, unmount_overlay, OverlaySpec};
use strata::overlay::mountinfo::{self, MountEntry};
use strata::overlay::store::Store;
use strata::overlay::{
    ensure_layers, in_place_lowers, mount_records, mount_source, new_mount_dir, remove_mount_dir,
    InPlace, MountRecord,
};

use crate::cli::{MountArgs, UmountArgs};

pub fn mount(args: MountArgs, out: &mut impl Write) -> Result<ExitCode> {
    if !rustix::process::geteuid().is_root() {
        bail!("mounting an overlay on the host needs root; as an ordinary user run `strata shell IMAGE` (a private mount in a user namespace), or `strata extract IMAGE DIR` for a plain copy");
    }
    let mountpoint = checked_mountpoint(&args.mountpoint)?;
    let limits = super::limits_of(&args.limits, false);
    let (image, top) = super::open_layered(&args.select, args.layer, "mount", &limits)?;
    let store = super::open_store(args.store.as_deref(), false)?;
    if let Some(lowers) = in_place_lowers(&image, top)? {
        return mount_in_place(&args, &image, lowers, &store, &mountpoint, out);
    }
    // The layer locks stay held until info.json says this mount uses the layers.
    let ensured = ensure_layers(&image, &store, top, &limits)?;
    let stack = (|| -> Result<Stack> {
        let paths: Vec<PathBuf> = ensured.diffs.iter().rev().cloned().collect();
        let mut fds = ensured
            .chain_ids
            .iter()
            .rev()
            .map(|c| store.open_diff(c))
            .collect::<std::io::Result<Vec<_>>>()?;
        let depth = strata::overlay::stack_depth_of(&fds)?;
        fds.truncate(depth);
        let short: Option<Vec<String>> = ensured
            .chain_ids
            .iter()
            .rev()
            .take(depth)
            .map(|c| store.checked_short_link(c).map(|n| format!("l/{n}")))
            .collect();
        Ok(Stack {
            paths: paths[..depth].to_vec(),
            fds,
            short: short.map(|names| (store.root.clone(), names)),
        })
    })();
    let info = serde_json::json!({
        "mountpoint": mountpoint,
        "image": image.source_path,
        "image_id": image.config_digest,
        "layers": ensured.chain_ids,
        "read_only": args.read_only,
    });
    let upper = stack.and_then(|stack| mount_stack(&args, &store, stack, &mountpoint, info));
    drop(ensured.locks);
    let upper = upper?;
    writeln!(
        out,
        "mounted {} ({}: {} unpacked, {} already in {}) at {}",
        image.source_path,
        strata::render::count(ensured.diffs.len() as u64, "layer", "layers"),
        ensured.unpacked,
        ensured.reused,
        store.root.display(),
        mountpoint.display()
    )?;
    tell_after_mount(&args, &mountpoint, &upper, out)
}

/// The lower layers of one mount, top first: their paths, the same opened (what was checked is
/// what gets mounted), and for the classic mount(2) path a directory and their short names
/// relative to it, when they have them.
struct Stack {
    paths: Vec<PathBuf>,
    fds: Vec<OwnedFd>,
    short: Option<(PathBuf, Vec<String>)>,
}

/// Mounts `stack` at `mountpoint` as a mount of its own, `mounts/<id>/` (upper and work dirs,
/// and `info`, completed with the mount's source, as its `info.json`); on failure the dir is
/// removed again. Returns the upper dir.
fn mount_stack(
    args: &MountArgs,
    store: &Store,
    mut stack: Stack,
    mountpoint: &Path,
    mut info: serde_json::Value,
) -> Result<PathBuf> {
    let id = new_mount_dir(store).context("creating the mount's dir in the store")?;
    let dir = store.root.join("mounts").join(&id);
    let upper = dir.join("upper");
    let result = (|| -> Result<()> {
        let work = dir.join("work");
        if args.read_only && stack.paths.len() == 1 {
            // A read-only overlay needs two lower layers: an empty one of strata's at the bottom.
            let empty = dir.join("empty");
            fs::create_dir(&empty)?;
            stack.fds.push(rustix::fs::open(
                &empty,
                rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )?);
            stack.paths.push(empty);
            stack.short = None;
        }
        if !args.read_only {
            make_upper(&upper, &work, &stack.fds[0])?;
        }
        let spec = OverlaySpec {
            short: stack
                .short
                .as_ref()
                .map(|(base, names)| (base.as_path(), names.clone())),
            lowers: &stack.paths,
            upper: (!args.read_only).then_some((upper.as_path(), work.as_path())),
            userxattr: false,
            lower_fds: stack.fds,
            source: Some(mount_source(&id)),
            nosuid: !args.suid,
            nodev: !args.dev,
        };
        info["source"] = mount_source(&id).into();
        fs::write(dir.join("info.json"), serde_json::to_vec_pretty(&info)?)?;
        mount_overlay(&spec, mountpoint)
            .with_context(|| format!("mounting the overlay at {}", mountpoint.display()))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = remove_mount_dir(store, &id);
        return Err(e);
    }
    Ok(upper)
}

/// Upper and work dirs for a writable mount; the merged root is the upper dir, so it gets the
/// image root's (the top lower layer's) mode and owner.
fn make_upper(upper: &Path, work: &Path, top_lower: &OwnedFd) -> Result<()> {
    fs::create_dir(upper)?;
    fs::create_dir(work)?;
    let top = rustix::fs::fstat(top_lower)?;
    use std::os::unix::fs::PermissionsExt;
    std::os::unix::fs::chown(upper, Some(top.st_uid), Some(top.st_gid))?;
    fs::set_permissions(upper, fs::Permissions::from_mode(top.st_mode & 0o7777))?;
    Ok(())
}

/// `mount docker-root:REF` / `containers-storage:REF`: the data root's own layer directories
/// are the lower layers, as they are (nothing copied or unpacked, nothing of the data root
/// written); only the upper and work dirs are strata's, in the store's `mounts/<id>/`.
fn mount_in_place(
    args: &MountArgs,
    image: &strata::image::Image,
    lowers: InPlace,
    store: &Store,
    mountpoint: &Path,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let layers = lowers.rels.len() as u64;
    let paths = lowers.paths().into_iter().rev().collect();
    let InPlace { root, rels, fds } = lowers;
    // No layer of the store is used ("layers" is empty): the data root's dirs are named
    // for the record only, and nothing but mounts/<id> is ever removed for this mount.
    let info = serde_json::json!({
        "mountpoint": mountpoint,
        "image": args.select.archive,
        "image_id": image.config_digest,
        "layers": [],
        "data_root": root,
        "lowers": rels,
        "read_only": args.read_only,
    });
    let stack = Stack {
        paths,
        fds: fds.into_iter().rev().collect(),
        short: Some((root, rels.iter().rev().cloned().collect())),
    };
    let upper = mount_stack(args, store, stack, mountpoint, info)?;
    writeln!(
        out,
        "mounted {} ({} of {} used in place, nothing copied) at {}",
        args.select.archive.display(),
        strata::render::count(layers, "layer", "layers"),
        image.source_path,
        mountpoint.display()
    )?;
    tell_after_mount(args, mountpoint, &upper, out)
}

fn tell_after_mount(
    args: &MountArgs,
    mountpoint: &Path,
    upper: &Path,
    out: &mut impl Write,
) -> Result<ExitCode> {
    if args.read_only {
        writeln!(out, "read-only: no upper dir")?;
    } else {
        writeln!(out, "upper dir (your changes): {}", upper.display())?;
    }
    if args.suid || args.dev {
        writeln!(
            out,
            "warning: mounted with{}{}: the image's setuid files, file capabilities or device nodes take effect through {}",
            if args.suid { " --suid" } else { "" },
            if args.dev { " --dev" } else { "" },
            mountpoint.display()
        )?;
    }
    writeln!(out, "unmount with: strata umount {}", mountpoint.display())?;
    Ok(ExitCode::SUCCESS)
}

fn checked_mountpoint(path: &Path) -> Result<PathBuf> {
    let meta = match fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "mountpoint {} does not exist: create it first (mkdir -p {})",
            path.display(),
            path.display()
        ),
        other => other.with_context(|| format!("mountpoint {}", path.display()))?,
    };
    if !meta.is_dir() {
        bail!("mountpoint {} is not a directory", path.display());
    }
    let canonical = path.canonicalize()?;
    if mountinfo::is_mounted(&canonical) {
        bail!(
            "mountpoint {} is busy: something is already mounted there",
            path.display()
        );
    }
    Ok(canonical)
}

/// What is mounted at a path, for messages.
fn describe(m: &MountEntry) -> String {
    format!("{} ({})", m.fstype, String::from_utf8_lossy(&m.source))
}

pub fn umount(args: UmountArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mountpoint = args
        .mountpoint
        .canonicalize()
        .with_context(|| format!("mountpoint {}", args.mountpoint.display()))?;
    let store = super::open_store(args.store.as_deref(), false)?;
    let records = mount_records(&store);
    let table = mountinfo::read();
    let record = match mountinfo::topmost_at(&table, &mountpoint) {
        Some(top) => {
            let Some(rec) = records
                .into_iter()
                .find(|r| r.source().as_bytes() == top.source.as_slice())
            else {
                bail!(
                    "{}: the mount on top there is {}, not a strata overlay of {}; unmount that first",
                    mountpoint.display(),
                    describe(top),
                    store.root.display()
                );
            };
            unmount_overlay(&mountpoint)
                .with_context(|| format!("unmounting {}", mountpoint.display()))?;
            rec
        }
        None => {
            // Unmounted by hand: clear what strata kept for it, if nothing uses it any more.
            let wanted = mountpoint.to_string_lossy();
            let Some(rec) = records
                .into_iter()
                .find(|r| r.mountpoint() == Some(&*wanted) && !r.is_live(&store, &table))
            else {
                bail!(
                    "{} is not mounted, and not a strata mount of {}",
                    mountpoint.display(),
                    store.root.display()
                );
            };
            rec
        }
    };
    if record.is_live(&store, &mountinfo::read()) {
        writeln!(
            out,
            "unmounted {}; its overlay is still mounted elsewhere, so {} is kept",
            mountpoint.display(),
            record.dir(&store).display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    finish_umount(&store, &record, &mountpoint, args.keep_upper, out)
}

fn finish_umount(
    store: &Store,
    record: &MountRecord,
    mountpoint: &Path,
    keep_upper: bool,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let dir = record.dir(store);
    if keep_upper && dir.join("upper").is_dir() {
        // Moved out of mounts/: no longer a mount, so its layers can be pruned.
        let _ = strata::overlay::remove_all(&dir.join("work"));
        let _ = fs::remove_file(dir.join("info.json"));
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let kept = store
            .root
            .join("kept")
            .join(format!("{}-{stamp}", record.id));
        fs::rename(&dir, &kept).with_context(|| format!("keeping {}", dir.display()))?;
        writeln!(
            out,
            "unmounted {}; kept the upper dir {}",
            mountpoint.display(),
            kept.join("upper").display()
        )?;
    } else {
        remove_mount_dir(store, &record.id)
            .with_context(|| format!("removing {}", dir.display()))?;
        writeln!(out, "unmounted {}", mountpoint.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
