//! What the tests against real stores share (tests/docker_root.rs and tests/docker_history.rs
//! with private Docker daemons, tests/containers_storage.rs with podman): a setup made once per
//! test process and cached, or the reason it cannot be had here (said, and counted as skipped);
//! temporary directories that outlive the statics holding them, removed at exit; strata run
//! with `String` arguments; and the read-only checks on a store (listings, hashes, copies to
//! damage, `storage check` findings).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::{run, Run};

/// The setup in `cell`, made by `start` on first use; `None` (said, and counted as skipped) when
/// it cannot be had here. Each test calls this and returns on `None`.
pub fn cached<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    start: impl FnOnce() -> Result<T, String>,
) -> Option<&'static T> {
    match cell.get_or_init(start) {
        Ok(s) => Some(s),
        Err(why) => {
            super::skipped(why);
            None
        }
    }
}

/// Directories removed when the test process exits: statics are never dropped.
static TO_REMOVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn remove_all_at_exit() {
    if let Ok(dirs) = TO_REMOVE.lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Removes `dir` (and everything in it) when the process exits.
pub fn remove_at_exit(dir: &Path) {
    let mut dirs = TO_REMOVE.lock().unwrap();
    if dirs.is_empty() {
        // SAFETY: registers a plain function; it only touches the mutex and the file system.
        unsafe { libc::atexit(remove_all_at_exit) };
    }
    dirs.push(dir.to_path_buf());
}

/// `strata ARGS`.
pub fn strata(args: &[String]) -> Run {
    let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    run(&os)
}

/// `strata ARGS`, expected to succeed with one JSON document.
pub fn json_of(args: &[String]) -> Value {
    let r = strata(args);
    assert_eq!(r.code, 0, "strata {args:?}:\n{r}");
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}:\n{r}"))
}

/// `head`, then the source arguments, then `tail`.
pub fn with(mut head: Vec<String>, source: Vec<String>, tail: &[&str]) -> Vec<String> {
    head.extend(source);
    head.extend(tail.iter().map(|s| s.to_string()));
    head
}

/// `find`'s listing of everything under `root`: path, type, mode, size, mtime and ctime. Equal
/// listings before and after mean nothing was written, created, removed or chmod'ed there.
pub fn listing(root: &Path) -> String {
    let out = Command::new("find")
        .arg(root)
        .args(["-printf", "%p %y %m %s %T@ %C@\n"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// sha256 of every regular file under `root`, sorted by path.
pub fn hashes(root: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find \"$1\" -type f -print0 | sort -z | xargs -0 -r sha256sum")
        .arg("sh")
        .arg(root)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// A copy of the store at `root` to damage, as `DIR/root` (cp -a keeps the overlay whiteout
/// devices and xattrs).
pub fn copy_of(root: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(root)
        .arg(dir.path().join("root"))
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

/// The `diff/` file holding `name` in the layers under `layers` (`ROOT/overlay2`,
/// `ROOT/overlay`).
pub fn find_in_layers(layers: &Path, name: &str) -> PathBuf {
    let out = Command::new("find")
        .arg(layers)
        .args(["-path", &format!("*/diff/{name}"), "-type", "f"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(
        text.lines()
            .next()
            .unwrap_or_else(|| panic!("{name} in no layer")),
    )
}

/// `path` relative to `root`, as strata names files of a store.
pub fn shown(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The report of `storage check --json` and the (kind, path) of each of its findings.
pub fn findings(r: &Run) -> (Value, Vec<(String, String)>) {
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}:\n{r}"));
    let list = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (v, list)
}
