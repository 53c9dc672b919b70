//! `strata __enter`: the namespace side of a session, in a fresh single-threaded process
//! (unshare needs one; the `shell` process has used threads to unpack layers). It creates the
//! mount namespace — inside a user namespace where only its uid is mapped, as 0, when not
//! root — mounts the overlay there (falling back on fuse-overlayfs), then creates the pid
//! namespace and starts `strata __init` as its pid 1. With `--host-root` it runs the command
//! itself instead, at the merged tree, with the host's `/`.

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use rustix::mount::{mount_change, unmount, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;
use strata::overlay::mount::{mount_overlay, OverlaySpec};

use super::{signals, status_code, Spec};
use crate::cli::EnterArgs;

pub fn enter(args: EnterArgs) -> Result<ExitCode> {
    let spec: Spec = serde_json::from_str(&args.spec).context("reading the session spec")?;
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
    mount_layers(&args, rootless)?;
    signals::install(false)?;
    if spec.host_root {
        return host_root(&args, &spec);
    }
    // The pid namespace comes after the overlay: a fuse-overlayfs daemon started above must
    // not become (and, daemonizing, leave) the namespace's pid 1.
    // SAFETY: still single-threaded.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWPID) }
        .map_err(std::io::Error::from)
        .context("creating a pid namespace")?;
    // The command line of pid 1 is readable inside: no host path in it. Started as
    // /proc/self/exe named `strata`, at the merged tree, which it takes as the image's root.
    let mut init = Command::new("/proc/self/exe");
    init.arg0("strata")
        .arg("__init")
        .arg("--spec")
        .arg(&args.spec)
        .current_dir(&args.merged);
    if rootless {
        init.arg("--rootless");
    }
    // SAFETY: one raw syscall between fork and exec.
    unsafe {
        init.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            Ok(())
        });
    }
    let mut child = init.spawn().context("starting the session's init")?;
    signals::forward_to(child.id());
    let status = child.wait()?;
    // Ends a fuse-overlayfs daemon (the kernel overlay goes with the namespace anyway).
    let _ = unmount(&args.merged, UnmountFlags::DETACH);
    Ok(ExitCode::from(status_code(status)))
}

fn mount_layers(args: &EnterArgs, rootless: bool) -> Result<()> {
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
        if !fuse_overlayfs(args)? {
            return Err(e.context("and fuse-overlayfs is not installed to fall back on"));
        }
    }
    Ok(())
}

/// `--host-root`: the host's `/`, the command at the merged tree, the host's environment.
fn host_root(args: &EnterArgs, spec: &Spec) -> Result<ExitCode> {
    let (program, rest) = match spec.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (
            spec.shell.clone().unwrap_or_else(|| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    let mut child = Command::new(&program)
        .args(&rest)
        .current_dir(&args.merged)
        .env("PWD", &args.merged)
        .env("STRATA_ROOT", &args.merged)
        .spawn()
        .with_context(|| format!("running {program}"))?;
    signals::forward_to(child.id());
    let status = child.wait()?;
    Ok(ExitCode::from(status_code(status)))
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
