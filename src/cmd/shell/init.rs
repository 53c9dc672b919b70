//! `strata __init`: pid 1 of a session's pid namespace. It takes a mount namespace of its own
//! (so the `__enter` above keeps the overlay where it can unmount it), enters the image's root
//! ([`super::rootfs`]), applies the image's `Env`, `WorkingDir` and `User`, picks the program
//! and runs it as its child, then stays as the namespace's init: it reaps orphans, passes
//! signals on to the command, and exits with the command's status (128+N for signal N). When
//! it exits, the kernel kills whatever is left in the namespace.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use rustix::process::{wait, Pid, WaitOptions};
use rustix::thread::UnshareFlags;

use super::user::{self, User};
use super::{signals, Spec};
use crate::cli::InitArgs;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn init(args: InitArgs) -> Result<ExitCode> {
    let spec: Spec = serde_json::from_str(&args.spec).context("reading the session spec")?;
    // SAFETY: a fresh single-threaded process.
    unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
        .map_err(std::io::Error::from)
        .context("creating the session's mount namespace")?;
    let merged = std::env::current_dir().context("finding the merged tree")?;
    super::rootfs::enter_image_root(&merged)?;
    let user = image_user(&spec, args.rootless)?;
    let env = environment(&spec, &user);
    let workdir = spec
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    // Docker creates a missing WorkingDir.
    std::fs::create_dir_all(&workdir)
        .with_context(|| format!("creating the image's WorkingDir {workdir}"))?;
    let (program, rest) = program(&spec)?;

    signals::install(false)?;
    let mut command = Command::new(&program);
    command
        .args(rest)
        .env_clear()
        .envs(env)
        .current_dir(&workdir);
    if !args.rootless {
        let groups: Vec<rustix::process::Gid> = user
            .groups
            .iter()
            .map(|&g| rustix::process::Gid::from_raw(g))
            .collect();
        let (uid, gid) = (user.uid, user.gid);
        // SAFETY: only raw syscalls between fork and exec; `groups` was built before the fork.
        unsafe {
            command.pre_exec(move || {
                rustix::thread::set_thread_groups(&groups)?;
                rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))?;
                rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))?;
                Ok(())
            });
        }
    }
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: running {program} in the image: {e}");
            // As a shell does: 127 when there is no such program, 126 when it cannot run.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            return Ok(ExitCode::from(code));
        }
    };
    signals::forward_to(child.id());
    let command_pid = Pid::from_raw(child.id() as i32);
    loop {
        // Any child (orphans too), not waitpid(None): that is our process group only, and an
        // interactive shell puts itself in a group of its own.
        match wait(WaitOptions::empty()) {
            Ok(Some((pid, status))) if Some(pid) == command_pid => {
                let code = match (status.exit_status(), status.terminating_signal()) {
                    (Some(c), _) => c,
                    (None, Some(s)) => 128 + s,
                    _ => 1,
                };
                return Ok(ExitCode::from(code.clamp(0, 255) as u8));
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(std::io::Error::from(e)).context("waiting for the command"),
        }
    }
}

/// The image's `User`, resolved inside the image. Without root only uid 0 is mapped in the
/// user namespace: another user is run as 0, said once on stderr.
fn image_user(spec: &Spec, rootless: bool) -> Result<User> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let wanted = spec.user.clone().unwrap_or_default();
    let user = user::resolve(&wanted, &read("/etc/passwd"), &read("/etc/group"))
        .map_err(|e| anyhow::anyhow!("the image's User {wanted:?}: {e}"))?;
    if rootless && (user.uid != 0 || user.gid != 0) {
        super::super::warn(&format!(
            "the image's User is {wanted:?} (uid {}, gid {}), but without root only uid 0 is \
             mapped in the user namespace: running as uid 0",
            user.uid, user.gid
        ));
        return Ok(User {
            home: user.home,
            ..User::root()
        });
    }
    Ok(user)
}

/// The image's `Env`, with PATH and HOME filled in as docker does, and the host's TERM.
fn environment(spec: &Spec, user: &User) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for item in &spec.env {
        let (k, v) = item.split_once('=').unwrap_or((item.as_str(), ""));
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    let mut default = |k: &str, v: &str| {
        if !env.iter().any(|(key, _)| key == k) {
            env.push((k.to_string(), v.to_string()));
        }
    };
    default("PATH", DEFAULT_PATH);
    default("HOME", &user.home);
    if let Some(term) = &spec.term {
        default("TERM", term);
    }
    env
}

/// CMD if given; else $SHELL if the image has it; else the image's /bin/sh.
fn program(spec: &Spec) -> Result<(String, Vec<String>)> {
    if let Some((p, rest)) = spec.command.split_first() {
        return Ok((p.clone(), rest.to_vec()));
    }
    let candidates: Vec<&str> = spec
        .shell
        .as_deref()
        .filter(|s| s.starts_with('/'))
        .into_iter()
        .chain(["/bin/sh"])
        .collect();
    for c in &candidates {
        if is_executable(Path::new(c)) {
            return Ok((c.to_string(), Vec::new()));
        }
    }
    bail!(
        "the image has no shell ({} not found in it): give a command after `--`, or use \
         --host-root to run the host's shell with the image as the working directory",
        candidates.join(" and ")
    )
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
