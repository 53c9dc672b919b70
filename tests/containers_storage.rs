//! `containers-storage:REF` against the real thing: podman (with a private `--root`, overlay
//! driver) loads testdata/hello.tar and a fixture with whiteouts, opaque dirs, links and long
//! names; then strata reads that storage without podman and must agree with the archives
//! (inspect, ls, extract), with `podman history`, and must name a file changed on disk.
//! Without podman or root, each test says why (common::skipped) and passes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::common::layer::Compression;
use crate::common::rootfs::read_tree;
use crate::common::sandbox::{image_of_entries, is_root, Format};
use crate::common::stores::{
    cached, copy_of, find_in_layers, findings, json_of, listing, remove_at_exit, shown, strata,
    with,
};
use crate::common::tarball::Entry;
use crate::common::{assert_clean_error, Fixture, Run};
use serde_json::Value;

struct Loaded {
    /// The name podman load printed (`localhost/hello:latest`).
    name: String,
    archive: PathBuf,
    id: String,
    /// `podman history --format json --no-trunc`: (id, size) of each row.
    history: Vec<(String, u64)>,
    /// `podman history` as printed, for each of [`TABLE_FLAGS`].
    history_tables: Vec<String>,
}

const TABLE_FLAGS: [&[&str]; 3] = [&[], &["--no-trunc"], &["-H=false"]];

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    images: Vec<Loaded>,
    /// `podman images --format json`.
    podman_images: Value,
    /// `podman images` and `podman images --no-trunc` as printed.
    podman_images_tables: Vec<String>,
    _fixtures: Vec<Fixture>,
}

static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();

fn setup() -> Option<&'static Setup> {
    cached(&SETUP, start)
}

fn podman(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("podman")
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("run"))
        .args(["--storage-driver", "overlay", "--log-level", "error"])
        .args(args)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("podman: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn start() -> Result<Setup, String> {
    if !is_root() {
        return Err("not root: podman's overlay storage here needs root".into());
    }
    let found = Command::new("sh")
        .args(["-c", "command -v podman"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Err("podman is not installed (Debian's podman)".into());
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    remove_at_exit(dir.path());
    let hello = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar"));
    // podman itself may not work in this sandbox: then the machine, not strata, is at fault.
    podman(dir.path(), &["load", "-q", "-i", hello.to_str().unwrap()])
        .map_err(|e| format!("podman cannot load an image here: {e}"))?;
    let layers = vec![
        vec![
            Entry::dir("etc"),
            Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            Entry::file("etc/shadow", "root:*:19000::::::\n").with_mode(0o640),
            Entry::dir("usr"),
            Entry::dir("usr/lib"),
            Entry::file("usr/lib/libc.so", vec![7u8; 70_000]),
            Entry::hardlink("usr/lib/libc.so.6", "usr/lib/libc.so"),
            Entry::symlink("usr/lib/libc.link", "libc.so"),
            Entry::file(
                &format!("usr/{}long.txt", "long-name-segment-".repeat(7)),
                vec![b'l'; 3000],
            ),
            Entry::dir("var"),
            Entry::dir("var/cache"),
            Entry::file("var/cache/a", "a"),
        ],
        vec![
            Entry::dir("etc"),
            Entry::whiteout("etc", "shadow"),
            Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n").with_pax(),
            Entry::dir("var"),
            Entry::dir("var/cache"),
            Entry::opaque("var/cache"),
            Entry::file("var/cache/c", "c"),
        ],
    ];
    let rootfs = image_of_entries("rootfs.tar", &layers, Compression::None, Format::Docker);
    let mut images = Vec::new();
    for archive in [hello, rootfs.path.clone()] {
        let said = podman(dir.path(), &["load", "-i", archive.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("loading {}: {e}", archive.display()));
        let name = said
            .lines()
            .find_map(|l| l.strip_prefix("Loaded image: "))
            .unwrap_or_else(|| panic!("podman load said {said:?}"))
            .trim()
            .to_string();
        let id = podman(
            dir.path(),
            &["image", "inspect", "--format", "{{.Id}}", &name],
        )
        .unwrap()
        .trim()
        .to_string();
        let json: Value = serde_json::from_str(
            &podman(
                dir.path(),
                &["history", "--no-trunc", "--format", "json", &name],
            )
            .unwrap(),
        )
        .unwrap();
        let history = json
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_string(),
                    r["size"].as_u64().unwrap(),
                )
            })
            .collect();
        let history_tables = TABLE_FLAGS
            .iter()
            .map(|flags| {
                let mut args = vec!["history"];
                args.extend_from_slice(flags);
                args.push(&name);
                podman(dir.path(), &args).unwrap()
            })
            .collect();
        images.push(Loaded {
            name,
            archive,
            id,
            history,
            history_tables,
        });
    }
    let podman_images =
        serde_json::from_str(&podman(dir.path(), &["images", "--format", "json"]).unwrap())
            .unwrap();
    let podman_images_tables = [&[][..], &["--no-trunc"][..]]
        .iter()
        .map(|flags| {
            let mut args = vec!["images"];
            args.extend_from_slice(flags);
            podman(dir.path(), &args).unwrap()
        })
        .collect();
    Ok(Setup {
        podman_images,
        podman_images_tables,
        root: dir.path().join("root"),
        _dir: dir,
        images,
        _fixtures: vec![rootfs],
    })
}

impl Setup {
    fn source(&self, reference: &str) -> Vec<String> {
        vec![
            format!("containers-storage:{reference}"),
            "--storage-root".into(),
            self.root.to_string_lossy().into_owned(),
        ]
    }
}

fn archive_args(l: &Loaded) -> Vec<String> {
    vec![l.archive.to_string_lossy().into_owned()]
}

#[test]
fn inspect_ls_and_extract_agree_with_the_archive() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        let ours = json_of(&with(
            vec!["inspect".into()],
            s.source(&l.name),
            &["--json"],
        ));
        let theirs = json_of(&with(vec!["inspect".into()], archive_args(l), &["--json"]));
        assert_eq!(ours["source"]["format"], "containers-storage");
        assert_eq!(ours["image"]["id"], format!("sha256:{}", l.id).as_str());
        assert_eq!(ours["image"]["id"], theirs["image"]["id"]);
        let pick = |v: &Value, k: &str| -> Vec<Value> {
            v["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l[k].clone())
                .collect()
        };
        for key in ["diff_id", "chain_id", "size", "files"] {
            assert_eq!(pick(&ours, key), pick(&theirs, key), "{key} of {}", l.name);
        }
        let ours = json_of(&with(vec!["ls".into()], s.source(&l.name), &["--json"]));
        let theirs = json_of(&with(vec!["ls".into()], archive_args(l), &["--json"]));
        assert_eq!(ours, theirs, "ls of {}", l.name);

        let out = tempfile::tempdir().unwrap();
        let (a, b) = (out.path().join("a"), out.path().join("b"));
        let r = strata(&with(
            vec!["extract".into()],
            s.source(&l.name),
            &[a.to_str().unwrap()],
        ));
        assert_eq!(r.code, 0, "{r}");
        let r = strata(&with(
            vec!["extract".into()],
            archive_args(l),
            &[b.to_str().unwrap()],
        ));
        assert_eq!(r.code, 0, "{r}");
        assert_eq!(read_tree(&a), read_tree(&b), "extract of {}", l.name);
    }
}

#[test]
fn history_has_podmans_ids_and_sizes() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        let r = strata(&with(
            vec!["history".into()],
            s.source(&l.name),
            &["--no-trunc", "-H=false", "--format", "{{.ID}}\t{{.Size}}"],
        ));
        assert_eq!(r.code, 0, "{r}");
        let ours: Vec<(String, u64)> = r
            .stdout
            .lines()
            .map(|line| {
                let (id, size) = line.split_once('\t').unwrap();
                let id = id.strip_prefix("sha256:").unwrap_or(id).to_string();
                (id, size.parse().unwrap())
            })
            .collect();
        assert_eq!(ours, l.history, "history of {}", l.name);
    }
}

#[test]
fn references_resolve_like_podman() {
    let Some(s) = setup() else { return };
    let hello = s.images.iter().find(|l| l.name.contains("hello")).unwrap();
    for reference in [
        "hello",
        "hello:latest",
        "localhost/hello:latest",
        hello.id.as_str(),
        &hello.id[..12],
    ] {
        let v = json_of(&with(
            vec!["inspect".into()],
            s.source(reference),
            &["--json"],
        ));
        assert_eq!(
            v["image"]["id"],
            format!("sha256:{}", hello.id).as_str(),
            "{reference}"
        );
    }
    let r = strata(&with(vec!["inspect".into()], s.source("nope:1"), &[]));
    assert_clean_error(&r, &s.root.to_string_lossy());
    assert!(
        r.stderr.contains("localhost/hello:latest"),
        "lists the names:\n{r}"
    );
    // Each root flag belongs to its own source.
    let r = strata(&[
        "inspect".into(),
        "containers-storage:hello".into(),
        "--docker-root".into(),
        s.root.to_string_lossy().into_owned(),
    ]);
    assert_clean_error(&r, "--docker-root");
}

#[test]
fn verify_proves_the_files_and_names_a_changed_one_without_writing() {
    let Some(s) = setup() else { return };
    let before = listing(&s.root);
    for l in &s.images {
        let r = strata(&with(vec!["verify".into()], s.source(&l.name), &[]));
        assert_eq!(r.code, 0, "{r}");
        assert!(r.stdout.contains("all ok"), "{r}");
    }
    assert_eq!(before, listing(&s.root), "the storage was written");

    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let file = find_in_layers(&root.join("overlay"), "usr/share/greeting.txt");
    let shown = shown(&file, &root);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    let r = strata(&[
        "verify".into(),
        "containers-storage:hello".into(),
        "--storage-root".into(),
        root.to_string_lossy().into_owned(),
    ]);
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains(&format!("{shown}: changed on disk")),
        "{r}"
    );
}

#[test]
fn images_lists_podmans_names_ids_and_sizes() {
    let Some(s) = setup() else { return };
    let ours = json_of(&with(vec!["images".into()], s.source(""), &["--json"]));
    let mut ours: Vec<(String, String, u64)> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{}:{}",
                    r["repository"].as_str().unwrap(),
                    r["tag"].as_str().unwrap()
                ),
                r["id"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string(),
                r["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut theirs: Vec<(String, String, u64)> = Vec::new();
    for i in s.podman_images.as_array().unwrap() {
        for name in i["Names"].as_array().unwrap() {
            theirs.push((
                name.as_str().unwrap().to_string(),
                i["Id"].as_str().unwrap().to_string(),
                i["Size"].as_u64().unwrap(),
            ));
        }
    }
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), s.images.len());
    let table = strata(&with(vec!["images".into()], s.source(""), &[]));
    assert_eq!(table.code, 0, "{table}");
    assert!(table.stdout.starts_with("REPOSITORY"), "{table}");
    assert!(table.stdout.contains("localhost/hello"), "{table}");
}

fn storage_check(root: &Path) -> (Run, Vec<(String, String)>) {
    let r = strata(&[
        "storage".into(),
        "check".into(),
        "containers-storage:".into(),
        "--storage-root".into(),
        root.to_string_lossy().into_owned(),
        "--json".into(),
    ]);
    let (_, list) = findings(&r);
    (r, list)
}

#[test]
fn storage_check_is_clean_then_names_a_changed_file_an_orphan_and_a_dangling_link() {
    let Some(s) = setup() else { return };
    let (r, list) = storage_check(&s.root);
    assert_eq!(r.code, 0, "{r}");
    assert!(list.is_empty(), "{list:?}");

    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let file = find_in_layers(&root.join("overlay"), "usr/share/greeting.txt");
    let shown = shown(&file, &root);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[2] ^= 0x04;
    std::fs::write(&file, &bytes).unwrap();
    std::fs::create_dir_all(root.join("overlay/planted-orphan/diff")).unwrap();
    std::fs::write(root.join("overlay/planted-orphan/diff/f"), "xyz").unwrap();
    std::os::unix::fs::symlink(
        "../gone/diff",
        root.join("overlay/l/PLANTEDLINKAAAAAAAAAAAAAAA"),
    )
    .unwrap();
    let (r, list) = storage_check(&root);
    assert_eq!(r.code, 1, "{r}");
    let has = |kind: &str, path: &str| list.iter().any(|(k, p)| k == kind && p == path);
    for (kind, path) in [
        ("file-changed", shown.as_str()),
        ("diff-id", "overlay-layers/layers.json"),
        ("orphan-dir", "overlay/planted-orphan"),
        ("dangling-link", "overlay/l/PLANTEDLINKAAAAAAAAAAAAAAA"),
    ] {
        assert!(has(kind, path), "no {kind} finding for {path}: {list:#?}");
    }
    assert_eq!(list.len(), 4, "{list:#?}");
}

#[test]
fn mount_stacks_the_storages_own_layer_dirs_and_writes_nothing_there() {
    use crate::common::overlay::{printed_upper, read_view, without_links, MountEnv};
    let Some(s) = setup() else { return };
    if !common::overlay::ready() {
        return;
    }
    let before = listing(&s.root);
    let env = MountEnv::new();
    for (i, l) in s.images.iter().enumerate() {
        let source: Vec<std::ffi::OsString> =
            s.source(&l.name).into_iter().map(Into::into).collect();
        let mp = env.mountpoint(&format!("mp{i}"));
        let out = env.mount_ok(&source, &mp, &[]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("nothing copied"),
            "{out}"
        );
        assert!(env.layer_dirs().is_empty(), "{:?}", env.layer_dirs());
        let mut want = without_links(env.extract_tree(&source, &format!("x{i}"), &[]));
        let mut got = without_links(read_view(&mp));
        want.get_mut("/").unwrap().mtime = None;
        got.get_mut("/").unwrap().mtime = None;
        // The merged root takes the top layer dir's mode, which is the storage's own choice
        // (containers-storage makes `diff/` 0555 when the layer has no root entry; extract
        // gives such a root docker's 0755): compared with the dir on disk instead.
        let on_disk = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(top_diff(&s.root, &l.id))
                .unwrap()
                .permissions(),
        ) & 0o7777;
        assert_eq!(got["/"].mode, on_disk, "{}", l.name);
        want.get_mut("/").unwrap().mode = on_disk;
        let d = common::rootfs::diff_trees(&want, &got);
        assert!(
            d.is_empty(),
            "{}: merged view vs extract:\n{}",
            l.name,
            d.join("\n")
        );
        std::fs::write(mp.join("poke"), "poke").unwrap();
        let upper = printed_upper(&out).unwrap();
        assert!(upper.join("poke").is_file() && upper.starts_with(&env.store));
        env.umount_ok(&mp, &[]);
    }
    assert_eq!(before, listing(&s.root), "the storage was written");
}

/// `overlay/<top layer>/diff` of image `id` (podman's `image inspect` names the top layer).
fn top_diff(root: &Path, id: &str) -> PathBuf {
    let images: Value =
        serde_json::from_slice(&std::fs::read(root.join("overlay-images/images.json")).unwrap())
            .unwrap();
    let layer = images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap()["layer"]
        .as_str()
        .unwrap()
        .to_string();
    root.join("overlay").join(layer).join("diff")
}

/// A table's lines, sorted, with an age counted in seconds or minutes (which may have moved on
/// since podman printed it) reduced to its words.
fn stable_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.contains("second") || l.contains("minute") {
                l.split_whitespace()
                    .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                l.to_string()
            }
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn history_and_images_print_podmans_tables() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        for (flags, podman_said) in TABLE_FLAGS.iter().zip(&l.history_tables) {
            let r = strata(&with(vec!["history".into()], s.source(&l.name), flags));
            assert_eq!(r.code, 0, "{r}");
            // Rows in podman's order: compared line by line.
            assert_eq!(&r.stdout, podman_said, "history {flags:?} of {}", l.name);
        }
    }
    for (flags, podman_said) in [&[][..], &["--no-trunc"][..]]
        .iter()
        .zip(&s.podman_images_tables)
    {
        let r = strata(&with(vec!["images".into()], s.source(""), flags));
        assert_eq!(r.code, 0, "{r}");
        assert_eq!(
            r.stdout.lines().next(),
            podman_said.lines().next(),
            "header"
        );
        assert_eq!(
            stable_lines(&r.stdout),
            stable_lines(podman_said),
            "images {flags:?}"
        );
    }
}
