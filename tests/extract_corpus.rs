//! `strata extract` against ../shared/corpus: every entry with a `rootfs-manifest.json` (the
//! merged root filesystem as umoci unpacked it) is extracted, as a directory and as a flat tar
//! re-extracted with GNU tar, and the tree compared path by path: type, mode, uid, gid, size,
//! sha256, symlink target, device numbers, xattrs, link counts of non-directories and
//! hardlink groups (mtimes and directory link counts are not compared). Skipped, with a
//! printed reason, when the corpus is not there.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::common::corpus::{entries_with_rootfs, rootfs_entry, select_args, RootfsEntry, CORPUS};
use crate::common::rootfs::{diff_trees, read_tree, tree_of_manifest, without_mtimes};
use crate::common::sandbox::{is_root, run_strata, Opts, Sandbox};

fn extract_args<'a>(sel: &'a [String], dest: &'a Path, extra: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut a: Vec<&OsStr> = vec![OsStr::new("extract"), OsStr::new(&sel[0]), dest.as_os_str()];
    a.extend(sel[1..].iter().map(OsStr::new));
    a.extend(extra.iter().map(OsStr::new));
    a
}

#[test]
fn corpus_rootfs_matches_umoci() {
    let Some(names) = entries_with_rootfs() else {
        return;
    };
    let root = Path::new(CORPUS);
    if !is_root() {
        common::skipped("the reference trees have owners, device nodes and security.capability; extracting them needs root");
        return;
    }
    let mut failures: Vec<String> = Vec::new();
    let mut checked = Vec::new();
    for name in &names {
        let dir = root.join(name);
        let RootfsEntry {
            manifest,
            archive,
            images,
        } = match rootfs_entry(&dir) {
            Ok(e) => e,
            Err(why) => {
                failures.push(format!("{name}: {why}"));
                continue;
            }
        };
        let sel = match images.len() {
            0 => vec![archive.to_string_lossy().into_owned()],
            1 => select_args(&archive, 1, 0, &images[0]),
            n => {
                println!("{name}: {n} images but one rootfs-manifest.json; skipped");
                continue;
            }
        };
        let want = tree_of_manifest(&manifest);
        let sb = Sandbox::new();

        // As a directory.
        let dest = sb.work.join("rootfs");
        let out = run_strata(&extract_args(&sel, &dest, &[]), &Opts::default());
        if out.code != Some(0) || out.stderr.contains("panicked") {
            failures.push(format!(
                "{name}: extract failed: exit {:?}: {}",
                out.code,
                out.stderr.trim()
            ));
        } else {
            let got = without_mtimes(read_tree(&dest));
            failures.extend(
                diff_trees(&want, &got)
                    .into_iter()
                    .map(|d| format!("{name}: {d}")),
            );
        }
        if !sb.leftovers().is_empty() {
            failures.push(format!("{name}: staging left: {:?}", sb.leftovers()));
        }

        // As a flat tar, re-extracted by GNU tar.
        let tar_path = sb.work.join("rootfs.tar");
        let out = run_strata(&extract_args(&sel, &tar_path, &["--tar"]), &Opts::default());
        if out.code != Some(0) || out.stderr.contains("panicked") {
            failures.push(format!(
                "{name}: extract --tar failed: exit {:?}: {}",
                out.code,
                out.stderr.trim()
            ));
        } else {
            let untarred = sb.work.join("untarred");
            std::fs::create_dir(&untarred).unwrap();
            let st = Command::new("tar")
                .arg("-x")
                .arg("-f")
                .arg(&tar_path)
                .arg("-C")
                .arg(&untarred)
                .args([
                    "-p",
                    "--numeric-owner",
                    "--same-owner",
                    "--xattrs",
                    "--xattrs-include=*",
                ])
                .output()
                .unwrap();
            if !st.status.success() {
                failures.push(format!(
                    "{name}: GNU tar could not extract the flat tar: {}",
                    String::from_utf8_lossy(&st.stderr).trim()
                ));
            } else {
                let got = without_mtimes(read_tree(&untarred));
                failures.extend(
                    diff_trees(&want, &got)
                        .into_iter()
                        .map(|d| format!("{name} (--tar): {d}")),
                );
            }
        }
        checked.push(format!("{name}: {} paths", want.len()));
    }
    println!("corpus rootfs checked:\n  {}", checked.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} differences from the corpus' rootfs-manifest.json:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
