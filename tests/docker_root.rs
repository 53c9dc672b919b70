//! `docker-root:REF` against the real thing: a private Docker 26 `dockerd` (tests/common/docker.rs;
//! one per test binary, started on first use) loads testdata/hello.tar, a fixture built from
//! `rootfs_layers()` and a few corpus docker-save archives, answers `docker history` for each,
//! and is stopped; then strata reads the quiet data root and must agree with the archives
//! (inspect, ls, extract, cat, waste, chainid), with `docker history`, and must name a file
//! changed on disk. `storage check` must find the
//! fresh data root clean and name each planted fault; `images docker-root:` must list what
//! `docker images` listed. Without Docker 26 or root, each test says why on stderr and is
//! counted as skipped.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::corpus::CORPUS;
use crate::common::docker::{Daemon, Mode};
use crate::common::layer::Compression;
use crate::common::rootfs::read_tree;
use crate::common::sandbox::{image_of_entries, Format};
use crate::common::stores::{
    self, cached, copy_of, find_in_layers, hashes, json_of, listing, remove_at_exit, strata, with,
};
use crate::common::tarball::Entry;
use crate::common::{assert_clean_error, Fixture, Run};
use serde_json::Value;

/// One image `docker load` put in the data root, with what the daemon said about it.
struct Loaded {
    /// The name docker load printed (a tag, or the image ID when untagged).
    reference: String,
    archive: PathBuf,
    id: String,
    /// `docker history` output for each of [`HISTORY_FLAGS`].
    history: Vec<String>,
    /// `docker image inspect` of it (the object, not the one-element array).
    inspect: Value,
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    images: Vec<Loaded>,
    /// `docker images` output for each of [`IMAGES_FLAGS`], and when it was taken.
    docker_images: Vec<String>,
    /// The image `docker create` made a container of (so the data root has a container).
    container_of: String,
    /// Whether a container ran (and exited) before the daemon stopped.
    ran: bool,
    /// Whether BuildKit built (with docker-buildx), or why not.
    built: Result<(), String>,
    /// `strata storage df --json` before docker's first `system df`.
    df_before_docker: Run,
    /// `GET /system/df` (exact bytes), and `docker system df -v` / `docker system df` as printed.
    system_df: Value,
    system_df_v: String,
    system_df_summary: String,
    /// strata's answers read while the daemon was still running: (what, output).
    live: Vec<(String, String)>,
    _fixtures: Vec<Fixture>,
}

const HISTORY_FLAGS: [&[&str]; 3] = [
    &[],
    &["--no-trunc", "-H=false"],
    &["--format", "json", "--no-trunc"],
];

const IMAGES_FLAGS: [&[&str]; 2] = [&[], &["--no-trunc"]];

static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();

/// The loaded data root, or why it cannot be had here (printed, and the test returns).
/// Two `docker buildx build`s against the daemon (its own BuildKit), `FROM scratch` with
/// `COPY`s of files from one context, the second sharing the first's first step; the images
/// tagged (an untagged one would be dangling).
fn build_twice(daemon: &Daemon, dir: &Path) -> Result<(), String> {
    // The CLI finds the plugin where .ci/run unpacked docker-buildx beside it.
    let usr = daemon.install.docker.parent().and_then(Path::parent);
    let plugins = usr
        .map(|u| u.join("libexec/docker/cli-plugins"))
        .filter(|p| p.join("docker-buildx").is_file())
        .ok_or("docker-buildx is not installed beside the docker CLI (.ci/run installs it)")?;
    let config = daemon.sock.parent().unwrap().join("cli-config");
    std::fs::create_dir_all(&config).map_err(|e| e.to_string())?;
    std::fs::write(
        config.join("config.json"),
        serde_json::json!({ "cliPluginsExtraDirs": [plugins] }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    let context = dir.join("build-context");
    std::fs::create_dir_all(&context).map_err(|e| e.to_string())?;
    let files: [(&str, Vec<u8>); 5] = [
        ("a.txt", b"shared by both builds\n".to_vec()),
        ("b.bin", vec![b'b'; 40_000]),
        ("c.txt", vec![b'c'; 3_000]),
        (
            "Dockerfile.one",
            b"FROM scratch\nCOPY a.txt /a.txt\nCOPY b.bin /b.bin\n".to_vec(),
        ),
        (
            "Dockerfile.two",
            b"FROM scratch\nCOPY a.txt /a.txt\nCOPY c.txt /c.txt\n".to_vec(),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(context.join(name), bytes).map_err(|e| e.to_string())?;
    }
    let ctx = context.to_str().unwrap();
    for (file, tag) in [
        ("Dockerfile.one", "strata-test/built:1"),
        ("Dockerfile.two", "strata-test/built:2"),
    ] {
        let dockerfile = context.join(file);
        daemon.docker(&[
            "buildx",
            "build",
            "--progress",
            "plain",
            "-f",
            dockerfile.to_str().unwrap(),
            "-t",
            tag,
            ctx,
        ])?;
    }
    Ok(())
}

fn setup() -> Option<&'static Setup> {
    cached(&SETUP, start)
}

fn start() -> Result<Setup, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Statics are never dropped: the data root goes at exit.
    remove_at_exit(dir.path());
    let daemon = Daemon::start(dir.path(), Mode::Graphdriver)?;
    let root = daemon.root.clone();
    let docker = |args: &[&str]| daemon.docker(args);

    // rootfs_layers() is too adversarial for docker load (GNU sparse entries, hardlinks to a
    // lower layer's file, a device over an existing file): this covers what docker keeps on disk
    // in its own way (whiteouts as devices, opaque dirs as xattrs, links, long names, modes).
    let long = format!("usr/share/{}long.txt", "long-name-segment-".repeat(7));
    let layers = vec![
        vec![
            Entry::dir("etc"),
            Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            Entry::file("etc/shadow", "root:*:19000::::::\n")
                .with_mode(0o640)
                .with_owner(0, 42),
            Entry::dir("usr"),
            Entry::dir("usr/share"),
            Entry::file(&long, vec![b'l'; 3000]),
            Entry::dir("usr/lib"),
            Entry::file("usr/lib/libc.so", vec![7u8; 70_000]),
            Entry::hardlink("usr/lib/libc.so.6", "usr/lib/libc.so"),
            Entry::symlink("usr/lib/libc.link", "libc.so"),
            Entry::dir("var"),
            Entry::dir("var/cache"),
            Entry::file("var/cache/a", "a"),
            Entry::file("var/cache/b", "b"),
            Entry::file("empty", ""),
        ],
        vec![
            Entry::dir("etc"),
            Entry::whiteout("etc", "shadow"),
            Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n").with_pax(),
            Entry::dir("var"),
            Entry::dir("var/cache"),
            Entry::opaque("var/cache"),
            Entry::file("var/cache/c", "c"),
            Entry::fifo("var/fifo"),
        ],
    ];
    let rootfs = image_of_entries("rootfs.tar", &layers, Compression::None, Format::Docker);
    // The rootfs fixture's base layer alone: two images share a layer (docker's SharedSize).
    let base = image_of_entries("base.tar", &layers[..1], Compression::None, Format::Docker);
    let mut archives = vec![
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar")),
        base.path.clone(),
        rootfs.path.clone(),
    ];
    for (entry, file) in [
        ("dive.test-docker-image", "test-docker-image.tar"),
        ("ggcr.mutate.whiteout_image", "whiteout_image.tar"),
        // (umoci-small.docker is left out: docker load itself fails on it, a whiteout over a
        // file whose parent is not a directory.)
    ] {
        let p = Path::new(CORPUS).join(entry).join(file);
        if p.exists() {
            archives.push(p);
        }
    }
    let mut images = Vec::new();
    for archive in archives {
        // The daemon runs: from here on a failure is the test's, not the machine's.
        let said = docker(&["load", "-q", "-i", archive.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("loading {}: {e}", archive.display()));
        let reference = said
            .lines()
            .find_map(|l| {
                l.strip_prefix("Loaded image: ")
                    .or_else(|| l.strip_prefix("Loaded image ID: "))
            })
            .unwrap_or_else(|| panic!("docker load said {said:?}"))
            .trim()
            .to_string();
        // The base image's fixture tag is the rootfs image's too: give it its own.
        let reference = if archive == base.path {
            let own = "strata-test/base:1".to_string();
            docker(&["tag", &reference, &own]).unwrap();
            docker(&["rmi", &reference]).unwrap();
            own
        } else {
            reference
        };
        let id = docker(&["image", "inspect", "--format", "{{.Id}}", &reference])
            .unwrap()
            .trim()
            .to_string();
        let mut history = Vec::new();
        for flags in HISTORY_FLAGS {
            let mut args = vec!["history"];
            args.extend_from_slice(flags);
            args.push(&reference);
            history.push(docker(&args).unwrap());
        }
        // An untagged image would be a dangling one, which `storage check` rightly reports:
        // a tag keeps the fresh data root clean.
        if reference.starts_with("sha256:") {
            let tag = format!("strata-test/untagged:{}", images.len());
            docker(&["tag", &reference, &tag]).unwrap();
        }
        images.push(Loaded {
            reference,
            archive,
            id,
            history,
            inspect: Value::Null,
        });
    }
    // A container (never started): its directories and the layers it stands on are in use.
    let container_of = "hello:latest".to_string();
    let first = docker(&["create", &container_of, "/greeting"]).unwrap();
    // Bytes in its writable layer (docker's SizeRw): `docker cp` needs no running container.
    let added = dir.path().join("added");
    std::fs::write(&added, vec![b'w'; 2500]).unwrap();
    docker(&[
        "cp",
        added.to_str().unwrap(),
        &format!("{}:/added", first.trim()),
    ])
    .unwrap();
    // Volumes: `v1` mounted by a container, `v-idle` by none, and an anonymous one. Their
    // files are written from the host (a container need not be able to run here).
    docker(&["volume", "create", "v1"]).unwrap();
    docker(&["volume", "create", "v-idle"]).unwrap();
    docker(&[
        "create",
        "--name",
        "with-v1",
        "-v",
        "v1:/data",
        &container_of,
        "/greeting",
    ])
    .unwrap();
    docker(&[
        "create",
        "-v",
        "/data2",
        &container_of,
        "sh",
        "-c",
        "echo a command longer than twenty columns",
    ])
    .unwrap();
    // A container whose tag moved to another image since: docker names its image by ID.
    // The tag then moves to an image with a tag of its own: `docker system df -v` shows an
    // image under its first tag only.
    docker(&["tag", "strata-test/base:1", "strata-test/moved:1"]).unwrap();
    docker(&["create", "strata-test/moved:1", "/x"]).unwrap();
    assert_eq!(images[2].archive, rootfs.path);
    docker(&["tag", &images[2].id, "strata-test/moved:1"]).unwrap();
    // A container that ran and exited, where containers can run here (dive-test has a
    // shell): docker words its status "Exited (3) … ago".
    let ran = match images.iter().find(|l| l.reference.starts_with("dive-test")) {
        None => {
            eprintln!("no dive-test image (corpus): storage df's exited container is not tested");
            false
        }
        Some(dive) => {
            let said = docker(&[
                "run",
                "--name",
                "exited",
                &dive.reference,
                "sh",
                "-c",
                "echo ran > /ran; exit 3",
            ]);
            let state = docker(&["inspect", "--format", "{{.State.Status}}", "exited"]);
            let ran = state.as_deref().map(str::trim) == Ok("exited");
            if !ran {
                eprintln!(
                    "containers cannot run here ({}): storage df's exited container is not tested",
                    said.err().unwrap_or_default()
                );
            }
            ran
        }
    };
    let v1 = root.join("volumes/v1/_data");
    std::fs::create_dir_all(v1.join("dir")).unwrap();
    std::fs::write(v1.join("blob"), vec![b'b'; 5000]).unwrap();
    std::fs::write(v1.join("dir/small"), vec![b's'; 123]).unwrap();
    std::fs::hard_link(v1.join("blob"), v1.join("dir/blob-again")).unwrap();
    std::os::unix::fs::symlink("blob", v1.join("link")).unwrap();
    std::fs::write(root.join("volumes/v-idle/_data/idle"), vec![b'i'; 777]).unwrap();
    // BuildKit's cache (storage df's Build Cache): two builds from scratch that need no
    // running container and share their first step, so the data root has cache records of
    // each kind a plain build leaves (the context's, COPY steps, one reused).
    let built = build_twice(&daemon, dir.path());
    if let Err(why) = &built {
        eprintln!("no build cache: {why}");
    }
    let docker_images = IMAGES_FLAGS
        .iter()
        .map(|flags| {
            let mut args = vec!["images"];
            args.extend_from_slice(flags);
            docker(&args).unwrap()
        })
        .collect();
    // After every tag was made: `docker image inspect` and the daemon's disk usage.
    for l in &mut images {
        let v: Value =
            serde_json::from_str(&docker(&["image", "inspect", &l.id]).unwrap()).unwrap();
        l.inspect = v[0].clone();
    }
    // strata's build cache before the daemon measured any record (its first `system df`
    // does, and records the sizes): the sizes must come out the same.
    let df_before_docker = strata(&[
        "storage".into(),
        "df".into(),
        "docker-root:".into(),
        "--docker-root".into(),
        root.to_string_lossy().into_owned(),
        "--json".into(),
    ]);
    let system_df = daemon.api("/system/df").unwrap();
    let system_df_v = docker(&["system", "df", "-v"]).unwrap();
    let system_df_summary = docker(&["system", "df"]).unwrap();
    // strata's reads while the daemon runs (it holds files open and may write metadata): the
    // tests compare them with the same reads of the quiet data root.
    let live = live_reads(&root, &images);
    daemon.stop();
    Ok(Setup {
        live,
        system_df,
        system_df_v,
        system_df_summary,
        _dir: dir,
        root,
        images,
        docker_images,
        container_of,
        ran,
        built,
        df_before_docker,
        _fixtures: vec![rootfs, base],
    })
}

impl Setup {
    fn source(&self, reference: &str) -> Vec<String> {
        vec![
            format!("docker-root:{reference}"),
            "--docker-root".into(),
            self.root.to_string_lossy().into_owned(),
        ]
    }
}

/// The archive side: picked by image ID, since some archives hold several images.
fn archive_args(l: &Loaded) -> Vec<String> {
    vec![
        l.archive.to_string_lossy().into_owned(),
        "--image".into(),
        l.id.clone(),
    ]
}

#[test]
fn inspect_gives_the_archives_ids_diff_ids_and_chain_ids() {
    let Some(s) = setup() else { return };
    assert!(
        s.images.len() >= 2,
        "hello.tar and the rootfs fixture are loaded"
    );
    for l in &s.images {
        let ours = json_of(&with(
            vec!["inspect".into()],
            s.source(&l.reference),
            &["--json"],
        ));
        let theirs = json_of(&with(vec!["inspect".into()], archive_args(l), &["--json"]));
        assert_eq!(
            ours["image"]["id"],
            Value::from(l.id.clone()),
            "{}",
            l.reference
        );
        assert_eq!(ours["image"]["id"], theirs["image"]["id"]);
        assert_eq!(ours["source"]["format"], "docker-root");
        let pick = |v: &Value, k: &str| -> Vec<Value> {
            v["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l[k].clone())
                .collect()
        };
        for key in ["diff_id", "chain_id", "size", "files"] {
            assert_eq!(
                pick(&ours, key),
                pick(&theirs, key),
                "{key} of {}",
                l.reference
            );
        }
        // The rebuilt blob is the layer's tar itself.
        assert_eq!(pick(&ours, "digest"), pick(&ours, "diff_id"));
        assert_eq!(ours["history"], theirs["history"], "{}", l.reference);
    }
}

#[test]
fn history_prints_what_docker_history_printed() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        for (flags, docker_said) in HISTORY_FLAGS.iter().zip(&l.history) {
            let r = strata(&with(vec!["history".into()], s.source(&l.reference), flags));
            assert_eq!(r.code, 0, "{r}");
            assert_eq!(
                &r.stdout, docker_said,
                "history {flags:?} of {}",
                l.reference
            );
        }
    }
}

#[test]
fn references_resolve_like_docker() {
    let Some(s) = setup() else { return };
    let hello = s
        .images
        .iter()
        .find(|l| l.reference == "hello:latest")
        .unwrap();
    let hex = hello.id.strip_prefix("sha256:").unwrap();
    for reference in [
        "hello",
        "hello:latest",
        "docker.io/library/hello:latest",
        hello.id.as_str(),
        hex,
        &hex[..12],
        &format!("sha256:{}", &hex[..8]),
    ] {
        let v = json_of(&with(
            vec!["inspect".into()],
            s.source(reference),
            &["--json"],
        ));
        assert_eq!(
            v["image"]["id"],
            Value::from(hello.id.clone()),
            "{reference}"
        );
        assert_eq!(v["image"]["tags"], serde_json::json!(["hello:latest"]));
    }
    let r = strata(&with(vec!["inspect".into()], s.source("nope:1"), &[]));
    assert_clean_error(&r, &s.root.to_string_lossy());
    assert!(r.stderr.contains("hello:latest"), "lists the tags:\n{r}");
    // chainid's --archive takes the source too.
    let mut args = vec!["chainid".into(), "--archive".into()];
    args.extend(s.source("hello"));
    let ours = strata(&args);
    let theirs = strata(&[
        "chainid".into(),
        "--archive".into(),
        hello.archive.to_string_lossy().into_owned(),
    ]);
    assert_eq!(ours.code, 0, "{ours}");
    assert_eq!(ours.stdout, theirs.stdout);
}

#[test]
fn ls_extract_cat_and_waste_agree_with_the_archive() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        let ours = json_of(&with(
            vec!["ls".into()],
            s.source(&l.reference),
            &["--json"],
        ));
        let theirs = json_of(&with(vec!["ls".into()], archive_args(l), &["--json"]));
        assert_eq!(ours, theirs, "ls of {}", l.reference);

        let out = tempfile::tempdir().unwrap();
        let (a, b) = (out.path().join("a"), out.path().join("b"));
        let mut args = vec!["extract".to_string()];
        args.extend(s.source(&l.reference));
        args.push(a.to_string_lossy().into_owned());
        let r = strata(&args);
        assert_eq!(r.code, 0, "{r}");
        let mut args = vec!["extract".to_string()];
        args.extend(archive_args(l));
        args.push(b.to_string_lossy().into_owned());
        let r = strata(&args);
        assert_eq!(r.code, 0, "{r}");
        assert_eq!(read_tree(&a), read_tree(&b), "extract of {}", l.reference);

        let mut ours = json_of(&with(
            vec!["waste".into()],
            s.source(&l.reference),
            &["--json"],
        ));
        let mut theirs = json_of(&with(vec!["waste".into()], archive_args(l), &["--json"]));
        // Everything but where it was read from.
        ours["source"] = Value::Null;
        theirs["source"] = Value::Null;
        assert_eq!(ours, theirs, "waste of {}", l.reference);
    }
    let hello = s
        .images
        .iter()
        .find(|l| l.reference == "hello:latest")
        .unwrap();
    let ours = strata(&with(
        vec!["cat".into()],
        s.source("hello"),
        &["/usr/share/greeting.txt"],
    ));
    let theirs = strata(&with(
        vec!["cat".into()],
        archive_args(hello),
        &["/usr/share/greeting.txt"],
    ));
    assert_eq!(ours.code, 0, "{ours}");
    assert_eq!(ours.stdout, theirs.stdout);
}

fn verify(root: &Path, reference: &str) -> Run {
    strata(&[
        "verify".into(),
        format!("docker-root:{reference}"),
        "--docker-root".into(),
        root.to_string_lossy().into_owned(),
    ])
}

#[test]
fn verify_proves_the_files_on_disk_and_names_a_changed_one() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        let r = verify(&s.root, &l.reference);
        assert_eq!(r.code, 0, "{r}");
        assert!(r.stdout.contains("all ok"), "{r}");
    }
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let file = find_in_layers(&root.join("overlay2"), "usr/share/greeting.txt");
    let shown = stores::shown(&file, &root);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    let r = verify(&root, "hello");
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("MISMATCH  layer 1 diff_id"), "{r}");
    assert!(
        r.stdout.contains(&format!("{shown}: changed on disk")),
        "{r}"
    );
    // Reading it is refused with one line naming the file.
    let r = strata(&[
        "cat".into(),
        "docker-root:hello".into(),
        "--docker-root".into(),
        root.to_string_lossy().into_owned(),
        "/usr/share/greeting.txt".into(),
    ]);
    assert_clean_error(&r, &root.to_string_lossy());
    assert!(r.stderr.contains(&shown), "{r}");

    // Resized, gone, or replaced by a symlink (never followed): each named.
    bytes[0] ^= 0x20;
    bytes.push(b'!');
    std::fs::write(&file, &bytes).unwrap();
    let r = verify(&root, "hello");
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("larger than the 12 bytes"), "{r}");
    std::fs::remove_file(&file).unwrap();
    let r = verify(&root, "hello");
    assert!(
        r.code == 1 && r.stdout.contains(&format!("{shown}: missing")),
        "{r}"
    );
    std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
    let r = verify(&root, "hello");
    assert!(
        r.code == 1 && r.stdout.contains("links in a data root are not followed"),
        "{r}"
    );
}

fn layer_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("image/overlay2/layerdb/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

#[test]
fn a_malformed_data_root_is_one_clean_error() {
    let Some(s) = setup() else { return };
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let root_s = root.to_string_lossy().into_owned();
    let hello = s
        .images
        .iter()
        .find(|l| l.reference == "hello:latest")
        .unwrap();
    let top_layer = |root: &Path| -> PathBuf {
        let chain = json_of(&[
            "inspect".into(),
            hello.archive.to_string_lossy().into_owned(),
            "--json".into(),
        ])["layers"][1]["chain_id"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string();
        root.join("image/overlay2/layerdb/sha256").join(chain)
    };
    let layer = top_layer(&root);
    assert!(layer_dirs(&root).contains(&layer));
    let split = layer.join("tar-split.json.gz");
    let original = std::fs::read(&split).unwrap();
    for (bad, says) in [
        (gzip("{\"type\":2,\"payload\":\"!!\",\"position\":0}\n"), "payload is not base64"),
        (gzip("not json\n"), "not a tar-split entry"),
        (
            gzip("{\"type\":1,\"name\":\"../../../etc/passwd\",\"size\":3,\"payload\":\"AAAAAAAAAAA=\",\"position\":0}\n"),
            "refused file name",
        ),
        (b"not gzip at all".to_vec(), "not a readable gzip stream"),
    ] {
        std::fs::write(&split, &bad).unwrap();
        let r = verify(&root, "hello");
        assert_clean_error(&r, &root_s);
        assert!(r.stderr.contains("tar-split.json.gz") && r.stderr.contains(says), "{says}:\n{r}");
    }
    std::fs::write(&split, &original).unwrap();
    // A symlink where a layerdb file should be is refused, not followed.
    let cache = layer.join("cache-id");
    let id = std::fs::read_to_string(&cache).unwrap();
    std::fs::remove_file(&cache).unwrap();
    std::fs::write(copy.path().join("elsewhere"), &id).unwrap();
    std::os::unix::fs::symlink(copy.path().join("elsewhere"), &cache).unwrap();
    let r = verify(&root, "hello");
    assert_clean_error(&r, &root_s);
    assert!(
        r.stderr.contains("cache-id") && r.stderr.contains("symlink"),
        "{r}"
    );
    std::fs::remove_file(&cache).unwrap();
    std::fs::write(&cache, "../../etc").unwrap();
    let r = verify(&root, "hello");
    assert_clean_error(&r, &root_s);
    assert!(r.stderr.contains("not a layer directory name"), "{r}");
    // BuildKit's database cut short, zeroed past its metas, or not bolt at all: storage df
    // says so on one line naming the file.
    let db = root.join("buildkit/metadata_v2.db");
    let original = std::fs::read(&db).unwrap();
    let mut zeroed = original.clone();
    zeroed[8192.min(original.len())..].fill(0);
    for (bad, says) in [
        (original[..original.len().min(600)].to_vec(), "bolt"),
        (zeroed, "page"),
        (b"not a database".repeat(100), "not a bolt database"),
    ] {
        std::fs::write(&db, &bad).unwrap();
        let r = strata(&[
            "storage".into(),
            "df".into(),
            "--docker-root".into(),
            root_s.clone(),
        ]);
        assert_clean_error(&r, &root_s);
        assert!(
            r.stderr.contains("buildkit/metadata_v2.db") && r.stderr.contains(says),
            "{says}:\n{r}"
        );
    }
}

/// Everything strata reads is left as it was: the data root is only ever read.
#[test]
fn the_data_root_is_never_written() {
    let Some(s) = setup() else { return };
    let before = listing(&s.root);
    for l in &s.images {
        let _ = verify(&s.root, &l.reference);
        let _ = strata(&with(vec!["history".into()], s.source(&l.reference), &[]));
    }
    let _ = storage_check(&s.root, &[]);
    let _ = strata(&with(vec!["images".into()], s.source(""), &[]));
    for flags in [&[][..], &["-v"], &["--json"]] {
        let _ = strata(&with(
            vec!["storage".into(), "df".into()],
            s.source(""),
            flags,
        ));
    }
    assert_eq!(before, listing(&s.root));
}

fn storage_check(root: &Path, flags: &[&str]) -> Run {
    let mut args = vec![
        "storage".to_string(),
        "check".into(),
        "docker-root:".into(),
        "--docker-root".into(),
        root.to_string_lossy().into_owned(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    strata(&args)
}

/// (kind, path) of each finding of `storage check --json`, with the report.
fn findings(root: &Path) -> (Run, Value, Vec<(String, String)>) {
    let r = storage_check(root, &["--json"]);
    let (v, list) = stores::findings(&r);
    (r, v, list)
}

#[test]
fn storage_check_is_clean_on_a_fresh_data_root() {
    let Some(s) = setup() else { return };
    let r = storage_check(&s.root, &[]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("clean:"), "{r}");
    let (r, v, list) = findings(&s.root);
    assert_eq!(r.code, 0, "{r}");
    assert!(list.is_empty(), "{list:?}");
    // The loaded images and the built ones, as the daemon counts them.
    let ids: std::collections::BTreeSet<&str> = s.system_df["Images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["Id"].as_str())
        .collect();
    assert!(s.images.iter().all(|l| ids.contains(l.id.as_str())));
    assert_eq!(v["images"], Value::from(ids.len()));
    let made = s.system_df["Containers"].as_array().map_or(0, Vec::len);
    assert!(made >= 3, "{}", s.system_df);
    assert_eq!(v["containers"], Value::from(made));
    // Every layer's tar was rebuilt: at least the sizes of the loaded archives' layers.
    assert!(v["bytes_checked"].as_u64().unwrap() > 70_000, "{v}");
}

/// The layerdb directory (relative to the root) whose cache-id is the overlay2 dir holding `file`.
fn layer_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root.join("overlay2")).unwrap();
    let cache = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    for dir in layer_dirs(root) {
        if std::fs::read_to_string(dir.join("cache-id"))
            .unwrap()
            .trim()
            == cache
        {
            return dir
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
        }
    }
    panic!("no layer has cache-id {cache}");
}

#[test]
fn storage_check_names_a_changed_file_a_lost_parent_an_orphan_and_a_dangling_link() {
    let Some(s) = setup() else { return };
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    // One byte of one file of a layer.
    let file = find_in_layers(&root.join("overlay2"), "usr/share/greeting.txt");
    let changed = stores::shown(&file, &root);
    let changed_layer = layer_of(&root, &file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    // A layerdb `parent` deleted: the layer now claims to be a base, and its chainID says not.
    let with_parent = layer_dirs(&root)
        .into_iter()
        .find(|d| d.join("parent").exists())
        .expect("a layer with a parent");
    std::fs::remove_file(with_parent.join("parent")).unwrap();
    let orphaned = stores::shown(&with_parent, &root);
    // An overlay2 directory nothing names, and a short link to nothing.
    std::fs::create_dir_all(root.join("overlay2/planted-orphan/diff")).unwrap();
    std::fs::write(root.join("overlay2/planted-orphan/diff/f"), vec![1u8; 1234]).unwrap();
    std::os::unix::fs::symlink(
        "../no-such-layer/diff",
        root.join("overlay2/l/PLANTEDLINKAAAAAAAAAAAAAAA"),
    )
    .unwrap();

    let (r, v, list) = findings(&root);
    assert_eq!(r.code, 1, "{r}");
    let has = |kind: &str, path: &str| list.iter().any(|(k, p)| k == kind && p == path);
    for (kind, path) in [
        ("file-changed", changed.as_str()),
        ("diff-id", &format!("{changed_layer}/diff")),
        ("chain-id", &orphaned),
        ("orphan-dir", "overlay2/planted-orphan"),
        ("dangling-link", "overlay2/l/PLANTEDLINKAAAAAAAAAAAAAAA"),
    ] {
        assert!(has(kind, path), "no {kind} finding for {path}: {list:#?}");
    }
    let orphan = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "orphan-dir")
        .unwrap();
    assert_eq!(orphan["size"], Value::from(1234));
    // Nothing else was touched, so nothing else is reported but what follows from these.
    let expected_kinds = [
        "file-changed",
        "diff-id",
        "chain-id",
        "lower",
        "orphan-dir",
        "dangling-link",
    ];
    for (kind, path) in &list {
        assert!(
            expected_kinds.contains(&kind.as_str()),
            "unexpected {kind} {path}: {list:#?}"
        );
    }
    // The text names them too, one line each.
    let text = storage_check(&root, &[]);
    assert_eq!(text.code, 1, "{text}");
    for path in [
        &changed,
        &orphaned,
        "overlay2/planted-orphan",
        "overlay2/l/PLANTEDLINKAAAAAAAAAAAAAAA",
    ] {
        assert!(text.stdout.contains(path), "{path} not named:\n{text}");
    }
}

#[test]
fn storage_check_names_a_missing_parent_layer_and_what_it_leaves() {
    let Some(s) = setup() else { return };
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    // Remove the layerdb entry of a layer that is another's parent. A layer BuildKit built
    // keeps its directory named in BuildKit's snapshots.db, so it would not be left orphaned:
    // the parent is one loaded from an archive. (Which layers sort first depends on the
    // build's timestamps, so this must not be left to the order.)
    let snapshots = std::fs::read(root.join("buildkit/snapshots.db")).unwrap_or_default();
    let named_by_buildkit = |cache: &str| {
        !snapshots.is_empty()
            && snapshots
                .windows(cache.len())
                .any(|w| w == cache.as_bytes())
    };
    let layerdb = root.join("image/overlay2/layerdb/sha256");
    let (child, parent_dir, cache) = layer_dirs(&root)
        .into_iter()
        .filter_map(|child| {
            let parent = std::fs::read_to_string(child.join("parent")).ok()?;
            let parent_dir = layerdb.join(parent.trim().trim_start_matches("sha256:"));
            let cache = std::fs::read_to_string(parent_dir.join("cache-id")).ok()?;
            (!named_by_buildkit(cache.trim())).then_some((child, parent_dir, cache))
        })
        .next()
        .expect("a layer loaded from an archive has a parent");
    std::fs::remove_dir_all(&parent_dir).unwrap();
    let child_rel = stores::shown(&child, &root);
    let (r, _, list) = findings(&root);
    assert_eq!(r.code, 1, "{r}");
    let has = |kind: &str, path: &str| list.iter().any(|(k, p)| k == kind && p == path);
    assert!(
        has("parent-missing", &format!("{child_rel}/parent")),
        "{list:#?}"
    );
    // Its files stay behind in overlay2, named by no layer any more.
    assert!(
        has("orphan-dir", &format!("overlay2/{}", cache.trim())),
        "{list:#?}"
    );
    assert!(list.iter().any(|(k, _)| k == "image-layer"), "{list:#?}");
}

#[test]
fn storage_check_refuses_what_is_not_a_data_root() {
    let Some(s) = setup() else { return };
    let empty = tempfile::tempdir().unwrap();
    let r = storage_check(empty.path(), &[]);
    assert_clean_error(&r, &empty.path().to_string_lossy());
    assert!(r.stderr.contains("not a Docker data root"), "{r}");
    let r = strata(&[
        "storage".into(),
        "check".into(),
        "docker-root:hello".into(),
        "--docker-root".into(),
        s.root.to_string_lossy().into_owned(),
    ]);
    assert_clean_error(&r, "docker-root:hello");
    // A malformed layer record is a finding naming the file (exit 1), not the end of the check.
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let layer = layer_dirs(&root).remove(0);
    std::fs::write(layer.join("diff"), "not a digest").unwrap();
    let (r, _, list) = findings(&root);
    assert_eq!(r.code, 1, "{r}");
    let rel = stores::shown(&layer, &root);
    assert!(
        list.iter()
            .any(|(k, p)| k == "layer-record" && *p == format!("{rel}/diff")),
        "{list:#?}"
    );
}

/// `docker images` lines with what is stable: a CREATED counted in seconds or minutes may have
/// moved on since the daemon printed it. Sorted, since docker orders an image's tags at random.
fn stable_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            if let Some(ago) = w.iter().position(|x| *x == "ago") {
                let unit = |x: &str| matches!(x, "second" | "seconds" | "minute" | "minutes");
                let from = match &w[..ago] {
                    [.., "Less", "than", "a", "second"] => Some(ago - 4),
                    [.., "About", "a", "minute"] => Some(ago - 3),
                    [.., n, u] if unit(u) && n.bytes().all(|b| b.is_ascii_digit()) => Some(ago - 2),
                    _ => None,
                };
                if let Some(from) = from {
                    w.splice(from..=ago, ["(seconds or minutes) ago"]);
                }
            }
            w.join(" ")
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn images_lists_what_docker_images_listed() {
    let Some(s) = setup() else { return };
    for (flags, docker_said) in IMAGES_FLAGS.iter().zip(&s.docker_images) {
        let r = strata(&with(vec!["images".into()], s.source(""), flags));
        assert_eq!(r.code, 0, "{r}");
        // The columns' widths follow the CREATED of the images built seconds ago.
        fn words(t: &str) -> Vec<&str> {
            t.lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect()
        }
        assert_eq!(words(&r.stdout), words(docker_said), "header");
        assert_eq!(
            stable_lines(&r.stdout),
            stable_lines(docker_said),
            "images {flags:?}"
        );
    }
    // Every loaded image is there, with its tags, in the JSON too.
    let v = json_of(&with(vec!["images".into()], s.source(""), &["--json"]));
    let rows = v.as_array().unwrap();
    for l in &s.images {
        assert!(
            rows.iter().any(|r| r["id"] == l.id.as_str()),
            "{}",
            l.reference
        );
    }
    let hello = rows.iter().find(|r| r["repository"] == "hello").unwrap();
    assert_eq!(hello["tag"], "latest");
    assert!(s.container_of.starts_with("hello"));
    // --docker-root belongs to docker-root: only.
    let r = strata(&[
        "images".into(),
        "--docker-root".into(),
        s.root.to_string_lossy().into_owned(),
        s.images[0].archive.to_string_lossy().into_owned(),
    ]);
    assert_clean_error(&r, "--docker-root");
}

fn os_args(args: Vec<String>) -> Vec<std::ffi::OsString> {
    args.into_iter().map(Into::into).collect()
}

#[test]
fn mount_stacks_the_data_roots_own_layer_dirs_and_writes_nothing_there() {
    use crate::common::overlay::{read_view, without_links, MountEnv};
    let Some(s) = setup() else { return };
    if !common::overlay::ready() {
        return;
    }
    let (before, before_hashes) = (listing(&s.root), hashes(&s.root));
    let env = MountEnv::new();
    for (i, l) in s.images.iter().enumerate() {
        let source = os_args(s.source(&l.reference));
        let mp = env.mountpoint(&format!("mp{i}"));
        let out = env.mount_ok(&source, &mp, &[]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.contains("used in place, nothing copied"), "{out}");
        // Docker's own diff dirs are the lowers: nothing went into strata's layer store.
        assert!(env.layer_dirs().is_empty(), "{:?}", env.layer_dirs());
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = table
            .lines()
            .find(|m| m.contains(&format!(" {} ", mp.display())))
            .unwrap();
        assert!(
            line.contains(&format!("{}/overlay2/", s.root.display())),
            "the lowers are not the data root's dirs: {line}"
        );
        let extracted = env.extract_tree(&source, &format!("x{i}"), &[]);
        let mut want = without_links(extracted);
        let mut got = without_links(read_view(&mp));
        // The merged root is strata's upper dir, made now: its mtime is not the image's.
        want.get_mut("/").unwrap().mtime = None;
        got.get_mut("/").unwrap().mtime = None;
        let d = common::rootfs::diff_trees(&want, &got);
        assert!(
            d.is_empty(),
            "{}: merged view vs extract:\n{}",
            l.reference,
            d.join("\n")
        );

        // Writes go to the upper dir in strata's store; replacing and removing an image file
        // copies it up or whites it out there.
        std::fs::write(mp.join("written-through-the-mount"), "poke").unwrap();
        let upper = common::overlay::printed_upper(&out).unwrap();
        assert!(upper.starts_with(&env.store), "{}", upper.display());
        assert_eq!(
            std::fs::read(upper.join("written-through-the-mount")).unwrap(),
            b"poke"
        );
        let victim = got
            .iter()
            .find(|(p, n)| matches!(n.kind, common::rootfs::NodeKind::File(..)) && p.len() > 1)
            .map(|(p, _)| p.clone());
        if let Some(victim) = victim {
            let path = mp.join(victim.trim_start_matches('/'));
            std::fs::write(&path, "changed").unwrap();
            std::fs::remove_file(&path).unwrap();
        }
        env.umount_ok(&mp, &[]);
        assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());
    }
    // Read-only, one layer (strata adds an empty bottom layer of its own).
    let mp = env.mountpoint("ro");
    let source = os_args(s.source("hello"));
    env.mount_ok(&source, &mp, &["--read-only", "--layer", "0"]);
    assert!(std::fs::write(mp.join("x"), "x").is_err());
    env.umount_ok(&mp, &[]);
    assert_eq!(before, listing(&s.root), "the data root was written");
    assert_eq!(
        before_hashes,
        hashes(&s.root),
        "a file of the data root changed"
    );
}

/// The overlay2 dir (relative to the root) of layer `index` of the hello image in `root`.
fn hello_layer_dir(root: &Path, index: usize) -> PathBuf {
    let hello = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar"));
    let chain = json_of(&[
        "inspect".into(),
        hello.to_string_lossy().into_owned(),
        "--json".into(),
    ])["layers"][index]["chain_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let cache = std::fs::read_to_string(
        root.join("image/overlay2/layerdb/sha256")
            .join(chain)
            .join("cache-id"),
    )
    .unwrap();
    root.join("overlay2").join(cache.trim())
}

#[test]
fn mount_refuses_a_layer_dir_that_is_missing_a_symlink_or_not_a_directory() {
    use crate::common::overlay::{mount_count, MountEnv};
    let Some(s) = setup() else { return };
    if !common::overlay::ready() {
        return;
    }
    let copy = copy_of(&s.root);
    let root = copy.path().join("root");
    let layer = hello_layer_dir(&root, 1);
    let diff = layer.join("diff");
    let moved = layer.join("diff.moved");
    std::fs::rename(&diff, &moved).unwrap();
    let env = MountEnv::new();
    let mp = env.mountpoint("mp");
    let source = os_args(vec![
        "docker-root:hello".into(),
        "--docker-root".into(),
        root.to_string_lossy().into_owned(),
    ]);
    let shown = stores::shown(&diff, &root);
    for (make, says) in [
        (None, "does not exist"),
        (Some("symlink"), "is a symlink"),
        (Some("file"), "is not a directory"),
    ] {
        match make {
            Some("symlink") => std::os::unix::fs::symlink(&moved, &diff).unwrap(),
            Some(_) => std::fs::write(&diff, "not a dir").unwrap(),
            None => {}
        }
        let out = env.mount(&source, &mp, &[]);
        assert_eq!(out.code, Some(2), "{out}");
        assert_eq!(mount_count(&mp), 0, "{out}");
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line:\n{out}");
        assert!(
            lines[0].contains(&shown) && lines[0].contains(says),
            "{says}:\n{out}"
        );
        let _ = std::fs::remove_file(&diff);
    }
    // A symlink on the way to the layer (overlay2/<cache-id> itself) is refused too.
    std::fs::rename(&moved, &diff).unwrap();
    let real = copy.path().join("real-layer");
    std::fs::rename(&layer, &real).unwrap();
    std::os::unix::fs::symlink(&real, &layer).unwrap();
    let out = env.mount(&source, &mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("symlink"), "{out}");
    assert_eq!(mount_count(&mp), 0);
    assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());
}

/// The strata commands whose answers must not depend on whether the daemon runs: history
/// (text and JSON), inspect --json, images (--json, and the table), storage check --json, and
/// a digest of what extract writes — each (name, args) for every loaded image.
fn reads(root: &Path, images: &[Loaded]) -> Vec<(String, Vec<String>)> {
    let src = |r: &str| {
        vec![
            format!("docker-root:{r}"),
            "--docker-root".into(),
            root.to_string_lossy().into_owned(),
        ]
    };
    let mut out = Vec::new();
    for l in images {
        for (name, head, tail) in [
            ("history", "history", &["--no-trunc"][..]),
            (
                "history json",
                "history",
                &["--format", "json", "--no-trunc"][..],
            ),
            ("inspect", "inspect", &["--json"][..]),
            ("ls", "ls", &["--json"][..]),
        ] {
            out.push((
                format!("{name} {}", l.reference),
                with(vec![head.into()], src(&l.reference), tail),
            ));
        }
    }
    out.push((
        "images".into(),
        with(vec!["images".into()], src(""), &["--json"]),
    ));
    out.push((
        "storage check".into(),
        vec![
            "storage".into(),
            "check".into(),
            "docker-root:".into(),
            "--docker-root".into(),
            root.to_string_lossy().into_owned(),
            "--json".into(),
        ],
    ));
    out
}

/// What each of [`reads`] printed (exit code, stdout, stderr), and each image's extracted tree.
fn live_reads(root: &Path, images: &[Loaded]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = reads(root, images)
        .into_iter()
        .map(|(name, args)| {
            let r = strata(&args);
            (name, format!("exit {}\n{}\n{}", r.code, r.stdout, r.stderr))
        })
        .collect();
    for l in images {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        let mut args = vec!["extract".to_string()];
        args.extend([
            format!("docker-root:{}", l.reference),
            "--docker-root".into(),
            root.to_string_lossy().into_owned(),
        ]);
        args.push(dest.to_string_lossy().into_owned());
        let r = strata(&args);
        let tree = if r.code == 0 {
            format!("{:?}", read_tree(&dest))
        } else {
            format!("exit {}: {}", r.code, r.stderr)
        };
        out.push((format!("extract {}", l.reference), tree));
    }
    out
}

#[test]
fn reads_while_the_daemon_runs_agree_with_reads_after_it_stopped() {
    let Some(s) = setup() else { return };
    let quiet = live_reads(&s.root, &s.images);
    assert_eq!(s.live.len(), quiet.len());
    for ((name, live), (_, after)) in s.live.iter().zip(&quiet) {
        assert!(
            live.starts_with("exit 0") || name.starts_with("extract"),
            "{name} while the daemon ran:\n{live}"
        );
        assert_eq!(live, after, "{name}: running daemon vs stopped");
    }
}

/// A value docker prints for a field the config does not set.
fn unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[test]
fn inspect_agrees_with_docker_image_inspect() {
    let Some(s) = setup() else { return };
    for l in &s.images {
        let theirs = &l.inspect;
        let ours = json_of(&with(
            vec!["inspect".into()],
            s.source(&l.reference),
            &["--json"],
        ));
        let img = &ours["image"];
        let what = &l.reference;
        assert_eq!(img["id"], theirs["Id"], "Id of {what}");
        let sorted = |v: &Value| -> Vec<String> {
            let mut x: Vec<String> = v
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            x.sort();
            x
        };
        assert_eq!(
            sorted(&img["tags"]),
            sorted(&theirs["RepoTags"]),
            "RepoTags of {what}"
        );
        assert_eq!(
            sorted(&img["repo_digests"]),
            sorted(&theirs["RepoDigests"]),
            "RepoDigests of {what}"
        );
        // docker prints the config's time in RFC 3339 again: compare the instants.
        let instant =
            |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or("")).ok();
        assert_eq!(
            instant(&img["created"]),
            instant(&theirs["Created"]),
            "Created of {what}"
        );
        assert_eq!(img["size"], theirs["Size"], "Size of {what}");
        let diff_ids: Vec<Value> = ours["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["diff_id"].clone())
            .collect();
        assert_eq!(
            Value::from(diff_ids),
            theirs["RootFS"]["Layers"],
            "RootFS.Layers of {what}"
        );
        assert_eq!(theirs["RootFS"]["Type"], "layers");
        assert_eq!(
            img["platform"]["architecture"], theirs["Architecture"],
            "{what}"
        );
        assert_eq!(img["platform"]["os"], theirs["Os"], "{what}");
        if !unset(&theirs["Variant"]) {
            assert_eq!(img["platform"]["variant"], theirs["Variant"], "{what}");
        }
        // Config: every field of the OCI config strata shows is docker's, and every field
        // docker shows set (of those an image config can hold) is strata's.
        let ours_cfg = img["config"].as_object().unwrap();
        let theirs_cfg = theirs["Config"].as_object().unwrap();
        for (k, v) in ours_cfg {
            assert_eq!(Some(v), theirs_cfg.get(k), "Config.{k} of {what}");
        }
        for k in [
            "User",
            "ExposedPorts",
            "Env",
            "Entrypoint",
            "Cmd",
            "Volumes",
            "WorkingDir",
            "Labels",
            "StopSignal",
            "Healthcheck",
        ] {
            if let Some(v) = theirs_cfg.get(k).filter(|v| !unset(v)) {
                assert_eq!(ours_cfg.get(k), Some(v), "Config.{k} of {what}");
            }
        }
    }
}

/// The lines of the table that follows `header_start` in `text`, up to the first empty line.
fn table_after(text: &str, header_start: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with(header_start))
        .take_while(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A time docker words relative to now ("Less than a second ago", "Exited (3) 2 minutes
/// ago") with its seconds or minutes left out: they move on between docker's answer and ours.
fn recent(text: &str) -> String {
    if !(text.ends_with(" ago") && (text.contains("second") || text.contains("minute"))) {
        return text.to_string();
    }
    let head = text.find(") ").map_or("", |i| &text[..i + 2]);
    format!("{head}(seconds or minutes) ago")
}

#[test]
fn storage_df_agrees_with_docker_system_df() {
    let Some(s) = setup() else { return };
    let mut args = vec!["storage".to_string(), "df".into(), "docker-root:".into()];
    args.extend([
        "--docker-root".into(),
        s.root.to_string_lossy().into_owned(),
    ]);
    let ours = json_of(&with(args.clone(), vec![], &["--json"]));
    let api = &s.system_df;
    assert_eq!(ours["layers_size"], api["LayersSize"], "LayersSize");
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut theirs_images: Vec<(String, u64, u64, u64)> = api["Images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let id = i["Id"].as_str().unwrap().to_string();
            (id, n(&i["Size"]), n(&i["SharedSize"]), n(&i["Containers"]))
        })
        .collect();
    let mut ours_images: Vec<(String, u64, u64, u64)> = ours["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let id = i["id"].as_str().unwrap().to_string();
            assert_eq!(n(&i["unique_size"]), n(&i["size"]) - n(&i["shared_size"]));
            (id, n(&i["size"]), n(&i["shared_size"]), n(&i["containers"]))
        })
        .collect();
    theirs_images.sort();
    ours_images.sort();
    assert_eq!(
        ours_images, theirs_images,
        "images: (Id, Size, SharedSize, Containers)"
    );
    assert!(
        ours_images.iter().any(|i| i.2 > 0),
        "two fixtures share a layer: {ours_images:?}"
    );
    let mut theirs_containers: Vec<(String, u64)> = api["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["Id"].as_str().unwrap().to_string(), n(&c["SizeRw"])))
        .collect();
    let mut ours_containers: Vec<(String, u64)> = ours["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), n(&c["size_rw"])))
        .collect();
    theirs_containers.sort();
    ours_containers.sort();
    assert_eq!(
        ours_containers, theirs_containers,
        "containers: (Id, SizeRw)"
    );
    assert!(!ours_containers.is_empty());
    assert!(
        ours_containers.iter().any(|c| c.1 > 0),
        "a container has bytes in its writable layer: {ours_containers:?}"
    );
    // What the containers table prints, field by field, from the API's list.
    let fields = |c: &Value, keys: [&str; 5]| -> Vec<String> {
        keys.iter()
            .map(|k| match &c[*k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    };
    let theirs_fields: Vec<Vec<String>> = api["Containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut f = fields(c, ["Id", "Image", "Command", "Created", "State"]);
            f.push(
                c["Names"][0]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .into(),
            );
            let local = c["Mounts"]
                .as_array()
                .map_or(0, |m| m.iter().filter(|m| m["Driver"] == "local").count());
            f.push(local.to_string());
            f.push(c["ImageID"].as_str().unwrap().into());
            f
        })
        .collect();
    let ours_fields: Vec<Vec<String>> = ours["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut f = fields(c, ["id", "image_ref", "command", "created", "state"]);
            f.push(c["name"].as_str().unwrap().into());
            f.push(c["local_volumes"].to_string());
            f.push(c["image"].as_str().unwrap().into());
            f
        })
        .collect();
    assert_eq!(
        ours_fields, theirs_fields,
        "containers, newest first: (Id, Image, Command, Created, State, Names, local Mounts, \
         ImageID)"
    );
    let statuses = |v: &Value, key: &str| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| recent(c[key].as_str().unwrap()))
            .collect()
    };
    assert_eq!(
        statuses(&ours["containers"], "status"),
        statuses(&api["Containers"], "Status"),
        "Status"
    );
    assert!(
        !s.ran
            || ours["containers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["state"] == "exited" && c["size_rw"].as_u64() > Some(0)),
        "{ours}"
    );
    let mut theirs_volumes: Vec<(String, u64, u64)> = api["Volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["Name"].as_str().unwrap().to_string();
            let usage = &v["UsageData"];
            (name, n(&usage["Size"]), n(&usage["RefCount"]))
        })
        .collect();
    let mut ours_volumes: Vec<(String, u64, u64)> = ours["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap().to_string();
            (name, n(&v["size"]), n(&v["links"]))
        })
        .collect();
    theirs_volumes.sort();
    ours_volumes.sort();
    assert_eq!(
        ours_volumes, theirs_volumes,
        "volumes: (Name, Size, RefCount)"
    );
    assert!(
        ours_volumes.iter().any(|v| v.1 > 0 && v.2 > 0)
            && ours_volumes.iter().any(|v| v.1 > 0 && v.2 == 0)
            && ours_volumes.iter().any(|v| v.0.len() == 64),
        "a used volume with bytes, an idle one with bytes, an anonymous one: {ours_volumes:?}"
    );

    // The text: -v's tables as docker printed them, and the summary's lines.
    let r = strata(&with(args.clone(), vec![], &["-v"]));
    assert_eq!(r.code, 0, "{r}");
    // Tables cell by cell (a CREATED or LAST USED of seconds or minutes has moved on since
    // docker printed it, and its column's width with it).
    let cells = |t: &[String]| -> Vec<Vec<String>> {
        t.iter()
            .map(|l| {
                l.split("   ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(recent)
                    .collect()
            })
            .collect()
    };
    // The images table cell by cell (the built images' CREATED moves on, and with it the
    // column's width), in any order.
    let header = "REPOSITORY";
    let sorted_cells = |t: &[String]| {
        let mut c = cells(t);
        c.sort();
        c
    };
    assert_eq!(
        sorted_cells(&table_after(&r.stdout, header)),
        sorted_cells(&table_after(&s.system_df_v, header)),
        "df -v images"
    );
    // The sections, in docker's order.
    let sections = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.ends_with("usage:") || l.starts_with("Build cache usage:"))
            .map(|l| l.split(':').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(sections(&r.stdout), sections(&s.system_df_v), "{r}");
    // The build cache's size line as docker printed it, and its table cell by cell.
    let usage_line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Build cache usage:"))
            .map(str::to_string)
    };
    assert_eq!(usage_line(&r.stdout), usage_line(&s.system_df_v), "{r}");
    let ours_cache = table_after(&r.stdout, "CACHE ID");
    let theirs_cache = table_after(&s.system_df_v, "CACHE ID");
    assert_eq!(
        cells(&ours_cache),
        cells(&theirs_cache),
        "df -v build cache"
    );
    assert!(s.built.is_err() || ours_cache.len() > 3, "{r}");
    let ours_table = table_after(&r.stdout, "CONTAINER ID");
    let theirs_table = table_after(&s.system_df_v, "CONTAINER ID");
    assert_eq!(cells(&ours_table), cells(&theirs_table), "df -v containers");
    assert!(ours_table.len() > 4, "{r}");
    assert!(
        ours_table
            .iter()
            .any(|l| l.split_whitespace().nth(1).is_some_and(|image| {
                image.len() == 12 && image.bytes().all(|b| b.is_ascii_hexdigit())
            })),
        "the container whose tag moved shows its image's short ID: {r}"
    );
    // The volumes table as printed (docker lists them in no fixed order).
    let ours_table = table_after(&r.stdout, "VOLUME NAME");
    let theirs_table = table_after(&s.system_df_v, "VOLUME NAME");
    assert_eq!(ours_table.first(), theirs_table.first(), "header");
    let sorted = |t: &[String]| {
        let mut t = t.to_vec();
        t.sort();
        t
    };
    assert_eq!(sorted(&ours_table), sorted(&theirs_table), "df -v volumes");
    let r = strata(&args);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(
        table_after(&r.stdout, "TYPE"),
        table_after(&s.system_df_summary, "TYPE"),
        "df summary"
    );
    assert!(r.stdout.contains("Build Cache"), "{r}");
    build_cache_agrees(s, &ours);
}

/// `BuildCache` of `GET /system/df`, field by field, against strata's `build_cache`, read
/// after the daemon stopped and before the daemon's first `system df`.
fn build_cache_agrees(s: &Setup, ours: &Value) {
    if let Err(why) = &s.built {
        common::skipped(format!(
            "storage df's build cache with records is not compared (only the empty one): {why}"
        ));
    }
    let nanos = |v: &Value| -> Option<i64> {
        let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
        t.timestamp_nanos_opt()
    };
    let theirs: Vec<Value> = s.system_df["BuildCache"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut theirs: Vec<Value> = theirs
        .iter()
        .map(|b| {
            serde_json::json!({
                "id": b["ID"],
                // Docker 26 names the field " Parents" (a space in its JSON tag), a later
                // API "Parents".
                "parents": b[" Parents"]
                    .as_array()
                    .or(b["Parents"].as_array())
                    .cloned()
                    .unwrap_or_default(),
                "type": b["Type"],
                "description": b["Description"],
                "in_use": b["InUse"],
                "shared": b["Shared"],
                "size": b["Size"],
                "created_at": nanos(&b["CreatedAt"]),
                "last_used_at": nanos(&b["LastUsedAt"]),
                "usage_count": b["UsageCount"],
            })
        })
        .collect();
    let pick = |records: &Value| -> Vec<Value> {
        records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("mutable");
                r
            })
            .collect()
    };
    let key = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
    theirs.sort_by_key(key);
    let mut mine = pick(&ours["build_cache"]);
    mine.sort_by_key(key);
    assert_eq!(mine, theirs, "build cache records");
    assert_eq!(s.df_before_docker.code, 0, "{}", s.df_before_docker);
    let before: Value = serde_json::from_str(&s.df_before_docker.stdout).unwrap();
    let mut before = pick(&before["build_cache"]);
    before.sort_by_key(key);
    assert_eq!(
        before, theirs,
        "build cache records read before the daemon measured them"
    );
    if s.built.is_ok() {
        assert!(theirs.len() > 3, "{theirs:?}");
        assert!(theirs.iter().any(|r| r["shared"] == true), "{theirs:?}");
        assert!(theirs.iter().any(|r| r["shared"] == false), "{theirs:?}");
    }
}
