//! `strata ls`, `strata diff` and `strata cat` against an independent model: the bottom-up
//! model of tests/common/rootfs.rs (layers applied in order to a map of paths, with the layer of
//! each path's surviving entry), the reference trees of the corpus (`rootfs-manifest.json`,
//! what umoci unpacked), and expectations worked out by hand — never strata's own output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;

use crate::common::corpus::{entries_with_rootfs, find_archive, CORPUS};
use crate::common::layer::Compression;
use crate::common::overlay::without_links;
use crate::common::rootfs::{
    rootfs_layers, sha256_of, tree_of_manifest, As, Model, NodeKind, Tree,
};
use crate::common::sandbox::{image_of_entries, run_strata, Format, Opts, Out};
use crate::common::tarball::Entry;
use serde_json::Value;

fn strata(args: &[&dyn AsRef<OsStr>]) -> Out {
    let args: Vec<&OsStr> = args.iter().map(|a| a.as_ref()).collect();
    run_strata(&args, &Opts::default())
}

fn json_of(out: &Out, ctx: &str) -> Value {
    out.assert_ok(ctx);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{ctx}: not JSON ({e}):\n{out}"))
}

/// The expected `ls --json` rows after `layers`, from the model: path → (type, size, mode,
/// uid, gid, link, layer).
fn expected_rows(layers: &[Vec<Entry>]) -> BTreeMap<String, Value> {
    let tree = Model::of(layers, As::Root);
    let origins = Model::origins(layers, As::Root);
    let mut rows = BTreeMap::new();
    for (abs, node) in &tree {
        if abs == "/" {
            continue;
        }
        let path = abs.trim_start_matches('/').to_string();
        let (layer, hardlink) = origins
            .get(&path)
            .unwrap_or_else(|| panic!("model: no origin for {path}"))
            .clone();
        let (kind, size, link) = match (&node.kind, hardlink) {
            (NodeKind::File(..), Some(t)) => ("hardlink", 0, Value::from(t)),
            (NodeKind::File(n, _), None) => ("file", *n, Value::Null),
            (NodeKind::Symlink(t), _) => ("symlink", 0, Value::from(t.clone())),
            (k, _) => (k.name(), 0, Value::Null),
        };
        rows.insert(
            path.clone(),
            serde_json::json!({
                "path": path, "type": kind, "size": size, "mode": node.mode,
                "uid": node.uid, "gid": node.gid, "link": link, "layer": layer,
            }),
        );
    }
    rows
}

fn assert_rows(got: &Value, want: &BTreeMap<String, Value>, ctx: &str) {
    let got_rows = got
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: not an array: {got}"));
    let paths: Vec<&str> = got_rows
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "{ctx}: rows are sorted by path");
    let got: BTreeMap<String, Value> = got_rows
        .iter()
        .map(|r| (r["path"].as_str().unwrap().to_string(), r.clone()))
        .collect();
    let mut diffs = Vec::new();
    for (p, w) in want {
        match got.get(p) {
            None => diffs.push(format!("missing {p}: want {w}")),
            Some(g) if g != w => diffs.push(format!("{p}: got {g}, want {w}")),
            _ => {}
        }
    }
    for p in got.keys().filter(|p| !want.contains_key(*p)) {
        diffs.push(format!("unexpected {p}: {}", got[p]));
    }
    assert!(
        diffs.is_empty(),
        "{ctx}: {} differences:\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    );
}

#[test]
fn ls_json_is_the_models_tree_with_the_layer_of_each_entry() {
    let layers = rootfs_layers();
    for (format, compression) in [
        (Format::Oci, Compression::Gzip),
        (Format::Docker, Compression::None),
    ] {
        let fx = image_of_entries("rich.tar", &layers, compression, format);
        for top in 0..layers.len() {
            let out = strata(&[&"ls", &fx.arg(), &"--json", &"--layer", &top.to_string()]);
            let ctx = format!("{format:?} ls --layer {top}");
            assert_rows(&json_of(&out, &ctx), &expected_rows(&layers[..=top]), &ctx);
        }
    }
}

/// Every regular file of the tree, as of every layer, through `cat`: the model's bytes.
#[test]
fn cat_prints_each_file_as_of_each_layer() {
    let layers = rootfs_layers();
    let fx = image_of_entries("rich-cat.tar", &layers, Compression::Zstd, Format::Oci);
    let mut checked = 0;
    for top in 0..layers.len() {
        let tree = Model::of(&layers[..=top], As::Root);
        for (path, node) in &tree {
            let NodeKind::File(size, sha) = &node.kind else {
                continue;
            };
            let out = strata(&[&"cat", &fx.arg(), path, &"--layer", &top.to_string()]);
            out.assert_ok(&format!("cat {path} --layer {top}"));
            assert_eq!(out.stdout.len() as u64, *size, "cat {path} --layer {top}");
            assert_eq!(&sha256_of(&out.stdout), sha, "cat {path} --layer {top}");
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} files checked");
}

/// Symlinks resolve inside the image (absolute, relative, `..` past the root, chains);
/// a hardlink keeps its target's content as of its own layer; errors name the path.
#[test]
fn cat_resolves_links_inside_the_image_and_refuses_what_is_not_a_file() {
    let layers = vec![
        vec![
            Entry::file("etc/real", "real\n"),
            Entry::symlink("etc/abs", "/etc/real"),
            Entry::symlink("etc/rel", "real"),
            Entry::symlink("etc/up", "../../../../etc/real"),
            Entry::symlink("chain", "etc/abs"),
            Entry::symlink("loop", "loop"),
            Entry::symlink("dangling", "/nowhere"),
            Entry::symlink("host", "/etc/hostname"),
            Entry::file("bin/tool", "version 1\n"),
            Entry::hardlink("bin/tool-link", "bin/tool"),
            Entry::fifo("run/fifo"),
        ],
        vec![Entry::file("bin/tool", "version 2\n")],
    ];
    let fx = image_of_entries("links.tar", &layers, Compression::None, Format::Docker);
    for path in ["/etc/real", "/etc/abs", "etc/rel", "/etc/up", "/chain"] {
        let out = strata(&[&"cat", &fx.arg(), &path]);
        out.assert_ok(path);
        assert_eq!(out.stdout, b"real\n", "{path}");
    }
    let out = strata(&[&"cat", &fx.arg(), &"/bin/tool-link"]);
    out.assert_ok("hardlink");
    assert_eq!(
        out.stdout, b"version 1\n",
        "the link keeps layer 0's content"
    );
    let out = strata(&[&"cat", &fx.arg(), &"/bin/tool"]);
    assert_eq!(out.stdout, b"version 2\n");
    for (path, says) in [
        ("/loop", "too many levels of symbolic links"),
        ("/dangling", "no such file"),
        ("/host", "no such file"),
        ("/etc", "is a directory"),
        ("/run/fifo", "is a fifo"),
        ("/etc/real/x", "is not a directory"),
    ] {
        let out = strata(&[&"cat", &fx.arg(), &path]);
        assert_eq!(out.code, Some(2), "{path}: {out}");
        let line = out.error_line();
        assert!(line.contains(path) && line.contains(says), "{path}: {line}");
        assert!(out.stdout.is_empty(), "{path}: nothing on stdout");
    }
}

/// What each layer changed, from snapshots of the model before and after it: added (not
/// there before), deleted (gone after), modified (there before and after, and the layer has an
/// entry for it or changed it).
fn expected_changes(layers: &[Vec<Entry>], i: usize) -> Vec<(String, String)> {
    let strip = |t: Tree| -> BTreeMap<String, common::rootfs::Node> {
        without_links(t)
            .into_iter()
            .filter(|(p, _)| p != "/")
            .map(|(p, n)| (p.trim_start_matches('/').to_string(), n))
            .collect()
    };
    let before = if i == 0 {
        BTreeMap::new()
    } else {
        strip(Model::of(&layers[..i], As::Root))
    };
    let after = strip(Model::of(&layers[..=i], As::Root));
    let origins_before = if i == 0 {
        BTreeMap::new()
    } else {
        Model::origins(&layers[..i], As::Root)
    };
    let origins_after = Model::origins(&layers[..=i], As::Root);
    let entries: BTreeSet<String> = layers[i]
        .iter()
        .map(|e| common::rootfs::clean(&e.path))
        .collect();
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = Vec::new();
    for p in paths {
        let change = match (before.get(p), after.get(p)) {
            (None, Some(_)) => "added",
            (Some(_), None) => "deleted",
            (Some(b), Some(a))
                if entries.contains(p)
                    || a != b
                    || origins_before.get(p) != origins_after.get(p) =>
            {
                "modified"
            }
            _ => continue,
        };
        out.push((p.clone(), change.to_string()));
    }
    out
}

#[test]
fn diff_json_names_every_added_modified_and_deleted_path() {
    let layers = rootfs_layers();
    let fx = image_of_entries("rich-diff.tar", &layers, Compression::Gzip, Format::Oci);
    let got = json_of(&strata(&[&"diff", &fx.arg(), &"--json"]), "diff --json");
    let got = got.as_array().expect("an array of layers");
    assert_eq!(got.len(), layers.len());
    for (i, layer) in got.iter().enumerate() {
        assert_eq!(layer["layer"], i);
        let changes: Vec<(String, String)> = layer["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["path"].as_str().unwrap().into(),
                    c["change"].as_str().unwrap().into(),
                )
            })
            .collect();
        let want = expected_changes(&layers, i);
        assert_eq!(changes, want, "layer {i}");
    }
    // --layer N is that layer alone.
    let one = json_of(
        &strata(&[&"diff", &fx.arg(), &"--json", &"--layer", &"1"]),
        "--layer 1",
    );
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0], got[1]);
}

#[test]
fn diff_reports_sizes_before_and_after_and_counts_in_text() {
    let layers = vec![
        vec![
            Entry::file("app/big", vec![b'x'; 3000]),
            Entry::file("app/gone/a", vec![b'a'; 100]),
            Entry::file("app/gone/b", vec![b'b'; 200]),
        ],
        vec![
            Entry::file("app/big", vec![b'y'; 5000]),
            Entry::whiteout("app", "gone"),
            Entry::file("app/new", "n"),
        ],
    ];
    let fx = image_of_entries("sizes.tar", &layers, Compression::Gzip, Format::Oci);
    let v = json_of(
        &strata(&[&"diff", &fx.arg(), &"--json", &"--layer", &"1"]),
        "diff",
    );
    let rows: Vec<(String, String, String, u64, u64)> = v[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().into(),
                c["change"].as_str().unwrap().into(),
                c["type"].as_str().unwrap().into(),
                c["size"].as_u64().unwrap(),
                c["size_before"].as_u64().unwrap(),
            )
        })
        .collect();
    let row = |p: &str, c: &str, t: &str, s: u64, b: u64| (p.into(), c.into(), t.into(), s, b);
    assert_eq!(
        rows,
        vec![
            row("app/big", "modified", "file", 5000, 3000),
            row("app/gone", "deleted", "dir", 0, 0),
            row("app/gone/a", "deleted", "file", 0, 100),
            row("app/gone/b", "deleted", "file", 0, 200),
            row("app/new", "added", "file", 1, 0),
        ]
    );
    let text = strata(&[&"diff", &fx.arg(), &"--layer", &"1", &"--bytes"]);
    text.assert_ok("diff text");
    let text = String::from_utf8(text.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["M", "3000", "5000", "/app/big"], "{text}");
    assert_eq!(lines[2], ["D", "100", "-", "/app/gone/a"], "{text}");
    assert_eq!(lines[4], ["A", "-", "1", "/app/new"], "{text}");
    assert!(text.contains("1 added, 1 modified, 3 deleted"), "{text}");
}

#[test]
fn diff_of_two_images_compares_content_modes_owners_and_links() {
    let a = vec![vec![
        Entry::file("same", "s"),
        Entry::file("content", "old"),
        Entry::file("mode", "m").with_mode(0o644),
        Entry::file("owner", "o"),
        Entry::symlink("link", "here"),
        Entry::file("removed", "r"),
        Entry::file("retyped", "file"),
        Entry::file("hard-src", "h"),
        Entry::hardlink("hard", "hard-src"),
    ]];
    let b = vec![
        vec![
            Entry::file("same", "s").with_mtime(1_700_000_000),
            Entry::file("content", "new"),
            Entry::file("mode", "m").with_mode(0o600),
            Entry::file("owner", "o").with_owner(1000, 1000),
            Entry::symlink("link", "there"),
            Entry::dir("retyped"),
        ],
        vec![Entry::file("added", "a"), Entry::file("hard", "h")],
    ];
    let fa = image_of_entries("a.tar", &a, Compression::Gzip, Format::Oci);
    let fb = image_of_entries("b.tar", &b, Compression::None, Format::Docker);
    let v = json_of(
        &strata(&[&"diff", &fa.arg(), &fb.arg(), &"--json"]),
        "diff A B",
    );
    let paths = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths("added"), ["added"]);
    assert_eq!(paths("removed"), ["hard-src", "removed"]);
    // `same` differs only in mtime and `hard` is a file with the same content: unchanged.
    let changed: BTreeMap<String, Vec<String>> = v["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let what = e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string());
            (e["path"].as_str().unwrap().to_string(), what.collect())
        })
        .collect();
    let want: BTreeMap<String, Vec<String>> = [
        ("content", vec!["content"]),
        ("link", vec!["target"]),
        ("mode", vec!["mode 0644 → 0600"]),
        ("owner", vec!["owner 0:0 → 1000:1000"]),
        ("retyped", vec!["type file → dir"]),
    ]
    .into_iter()
    .map(|(p, w)| (p.to_string(), w.into_iter().map(str::to_string).collect()))
    .collect();
    assert_eq!(changed, want, "{v}");
    let text = strata(&[&"diff", &fa.arg(), &fb.arg()]);
    text.assert_ok("diff text");
    assert!(
        String::from_utf8_lossy(&text.stdout).ends_with("1 added, 2 removed, 5 changed\n"),
        "{text}"
    );
}

/// `--tree`: each directory's total is the bytes of the regular files below it (hardlinks
/// counted once, at the file), `--depth` stops the drawing, PATH arguments pick subtrees.
#[test]
fn ls_tree_totals_depth_and_paths() {
    let layers = rootfs_layers();
    let fx = image_of_entries("rich-tree.tar", &layers, Compression::Gzip, Format::Oci);
    let rows = expected_rows(&layers);
    let total = |dir: &str| -> u64 {
        rows.iter()
            .filter(|(p, r)| {
                r["type"] == "file" && (dir.is_empty() || p.starts_with(&format!("{dir}/")))
            })
            .map(|(_, r)| r["size"].as_u64().unwrap())
            .sum()
    };
    let out = strata(&[&"ls", &fx.arg(), &"--tree", &"--depth", &"1"]);
    out.assert_ok("ls --tree");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let top_level: Vec<&String> = rows.keys().filter(|p| !p.contains('/')).collect();
    assert_eq!(
        lines.len(),
        1 + top_level.len(),
        "root + top level only:\n{text}"
    );
    let first: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(first[0], total("").to_string(), "root total:\n{text}");
    assert_eq!(first[2], "/", "{text}");
    for line in &lines[1..] {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let name = cols[3].trim_end_matches('/');
        let row = &rows[name];
        let want = match row["type"].as_str().unwrap() {
            "dir" => total(name).to_string(),
            "file" => row["size"].to_string(),
            _ => "-".to_string(),
        };
        assert_eq!(cols[0], want, "{line}");
        assert_eq!(cols[1], format!("L{}", row["layer"]), "{line}");
    }
    // One subtree only.
    let v = json_of(
        &strata(&[&"ls", &fx.arg(), &"/usr/share", &"--json"]),
        "ls PATH",
    );
    let want: BTreeMap<String, Value> = rows
        .iter()
        .filter(|(p, _)| *p == "usr/share" || p.starts_with("usr/share/"))
        .map(|(p, r)| (p.clone(), r.clone()))
        .collect();
    assert_rows(&v, &want, "ls /usr/share");
}

#[test]
fn missing_paths_and_layers_are_clear_errors() {
    let layers = vec![vec![
        Entry::file("etc/a", "a"),
        Entry::symlink("etc/loop", "loop"),
    ]];
    let fx = image_of_entries("small.tar", &layers, Compression::None, Format::Oci);
    for (args, says) in [
        (
            vec!["ls", "/nope"],
            "/nope: no such path in the image as of layer 0",
        ),
        (vec!["ls", "/etc/a/b"], "is not a directory"),
        (
            vec!["ls", "--layer", "5"],
            "--layer 5: the image has 1 layer (0 to 0)",
        ),
        (
            vec!["diff", "--layer", "5"],
            "--layer 5: the image has 1 layer (0 to 0)",
        ),
        (
            vec!["cat", "/etc/loop"],
            "too many levels of symbolic links",
        ),
    ] {
        let archive = fx.arg();
        let mut argv: Vec<&dyn AsRef<OsStr>> = vec![&args[0], &archive];
        argv.extend(args[1..].iter().map(|a| a as &dyn AsRef<OsStr>));
        let out = strata(&argv);
        assert_eq!(out.code, Some(2), "{args:?}: {out}");
        assert!(
            out.error_line().contains(says),
            "{args:?}: {}",
            out.error_line()
        );
    }
}

/// The limits a user sets apply to the explore commands too: past one, the image is refused
/// (exit 2) naming the limit and its flag; `--max-size` counts the file content read. At the
/// limits exactly, each command goes through.
#[test]
fn explore_commands_refuse_past_the_limits() {
    let layers = vec![
        vec![Entry::file("a", vec![b'a'; 4000]), Entry::file("b", "b\n")],
        vec![Entry::file("c", vec![b'c'; 4000])],
        vec![Entry::file("d", "d\n")],
    ];
    let fx = image_of_entries("limits.tar", &layers, Compression::Gzip, Format::Oci);
    let commands: [&[&str]; 4] = [&["ls"], &["diff"], &["waste"], &["cat", "/d"]];
    let cases: [(&[&str], &str); 3] = [
        (
            &["--max-layers", "2"],
            "3 layers, more than the limit of 2 set by --max-layers",
        ),
        (
            &["--max-files", "3"],
            "more than 3 entries, the limit set by --max-files",
        ),
        (
            &["--max-size", "5000"],
            "more than 5000 bytes of file content, the limit set by --max-size",
        ),
    ];
    for command in commands {
        for (flags, says) in cases {
            let archive = fx.arg();
            let mut argv: Vec<&dyn AsRef<OsStr>> = vec![&command[0], &archive];
            argv.extend(command[1..].iter().map(|a| a as &dyn AsRef<OsStr>));
            argv.extend(flags.iter().map(|a| a as &dyn AsRef<OsStr>));
            let out = strata(&argv);
            assert_eq!(out.code, Some(2), "{command:?} {flags:?}: {out}");
            // diff streams each layer's changes as it is applied: the layers below the one
            // that crossed the limit may be out already (exit 2 says the answer is cut short).
            if command[0] != "diff" {
                assert!(
                    out.stdout.is_empty(),
                    "{command:?} {flags:?} printed a partial answer: {out}"
                );
            }
            let line = out.error_line();
            assert!(line.contains(says), "{command:?} {flags:?}: {line}");
        }
        let archive = fx.arg();
        let mut argv: Vec<&dyn AsRef<OsStr>> = vec![&command[0], &archive];
        argv.extend(command[1..].iter().map(|a| a as &dyn AsRef<OsStr>));
        let at_limits = [
            "--max-layers",
            "3",
            "--max-files",
            "4",
            "--max-size",
            "8004",
        ];
        argv.extend(at_limits.iter().map(|a| a as &dyn AsRef<OsStr>));
        strata(&argv).assert_ok(&format!("{command:?} at the limits"));
    }
}

/// A layer whose bytes are not those its config names: ls, diff and cat refuse the image,
/// naming the layer, like extract.
#[test]
fn a_layer_that_does_not_match_its_diff_id_is_refused() {
    let layers = vec![vec![Entry::file("etc/os-release", "NAME=strata-test\n")]];
    let fx = image_of_entries("lying.tar", &layers, Compression::None, Format::Docker);
    let mut bytes = fx.bytes();
    let at = bytes
        .windows(16)
        .position(|w| w == b"NAME=strata-test")
        .expect("the file's bytes in the layer");
    bytes[at] = b'n';
    let bad = fx.dir.path().join("corrupt.tar");
    std::fs::write(&bad, &bytes).unwrap();
    for cmd in [vec!["ls"], vec!["diff"], vec!["cat", "/etc/os-release"]] {
        let mut argv: Vec<&dyn AsRef<OsStr>> = vec![&cmd[0], &bad];
        argv.extend(cmd[1..].iter().map(|a| a as &dyn AsRef<OsStr>));
        let out = strata(&argv);
        assert_eq!(out.code, Some(2), "{cmd:?}: {out}");
        let line = out.error_line();
        assert!(
            line.contains("layer 0") && line.contains("mismatch"),
            "{cmd:?}: {line}"
        );
    }
}

/// Every corpus image with a reference tree: `ls --json` has the same paths, types, modes,
/// owners and file sizes as what umoci unpacked (a hardlink is a file there).
#[test]
fn corpus_ls_matches_the_reference_trees() {
    let Some(names) = entries_with_rootfs() else {
        return;
    };
    let root = Path::new(CORPUS);
    let mut failures = Vec::new();
    let mut checked = 0;
    for name in &names {
        let dir = root.join(name);
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("rootfs-manifest.json")).unwrap(),
        )
        .unwrap();
        let Some(archive) = find_archive(&dir) else {
            failures.push(format!("{name}: no archive"));
            continue;
        };
        let out = strata(&[&"ls", &archive, &"--json"]);
        if out.code != Some(0) {
            // Multi-image archives need --image; the mount tests pick those apart.
            if out.stderr.contains("pick one with --image") {
                eprintln!("{name}: several images; skipped here");
                continue;
            }
            failures.push(format!("{name}: {}", out.error_line()));
            continue;
        }
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = tree_of_manifest(&manifest);
        let mut seen = BTreeSet::new();
        for row in got.as_array().unwrap() {
            let path = format!("/{}", row["path"].as_str().unwrap());
            seen.insert(path.clone());
            let Some(w) = want.get(&path) else {
                failures.push(format!("{name}: unexpected {path}"));
                continue;
            };
            let kind = match row["type"].as_str().unwrap() {
                "hardlink" => "file",
                k => k,
            };
            if kind != w.kind.name()
                || row["mode"] != w.mode
                || row["uid"] != w.uid
                || row["gid"] != w.gid
            {
                failures.push(format!("{name}: {path}: got {row}, want {:?}", w));
            }
            if let (NodeKind::File(size, _), "file") = (&w.kind, row["type"].as_str().unwrap()) {
                if row["size"] != *size {
                    failures.push(format!("{name}: {path}: size {} != {size}", row["size"]));
                }
            }
        }
        for p in want.keys().filter(|p| *p != "/" && !seen.contains(*p)) {
            failures.push(format!("{name}: missing {p}"));
        }
        // diff: replaying every layer's added and deleted paths gives the same tree.
        let out = strata(&[&"diff", &archive, &"--json"]);
        if out.code != Some(0) {
            failures.push(format!("{name}: diff: {}", out.error_line()));
            continue;
        }
        let layers: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut replayed = BTreeSet::new();
        for layer in layers.as_array().unwrap() {
            for c in layer["changes"].as_array().unwrap() {
                let path = format!("/{}", c["path"].as_str().unwrap());
                match c["change"].as_str().unwrap() {
                    "added" => {
                        replayed.insert(path);
                    }
                    "deleted" => {
                        replayed.remove(&path);
                    }
                    _ => {}
                }
            }
        }
        if replayed != seen {
            failures.push(format!(
                "{name}: diff's added/deleted replayed differ from ls: {:?}",
                replayed
                    .symmetric_difference(&seen)
                    .take(5)
                    .collect::<Vec<_>>()
            ));
        }
        // cat: a sample of the files, against the reference's sha256.
        let files = want.iter().filter_map(|(p, n)| match &n.kind {
            NodeKind::File(_, sha) => Some((p, sha)),
            _ => None,
        });
        for (path, sha) in files.take(12) {
            let out = strata(&[&"cat", &archive, path]);
            if out.code != Some(0) || sha256_of(&out.stdout) != *sha {
                failures.push(format!("{name}: cat {path}: {}", out.error_line()));
            }
        }
        checked += 1;
    }
    eprintln!("corpus ls checked on {checked} images");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// fuzz/regressions/rule_engine-explore-hardlink-to-fifo: a hardlink names one inode with its
/// target, whatever the target is. `ls` keeps calling the entry a hardlink, with the target's
/// mode; comparing two images, a hardlink to a fifo and a fifo are the same thing.
#[test]
fn a_hardlink_to_a_fifo_is_that_fifo() {
    let a = vec![vec![
        Entry::fifo("a").with_mode(0o600),
        Entry::hardlink("b/x", "a"),
    ]];
    let b = vec![vec![
        Entry::fifo("a").with_mode(0o600),
        Entry::fifo("b/x").with_mode(0o600),
    ]];
    let fa = image_of_entries("fifo-link.tar", &a, Compression::None, Format::Oci);
    let fb = image_of_entries("fifo-fifo.tar", &b, Compression::None, Format::Oci);
    let ls = json_of(&strata(&[&"ls", &fa.arg(), &"/b/x", &"--json"]), "ls");
    assert_eq!(ls[0]["type"], "hardlink", "{ls}");
    assert_eq!(ls[0]["mode"], 0o600, "{ls}");
    assert_eq!(ls[0]["link"], "a", "{ls}");
    let v = json_of(
        &strata(&[&"diff", &fa.arg(), &fb.arg(), &"--json"]),
        "diff A B",
    );
    assert_eq!(v["changed"], serde_json::json!([]), "{v}");
}
