//! `strata shell`, rootless: an unprivileged user enters a user and mount namespace, mounts the
//! image's overlay there and runs a command at its root.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const NOBODY: &str = "65534";

fn strata() -> &'static str {
    env!("CARGO_BIN_EXE_strata")
}

/// Runs strata as uid/gid 65534 with a private HOME and store in `dir`.
fn as_nobody(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: dropping to an unprivileged user needs root to start from");
        return None;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        println!("skipped: setpriv (util-linux) is not installed");
        return None;
    }
    let store = dir.join("store");
    let out = Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
        .arg(strata())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("STRATA_STORE", &store)
        .current_dir(dir)
        .output()
        .expect("run setpriv");
    Some(out)
}

fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("strata-shell")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn hello_copy(dir: &Path) -> String {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar");
    let dst = dir.join("hello.tar");
    std::fs::copy(src, &dst).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644)).unwrap();
    dst.to_string_lossy().into_owned()
}

#[test]
fn rootless_shell_prints_a_file_of_the_image() {
    let dir = sandbox();
    let image = hello_copy(dir.path());
    let Some(out) = as_nobody(
        dir.path(),
        &["shell", &image, "--", "cat", "usr/share/greeting.txt"],
    ) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("creating a user namespace") {
        println!("skipped: unprivileged user namespaces are disabled here: {stderr}");
        return;
    }
    assert!(out.status.success(), "strata shell failed: {stderr}");
    // The greeting comes from layer 1; layer 2 deleted etc/hello.conf.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello world\n");
    let Some(out) = as_nobody(
        dir.path(),
        &[
            "shell",
            &image,
            "--",
            "sh",
            "-c",
            "ls etc; id -u; echo new > bin/x && cat bin/x",
        ],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("hello.conf"),
        "the whiteout must hide etc/hello.conf: {stdout}"
    );
    // Inside the user namespace the unprivileged user is root, and the overlay is writable.
    assert!(
        stdout.contains("\n0\nnew\n") || stdout.starts_with("0\nnew\n"),
        "{stdout}"
    );
}

#[test]
fn rootless_shell_leaves_no_mount_and_no_session_dirs() {
    let dir = sandbox();
    let image = hello_copy(dir.path());
    let Some(out) = as_nobody(dir.path(), &["shell", &image, "--", "true"]) else {
        return;
    };
    if String::from_utf8_lossy(&out.stderr).contains("creating a user namespace") {
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mounts = std::fs::read_dir(dir.path().join("store/mounts"))
        .unwrap()
        .count();
    assert_eq!(
        mounts, 0,
        "the shell's upper/work dirs must be removed when it exits"
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&dir.path().to_string_lossy().to_string()),
        "{mountinfo}"
    );
    // The layers stay in the store for the next time.
    let layers = std::fs::read_dir(dir.path().join("store/layers-userxattr/sha256"))
        .unwrap()
        .count();
    assert_eq!(layers, 3);
}

#[test]
fn shell_exit_code_is_the_commands() {
    let dir = sandbox();
    let image = hello_copy(dir.path());
    let Some(out) = as_nobody(dir.path(), &["shell", &image, "--", "sh", "-c", "exit 7"]) else {
        return;
    };
    if String::from_utf8_lossy(&out.stderr).contains("creating a user namespace") {
        return;
    }
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Where the kernel refuses overlayfs in a user namespace, `shell` falls back on
/// fuse-overlayfs; STRATA_OVERLAY=fuse takes that path on purpose (as root: /dev/fuse is
/// usually root-only).
#[test]
fn fuse_overlayfs_fallback_shows_the_same_tree() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: needs root for /dev/fuse");
        return;
    }
    if Command::new("fuse-overlayfs")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: fuse-overlayfs is not installed");
        return;
    }
    let dir = sandbox();
    let image = hello_copy(dir.path());
    let out = Command::new(strata())
        .args([
            "shell",
            &image,
            "--",
            "sh",
            "-c",
            "cat usr/share/greeting.txt; ls -A etc; grep -c fuse /proc/self/mounts",
        ])
        .env("STRATA_OVERLAY", "fuse")
        .env("STRATA_STORE", dir.path().join("store"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The greeting from layer 1, etc/ empty (layer 2's whiteout), and a fuse mount in use.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"hello world"), "{stdout}");
    assert!(
        lines.len() == 2 && lines[1].parse::<u32>().unwrap_or(0) >= 1,
        "{stdout}"
    );
}
