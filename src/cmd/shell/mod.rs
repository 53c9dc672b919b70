//! `strata shell`: a command inside the image. The image's overlay becomes `/` of a private
//! mount namespace — entered through a user namespace when not root — with a pid namespace, a
//! fresh `/proc`, a minimal `/dev` and a tmpfs `/tmp`; the image's `Env`, `WorkingDir` and
//! `User` apply. Nothing of the host's filesystem or of the store is reachable inside.
//!
//! Three processes: this one (it unpacks layers, owns the session dir and removes it however
//! the session ends), `strata __enter` ([`enter`]: the namespaces and the overlay) and
//! `strata __init` ([`init`]: pid 1, the image's root, the command). Each child dies with its
//! parent (PR_SET_PDEATHSIG), each parent passes SIGINT/SIGHUP/SIGTERM down ([`signals`]),
//! and the command's exit status comes back up: its code, or 128+N for signal N.

mod enter;
mod init;
mod rootfs;
mod session;
mod signals;
mod user;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitCode, ExitStatus};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use strata::overlay::ensure_layers;
use strata::overlay::store::Store;

pub use enter::enter;
pub use init::init;

use crate::cli::ShellArgs;
use session::Session;

/// What the session runs, handed from `shell` to `__enter` and `__init` as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub struct Spec {
    /// CMD after `--`; empty for a shell.
    pub command: Vec<String>,
    pub host_root: bool,
    /// The host's $SHELL.
    pub shell: Option<String>,
    /// The host's $TERM, kept when the image's Env has none.
    pub term: Option<String>,
    /// From the image's config.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

pub fn run(args: ShellArgs) -> Result<ExitCode> {
    let rootless = !rustix::process::geteuid().is_root();
    let limits = super::limits_of(&args.limits, false);
    let (image, top) = super::open_layered(&args.select, args.layer, "run", &limits)?;
    let store = super::open_store(args.store.as_deref(), rootless)?;
    let mounts = store.root.join("mounts");
    session::remove_dead(&mounts);
    let ensured = ensure_layers(&image, &store, top, &limits)?;
    let config = image.config.config().as_ref();
    let spec = Spec {
        command: args.command.clone(),
        host_root: args.host_root,
        shell: std::env::var("SHELL").ok().filter(|s| !s.is_empty()),
        term: std::env::var("TERM").ok().filter(|s| !s.is_empty()),
        env: config.and_then(|c| c.env().clone()).unwrap_or_default(),
        working_dir: config.and_then(|c| c.working_dir().clone()),
        user: config.and_then(|c| c.user().clone()),
    };

    // From here on a signal is passed on (or remembered), never fatal: the session dir must go.
    signals::install(true)?;
    let session = Session::create(&mounts).context("creating the shell's session dir")?;
    let status = run_session(&session, &store, &image.source_path, ensured, &spec);
    if let Err(e) = session.remove() {
        super::warn(&format!("could not remove the shell session: {e}"));
    }
    let status = status?;
    Ok(ExitCode::from(match (status.code(), signals::received()) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        // Killed after a forwarded signal did not end it: report that signal.
        (None, Some(sig)) => (128 + sig) as u8,
        (None, None) => status_code(status),
    }))
}

fn run_session(
    session: &Session,
    store: &Store,
    image: &str,
    ensured: strata::overlay::Ensured,
    spec: &Spec,
) -> Result<ExitStatus> {
    // Like a mount's, so `store prune` and `store rm` leave this session's layers alone.
    session.write_info(serde_json::json!({
        "mountpoint": session.dir.join("merged"),
        "image": image,
        "layers": ensured.chain_ids,
        "shell": true,
    }))?;
    // Recorded as used: other strata may share the layers now, and prune leaves them alone.
    drop(ensured.locks);
    let mut lowers: Vec<PathBuf> = ensured.diffs.iter().rev().cloned().collect();
    lowers.truncate(strata::overlay::stack_depth(&lowers)?);
    if lowers.len() == 1 {
        // Keep overlay happy with at least two layers whatever the kernel.
        let empty = store.root.join("empty");
        std::fs::create_dir_all(&empty)?;
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
        .arg(session.dir.join("upper"))
        .arg("--work")
        .arg(session.dir.join("work"))
        .arg("--merged")
        .arg(session.dir.join("merged"))
        .arg("--spec")
        .arg(serde_json::to_string(spec)?);
    let parent = rustix::process::getpid();
    // SAFETY: raw syscalls only between fork and exec.
    unsafe {
        child.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            // strata died before the line above: do not outlive it.
            if rustix::process::getppid() != Some(parent) {
                return Err(std::io::Error::other("strata exited"));
            }
            Ok(())
        });
    }
    let mut child = child.spawn().context("starting the namespace helper")?;
    signals::forward_to(child.id());
    Ok(child.wait()?)
}

/// An exit status as a shell reports it: the code, or 128+N for death by signal N.
pub fn status_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
        _ => 1,
    }
}
