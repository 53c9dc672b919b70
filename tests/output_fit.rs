//! Output that fits where it goes: tables and verify lines cut to the terminal's width (or
//! $COLUMNS), box drawing and colour only on a terminal (`--color`, NO_COLOR), and `--format`
//! templates for inspect, verify and store ls.

use std::io::Read;
use std::process::Stdio;

use crate::common;
use crate::common::fixtures::committed_hello_path;
use crate::common::{run, strata};

fn widest(text: &str) -> usize {
    text.lines()
        .map(unicode_width::UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

/// stdout of strata with COLUMNS set.
fn with_columns(columns: &str, args: &[&str]) -> String {
    let hello = committed_hello_path();
    let out = strata()
        .env("COLUMNS", columns)
        .args(args)
        .arg(&hello)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn inspect_fits_columns_and_no_trunc_keeps_everything() {
    let text = with_columns("80", &["inspect"]);
    assert!(widest(&text) <= 80, "{text}");
    // CREATED BY is cut and the least useful columns went; the IDs stay whole (12 hex).
    assert!(
        text.contains("DIFF ID") && text.contains("CHAIN ID"),
        "{text}"
    );
    assert!(!text.contains("MEDIA TYPE"), "{text}");
    assert!(text.contains("18f6e3c2a79b   18f6e3c2a79b"), "{text}");
    let wide = with_columns("80", &["inspect", "--no-trunc"]);
    assert!(wide.contains("MEDIA TYPE") && widest(&wide) > 200, "{wide}");
    // Piped, no boxes.
    assert!(!text.contains('│') && !text.contains('┌'), "{text}");
}

#[test]
fn verify_lines_fit_columns() {
    let text = with_columns("80", &["verify"]);
    assert!(widest(&text) <= 80, "{text}");
    assert!(
        text.contains("ok        layer 0 diff_id        18f6e3c2a79b  ("),
        "{text}"
    );
    let full = with_columns("80", &["verify", "--no-trunc"]);
    assert!(
        full.contains("sha256:18f6e3c2a79b6a96eca35559efc2c9eeee132ebdc559a0f821635fdc8e4fcdca")
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_without_no_color() {
    let hello = committed_hello_path();
    let r = run(args!["verify", "--color", "always", hello]);
    assert!(r.stdout.starts_with("\u{1b}[32mok\u{1b}[0m "), "{r}");
    let r = run(args!["verify", hello]);
    assert!(!r.stdout.contains('\u{1b}'), "piped output got colour: {r}");
    // On a terminal: colour, boxes; with NO_COLOR or --color never: boxes, no colour.
    let on_tty = |args: &[&str], no_color: bool| -> String {
        let (master, slave) = common::pty();
        let tty = std::fs::OpenOptions::new()
            .write(true)
            .open(&slave)
            .unwrap();
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"));
        c.env_clear().env("COLUMNS", "300").args(args).arg(&hello);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let status = c
            .stdout(Stdio::from(tty))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mut m = std::fs::File::from(master);
        let mut buf = vec![0u8; 1 << 16];
        let n = m.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(on_tty(&["verify"], false).contains("\u{1b}[32mok"));
    assert!(!on_tty(&["verify"], true).contains('\u{1b}'));
    assert!(!on_tty(&["verify", "--color", "never"], false).contains('\u{1b}'));
    let boxed = on_tty(&["inspect"], false);
    assert!(boxed.contains('┌') && boxed.contains('│'), "{boxed}");
}

#[test]
fn format_templates_for_inspect_verify_and_store_ls() {
    let hello = committed_hello_path();
    let r = run(args![
        "inspect",
        hello,
        "--format",
        "{{.image.id}} {{json .image.tags}}"
    ]);
    assert_eq!(
        r.stdout,
        "sha256:40f6d0c2ea47f25e38146f86bf7969462e3a8642d01b8f1c0a235373b522b247 [\"hello:latest\"]\n",
        "{r}"
    );
    let r = run(args![
        "verify",
        hello,
        "--format",
        "{{.what}}:{{.layer_index}}:{{.ok}}"
    ]);
    assert_eq!(
        r.stdout, "config_digest:null:true\ndiff_id:0:true\ndiff_id:1:true\ndiff_id:2:true\n",
        "{r}"
    );
    let r = run(args!["inspect", hello, "--format", "{{range .layers}}"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("--format: `{{range .layers}}` is not a field"),
        "{r}"
    );
    // An empty store lists nothing, whatever the template.
    let dir = tempfile::tempdir().unwrap();
    let r = run(args![
        "store",
        "--store",
        dir.path().join("s"),
        "ls",
        "--format",
        "{{.chain_id}}"
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r}");
}

/// The extract summary fits the width it is given: at `COLUMNS=60` its counts go below the
/// first line (which names the archive and DEST, and is as long as they are), none wider than
/// 60; with no width it stays one line.
#[test]
fn extract_summary_fits_columns() {
    let hello = committed_hello_path();
    let dir = tempfile::tempdir().unwrap();
    let run_with = |columns: Option<&str>, dest: &str| {
        let mut c = strata();
        c.env_remove("COLUMNS");
        if let Some(c_) = columns {
            c.env("COLUMNS", c_);
        }
        let out = c
            .args(["extract"])
            .arg(&hello)
            .arg(dir.path().join(dest))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let narrow = run_with(Some("60"), "a");
    let counts: String = narrow.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert!(widest(&counts) <= 60, "{narrow}");
    assert!(narrow.lines().count() > 1, "{narrow}");
    assert!(narrow.contains("2 files (47 bytes)"), "{narrow}");
    let wide = run_with(None, "b");
    assert_eq!(wide.lines().count(), 1, "{wide}");
}
