//! `strata mount`, `strata umount` and `strata store`: the merged view of a real overlayfs
//! mount compared, path by path, with `strata extract` of the same image (and with the corpus'
//! reference trees and the layer-rules model), copy-on-write into the upper dir with the
//! store's layers left untouched, 120 stacked layers, layers shared between images, cleanup on
//! umount, `--keep-upper`, `store ls|rm|prune`, `--read-only`, `--layer N`, mountpoint errors,
//! and two mounts racing on one store.
//!
//! Every test has its own temporary directory holding its store and its mountpoints
//! ([`MountEnv`]), which unmounts whatever is still mounted below it when dropped, even when an
//! assertion failed. Tests skip, saying why, when not root or when overlayfs cannot be mounted.
//!
//! Link counts and hardlink groups are compared apart from the other fields: in an overlay,
//! a file shows its layer inode, so a hardlink made in a higher layer to a lower layer's file
//! and the link count of a file whose other names a higher layer hid depend on how the layers
//! were unpacked; `hardlink_groups_*` checks what a container would see of the groups.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Barrier;

use serde_json::Value;

use crate::common::corpus::{entries_with_rootfs, rootfs_entry, select_args, RootfsEntry, CORPUS};
use crate::common::layer::Compression;
use crate::common::overlay::{
    link_differences, mount_count, printed_upper, read_view, ready, sel, unpack_counts,
    without_links, MountEnv,
};
use crate::common::rootfs::{
    diff_trees, read_tree, rootfs_layers, sha256_of, tree_of_manifest, without_mtimes, As, Model,
    NodeKind, Tree,
};
use crate::common::sandbox::{image_of_entries, Format, Opts, Out};
use crate::common::tarball::Entry;
use crate::common::Fixture;

/// The rich three-layer fixture (tests/common/rootfs.rs) as an OCI tar with gzip layers.
fn rich_image(name: &str) -> Fixture {
    image_of_entries(name, &rootfs_layers(), Compression::Gzip, Format::Oci)
}

/// Differences between `want` and the merged view `got`, link counts and hardlink groups left
/// out (see the module comment). In a `writable` mount the root directory is the upper dir,
/// made at mount time, so its mtime is not compared (its mode and owner are).
fn view_diffs(want: &Tree, got: &Tree, writable: bool) -> Vec<String> {
    let prep = |t: &Tree| {
        let mut t = without_links(t.clone());
        if writable {
            if let Some(r) = t.get_mut("/") {
                r.mtime = None;
            }
        }
        t
    };
    diff_trees(&prep(want), &prep(got))
}

#[track_caller]
fn assert_view(want: &Tree, got: &Tree, writable: bool, ctx: &str) {
    let d = view_diffs(want, got, writable);
    assert!(
        d.is_empty(),
        "{ctx}: {} difference(s) between the merged view and the expected tree:\n  {}",
        d.len(),
        d.join("\n  ")
    );
}

#[track_caller]
fn assert_store_consistent(env: &MountEnv, ctx: &str) {
    let p = env.store_problems();
    assert!(
        p.is_empty(),
        "{ctx}: the store is inconsistent:\n  {}",
        p.join("\n  ")
    );
}

fn chain_ids_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["chain_id"].as_str().expect("chain_id").to_string())
        .collect()
}

fn used_by(row: &Value) -> BTreeSet<String> {
    row["used_by"]
        .as_array()
        .unwrap_or_else(|| panic!("no used_by array in {row}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn errno(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error()
}

// ---------------------------------------------------------------------------------------------
// 1. The corpus.

/// Every corpus image with a `rootfs-manifest.json`: the merged view equals the reference tree
/// (path, type, mode, uid, gid, size, sha256, link target, devices, xattrs; no mtimes, no
/// directory link counts) and equals `strata extract` of the same image. Hardlink groups and
/// link counts are checked against both too, and reported apart.
#[test]
fn corpus_merged_views_match_the_reference_and_extract() {
    if !ready() {
        return;
    }
    let Some(names) = entries_with_rootfs() else {
        return;
    };
    let root = Path::new(CORPUS);
    let env = MountEnv::new();
    let mut failures = Vec::new();
    let mut link_notes = Vec::new();
    let mut checked = Vec::new();
    for (i, name) in names.iter().enumerate() {
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
        let selection: Vec<OsString> = match images.len() {
            0 => vec![archive.clone().into_os_string()],
            1 => select_args(&archive, 1, 0, &images[0])
                .into_iter()
                .map(OsString::from)
                .collect(),
            n => {
                println!("{name}: {n} images but one rootfs-manifest.json; skipped");
                continue;
            }
        };
        let want = tree_of_manifest(&manifest);
        let extracted = without_mtimes(env.extract_tree(&selection, &format!("x{i}"), &[]));
        let mp = env.mountpoint(&format!("m{i}"));
        let out = env.mount(&selection, &mp, &[]);
        if out.code != Some(0) || out.stderr.contains("panicked") {
            failures.push(format!(
                "{name}: mount failed: exit {:?}: {}",
                out.code,
                out.stderr.trim()
            ));
            continue;
        }
        let merged = without_mtimes(read_tree(&mp));
        for d in view_diffs(&want, &merged, true) {
            failures.push(format!("{name} (vs reference): {d}"));
        }
        for d in view_diffs(&extracted, &merged, true) {
            failures.push(format!("{name} (vs extract): {d}"));
        }
        for d in link_differences(&want, &merged) {
            link_notes.push(format!("{name} (vs reference): {d}"));
        }
        for d in link_differences(&extracted, &merged) {
            link_notes.push(format!("{name} (vs extract): {d}"));
        }
        let out = env.umount(&mp, &[]);
        if out.code != Some(0) || mount_count(&mp) != 0 {
            failures.push(format!("{name}: umount failed:\n{out}"));
        }
        checked.push(format!("{name}: {} paths", want.len()));
    }
    println!("corpus merged views checked:\n  {}", checked.join("\n  "));
    if !link_notes.is_empty() {
        println!(
            "hardlink groups / link counts that differ in the merged view:\n  {}",
            link_notes.join("\n  ")
        );
    }
    assert_store_consistent(&env, "after the corpus");
    assert!(
        failures.is_empty(),
        "{} differences in the corpus' merged views:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        link_notes.is_empty(),
        "the merged views' hardlink groups or link counts differ ({}):\n{}",
        link_notes.len(),
        link_notes.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The fixtures.

fn fixture_matches_extract(fx: &Fixture, layers: &[Vec<Entry>]) {
    let env = MountEnv::new();
    let s = sel(fx.arg(), &[]);
    let extracted = env.extract_tree(&s, "extracted", &[]);
    let mp = env.mountpoint("mp");
    let out = env.mount_ok(&s, &mp, &[]);
    let n = layers.len();
    assert_eq!(
        unpack_counts(&out),
        (n, 0),
        "a fresh store unpacks every layer:\n{out}"
    );
    let merged = read_view(&mp);
    assert_view(
        &extracted,
        &merged,
        true,
        &format!("{} vs extract", fx.file_name()),
    );
    assert_view(
        &Model::of(layers, As::Root),
        &merged,
        true,
        &format!("{} vs the model", fx.file_name()),
    );
    env.umount_ok(&mp, &[]);
    assert_store_consistent(&env, "after umount");
}

/// The rich three-layer fixture (every entry type, modes, owners, xattrs, whiteouts, opaque
/// directories, type changes, hardlinks to lower layers), OCI with gzip layers: the merged
/// view equals `strata extract` and the model, mtimes included.
#[test]
fn rich_fixture_oci_gzip_merged_view_matches_extract() {
    if !ready() {
        return;
    }
    let layers = rootfs_layers();
    fixture_matches_extract(&rich_image("rich-gzip.tar"), &layers);
}

/// The same fixture as a legacy docker save with uncompressed layers.
#[test]
fn rich_fixture_docker_save_merged_view_matches_extract() {
    if !ready() {
        return;
    }
    let layers = rootfs_layers();
    let fx = image_of_entries(
        "rich-docker.tar",
        &layers,
        Compression::None,
        Format::Docker,
    );
    fixture_matches_extract(&fx, &layers);
}

/// Entries that are no node of a tree (pax global headers at `x`, `d` and a hardlink's target,
/// an unknown type at `d/f`) hide nothing below, in the merged view as in `extract`.
#[test]
fn entries_that_are_no_node_mount_as_they_extract() {
    if !ready() {
        return;
    }
    let fx = common::sandbox::non_node_entries_image("non-node.tar");
    let env = MountEnv::new();
    let s = sel(fx.arg(), &[]);
    let extracted = env.extract_tree(&s, "extracted", &[]);
    let mp = env.mountpoint("mp");
    env.mount_ok(&s, &mp, &[]);
    let merged = read_view(&mp);
    for (path, content) in [("x", "lower x\n"), ("d/f", "lower f\n"), ("h", "lower t\n")] {
        let got = std::fs::read_to_string(mp.join(path)).unwrap_or_default();
        assert_eq!(got, content, "{path}");
    }
    assert_view(&extracted, &merged, true, "non-node entries vs extract");
    env.umount_ok(&mp, &[]);
}

/// The two rules fuzzing found the top-down merge getting wrong (tests/fuzz_regressions.rs),
/// through the layer store: a directory implied only by entries a whiteout hides survives, and
/// a layer that makes a directory a symlink and then a directory again hides what the layers
/// below had in it (the store marks it opaque). The merged view equals extract and the model.
#[test]
fn implied_parents_and_same_layer_type_changes_mount_as_they_extract() {
    if !ready() {
        return;
    }
    let implied = vec![
        vec![Entry::dir("a/x/q")
            .with_mode(0o700)
            .with_mtime(1_600_000_000)],
        vec![Entry::whiteout("a", "x").with_mtime(1_600_001_000)],
    ];
    let retyped = vec![
        vec![
            Entry::file("a/x/q", "lower\n").with_mtime(1_600_000_000),
            Entry::file("a/kept-not", "lower\n").with_mtime(1_600_000_000),
        ],
        vec![
            Entry::symlink("a", "elsewhere").with_mtime(1_600_001_000),
            Entry::dir("a").with_mtime(1_600_001_001),
            Entry::file("a/new", "upper\n").with_mtime(1_600_001_002),
        ],
    ];
    // tests/fuzz_regressions.rs, an_opaque_marker_resets_a_lower_directory_kept_only_as_a_parent
    let opaque_root = vec![
        vec![Entry::dir("a")
            .with_mode(0o4755)
            .with_xattr("user.lower", b"1")
            .with_mtime(1_600_000_000)],
        vec![
            Entry::dir("a/x/q")
                .with_mode(0o555)
                .with_mtime(1_600_001_001),
            Entry::file("a/x", "a/x layer 1\n").with_mtime(1_600_001_003),
            Entry::opaque("").with_mtime(1_600_001_004),
        ],
    ];
    for (name, layers) in [
        ("implied.tar", implied),
        ("retyped.tar", retyped),
        ("opaque-root.tar", opaque_root),
    ] {
        let fx = image_of_entries(name, &layers, Compression::None, Format::Oci);
        fixture_matches_extract(&fx, &layers);
    }
}

/// A hardlink to a lower-layer file that a layer in between (or the link's own layer) deleted —
/// by a whiteout, an opaque directory, or by making a parent a file or a symlink — has nothing
/// to link to: extract refuses the image, and so does mount, with the same words (it used to
/// serve the deleted file from the layer that had it).
#[test]
fn hardlinks_to_deleted_lower_files_are_refused_as_extract_refuses_them() {
    if !ready() {
        return;
    }
    let base = || {
        vec![
            Entry::file("d/f", "secret\n").with_mtime(1_600_000_000),
            Entry::file("keep", "k\n").with_mtime(1_600_000_000),
        ]
    };
    let link = || vec![Entry::hardlink("l", "d/f").with_mtime(1_600_002_000)];
    let cases: Vec<(&str, Vec<Vec<Entry>>)> = vec![
        (
            "whiteout",
            vec![base(), vec![Entry::whiteout("", "d")], link()],
        ),
        ("opaque", vec![base(), vec![Entry::opaque("d")], link()]),
        (
            "file",
            vec![base(), vec![Entry::file("d", "now a file\n")], link()],
        ),
        (
            "symlink",
            vec![base(), vec![Entry::symlink("d", "keep")], link()],
        ),
        (
            "same-layer-whiteout",
            vec![
                base(),
                vec![
                    Entry::whiteout("d", "f"),
                    Entry::hardlink("l", "d/f").with_mtime(1_600_002_000),
                ],
            ],
        ),
    ];
    let env = MountEnv::new();
    let says = "is not a file of this or a lower layer";
    for (i, (name, layers)) in cases.iter().enumerate() {
        let fx = image_of_entries(
            &format!("{name}.tar"),
            layers,
            Compression::None,
            Format::Oci,
        );
        let s = sel(fx.arg(), &[]);
        let dest = env.root.join(format!("x{i}"));
        let out = common::sandbox::extract(fx.arg(), &dest, &[], &Opts::default());
        assert_eq!(out.code, Some(2), "{name}: extract: {out}");
        assert!(
            out.error_line().contains(says),
            "{name}: extract: {}",
            out.error_line()
        );
        let mp = env.mountpoint(&format!("m{i}"));
        let out = env.mount(&s, &mp, &[]);
        assert_eq!(out.code, Some(2), "{name}: mount: {out}");
        assert!(out.stderr.contains(says), "{name}: mount: {out}");
        assert_eq!(mount_count(&mp), 0, "{name}: nothing mounted");
    }
    // The same link with nothing deleted in between is served.
    let fx = image_of_entries(
        "kept.tar",
        &[base(), link()],
        Compression::None,
        Format::Oci,
    );
    fixture_matches_extract(&fx, &[base(), link()]);
}

/// The rest of issue 9's disagreements between mount and extract: each case mounts as it
/// extracts (the same tree), or both refuse.
#[test]
fn disagreements_between_mount_and_extract() {
    if !ready() {
        return;
    }
    let cases: Vec<(&str, Vec<Vec<Entry>>)> = vec![
        (
            "link-then-file",
            vec![
                vec![Entry::file("t", "target\n").with_mtime(1_600_000_000)],
                vec![
                    Entry::hardlink("x", "t").with_mtime(1_600_001_000),
                    Entry::file("x", "file wins\n").with_mtime(1_600_001_001),
                ],
            ],
        ),
        (
            "whiteout-below-opaque",
            vec![
                vec![Entry::file("a/b/c", "c\n").with_mtime(1_600_000_000)],
                vec![
                    Entry::dir("a/b").with_mtime(1_600_001_000),
                    Entry::opaque("a/b").with_mtime(1_600_001_000),
                    Entry::whiteout("a/b", "c").with_mtime(1_600_001_000),
                ],
            ],
        ),
        (
            "whiteout-deep-below-opaque",
            vec![
                vec![Entry::file("a/b/c", "c\n").with_mtime(1_600_000_000)],
                vec![
                    Entry::opaque("a").with_mtime(1_600_001_000),
                    Entry::whiteout("a/b", "c").with_mtime(1_600_001_000),
                ],
            ],
        ),
        (
            "link-to-lower-symlink",
            vec![
                vec![Entry::file("t", "layer 0\n").with_mtime(1_600_000_000)],
                vec![
                    Entry::file("t", "layer 1 file\n").with_mtime(1_600_001_000),
                    Entry::symlink("t", "/etc").with_mtime(1_600_001_001),
                ],
                vec![
                    Entry::hardlink("l", "t").with_mtime(1_600_002_000),
                    Entry::symlink("t", "../a").with_mtime(1_600_002_001),
                ],
            ],
        ),
    ];
    for (name, layers) in cases {
        let fx = image_of_entries(
            &format!("{name}.tar"),
            &layers,
            Compression::None,
            Format::Oci,
        );
        eprintln!("case {name}");
        fixture_matches_extract(&fx, &layers);
    }
}

/// A layer writing below a lower layer's symlink (`s -> /etc`, then `s/passwd`) means the file
/// where the symlink leads, resolved inside the image (`..` stops at its root); `extract`
/// applies that in order (`etc/passwd`, and `s` stays a symlink), and the layer store writes the
/// entry at the resolved path of its layer, so the merged view is the same tree (mount used to
/// show a directory `s`, then to refuse).
#[test]
fn a_write_through_a_lower_symlink_mounts_as_it_extracts() {
    if !ready() {
        return;
    }
    let etc = || Entry::dir("etc").with_mode(0o750).with_mtime(1_600_000_000);
    let passwd = |p: &str| Entry::file(p, "root:x:0:0\n").with_mtime(1_600_002_000);
    let cases: Vec<(&str, &str, Vec<Vec<Entry>>)> = vec![
        (
            "absolute",
            "/etc/passwd",
            vec![
                vec![
                    etc(),
                    Entry::file("etc/passwd", "old\n").with_mtime(1_600_000_000),
                    Entry::symlink("s", "/etc").with_mtime(1_600_000_000),
                ],
                vec![passwd("s/passwd")],
            ],
        ),
        (
            "relative",
            "/etc/d/again",
            vec![
                vec![
                    Entry::dir("a/b").with_mtime(1_600_000_000),
                    Entry::symlink("a/b/s", "../../etc").with_mtime(1_600_000_000),
                    etc(),
                ],
                vec![
                    Entry::dir("a/b/s/d")
                        .with_mode(0o700)
                        .with_mtime(1_600_002_000),
                    passwd("a/b/s/d/passwd"),
                    Entry::hardlink("a/b/s/d/again", "a/b/s/d/passwd").with_mtime(1_600_002_000),
                ],
            ],
        ),
        (
            "chain",
            "/etc/passwd",
            vec![
                vec![
                    etc(),
                    Entry::symlink("x", "y").with_mtime(1_600_000_000),
                    Entry::symlink("y", "/etc").with_mtime(1_600_000_000),
                ],
                vec![passwd("x/passwd")],
            ],
        ),
        (
            "lower-lower",
            "/etc/passwd",
            vec![
                vec![etc(), Entry::symlink("t", "/etc").with_mtime(1_600_000_000)],
                vec![Entry::symlink("s", "t").with_mtime(1_600_001_000)],
                vec![
                    passwd("s/passwd"),
                    Entry::file("u", "u\n").with_mtime(1_600_002_000),
                ],
            ],
        ),
        (
            "outside",
            "/opt/new/deeper/file",
            vec![
                vec![
                    etc(),
                    Entry::symlink("s", "../../..").with_mtime(1_600_000_000),
                    Entry::symlink("o", "../../../opt/new").with_mtime(1_600_000_000),
                ],
                vec![passwd("s/etc/passwd"), passwd("o/deeper/file")],
            ],
        ),
        (
            "own-and-lower",
            "/etc/sub/passwd",
            vec![
                vec![etc(), Entry::symlink("s", "/etc").with_mtime(1_600_000_000)],
                vec![
                    Entry::symlink("m", "s/sub").with_mtime(1_600_002_000),
                    passwd("m/passwd"),
                    Entry::file("etc/sub/passwd", "later wins\n").with_mtime(1_600_002_000),
                ],
            ],
        ),
        (
            "whiteout-first",
            "/s/passwd",
            vec![
                vec![etc(), Entry::symlink("s", "/etc").with_mtime(1_600_000_000)],
                vec![
                    passwd("s/passwd"),
                    Entry::whiteout("", "s").with_mtime(1_600_001_000),
                ],
            ],
        ),
    ];
    let env = MountEnv::new();
    for (i, (name, lands, layers)) in cases.iter().enumerate() {
        let fx = image_of_entries(
            &format!("{name}.tar"),
            layers,
            Compression::None,
            Format::Oci,
        );
        let s = sel(fx.arg(), &[]);
        let extracted = env.extract_tree(&s, &format!("x{i}"), &[]);
        assert!(
            extracted.contains_key(*lands),
            "{name}: extract wrote no {lands}"
        );
        let mp = env.mountpoint(&format!("m{i}"));
        env.mount_ok(&s, &mp, &[]);
        assert_view(&extracted, &read_view(&mp), true, name);
        env.umount_ok(&mp, &[]);
    }
    assert_store_consistent(&env, "after the mounts");
}

/// Extract and mount of one image: the same tree, or both refuse with the same `error:` and
/// `caused by:` lines. Returns the refusal, if any.
fn same_tree_or_same_refusal(env: &MountEnv, name: &str, layers: &[Vec<Entry>]) -> Option<String> {
    let fx = image_of_entries(
        &format!("{name}.tar"),
        layers,
        Compression::None,
        Format::Oci,
    );
    let dest = env.root.join(format!("x-{name}"));
    let extracted = common::sandbox::extract(fx.arg(), &dest, &[], &Opts::default());
    let mp = env.mountpoint(&format!("m-{name}"));
    let mounted = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    let why = |o: &Out| {
        o.stderr
            .lines()
            .filter(|l| l.starts_with("error:") || l.starts_with("caused by:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match (extracted.code, mounted.code) {
        (Some(0), Some(0)) => {
            assert_view(&read_tree(&dest), &read_view(&mp), true, name);
            env.umount_ok(&mp, &[]);
            None
        }
        (Some(2), Some(2)) => {
            assert!(
                !why(&extracted).is_empty() && why(&mounted) == why(&extracted),
                "{name}: extract said\n{extracted}\nmount said\n{mounted}"
            );
            assert_eq!(mount_count(&mp), 0, "{name}: nothing mounted");
            Some(why(&extracted).join("\n"))
        }
        _ => panic!("{name}: extract and mount disagree:\nextract: {extracted}\nmount: {mounted}"),
    }
}

/// The table of a refusal rule: extract and mount both refuse each of `refused` (name, the entry
/// the error names, layers) with the same words, which say `says`; both give the same tree for
/// each of `agreed`. Every failure names its case.
fn refused_and_agreed(
    env: &MountEnv,
    says: &str,
    refused: &[(&str, &str, Vec<Vec<Entry>>)],
    agreed: &[(&str, Vec<Vec<Entry>>)],
) {
    for (name, entry, layers) in refused {
        let why = same_tree_or_same_refusal(env, name, layers)
            .unwrap_or_else(|| panic!("{name}: both took it"));
        assert!(
            why.contains(&format!("entry `{entry}`")) && why.contains(says),
            "{name}: {why}"
        );
    }
    for (name, layers) in agreed {
        assert_eq!(same_tree_or_same_refusal(env, name, layers), None, "{name}");
    }
}

/// A whiteout or opaque marker below a lower layer's symlink (`s -> /etc`, then
/// `s/.wh.passwd`): applied in order (umoci, docker's naive applier) it deletes where the
/// symlink leads, in an overlayfs layer it hides nothing, so runtimes disagree on what the
/// image deletes; extract and mount refuse it with the same words (both ignored a whiteout,
/// and mount showed a directory `s` for an opaque marker). An opaque marker of a directory the
/// layer makes itself over the symlink (`rm s && mkdir s` on overlayfs) is no such thing, and
/// one of a directory the layer only implies there clears nothing, as in order.
#[test]
fn a_marker_through_a_lower_symlink_is_refused_by_both() {
    if !ready() {
        return;
    }
    let t0 = 1_600_000_000;
    let t1 = 1_600_001_000;
    let lower = |link: &str| {
        vec![
            Entry::dir("etc").with_mtime(t0),
            Entry::file("etc/passwd", "old\n").with_mtime(t0),
            Entry::file("etc/sub/x", "x\n").with_mtime(t0),
            Entry::symlink("s", link).with_mtime(t0),
        ]
    };
    let mut refused: Vec<(&str, &str, Vec<Vec<Entry>>)> = vec![
        (
            "whiteout-absolute",
            "s/.wh.passwd",
            vec![
                lower("/etc"),
                vec![Entry::whiteout("s", "passwd").with_mtime(t1)],
            ],
        ),
        (
            "whiteout-relative",
            "s/.wh.passwd",
            vec![
                lower("etc"),
                vec![Entry::whiteout("s", "passwd").with_mtime(t1)],
            ],
        ),
        (
            "whiteout-deeper",
            "s/sub/.wh.x",
            vec![
                lower("/etc"),
                vec![Entry::whiteout("s/sub", "x").with_mtime(t1)],
            ],
        ),
        (
            "whiteout-and-a-write-through",
            "s/.wh.passwd",
            vec![
                lower("/etc"),
                vec![
                    Entry::whiteout("s", "passwd").with_mtime(t1),
                    Entry::file("s/new", "n\n").with_mtime(t1),
                ],
            ],
        ),
        (
            "opaque-below",
            "s/sub/.wh..wh..opq",
            vec![lower("/etc"), vec![Entry::opaque("s/sub").with_mtime(t1)]],
        ),
        (
            "whiteout-through-a-chain",
            "x/.wh.passwd",
            vec![
                lower("/etc"),
                vec![Entry::symlink("x", "s").with_mtime(t1)],
                vec![Entry::whiteout("x", "passwd").with_mtime(t1 + 1)],
            ],
        ),
    ];
    refused.push((
        // The layer store unpacks the marker's layer on its own, over the symlink: refused
        // there, so extract refuses it too, though an upper layer then hides them both.
        "whiteout-hidden-by-an-upper-root-opaque",
        "s/.wh.passwd",
        vec![
            lower("/etc"),
            vec![Entry::whiteout("s", "passwd").with_mtime(t1)],
            vec![
                Entry::opaque("").with_mtime(t1 + 1),
                Entry::file("n", "n\n").with_mtime(t1 + 1),
            ],
        ],
    ));
    let agreed: Vec<(&str, Vec<Vec<Entry>>)> = vec![
        (
            "opaque-of-its-own-directory",
            vec![
                lower("/etc"),
                vec![
                    Entry::dir("s").with_mtime(t1),
                    Entry::opaque("s").with_mtime(t1),
                    Entry::file("s/mine", "m\n").with_mtime(t1),
                ],
            ],
        ),
        (
            // A write through another lower symlink sends extract in order.
            "opaque-of-its-own-directory-in-order",
            vec![
                lower("/etc"),
                vec![
                    Entry::symlink("t", "/etc").with_mtime(t1),
                    Entry::file("etc/sub/y", "y\n").with_mtime(t1),
                ],
                vec![
                    Entry::dir("s").with_mtime(t1 + 1),
                    Entry::opaque("s").with_mtime(t1 + 1),
                    Entry::file("s/mine", "m\n").with_mtime(t1 + 1),
                    Entry::file("t/sub/z", "z\n").with_mtime(t1 + 1),
                ],
            ],
        ),
        (
            "opaque-of-the-symlink",
            vec![lower("/etc"), vec![Entry::opaque("s").with_mtime(t1)]],
        ),
        (
            "opaque-of-the-symlink-and-a-write-through",
            vec![
                lower("/etc"),
                vec![
                    Entry::opaque("s").with_mtime(t1),
                    Entry::file("s/new", "n\n").with_mtime(t1),
                ],
            ],
        ),
        (
            "opaque-of-a-lower-file",
            vec![
                vec![Entry::file("f", "f\n").with_mtime(t0)],
                vec![Entry::opaque("f").with_mtime(t1)],
            ],
        ),
        (
            // The layer's own `s` hides the lower symlink: its whiteout below hides nothing.
            "whiteout-below-a-symlink-the-layer-replaced",
            vec![
                lower("/etc"),
                vec![
                    Entry::fifo("s").with_mtime(t1),
                    Entry::whiteout("s", "passwd").with_mtime(t1),
                    Entry::dir("s").with_mtime(t1),
                ],
            ],
        ),
        (
            // overlayfs merges layer roots whatever their opaque mark: the stack ends there.
            "opaque-root",
            vec![lower("/etc"), vec![Entry::opaque("").with_mtime(t1)]],
        ),
        (
            "whiteout-below-a-symlink-the-layers-opaque-root-deletes",
            vec![
                lower("/etc"),
                vec![
                    Entry::whiteout("s", "passwd").with_mtime(t1),
                    Entry::opaque("").with_mtime(t1),
                ],
            ],
        ),
        (
            "whiteout-below-a-symlink-under-a-dir-the-layer-made-a-file",
            vec![
                vec![
                    Entry::dir("a/p").with_mtime(t0),
                    Entry::file("a/p/q", "q\n").with_mtime(t0),
                    Entry::symlink("a/x", "p").with_mtime(t0),
                ],
                vec![
                    Entry::file("a", "a\n").with_mtime(t1),
                    Entry::whiteout("a/x", "q").with_mtime(t1),
                    Entry::dir("a").with_mtime(t1),
                ],
            ],
        ),
        (
            "whiteout-below-a-symlink-the-layer-replaces-later",
            vec![
                lower("/etc"),
                vec![
                    Entry::whiteout("s", "passwd").with_mtime(t1),
                    Entry::dir("s").with_mtime(t1),
                ],
            ],
        ),
        (
            "symlink-deleted-first",
            vec![
                lower("/etc"),
                vec![
                    Entry::whiteout("", "s").with_mtime(t1),
                    Entry::whiteout("s", "passwd").with_mtime(t1),
                ],
            ],
        ),
    ];
    let env = MountEnv::new();
    refused_and_agreed(&env, "a symlink of a lower layer", &refused, &agreed);
    assert_store_consistent(&env, "after the markers");
}

/// A layer writing below a lower layer's file (`f`, then `f/x`): applied in order (extract,
/// umoci, docker's naive applier) it cannot be written, while overlayfs would show the layer's
/// directory over the file, so runtimes disagree: extract and mount refuse it with the same
/// words (mount showed the directory). A layer that replaces the file by its own directory, or
/// deletes it first, is not refused, and a whiteout below the file deletes nothing in both.
#[test]
fn a_write_below_a_lower_file_is_refused_by_both() {
    if !ready() {
        return;
    }
    let file = |p: &str| Entry::file(p, "f\n").with_mtime(1_600_000_000);
    let upper = |p: &str| Entry::file(p, "x\n").with_mtime(1_600_001_000);
    let refused: Vec<(&str, &str, Vec<Vec<Entry>>)> = vec![
        (
            "below-file",
            "f/x",
            vec![vec![file("f")], vec![upper("f/x")]],
        ),
        (
            "deep-below-file",
            "a/f/g/x",
            vec![vec![file("a/f")], vec![upper("a/f/g/x")]],
        ),
        (
            "below-file-of-a-middle-layer",
            "d/x",
            vec![
                vec![upper("d/old")],
                vec![
                    Entry::whiteout("", "d").with_mtime(1_600_000_500),
                    file("d"),
                ],
                vec![upper("d/x")],
            ],
        ),
    ];
    let agreed: Vec<(&str, Vec<Vec<Entry>>)> = vec![
        (
            "own-directory",
            vec![
                vec![file("f")],
                vec![Entry::dir("f").with_mtime(1_600_001_000), upper("f/x")],
            ],
        ),
        (
            "deleted-first",
            vec![
                vec![file("f")],
                vec![
                    Entry::whiteout("", "f").with_mtime(1_600_001_000),
                    upper("f/x"),
                ],
            ],
        ),
        (
            "whiteout-below",
            vec![
                vec![file("f")],
                vec![Entry::whiteout("f", "x").with_mtime(1_600_001_000)],
            ],
        ),
    ];
    let env = MountEnv::new();
    refused_and_agreed(&env, "Not a directory", &refused, &agreed);
    assert_store_consistent(&env, "after the refusals");
}

/// A layer the store reads twice (it writes through a lower symlink) counts its entries once
/// against `--max-files`, as extract counts them: at exactly the image's entry count both
/// succeed with the same tree, one below it both refuse.
#[test]
fn a_layer_read_again_counts_once_against_max_files() {
    if !ready() {
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("etc").with_mtime(1_600_000_000),
            Entry::file("etc/passwd", "old\n").with_mtime(1_600_000_000),
            Entry::symlink("s", "/etc").with_mtime(1_600_000_000),
        ],
        vec![
            Entry::file("s/passwd", "new\n").with_mtime(1_600_001_000),
            Entry::file("s/group", "g\n").with_mtime(1_600_001_000),
            Entry::file("u", "u\n").with_mtime(1_600_001_000),
        ],
    ];
    let n: usize = layers.iter().map(Vec::len).sum();
    let env = MountEnv::new();
    let fx = image_of_entries("count.tar", &layers, Compression::None, Format::Oci);
    let s = sel(fx.arg(), &[]);
    let exact = n.to_string();
    let below = (n - 1).to_string();
    let extracted = env.extract_tree(&s, "x", &["--max-files", &exact]);
    let refused = common::sandbox::extract(
        fx.arg(),
        &env.root.join("x-below"),
        &["--max-files", &below],
        &Opts::default(),
    );
    assert_eq!(
        refused.code,
        Some(2),
        "extract --max-files {below}: {refused}"
    );
    let mp = env.mountpoint("m");
    env.mount_ok(&s, &mp, &["--max-files", &exact]);
    assert_view(
        &extracted,
        &read_view(&mp),
        true,
        "--max-files at the entry count",
    );
    env.umount_ok(&mp, &[]);
    // A fresh store, so that every layer is read again.
    let env = MountEnv::new();
    let mp = env.mountpoint("m-below");
    let out = env.mount(&s, &mp, &["--max-files", &below]);
    assert_eq!(out.code, Some(2), "mount --max-files {below}: {out}");
    assert!(
        out.stderr.contains("--max-files"),
        "mount names the limit: {out}"
    );
    assert_eq!(mount_count(&mp), 0);
}

/// What a write through a lower symlink cannot do, extract and mount refuse with the same
/// words: a symlink to a file, and a symlink loop.
#[test]
fn a_write_through_a_lower_symlink_to_a_non_directory_is_refused_by_both() {
    if !ready() {
        return;
    }
    let cases: Vec<(&str, Vec<Vec<Entry>>)> = vec![
        (
            "to-a-file",
            vec![
                vec![
                    Entry::file("f", "f\n").with_mtime(1_600_000_000),
                    Entry::symlink("s", "/f").with_mtime(1_600_000_000),
                ],
                vec![Entry::file("s/x", "x\n").with_mtime(1_600_001_000)],
            ],
        ),
        (
            "loop",
            vec![
                vec![
                    Entry::symlink("a", "b").with_mtime(1_600_000_000),
                    Entry::symlink("b", "a").with_mtime(1_600_000_000),
                ],
                vec![Entry::file("a/x", "x\n").with_mtime(1_600_001_000)],
            ],
        ),
    ];
    let env = MountEnv::new();
    for (name, layers) in &cases {
        let why = same_tree_or_same_refusal(&env, name, layers)
            .unwrap_or_else(|| panic!("{name}: both wrote it"));
        assert!(why.lines().count() >= 2, "{name}: {why}");
    }
    assert_store_consistent(&env, "after the refusals");
}

/// A 0/0 character device entry means a whiteout to overlayfs and a device to everything
/// else: extract and mount both refuse the image, with the same words (mount used to hide it
/// and the lower file, extract to make the device).
#[test]
fn a_zero_zero_character_device_is_refused_by_extract_and_mount() {
    if !ready() {
        return;
    }
    let layers = vec![
        vec![Entry::file("dev/z", "lower\n").with_mtime(1_600_000_000)],
        vec![Entry::char_dev("dev/z", 0, 0).with_mtime(1_600_001_000)],
    ];
    let env = MountEnv::new();
    let fx = image_of_entries("zero.tar", &layers, Compression::None, Format::Oci);
    let says = "a 0/0 character device is what overlayfs takes for a whiteout";
    let dest = env.root.join("x");
    let out = common::sandbox::extract(fx.arg(), &dest, &[], &Opts::default());
    assert_eq!(out.code, Some(2), "extract: {out}");
    assert!(
        out.error_line().contains(says),
        "extract: {}",
        out.error_line()
    );
    let tar_out = common::sandbox::extract(
        fx.arg(),
        &env.root.join("x.tar"),
        &["--tar"],
        &Opts::default(),
    );
    assert_eq!(tar_out.code, Some(2), "extract --tar: {tar_out}");
    let mp = env.mountpoint("m");
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(out.code, Some(2), "mount: {out}");
    assert!(out.stderr.contains(says), "mount: {out}");
    assert_eq!(mount_count(&mp), 0);
}

/// Hardlink groups as the merged view shows them, against `strata extract`: in the rich
/// fixture, `usr/lib/libc-hard` (layer 0) and `usr/bin/libc-link` (layer 1, a hardlink to
/// layer 0's `usr/lib/libc.so`) are one file, which layer 2's new `libc.so` does not change;
/// `srv/www/html/index2.html` (layer 2) links to layer 1's `index.html`.
#[test]
fn hardlink_groups_in_the_merged_view_match_extract() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("rich-links.tar");
    let s = sel(fx.arg(), &[]);
    let extracted = env.extract_tree(&s, "extracted", &[]);
    let mp = env.mountpoint("mp");
    env.mount_ok(&s, &mp, &[]);
    let merged = read_view(&mp);
    let groups = |t: &Tree| -> BTreeMap<String, Option<String>> {
        t.iter()
            .filter(|(_, n)| n.kind != NodeKind::Dir)
            .map(|(p, n)| (p.clone(), n.group.clone()))
            .collect()
    };
    let (want, got) = (groups(&extracted), groups(&merged));
    let d: Vec<String> = want
        .iter()
        .filter(|(p, g)| got.get(*p).is_some_and(|h| h != *g))
        .map(|(p, g)| {
            format!(
                "{p}: group {:?} in the merged view, {g:?} in extract",
                got[p]
            )
        })
        .collect();
    let nlinks: Vec<String> = link_differences(&extracted, &merged)
        .into_iter()
        .filter(|l| l.contains(": nlink "))
        .collect();
    if !nlinks.is_empty() {
        println!(
            "link counts that differ from extract (lower-layer names count in an overlay):\n  {}",
            nlinks.join("\n  ")
        );
    }
    env.umount_ok(&mp, &[]);
    assert!(
        d.is_empty(),
        "hardlink groups differ between the merged view and extract (a link made in a higher \
         layer to a lower layer's file is a separate inode in the store):\n  {}",
        d.join("\n  ")
    );
}

/// An image whose root directory is 0750 and owned by 1000:1000: the merged view's root has
/// that mode and owner, as `extract`'s does, in a writable mount (where the root is the upper
/// dir) and in a read-only one.
#[test]
fn merged_root_keeps_the_image_root_mode_and_owner() {
    if !ready() {
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("./")
                .raw()
                .with_mode(0o750)
                .with_owner(1000, 1000),
            Entry::file("f", "in the root\n"),
        ],
        vec![Entry::file("g", "second layer\n")],
    ];
    let fx = image_of_entries("root-meta.tar", &layers, Compression::Gzip, Format::Oci);
    let env = MountEnv::new();
    let s = sel(fx.arg(), &[]);
    let x = env.extract_tree(&s, "x", &[]);
    assert_eq!((x["/"].mode, x["/"].uid, x["/"].gid), (0o750, 1000, 1000));
    for (name, flags, writable) in [("rw", &[][..], true), ("ro", &["--read-only"][..], false)] {
        let mp = env.mountpoint(name);
        env.mount_ok(&s, &mp, flags);
        let merged = read_view(&mp);
        let root = &merged["/"];
        let got = format!("{:04o} {}:{}", root.mode, root.uid, root.gid);
        env.umount_ok(&mp, &[]);
        assert_eq!(
            got, "0750 1000:1000",
            "{name} mount: the merged root's mode and owner (extract gives 0750 1000:1000)"
        );
        assert_view(&x, &merged, writable, &format!("{name} mount vs extract"));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Copy-on-write.

/// In a mount of the rich fixture: `etc/shadow` (layer 0, 0640 0:42) rewritten, `bin/sh`
/// (layer 0) deleted, the directory `usr/share` (layer 0, with children) deleted. The upper
/// dir mount printed — the one under STORE/mounts/*/upper — holds exactly the copied-up file
/// with its new content and metadata and 0/0 character-device whiteouts for both deletions;
/// the merged view is extract's tree with those changes; and every file of every layer's
/// `diff/` is unchanged (content, type, mode, owner, xattrs, mtime), during and after.
#[test]
fn copy_on_write_goes_to_the_upper_dir_and_layers_stay_identical() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("cow.tar");
    let s = sel(fx.arg(), &[]);
    let mp = env.mountpoint("mp");
    let out = env.mount_ok(&s, &mp, &[]);
    let before = env.layers_snapshot();
    assert_eq!(before.len(), 3, "three layers in the store");

    let upper = printed_upper(&out).unwrap_or_else(|| panic!("mount printed no upper dir:\n{out}"));
    let uppers: Vec<PathBuf> = env
        .mount_dirs()
        .iter()
        .map(|d| d.join("upper"))
        .filter(|u| u.is_dir())
        .collect();
    assert_eq!(
        uppers,
        vec![upper.clone()],
        "the printed upper dir is STORE/mounts/*/upper:\n{out}"
    );
    let upper_before = read_tree(&upper);
    assert_eq!(
        upper_before.keys().collect::<Vec<_>>(),
        vec!["/"],
        "a fresh upper dir is empty"
    );

    let new_shadow = b"root:$6$changed:19999::::::\n";
    let shadow_md = std::fs::symlink_metadata(mp.join("etc/shadow")).unwrap();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(mp.join("etc/shadow"))
            .unwrap();
        f.write_all(new_shadow).unwrap();
        f.sync_all().unwrap();
    }
    std::fs::remove_file(mp.join("bin/sh")).unwrap();
    std::fs::remove_dir_all(mp.join("usr/share")).unwrap();

    // The merged view: extract's tree with the three changes.
    let mut want = env.extract_tree(&s, "extracted", &[]);
    want.retain(|p, _| p != "/bin/sh" && p != "/usr/share" && !p.starts_with("/usr/share/"));
    let shadow = want.get_mut("/etc/shadow").unwrap();
    shadow.kind = NodeKind::File(new_shadow.len() as u64, sha256_of(new_shadow));
    let merged = read_view(&mp);
    let d = diff_trees(
        &without_mtimes(without_links(want)),
        &without_mtimes(without_links(merged)),
    );
    // (asserted last, so the upper dir and the layers are checked whatever it finds)

    // The upper dir.
    let up = read_tree(&upper);
    let leaves: BTreeMap<&str, &NodeKind> = up
        .iter()
        .filter(|(_, n)| n.kind != NodeKind::Dir)
        .map(|(p, n)| (p.as_str(), &n.kind))
        .collect();
    let new_kind = NodeKind::File(new_shadow.len() as u64, sha256_of(new_shadow));
    let whiteout = NodeKind::Char(0, 0);
    let want_leaves: BTreeMap<&str, &NodeKind> = [
        ("/etc/shadow", &new_kind),
        ("/bin/sh", &whiteout),
        ("/usr/share", &whiteout),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        leaves, want_leaves,
        "the upper dir's files and whiteouts: {up:#?}"
    );
    let copied = &up["/etc/shadow"];
    assert_eq!(
        (copied.mode, copied.uid, copied.gid),
        (shadow_md.mode() & 0o7777, shadow_md.uid(), shadow_md.gid()),
        "the copied-up file keeps its mode and owner"
    );
    assert_eq!((copied.mode, copied.uid, copied.gid), (0o640, 0, 42));

    // The layers, untouched while mounted and after umount.
    assert_layers_unchanged(&before, &env.layers_snapshot(), "after the writes");
    env.umount_ok(&mp, &[]);
    assert_layers_unchanged(&before, &env.layers_snapshot(), "after umount");
    assert_store_consistent(&env, "after umount");
    assert!(
        d.is_empty(),
        "merged view after the changes (extract's tree with etc/shadow rewritten, bin/sh and \
         usr/share deleted):\n  {}",
        d.join("\n  ")
    );
}

#[track_caller]
fn assert_layers_unchanged(before: &[(String, Tree)], after: &[(String, Tree)], ctx: &str) {
    let names = |v: &[(String, Tree)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(before),
        names(after),
        "{ctx}: the store's layers changed"
    );
    let mut diffs = Vec::new();
    for ((name, b), (_, a)) in before.iter().zip(after) {
        diffs.extend(
            diff_trees(b, a)
                .into_iter()
                .map(|d| format!("layer {name}: {d}")),
        );
    }
    assert!(
        diffs.is_empty(),
        "{ctx}: files in the store's layers changed:\n  {}",
        diffs.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// 4. 120 layers.

/// Layer i adds `dI%10/fI`; every fourth layer whites out the file the layer before added,
/// every 25th makes its directory opaque, every 40th deletes a whole directory.
fn many_layers(n: usize) -> Vec<Vec<Entry>> {
    (0..n)
        .map(|i| {
            let dir = format!("d{}", i % 10);
            let mut l = vec![
                Entry::dir(&dir).with_mtime(1_700_000_000 + i as u64),
                Entry::file(&format!("{dir}/f{i}"), format!("layer {i}\n"))
                    .with_mtime(1_700_000_000 + i as u64),
            ];
            if i % 4 == 3 {
                l.push(Entry::whiteout(
                    &format!("d{}", (i - 1) % 10),
                    &format!("f{}", i - 1),
                ));
            }
            if i % 25 == 24 {
                l.push(Entry::opaque(&dir));
            }
            if i % 40 == 39 {
                l.push(Entry::whiteout("", &format!("d{}", (i + 5) % 10)));
            }
            l
        })
        .collect()
}

#[test]
fn image_with_120_layers_mounts_and_matches_extract() {
    if !ready() {
        return;
    }
    let layers = many_layers(120);
    let fx = image_of_entries("many.tar", &layers, Compression::Gzip, Format::Oci);
    let env = MountEnv::new();
    let s = sel(fx.arg(), &[]);
    let extracted = env.extract_tree(&s, "extracted", &[]);
    let mp = env.mountpoint("mp");
    let out = env.mount_opts(
        &s,
        &mp,
        &[],
        &Opts {
            timeout: std::time::Duration::from_secs(600),
            ..Opts::default()
        },
    );
    out.assert_ok("mount of 120 layers");
    assert_eq!(unpack_counts(&out), (120, 0), "{out}");
    assert_eq!(env.layer_dirs().len(), 120);
    let merged = read_view(&mp);
    assert_view(&extracted, &merged, true, "120 layers vs extract");
    assert_view(
        &Model::of(&layers, As::Root),
        &merged,
        true,
        "120 layers vs the model",
    );
    env.umount_ok(&mp, &[]);
    assert_store_consistent(&env, "after umount");
}

// ---------------------------------------------------------------------------------------------
// 5. Layers shared between images.

/// `two:a` and `two:b` (one docker save) share their base layer: mounting `two:b` after
/// `two:a` unpacks only its own top layer and says the base was already in; `store ls --json`
/// lists the base once, used by both mountpoints, and each top layer used by its own.
#[test]
fn two_images_sharing_a_base_store_it_once() {
    if !ready() {
        return;
    }
    let fx = common::fixtures::two_images();
    let (a, b) = (&fx.images[0], &fx.images[1]);
    assert_eq!(a.layers[0].chain_id, b.layers[0].chain_id);
    let base = a.layers[0].chain_id.clone();
    let env = MountEnv::new();
    let mpa = env.mountpoint("a");
    let mpb = env.mountpoint("b");
    let out_a = env.mount_ok(&sel(fx.arg(), &["--image", "two:a"]), &mpa, &[]);
    assert_eq!(
        unpack_counts(&out_a),
        (2, 0),
        "first mount unpacks both layers:\n{out_a}"
    );
    let out_b = env.mount_ok(&sel(fx.arg(), &["--image", "two:b"]), &mpb, &[]);
    assert_eq!(
        unpack_counts(&out_b),
        (1, 1),
        "second mount: 1 unpacked, the base already in:\n{out_b}"
    );
    assert!(
        String::from_utf8_lossy(&out_b.stdout).contains("1 unpacked, 1 already in"),
        "{out_b}"
    );

    let rows = env.store_ls();
    let ids = chain_ids_of(&rows);
    assert_eq!(
        ids.iter().filter(|i| **i == base).count(),
        1,
        "the base chainID is listed once: {rows:#?}"
    );
    assert_eq!(ids.len(), 3, "base + two tops: {rows:#?}");
    let mps =
        |v: &[&Path]| -> BTreeSet<String> { v.iter().map(|p| p.display().to_string()).collect() };
    for r in &rows {
        let id = r["chain_id"].as_str().unwrap();
        let want = if id == base {
            mps(&[&mpa, &mpb])
        } else if id == a.layers[1].chain_id {
            mps(&[&mpa])
        } else if id == b.layers[1].chain_id {
            mps(&[&mpb])
        } else {
            panic!("unexpected layer {id} in the store: {rows:#?}")
        };
        assert_eq!(used_by(r), want, "used_by of {id}");
        assert_eq!(
            r["diff_id"].as_str().map(|s| s.starts_with("sha256:")),
            Some(true),
            "{r}"
        );
    }
    let top_a = rows
        .iter()
        .find(|r| r["chain_id"] == a.layers[1].chain_id.as_str())
        .unwrap();
    assert_eq!(top_a["parent"].as_str(), Some(base.as_str()), "{top_a}");
    assert_eq!(
        top_a["diff_id"].as_str(),
        Some(a.layers[1].diff_id.as_str()),
        "{top_a}"
    );

    // Both views are their image's tree.
    for (mp, tag, name) in [(&mpa, "two:a", "xa"), (&mpb, "two:b", "xb")] {
        let x = env.extract_tree(&sel(fx.arg(), &["--image", tag]), name, &[]);
        assert_view(&x, &read_view(mp), true, tag);
    }
    env.umount_ok(&mpa, &[]);
    env.umount_ok(&mpb, &[]);
    assert_store_consistent(&env, "after umount");
}

/// `STRATA_STORE` sets the store when `--store` is not given.
#[test]
fn strata_store_env_sets_the_store() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("env.tar");
    let mp = env.mountpoint("mp");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = common::strata()
            .env("STRATA_STORE", &env.store)
            .args(args)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let r = run(args!["mount", fx.arg(), mp]);
    assert_eq!(r.0, Some(0), "{r:?}");
    assert_eq!(
        env.layer_dirs().len(),
        3,
        "layers went to $STRATA_STORE: {r:?}"
    );
    assert_eq!(env.mount_dirs().len(), 1, "{r:?}");
    let r = run(args!["store", "ls", "--json"]);
    assert_eq!(r.0, Some(0), "{r:?}");
    let rows: Value = serde_json::from_str(&r.1).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3, "{r:?}");
    let r = run(args!["umount", mp]);
    assert_eq!(r.0, Some(0), "{r:?}");
    assert_eq!(mount_count(&mp), 0);
    assert!(env.mount_dirs().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. umount, --keep-upper, store prune, store rm.

fn small_image(name: &str, salt: &str) -> Fixture {
    let layers = vec![
        vec![
            Entry::dir("etc"),
            Entry::file("etc/name", format!("{salt}\n")),
        ],
        vec![Entry::file("etc/second", format!("{salt} second\n"))],
    ];
    image_of_entries(name, &layers, Compression::Gzip, Format::Oci)
}

fn chain_of(fx: &Fixture) -> Vec<String> {
    fx.image()
        .layers
        .iter()
        .map(|l| l.chain_id.clone())
        .collect()
}

fn hex(chain_id: &str) -> &str {
    chain_id.strip_prefix("sha256:").unwrap()
}

/// umount leaves no mount in /proc/self/mountinfo and nothing in STORE/mounts or STORE/tmp;
/// `--keep-upper` keeps the upper dir (with what was written) and removes work; `store rm`
/// refuses a layer in use (exit 2, layer intact) and removes an unused one (with its `l/`
/// link); `store prune` removes the layers no mount uses and keeps those in use.
#[test]
fn umount_cleans_up_keep_upper_store_rm_and_prune() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fa = rich_image("a.tar");
    let fb = small_image("b.tar", "bee");
    let fc = small_image("c.tar", "sea");
    let (ca, cb, cc) = (chain_of(&fa), chain_of(&fb), chain_of(&fc));
    let mp1 = env.mountpoint("mp1");
    let mp2 = env.mountpoint("mp2");
    let mp3 = env.mountpoint("mp3");
    env.mount_ok(&sel(fa.arg(), &[]), &mp1, &[]);
    let out2 = env.mount_ok(&sel(fb.arg(), &[]), &mp2, &[]);
    env.mount_ok(&sel(fc.arg(), &[]), &mp3, &[]);
    assert_eq!(env.mount_dirs().len(), 3);
    std::fs::write(mp2.join("written"), b"kept in the upper dir\n").unwrap();
    std::fs::write(mp1.join("etc/passwd"), b"changed\n").unwrap();

    // Plain umount.
    env.umount_ok(&mp3, &[]);
    env.umount_ok(&mp1, &[]);
    let left: Vec<PathBuf> = env.mount_dirs();
    assert_eq!(left.len(), 1, "only mp2's mount dir is left: {left:?}");
    assert!(left[0].join("upper/written").is_file(), "{left:?}");
    assert_store_consistent(&env, "after umount");
    assert_eq!(env.layer_dirs().len(), 7, "umount keeps the layers");

    // store rm: in use → refused; unused → removed with its l/ link.
    let in_use = &cb[0];
    let out = env.store_cmd(&["rm", in_use]);
    assert_eq!(out.code, Some(2), "store rm of a layer in use:\n{out}");
    assert!(out.error_line().contains("in use"), "{out}");
    common::assert_clean_error(&out.as_run(), hex(in_use));
    assert!(env
        .store
        .join("layers/sha256")
        .join(hex(in_use))
        .join("diff/etc/name")
        .is_file());
    assert_eq!(std::fs::read(mp2.join("etc/name")).unwrap(), b"bee\n");

    let unused = &cc[1];
    let link = std::fs::read_to_string(
        env.store
            .join("layers/sha256")
            .join(hex(unused))
            .join("link"),
    )
    .unwrap()
    .trim()
    .to_string();
    assert!(
        env.store.join("l").join(&link).is_dir(),
        "l/{link} leads to diff/"
    );
    let out = env.store_cmd(&["rm", unused]);
    out.assert_ok("store rm of an unused layer");
    assert!(
        !env.store.join("layers/sha256").join(hex(unused)).exists(),
        "{out}"
    );
    assert!(
        std::fs::symlink_metadata(env.store.join("l").join(&link)).is_err(),
        "l/{link} left behind by store rm"
    );
    assert_store_consistent(&env, "after store rm");

    // --keep-upper: the upper dir is moved out of mounts/ (to kept/), so a later mount on the
    // same mountpoint cannot wipe it and its layers no longer count as in use.
    let mounted_upper = printed_upper(&out2).unwrap();
    let out = env.umount_ok(&mp2, &["--keep-upper"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let upper = std::path::PathBuf::from(
        said.split("kept the upper dir ")
            .nth(1)
            .expect("umount --keep-upper says where the upper dir is")
            .trim(),
    );
    assert!(upper.starts_with(env.store.join("kept")), "{out}");
    assert!(!mounted_upper.exists(), "the upper dir left mounts/: {out}");
    assert_eq!(
        std::fs::read(upper.join("written")).unwrap(),
        b"kept in the upper dir\n",
        "--keep-upper keeps what was written:\n{out}"
    );
    assert!(
        !upper.parent().unwrap().join("work").exists(),
        "--keep-upper removes work/:\n{out}"
    );
    assert!(
        env.store_problems().is_empty(),
        "{:?}",
        env.store_problems()
    );

    // prune: every layer of a and c goes (no mount uses them).
    let out = env.store_cmd(&["prune"]);
    out.assert_ok("store prune");
    let remaining: BTreeSet<String> = chain_ids_of(&env.store_ls()).into_iter().collect();
    for id in ca.iter().chain(&cc) {
        assert!(
            !remaining.contains(id),
            "prune left the unused layer {id}:\n{out}"
        );
    }
    // The kept upper dir has no info.json (it is no longer a mount): b's layers are unused too.
    let b_kept: Vec<&String> = cb.iter().filter(|id| remaining.contains(*id)).collect();
    assert!(
        b_kept.is_empty(),
        "prune kept b's layers {b_kept:?}, which only a kept upper dir stood on:\n{out}"
    );
    assert!(remaining.is_empty(), "prune left {remaining:?}:\n{out}");
    let l_links = std::fs::read_dir(env.store.join("l")).unwrap().count();
    assert_eq!(l_links, remaining.len(), "one l/ link per remaining layer");
    assert_store_consistent(&env, "after prune");

    // With no mount using anything, prune empties the store.
    let mp4 = env.mountpoint("mp4");
    env.mount_ok(&sel(fa.arg(), &[]), &mp4, &[]);
    let out = env.store_cmd(&["prune"]);
    out.assert_ok("store prune with a mount");
    let remaining: BTreeSet<String> = chain_ids_of(&env.store_ls()).into_iter().collect();
    for id in &ca {
        assert!(
            remaining.contains(id),
            "prune removed {id}, which mp4 uses:\n{out}"
        );
    }
    assert_eq!(
        std::fs::read(mp4.join("etc/shadow")).unwrap(),
        b"root:*:19000::::::\n"
    );
    env.umount_ok(&mp4, &[]);
    assert_eq!(mount_count(&mp4), 0);
    assert_store_consistent(&env, "at the end");
}

// ---------------------------------------------------------------------------------------------
// 7. --read-only.

#[track_caller]
fn assert_erofs(r: std::io::Result<()>, what: &str) {
    match r {
        Ok(()) => panic!("{what} succeeded in a read-only mount"),
        Err(e) => assert_eq!(errno(&e), Some(libc_erofs()), "{what}: {e}"),
    }
}

fn libc_erofs() -> i32 {
    rustix::io::Errno::ROFS.raw_os_error()
}

/// A read-only mount (three layers, and one layer with `--layer 0`): creating, writing,
/// deleting and mkdir fail with EROFS; no upper or work dir is created; the view is extract's.
#[test]
fn read_only_mount_refuses_writes_and_has_no_upper() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("ro.tar");
    let mut view_failures = Vec::new();
    for (i, extra) in [&[][..], &["--layer", "0"][..]].into_iter().enumerate() {
        let mp = env.mountpoint(&format!("mp{i}"));
        let mut flags = vec!["--read-only"];
        flags.extend_from_slice(extra);
        let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &flags);
        assert!(
            printed_upper(&out).is_none(),
            "a read-only mount prints no upper dir:\n{out}"
        );
        assert_erofs(std::fs::write(mp.join("new-file"), b"x"), "creating a file");
        assert_erofs(
            std::fs::OpenOptions::new()
                .write(true)
                .open(mp.join("etc/passwd"))
                .map(drop),
            "opening a lower file for writing",
        );
        assert_erofs(
            std::fs::remove_file(mp.join("etc/passwd")),
            "deleting a file",
        );
        assert_erofs(std::fs::create_dir(mp.join("new-dir")), "mkdir");
        let dirs = env.mount_dirs();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        assert!(
            !dirs[0].join("upper").exists(),
            "a read-only mount has no upper dir"
        );
        assert!(
            !dirs[0].join("work").exists(),
            "a read-only mount has no work dir"
        );
        let x = env.extract_tree(&sel(fx.arg(), &[]), &format!("x{i}"), extra);
        view_failures.extend(
            view_diffs(&x, &read_view(&mp), false)
                .into_iter()
                .map(|d| format!("read-only {extra:?} vs extract: {d}")),
        );
        env.umount_ok(&mp, &[]);
        assert!(env.mount_dirs().is_empty());
    }
    assert_store_consistent(&env, "after umount");
    assert!(
        view_failures.is_empty(),
        "merged views differ from extract:\n  {}",
        view_failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// 8. --layer N.

/// `mount --layer N` shows what `extract --layer N` writes, for every N of the rich fixture;
/// the store then holds only layers 0..=N.
#[test]
fn layer_n_merged_view_matches_extract_layer_n() {
    if !ready() {
        return;
    }
    let fx = rich_image("layer-n.tar");
    let chain = chain_of(&fx);
    let mut view_failures = Vec::new();
    for n in 0..chain.len() {
        let env = MountEnv::new();
        let s = sel(fx.arg(), &[]);
        let mp = env.mountpoint("mp");
        let out = env.mount_ok(&s, &mp, &["--layer", &n.to_string()]);
        assert_eq!(unpack_counts(&out), (n + 1, 0), "--layer {n}:\n{out}");
        let stored: BTreeSet<String> = chain_ids_of(&env.store_ls()).into_iter().collect();
        assert_eq!(
            stored,
            chain[..=n].iter().cloned().collect(),
            "--layer {n} stores layers 0..={n}"
        );
        let x = env.extract_tree(&s, "x", &["--layer", &n.to_string()]);
        view_failures.extend(
            view_diffs(&x, &read_view(&mp), true)
                .into_iter()
                .map(|d| format!("--layer {n} vs extract --layer {n}: {d}")),
        );
        env.umount_ok(&mp, &[]);
    }
    assert!(
        view_failures.is_empty(),
        "merged views differ from extract:\n  {}",
        view_failures.join("\n  ")
    );
    // Out of range: refused, nothing mounted.
    let env = MountEnv::new();
    let mp = env.mountpoint("mp");
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &["--layer", "3"]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.error_line().contains("--layer 3"), "{out}");
    assert_eq!(mount_count(&mp), 0);
}

// ---------------------------------------------------------------------------------------------
// 9. Errors.

/// A missing mountpoint, one that is a file, and one already mounted: exit 2 with one clean
/// `error:` line naming it; the first mount is untouched; the store has no leftovers in
/// tmp/ and no half layers.
#[test]
fn mountpoint_errors_are_clean_and_leave_the_store_consistent() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("errors.tar");
    let s = sel(fx.arg(), &[]);

    let missing = env.root.join("no-such-dir");
    let out = env.mount(&s, &missing, &[]);
    common::assert_clean_error(&out.as_run(), "no-such-dir");
    assert!(!missing.exists());
    assert_eq!(mount_count(&missing), 0);
    assert_store_consistent(&env, "after a missing mountpoint");
    assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());

    let file = env.root.join("a-file");
    std::fs::write(&file, b"not a directory\n").unwrap();
    let out = env.mount(&s, &file, &[]);
    common::assert_clean_error(&out.as_run(), "a-file");
    assert!(out.error_line().contains("not a directory"), "{out}");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory\n");
    assert_eq!(mount_count(&file), 0);
    assert_store_consistent(&env, "after a file mountpoint");
    assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());

    let mp = env.mountpoint("mp");
    let first = env.mount_ok(&s, &mp, &[]);
    std::fs::write(mp.join("mine"), b"first mount's file\n").unwrap();
    let out = env.mount(&s, &mp, &[]);
    common::assert_clean_error(&out.as_run(), &mp.display().to_string());
    assert_eq!(
        mount_count(&mp),
        1,
        "mounting twice stacked a second mount:\n{out}"
    );
    assert_eq!(
        std::fs::read(mp.join("mine")).unwrap(),
        b"first mount's file\n",
        "the first mount lost its upper dir:\n{out}"
    );
    let upper = printed_upper(&first).unwrap();
    assert!(
        upper.join("mine").is_file(),
        "the first mount's upper dir is gone:\n{out}"
    );
    assert_eq!(env.mount_dirs().len(), 1, "{:?}", env.mount_dirs());
    assert_store_consistent(&env, "after mounting twice");
    assert_eq!(env.layer_dirs().len(), 3);

    // Also refused: umount of something that is not a strata mount.
    let other = env.mountpoint("not-mounted");
    let out = env.umount(&other, &[]);
    common::assert_clean_error(&out.as_run(), "not-mounted");

    env.umount_ok(&mp, &[]);
    assert!(env.mount_dirs().is_empty());
    assert_store_consistent(&env, "at the end");
}

/// A layer whose content is not what the config's diffID says (one byte changed after the
/// image was made) never enters the store: the mount fails naming the layer and the
/// mismatch, nothing is mounted, and the layers below it that are sound stay usable.
#[test]
fn tampered_layer_is_refused_and_never_stored() {
    if !ready() {
        return;
    }
    // A plain layer (its digest is its diffID) and a gzip one (the store checks the diffID of
    // what it decompressed).
    for broken in [
        common::malformed::blob_digest_mismatch(),
        common::malformed::gzip_content_mismatch(),
    ] {
        tampered_layer_case(&broken);
    }
}

fn tampered_layer_case(broken: &common::malformed::Broken) {
    let env = MountEnv::new();
    let fx = &broken.fixture;
    let mp = env.mountpoint("mp");
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    common::assert_clean_error(&out.as_run(), &fx.file_name());
    let err = out.error_line();
    assert!(
        err.contains("layer 1") && err.contains("mismatch"),
        "the error names layer 1 and the mismatch:\n{out}"
    );
    assert_eq!(mount_count(&mp), 0);
    assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());
    assert_store_consistent(&env, "after a tampered layer");
    let stored: Vec<String> = env
        .layer_dirs()
        .iter()
        .map(|d| {
            std::fs::read_to_string(d.join("diff-id"))
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();
    let diff_ids: Vec<&str> = fx
        .image()
        .layers
        .iter()
        .map(|l| l.diff_id.as_str())
        .collect();
    assert!(
        !stored.iter().any(|d| d == diff_ids[1]),
        "the tampered layer's content is in the store: {stored:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Concurrency.

/// Two `strata mount` of the same image, started together into two mountpoints with one
/// store: both succeed, each layer is unpacked exactly once (the unpacked counts add up to
/// the number of layers) and stored once, and both views are extract's tree. Three rounds.
#[test]
fn concurrent_mounts_of_one_image_share_the_store() {
    if !ready() {
        return;
    }
    let mut layers = rootfs_layers();
    for i in 0..4 {
        layers.push(
            (0..200)
                .map(|j| Entry::file(&format!("bulk{i}/f{j}"), format!("{i}/{j}\n").repeat(50)))
                .collect(),
        );
    }
    let n = layers.len();
    let fx = image_of_entries("race.tar", &layers, Compression::Gzip, Format::Oci);
    let s = sel(fx.arg(), &[]);
    let mut view_failures = Vec::new();
    for round in 0..3 {
        let env = MountEnv::new();
        let mps = [env.mountpoint("one"), env.mountpoint("two")];
        let barrier = Barrier::new(2);
        let outs: Vec<Out> = std::thread::scope(|sc| {
            let hs: Vec<_> = mps
                .iter()
                .map(|mp| {
                    let (env, s, barrier) = (&env, &s, &barrier);
                    sc.spawn(move || {
                        barrier.wait();
                        env.mount(s, mp, &[])
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (mp, out) in mps.iter().zip(&outs) {
            out.assert_ok(&format!(
                "round {round}: concurrent mount on {}",
                mp.display()
            ));
            assert_eq!(mount_count(mp), 1, "round {round}: {}", mp.display());
        }
        let counts: Vec<(usize, usize)> = outs.iter().map(unpack_counts).collect();
        assert_eq!(
            counts.iter().map(|c| c.0).sum::<usize>(),
            n,
            "round {round}: each layer unpacked exactly once: {counts:?}"
        );
        assert_eq!(
            counts.iter().map(|c| c.1).sum::<usize>(),
            n,
            "round {round}: {counts:?}"
        );
        let rows = env.store_ls();
        let ids = chain_ids_of(&rows);
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), n, "round {round}: {rows:#?}");
        assert_eq!(unique.len(), n, "round {round}: {rows:#?}");
        assert_eq!(env.layer_dirs().len(), n, "round {round}");
        assert_eq!(
            std::fs::read_dir(env.store.join("l")).unwrap().count(),
            n,
            "round {round}"
        );
        let both: BTreeSet<String> = mps.iter().map(|p| p.display().to_string()).collect();
        for r in &rows {
            assert_eq!(used_by(r), both, "round {round}: {r}");
        }
        assert_store_consistent(&env, &format!("round {round}"));
        let x = env.extract_tree(&s, "x", &[]);
        for mp in &mps {
            view_failures.extend(
                view_diffs(&x, &read_view(mp), true)
                    .into_iter()
                    .map(|d| format!("round {round}: {}: {d}", mp.display())),
            );
        }
        for mp in &mps {
            env.umount_ok(mp, &[]);
        }
        assert!(env.mount_dirs().is_empty());
    }
    assert!(
        view_failures.is_empty(),
        "merged views differ from extract:\n  {}",
        view_failures.join("\n  ")
    );
}

/// Regular files of a layer `diff/` that are 0/0 character devices are whiteouts: the store
/// keeps the rich fixture's deletions in overlay form and its opaque directory marked.
#[test]
fn store_layers_hold_overlay_whiteouts_and_opaque_marks() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = rich_image("forms.tar");
    let chain = chain_of(&fx);
    let mp = env.mountpoint("mp");
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &["--read-only"]);
    let l1 = env
        .store
        .join("layers/sha256")
        .join(hex(&chain[1]))
        .join("diff");
    for p in ["etc/motd", "data"] {
        let md = std::fs::symlink_metadata(l1.join(p)).unwrap();
        assert!(
            md.file_type().is_char_device() && md.rdev() == 0,
            "layer 1's {p} is a 0/0 char device whiteout: {md:?}"
        );
    }
    let mut v = [0u8; 8];
    let n = rustix::fs::lgetxattr(l1.join("var/cache"), "trusted.overlay.opaque", &mut v)
        .expect("layer 1's var/cache carries trusted.overlay.opaque");
    assert_eq!(&v[..n], b"y");
    assert!(l1.join("var/cache/new").is_file());
    // A whiteout listed after its own layer's entry does not remove that entry: the layer
    // keeps the file (which hides the lower one anyway), not a whiteout.
    let hostname = l1.join("etc/hostname");
    let md = std::fs::symlink_metadata(&hostname).unwrap();
    assert!(
        md.is_file(),
        "layer 1's etc/hostname should be the file \"layer one\" (the whiteout after it in the \
         same layer does not remove it), found {}",
        if md.file_type().is_char_device() {
            format!("a whiteout (char device, rdev {})", md.rdev())
        } else {
            format!("{:?}", md.file_type())
        }
    );
    assert_eq!(std::fs::read(&hostname).unwrap(), b"layer one\n");
    assert!(!l1.join("etc/.wh.motd").exists() && !l1.join("var/cache/.wh..wh..opq").exists());
    env.umount_ok(&mp, &[]);
}

/// Raw-byte names keep their bytes in the store and in the merged view: the whiteout of
/// `d\xff/caf\xe8` hides exactly that file, and the hardlink to it keeps its content.
#[test]
fn names_that_are_not_utf8_keep_their_bytes_in_the_merged_view() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let (fx, want) = common::rawnames::raw_names_image("raw-names-mount.tar");
    let mp = env.mountpoint("mp");
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &["--read-only"]);
    assert_eq!(common::rawnames::raw_tree(&mp), want, "merged view");
    env.umount_ok(&mp, &[]);
}

/// A layer that deletes a directory of the layers below and makes its own at the same path,
/// in every order a tar may list it (whiteout first or last, with or without the directory's
/// own entry): the merged view shows only the new directory's content, as extract and the
/// model do. In the store the directory is opaque, not a whiteout device.
#[test]
fn whiteout_and_own_directory_in_one_layer_give_an_opaque_directory() {
    if !ready() {
        return;
    }
    let variants: Vec<(&str, Vec<Entry>)> = vec![
        (
            "wh-then-child",
            vec![Entry::whiteout("", "d"), Entry::file("d/new", "new\n")],
        ),
        (
            "wh-dir-child",
            vec![
                Entry::whiteout("", "d"),
                Entry::dir("d"),
                Entry::file("d/new", "new\n"),
            ],
        ),
        (
            "child-then-wh",
            vec![Entry::file("d/new", "new\n"), Entry::whiteout("", "d")],
        ),
        (
            "dir-child-wh",
            vec![
                Entry::dir("d"),
                Entry::file("d/new", "new\n"),
                Entry::whiteout("", "d"),
            ],
        ),
        // Beside its own non-directory, a whiteout has nothing more to do.
        (
            "file-then-wh",
            vec![Entry::file("d", "a file now\n"), Entry::whiteout("", "d")],
        ),
        // A whiteout below one of the layer's own symlinks hides nothing of the layer itself.
        (
            "wh-under-own-symlink",
            vec![
                Entry::whiteout("d", "old"),
                Entry::dir("etc"),
                Entry::file("etc/old", "the layer's own\n"),
                Entry::symlink("d", "/etc"),
            ],
        ),
        // Nested whiteouts, both orders: d goes, whatever is said of d/old.
        (
            "nested-wh",
            vec![Entry::whiteout("d", "old"), Entry::whiteout("", "d")],
        ),
        (
            "nested-wh-rev",
            vec![Entry::whiteout("", "d"), Entry::whiteout("d", "old")],
        ),
        // A hardlink to a lower file, then a whiteout of its own path: the link stays.
        (
            "link-then-wh",
            vec![Entry::hardlink("f", "t"), Entry::whiteout("", "f")],
        ),
        // The parent a layer leaves out below a deleted directory is new (0755, root).
        (
            "wh-then-deep-child",
            vec![Entry::whiteout("", "d"), Entry::file("d/sub/new", "new\n")],
        ),
    ];
    for (name, top) in variants {
        let layers = vec![
            vec![
                Entry::dir("d"),
                Entry::file("d/old", "old\n"),
                Entry::dir("d/sub").with_mode(0o700).with_owner(1234, 1234),
                Entry::file("t", "t\n"),
                Entry::file("f", "f\n"),
            ],
            top,
        ];
        let fx = image_of_entries(
            &format!("{name}.tar"),
            &layers,
            Compression::Gzip,
            Format::Oci,
        );
        fixture_matches_extract(&fx, &layers);
    }
}

/// A mount a process is leaving is waited for; one a process keeps busy is refused, saying how
/// to find the process, and the mount and its dirs stay as they were.
#[test]
fn umount_waits_out_a_moment_of_busy_and_names_a_lasting_one() {
    if !ready() {
        return;
    }
    let env = MountEnv::new();
    let fx = small_image("busy.tar", "busy");
    let mp = env.mountpoint("mp");
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    // A process with its working directory in the mount for 0.5 s: umount waits for it.
    let brief = std::process::Command::new("sleep")
        .arg("0.5")
        .current_dir(&mp)
        .spawn()
        .unwrap();
    env.umount_ok(&mp, &[]);
    let mut brief = brief;
    let _ = brief.wait();
    // One that stays: refused after the wait, and nothing is taken down.
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    let mut lasting = std::process::Command::new("sleep")
        .arg("30")
        .current_dir(&mp)
        .spawn()
        .unwrap();
    let out = env.umount(&mp, &[]);
    let _ = lasting.kill();
    let _ = lasting.wait();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.error_line().contains("unmounting"), "{out}");
    assert!(
        out.stderr.contains("the mount is busy") && out.stderr.contains("fuser -vm"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(mp.join("etc/name")).unwrap(),
        b"busy\n",
        "still mounted"
    );
    env.umount_ok(&mp, &[]);
}
