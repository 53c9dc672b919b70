//! Support for the `mount` tests: whether overlayfs can be mounted here at all (root, and one
//! probe mount), a per-test environment (a private temporary directory holding the layer store
//! and every mountpoint) that unmounts whatever is still mounted below it when dropped — even
//! when an assertion failed — and readers for what `mount`, `store ls` and the store layout say.
//! Trees are read and compared with `rootfs.rs` (`read_tree`, `diff_trees`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::rootfs::{read_tree, Tree};
use super::sandbox::{is_root, run_strata, Opts, Out};

// ---------------------------------------------------------------------------------------------
// Can overlayfs be mounted here?

/// Why the mount tests cannot run here, or None. The probe (a small overlay with upper and
/// work dirs, mounted and unmounted once per test binary) skips on EPERM/ENODEV only; any
/// other failure is reported as one.
pub fn skip_reason() -> Option<String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    if !is_root() {
        return Some("mounting overlayfs needs root".into());
    }
    match PROBE.get_or_init(probe) {
        Ok(()) => None,
        Err(reason) => Some(reason.clone()),
    }
}

/// Prints the reason and returns false when the test cannot run.
pub fn ready() -> bool {
    match skip_reason() {
        Some(r) => {
            super::skipped(r);
            false
        }
        None => true,
    }
}

fn probe() -> Result<(), String> {
    use rustix::io::Errno;
    use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    for sub in ["l1", "l2", "upper", "work", "mp"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("l1/probe"), b"probe").unwrap();
    let opts = format!(
        "lowerdir={}:{},upperdir={},workdir={}",
        d.join("l2").display(),
        d.join("l1").display(),
        d.join("upper").display(),
        d.join("work").display()
    );
    let copts = std::ffi::CString::new(opts.clone()).unwrap();
    match mount(
        "overlay",
        d.join("mp"),
        "overlay",
        MountFlags::empty(),
        Some(copts.as_c_str()),
    ) {
        Ok(()) => {
            let seen = std::fs::read(d.join("mp/probe"));
            if unmount(d.join("mp"), UnmountFlags::empty()).is_err() {
                let _ = unmount(d.join("mp"), UnmountFlags::DETACH);
            }
            assert_eq!(
                seen.ok().as_deref(),
                Some(&b"probe"[..]),
                "the probe overlay does not show its lower layer"
            );
            Ok(())
        }
        Err(e) if e == Errno::PERM || e == Errno::NODEV => Err(format!(
            "overlayfs cannot be mounted here (probe mount failed: {e})"
        )),
        Err(e) => panic!("probe overlay mount failed unexpectedly: {e} (options {opts})"),
    }
}

// ---------------------------------------------------------------------------------------------
// /proc/self/mountinfo.

fn unescape_mountinfo(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every mountpoint in /proc/self/mountinfo, one per mount (stacked mounts repeat).
pub fn mountpoints() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|f| PathBuf::from(unescape_mountinfo(f)))
        .collect()
}

/// How many mounts sit on exactly `path`.
pub fn mount_count(path: &Path) -> usize {
    mountpoints().iter().filter(|m| m.as_path() == path).count()
}

/// The filesystem type of the topmost mount on `path`, if any.
pub fn fstype_at(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter(|l| l.split(' ').nth(4).map(unescape_mountinfo).as_deref() == path.to_str())
        .filter_map(|l| l.split(" - ").nth(1)?.split(' ').next().map(String::from))
        .next_back()
}

// ---------------------------------------------------------------------------------------------
// The per-test environment.

/// A private directory (`root`, canonical) for one test: the store is `root/store`, and
/// mountpoints, extraction destinations and fixtures go beside it. Dropping it unmounts
/// everything mounted at or below `root` — `strata umount` first, then `umount -l`, then a
/// detaching umount2 — before the directory is removed.
pub struct MountEnv {
    pub root: PathBuf,
    pub store: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl MountEnv {
    pub fn new() -> MountEnv {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        MountEnv {
            store: root.join("store"),
            root,
            dir: Some(dir),
        }
    }

    /// A fresh empty directory `root/NAME` to mount on.
    pub fn mountpoint(&self, name: &str) -> PathBuf {
        let p = self.root.join(name);
        std::fs::create_dir(&p).unwrap();
        p
    }

    /// `strata mount SEL[0] MP SEL[1..] EXTRA... --store STORE`.
    pub fn mount(&self, sel: &[OsString], mp: &Path, extra: &[&str]) -> Out {
        self.mount_opts(sel, mp, extra, &Opts::default())
    }

    pub fn mount_opts(&self, sel: &[OsString], mp: &Path, extra: &[&str], opts: &Opts) -> Out {
        let mut a: Vec<&OsStr> = vec![OsStr::new("mount"), &sel[0], mp.as_os_str()];
        a.extend(sel[1..].iter().map(|s| s.as_os_str()));
        a.extend(extra.iter().map(OsStr::new));
        a.push(OsStr::new("--store"));
        a.push(self.store.as_os_str());
        run_strata(&a, opts)
    }

    /// Mounts and expects success and an overlay on `mp`.
    #[track_caller]
    pub fn mount_ok(&self, sel: &[OsString], mp: &Path, extra: &[&str]) -> Out {
        let out = self.mount(sel, mp, extra);
        out.assert_ok(&format!("mount {:?} {}", sel, mp.display()));
        assert_eq!(
            fstype_at(mp).as_deref(),
            Some("overlay"),
            "mount said ok but no overlay is mounted on {}:\n{out}",
            mp.display()
        );
        out
    }

    pub fn umount(&self, mp: &Path, extra: &[&str]) -> Out {
        let mut a: Vec<&OsStr> = vec![OsStr::new("umount"), mp.as_os_str()];
        a.extend(extra.iter().map(OsStr::new));
        a.push(OsStr::new("--store"));
        a.push(self.store.as_os_str());
        run_strata(&a, &Opts::default())
    }

    #[track_caller]
    pub fn umount_ok(&self, mp: &Path, extra: &[&str]) -> Out {
        let out = self.umount(mp, extra);
        out.assert_ok(&format!("umount {}", mp.display()));
        assert_eq!(
            mount_count(mp),
            0,
            "{} still mounted after umount:\n{out}",
            mp.display()
        );
        out
    }

    /// `strata store ARGS... --store STORE`.
    pub fn store_cmd(&self, args: &[&str]) -> Out {
        let mut a: Vec<&OsStr> = vec![OsStr::new("store")];
        a.extend(args.iter().map(OsStr::new));
        a.push(OsStr::new("--store"));
        a.push(self.store.as_os_str());
        run_strata(&a, &Opts::default())
    }

    /// The layers of `store ls --json`, parsed (its kept upper dirs left out).
    #[track_caller]
    pub fn store_ls(&self) -> Vec<Value> {
        self.store_ls_all()
            .into_iter()
            .filter(|e| e["kind"] == "layer")
            .collect()
    }

    /// Every entry of `store ls --json`: layers, then kept upper dirs.
    #[track_caller]
    pub fn store_ls_all(&self) -> Vec<Value> {
        let out = self.store_cmd(&["ls", "--json"]);
        out.assert_ok("store ls --json");
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("store ls --json is not JSON ({e}):\n{out}"));
        v.as_array()
            .unwrap_or_else(|| panic!("store ls --json is not an array:\n{out}"))
            .clone()
    }

    /// `strata extract SEL[0] root/NAME SEL[1..] EXTRA...`, expected to succeed; its tree.
    #[track_caller]
    pub fn extract_tree(&self, sel: &[OsString], name: &str, extra: &[&str]) -> Tree {
        let dest = self.root.join(name);
        let mut a: Vec<&OsStr> = vec![OsStr::new("extract"), &sel[0], dest.as_os_str()];
        a.extend(sel[1..].iter().map(|s| s.as_os_str()));
        a.extend(extra.iter().map(OsStr::new));
        let out = run_strata(&a, &Opts::default());
        out.assert_ok(&format!("extract {sel:?} {extra:?}"));
        read_tree(&dest)
    }

    /// `STORE/mounts/*` entries.
    pub fn mount_dirs(&self) -> Vec<PathBuf> {
        list(&self.store.join("mounts"))
    }

    /// `STORE/layers/sha256/*` entries.
    pub fn layer_dirs(&self) -> Vec<PathBuf> {
        list(&self.store.join("layers/sha256"))
    }

    /// What is wrong with the store's layout: leftovers in `tmp/`, layer directories without
    /// `diff/`, `diff-id` or the completion record, `l/` links that do not lead to a layer's `diff/`.
    pub fn store_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in list(&self.store.join("tmp")) {
            out.push(format!("leftover in tmp/: {}", p.display()));
        }
        for l in self.layer_dirs() {
            if !l.join("diff").is_dir() {
                out.push(format!("half layer (no diff/): {}", l.display()));
            }
            if !l.join("diff-id").is_file() {
                out.push(format!("half layer (no diff-id): {}", l.display()));
            }
            if !l.join("complete").is_file() {
                out.push(format!(
                    "layer without its completion record: {}",
                    l.display()
                ));
            }
        }
        for link in list(&self.store.join("l")) {
            if !link.is_dir() {
                out.push(format!("dangling l/ link: {}", link.display()));
            }
        }
        out
    }

    /// Every file of every layer's `diff/` (and the layer's metadata files): type, mode, owner,
    /// xattrs, mtime, size and sha256, keyed by layer.
    pub fn layers_snapshot(&self) -> Vec<(String, Tree)> {
        self.layer_dirs()
            .iter()
            .map(|l| {
                (
                    l.file_name().unwrap().to_string_lossy().into_owned(),
                    read_tree(l),
                )
            })
            .collect()
    }
}

impl Default for MountEnv {
    fn default() -> Self {
        MountEnv::new()
    }
}

impl Drop for MountEnv {
    fn drop(&mut self) {
        unmount_all_below(&self.root, &self.store);
        let still = mounts_below(&self.root);
        if still.is_empty() {
            drop(self.dir.take());
        } else {
            // Never remove a directory through a mount that would not go away: leak it instead.
            eprintln!(
                "mount test: could not unmount {still:?}; leaving {}",
                self.root.display()
            );
            if let Some(d) = self.dir.take() {
                let _ = d.keep();
            }
        }
    }
}

fn mounts_below(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = mountpoints()
        .into_iter()
        .filter(|m| m.starts_with(root))
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    v.dedup();
    v
}

/// Unmounts everything at or below `root`, deepest first, until nothing is left.
pub fn unmount_all_below(root: &Path, store: &Path) {
    for _ in 0..8 {
        let mps = mounts_below(root);
        if mps.is_empty() {
            return;
        }
        for mp in mps {
            let mut a: Vec<&OsStr> = vec![OsStr::new("umount"), mp.as_os_str()];
            a.push(OsStr::new("--store"));
            a.push(store.as_os_str());
            let _ = run_strata(
                &a,
                &Opts {
                    timeout: Duration::from_secs(30),
                    ..Opts::default()
                },
            );
            if mount_count(&mp) > 0 {
                let _ = Command::new("umount").arg("-l").arg(&mp).output();
            }
            if mount_count(&mp) > 0 {
                let _ = rustix::mount::unmount(&mp, rustix::mount::UnmountFlags::DETACH);
            }
        }
    }
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// What mount prints.

/// `(unpacked, already in)` from mount's `(N layers: U unpacked, R already in STORE)`.
pub fn unpack_counts(out: &Out) -> (usize, usize) {
    let s = String::from_utf8_lossy(&out.stdout);
    let num_before = |word: &str| -> usize {
        let i = s
            .find(word)
            .unwrap_or_else(|| panic!("no {word:?} in mount's output:\n{out}"));
        s[..i]
            .trim_end()
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number before {word:?} in mount's output:\n{out}"))
    };
    (num_before(" unpacked"), num_before(" already in"))
}

/// The upper dir mount prints (`upper dir (your changes): PATH`).
pub fn printed_upper(out: &Out) -> Option<PathBuf> {
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        l.split_once("upper dir (your changes): ")
            .map(|(_, p)| PathBuf::from(p.trim()))
    })
}

// ---------------------------------------------------------------------------------------------
// Comparing a merged view with `extract`.

/// The tree without link counts and hardlink groups, which overlayfs shows per layer inode
/// (see [`link_differences`]).
pub fn without_links(mut t: Tree) -> Tree {
    for n in t.values_mut() {
        n.nlink = None;
        n.group = None;
    }
    t
}

/// Names a directory listing of the merged view shows but that cannot be looked up (a
/// whiteout overlayfs lists because its directory is in one layer only, for one).
pub fn phantom_entries(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            match std::fs::symlink_metadata(&p) {
                Ok(md) if md.is_dir() => todo.push(p),
                Ok(_) => {}
                Err(e) => out.push(format!("{}: listed but {e}", p.display())),
            }
        }
    }
    out.sort();
    out
}

/// The merged view's tree, after checking that every listed name can be looked up.
#[track_caller]
pub fn read_view(mp: &Path) -> Tree {
    let phantoms = phantom_entries(mp);
    assert!(
        phantoms.is_empty(),
        "the merged view at {} lists names that do not exist (`ls -l` shows `?????????`):\n  {}",
        mp.display(),
        phantoms.join("\n  ")
    );
    read_tree(mp)
}

/// Paths both trees have whose hardlink group or link count differs, one line each.
pub fn link_differences(want: &Tree, got: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (p, w) in want {
        let Some(g) = got.get(p) else { continue };
        if w.group != g.group {
            out.push(format!(
                "{p}: hardlink group {:?} in the merged view, {:?} wanted",
                g.group, w.group
            ));
        } else if w.nlink != g.nlink {
            out.push(format!(
                "{p}: nlink {:?} in the merged view, {:?} wanted",
                g.nlink, w.nlink
            ));
        }
    }
    out
}

/// The argument list of an image: the archive path, then selection flags.
pub fn sel(archive: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut v = vec![archive.as_os_str().to_os_string()];
    v.extend(extra.iter().map(OsString::from));
    v
}
