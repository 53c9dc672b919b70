//! `strata shell`: the image's overlay in a private mount namespace — entered through a user
//! namespace when not root — with `$SHELL` (or CMD) running at its root. When the command exits
//! the namespace, and with it the mount, is gone; strata then removes the upper and work dirs.
//!
//! The namespace work happens in a fresh child process (`strata __enter`): unshare() needs a
//! single-threaded process, and the parent has used threads to unpack layers.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use rustix::mount::{mount_change, MountPropagationFlags};
use rustix::thread::UnshareFlags;
use strata::overlay::mount::{mount_overlay, OverlaySpec};
use strata::overlay::store::Store;
use strata::overlay::{ensure_layers, remove_all};

use crate::cli::{EnterArgs, ShellArgs};

pub fn run(args: ShellArgs) -> Result<ExitCode> {
    let rootless = !rustix::process::geteuid().is_root();
    let (image, top) = super::open_layered(&args.select, args.layer, "run")?;
    let store = Store::open(Store::locate(args.store.as_deref()), rootless)
        .context("opening the layer store")?;
    let ensured = ensure_layers(&image, &store, top)?;
    let session = store
        .root
        .join("mounts")
        .join(format!("shell-{}", std::process::id()));
    for sub in ["upper", "work", "merged"] {
        fs::create_dir_all(session.join(sub))?;
    }
    // Like a mount's, so `store prune` and `store rm` leave this session's layers alone.
    let info = serde_json::json!({
        "mountpoint": session.join("merged"),
        "image": image.source_path,
        "layers": ensured.chain_ids,
        "shell": true,
    });
    fs::write(session.join("info.json"), serde_json::to_vec_pretty(&info)?)?;
    // Recorded as used: other strata may now share the layers (or wait for them no longer).
    drop(ensured.locks);
    let mut lowers: Vec<PathBuf> = ensured.diffs.iter().rev().cloned().collect();
    if lowers.len() == 1 {
        // Keep overlay happy with at least two layers whatever the kernel.
        let empty = store.root.join("empty");
        fs::create_dir_all(&empty)?;
        lowers.push(empty);
    }
    let exe = std::env::current_exe().context("finding strata's own executable")?;
    let mut child = Command::new(exe);
    child.arg("__enter");
    for l in &lowers {
        child.arg("--lower").arg(l);
    }
    child
        .arg("--upper")
        .arg(session.join("upper"))
        .arg("--work")
        .arg(session.join("work"))
        .arg("--merged")
        .arg(session.join("merged"))
        .arg("--")
        .args(&args.command);
    let status = child.status().context("starting the namespace helper")?;
    let _ = remove_all(&session);
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// Mounts with fuse-overlayfs instead; false if it is not installed.
fn fuse_overlayfs(args: &EnterArgs) -> Result<bool> {
    let lowers: Vec<String> = args
        .lowers
        .iter()
        .map(|l| {
            l.to_string_lossy()
                .replace('\\', "\\\\")
                .replace(':', "\\:")
                .replace(',', "\\,")
        })
        .collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        args.upper.display(),
        args.work.display()
    );
    let status = match Command::new("fuse-overlayfs")
        .arg("-o")
        .arg(&options)
        .arg(&args.merged)
        .status()
    {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).context("running fuse-overlayfs"),
    };
    if !status.success() {
        bail!("fuse-overlayfs could not mount the layers ({status})");
    }
    Ok(true)
}

pub fn enter(args: EnterArgs) -> Result<ExitCode> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let rootless = uid != 0;
    let flags = if rootless {
        UnshareFlags::NEWUSER | UnshareFlags::NEWNS
    } else {
        UnshareFlags::NEWNS
    };
    // SAFETY: this process was started only to do this; it has not spawned any thread, so no
    // other thread shares the file-system attributes or namespaces being changed.
    unsafe { rustix::thread::unshare_unsafe(flags) }
        .map_err(std::io::Error::from)
        .context(if rootless {
            "creating a user namespace (are unprivileged user namespaces enabled?)"
        } else {
            "creating a mount namespace"
        })?;
    if rootless {
        fs::write("/proc/self/setgroups", "deny")
            .context("denying setgroups in the user namespace")?;
        fs::write("/proc/self/uid_map", format!("0 {uid} 1")).context("writing uid_map")?;
        fs::write("/proc/self/gid_map", format!("0 {gid} 1")).context("writing gid_map")?;
    }
    // Nothing mounted here may propagate back to the host.
    mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(std::io::Error::from)
    .context("making the mount namespace private")?;
    let spec = OverlaySpec {
        short: None,
        lowers: &args.lowers,
        upper: Some((args.upper.as_path(), args.work.as_path())),
        userxattr: rootless,
        ..OverlaySpec::default()
    };
    // STRATA_OVERLAY=fuse forces fuse-overlayfs (for kernels that refuse overlay in a user
    // namespace, and to test that path).
    let forced_fuse = std::env::var("STRATA_OVERLAY").is_ok_and(|v| v == "fuse");
    let kernel = if forced_fuse {
        Err(anyhow::anyhow!(
            "fuse-overlayfs requested with STRATA_OVERLAY=fuse"
        ))
    } else {
        mount_overlay(&spec, &args.merged).context("mounting the overlay in the namespace")
    };
    if let Err(e) = kernel {
        if !fuse_overlayfs(&args)? {
            return Err(e.context("and fuse-overlayfs is not installed to fall back on"));
        }
    }
    let (program, rest) = match args.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (
            std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    let status = Command::new(&program)
        .args(&rest)
        .current_dir(&args.merged)
        .env("PWD", &args.merged)
        .env("STRATA_ROOT", &args.merged)
        .status()
        .with_context(|| format!("running {program}"))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}
