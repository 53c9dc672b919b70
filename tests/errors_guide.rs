//! Errors say what to do and never dump data: no raw bytes of the input in messages, store
//! errors name the store and what chose it, a missing mountpoint says to create it, and a
//! terminal is neither fed a tar nor left waiting in silence.

use crate::common;

use std::io::Read;
use std::process::Stdio;

use crate::common::{fixtures, run, strata};

/// One `error:` line, no control characters, and none of `secret` quoted back.
fn assert_short_clean_error(r: &common::Run, secret: &str) {
    assert_eq!(r.code, 2, "{r}");
    assert!(
        !r.stderr.contains(secret),
        "the input was quoted back:\n{r}"
    );
    let text = std::str::from_utf8(&r.stderr_bytes).expect("stderr is UTF-8");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters on stderr:\n{r}"
    );
    assert_eq!(text.lines().count(), 1, "{r}");
}

#[test]
fn text_and_random_files_are_refused_without_quoting_them() {
    let dir = tempfile::tempdir().unwrap();
    // Regression: the tar parser's complaint quoted the first header's bytes (a passwd file
    // was printed back line by line).
    let passwd = dir.path().join("passwd");
    let body = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        .repeat(20);
    std::fs::write(&passwd, &body).unwrap();
    assert_short_clean_error(&run(args!["inspect", passwd]), "root:x");
    let random = dir.path().join("random.bin");
    let bytes: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let r = run(args!["inspect", random]);
    assert_short_clean_error(&r, "\u{fffd}");
}

#[test]
fn store_errors_name_the_store_and_what_chose_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("store");
    let r = run(args!["store", "ls", "--store", bad]);
    assert_eq!(r.code, 2, "{r}");
    let want = format!(
        "opening the layer store {} (chosen by --store",
        bad.display()
    );
    assert!(r.stderr.contains(&want), "{r}");

    let mut c = strata();
    c.env("STRATA_STORE", &bad).args(["store", "ls"]);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(chosen by $STRATA_STORE"), "{stderr}");
}

#[test]
fn mount_onto_a_missing_directory_says_to_create_it() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: mount needs root (the check comes after the root check)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-here");
    let r = run(args![
        "mount",
        fixtures::committed_hello_path(),
        missing,
        "--store",
        dir.path().join("store")
    ]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("does not exist: create it first (mkdir -p"),
        "{r}"
    );
    assert!(!missing.exists());
}

#[test]
fn extract_to_stdout_refuses_a_terminal() {
    let (_master, slave) = common::pty();
    let tty = std::fs::OpenOptions::new()
        .write(true)
        .open(&slave)
        .unwrap();
    let hello = fixtures::committed_hello_path();
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"));
    c.env_clear()
        .args(["extract".as_ref(), hello.as_os_str(), "-".as_ref()])
        .stdout(Stdio::from(tty))
        .stderr(Stdio::piped());
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to write a tar to the terminal"),
        "{stderr}"
    );
    // Redirected, the same command writes the tar.
    let r = run(args!["extract", hello, "-"]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn inspect_of_stdin_says_so_when_stdin_is_a_terminal() {
    let (master, slave) = common::pty();
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave)
        .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"))
        .env_clear()
        .args(["inspect", "-"])
        .stdin(Stdio::from(tty))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut first = [0u8; 40];
    stderr.read_exact(&mut first).unwrap();
    assert!(
        String::from_utf8_lossy(&first).starts_with("strata: reading the image archive"),
        "{}",
        String::from_utf8_lossy(&first)
    );
    // It is waiting for input, as told; it is our child, so end it here.
    drop(master);
    child.kill().unwrap();
    child.wait().unwrap();
}
