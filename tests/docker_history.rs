//! `strata history` against what Docker itself printed for the same archive bytes. Two sources,
//! both Docker's, never strata's:
//!
//! - a live Docker 26 (tests/common/docker.rs): a private daemon in graphdriver mode, then one
//!   with the containerd image store, `docker load` the fixtures and corpus archives and answer
//!   every `docker history` variant and `docker image inspect`; strata must print the same. Where
//!   no Docker 26 can run, these tests say why and count as skipped.
//! - the golden files under tests/golden/docker/, recorded from the same daemon
//!   (tests/golden/docker/README.md says how), so the fixtures are checked on any machine.
//!
//! Relative times are the only thing masked (`N years ago`).

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::docker::{Daemon, Mode};
use crate::common::golden::{assert_golden, mask_years};
use crate::common::quirks;
use crate::common::run;
use crate::common::stores::remove_at_exit;
use serde_json::Value;

/// The `docker history` variants each archive was recorded with, by golden-file suffix.
pub const VARIANTS: [(&str, &[&str]); 7] = [
    ("default", &[]),
    ("no-trunc", &["--no-trunc"]),
    ("human-false", &["--human=false"]),
    ("no-trunc-human-false", &["--no-trunc", "--human=false"]),
    ("quiet", &["-q"]),
    ("quiet-no-trunc", &["-q", "--no-trunc"]),
    (
        "format-json-human-false",
        &["--format", "json", "--human=false"],
    ),
];

fn history(archive: &Path, image: Option<&str>, extra: &[&str]) -> String {
    let mut a: Vec<&std::ffi::OsStr> = vec!["history".as_ref(), archive.as_os_str()];
    if let Some(i) = image {
        a.push("--image".as_ref());
        a.push(i.as_ref());
    }
    a.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    let r = run(&a);
    assert_eq!(r.code, 0, "history {extra:?}:\n{r}");
    r.stdout
}

fn check_against_docker(name: &str, archive: &Path, image: Option<&str>) {
    for (suffix, extra) in VARIANTS {
        let out = history(archive, image, extra);
        let (masked, _) = mask_years(&out, true);
        assert_golden(&format!("docker/{name}.{suffix}"), &masked);
    }
}

/// The archives the live daemons load: the builders' fixtures (rebuilt byte for byte by each
/// test) and, when ../shared/corpus is here, its docker-save and OCI archives.
fn archives() -> Vec<(String, PathBuf, Vec<String>, Option<common::Fixture>)> {
    let mut out = Vec::new();
    let mut fixtures = quirks::all();
    fixtures.push(("odd-history", common::fixtures::odd_history()));
    fixtures.push(("docker25", common::fixtures::docker25()));
    fixtures.push((
        "multi-named",
        common::fixtures::multi_platform_docker_named(),
    ));
    for (name, fx) in fixtures {
        let tags = fx.images.iter().flat_map(|i| i.tags.clone()).collect();
        out.push((name.to_string(), fx.path.clone(), tags, Some(fx)));
    }
    out.push((
        "hello".into(),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar")),
        Vec::new(),
        None,
    ));
    if let Ok(entries) = std::fs::read_dir(common::corpus::CORPUS) {
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for entry in entries {
            if let Some(tar) = common::corpus::find_archive(&entry) {
                let name = entry.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, tar, Vec::new(), None));
            }
        }
    }
    out
}

/// One image a daemon loaded, with what it printed for it.
struct Loaded {
    /// The archive's name in [`archives`].
    archive: String,
    path: PathBuf,
    /// What `docker load` printed (a tag or an image ID), or a tag from the archive.
    reference: String,
    /// `docker history` for each of [`VARIANTS`].
    history: Vec<String>,
    /// `docker image inspect`.
    inspect: Value,
}

struct Recording {
    loaded: Vec<Loaded>,
    /// The archives' temporary directories, kept while the tests read them.
    _fixtures: Vec<common::Fixture>,
    /// Archives the daemon would not load, with its words.
    refused: Vec<(String, PathBuf, String)>,
    /// Images it loaded but then failed to answer `docker history` for, with its words.
    unanswered: Vec<String>,
}

static GRAPHDRIVER: OnceLock<Result<Recording, String>> = OnceLock::new();
static CONTAINERD: OnceLock<Result<Recording, String>> = OnceLock::new();

fn record(mode: Mode) -> Result<Recording, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?.keep();
    // The daemons' temporary directories: statics are never dropped, so they go at exit.
    remove_at_exit(&dir);
    let mut starts = 0;
    let mut start = || {
        starts += 1;
        let sub = dir.join(format!("d{starts}"));
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        Daemon::start(&sub, mode)
    };
    let mut daemon = start()?;
    // The names loaded so far: an archive tagging one again replaces that image, and the
    // containerd store then collects the layer snapshots the two share, so such an archive
    // goes to a fresh daemon.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut loaded = Vec::new();
    let mut refused = Vec::new();
    let mut fixtures = Vec::new();
    let mut unanswered = Vec::new();
    for (name, path, tags, fixture) in archives() {
        if let Some(fx) = fixture {
            remove_at_exit(fx.dir.path());
            fixtures.push(fx);
        }
        let mut said = daemon.load(&path);
        if said
            .as_ref()
            .is_ok_and(|refs| refs.iter().any(|r| seen.contains(r)))
        {
            drop(daemon);
            daemon = start()?;
            seen.clear();
            said = daemon.load(&path);
        }
        let mut refs = match said {
            Ok(refs) => refs,
            Err(e) => {
                refused.push((name, path, e));
                continue;
            }
        };
        seen.extend(refs.iter().cloned());
        // A pre-1.10 archive loads without a word: its tags name it.
        if refs.is_empty() {
            refs = if tags.is_empty() {
                v1_tags(&path)
            } else {
                tags
            };
        }
        for reference in &refs {
            let reference = reference.clone();
            // An OCI archive named only by a bare `ref.name` (`final`, `1`) is kept by the
            // containerd store under that raw name, which no reference reaches: nothing to ask.
            let Ok(inspect) = daemon.docker(&["image", "inspect", &reference]) else {
                continue;
            };
            let inspect: Value = serde_json::from_str::<Value>(&inspect)
                .map_err(|e| format!("docker image inspect {reference}: {e}"))?[0]
                .clone();
            let history: Result<Vec<String>, String> = VARIANTS
                .iter()
                .map(|(_, flags)| {
                    let mut args = vec!["history"];
                    args.extend_from_slice(flags);
                    args.push(&reference);
                    daemon.docker(&args)
                })
                .collect();
            let history = match history {
                Ok(h) => h,
                Err(e) => {
                    unanswered.push(format!("{name} {reference}: {e}"));
                    continue;
                }
            };
            loaded.push(Loaded {
                archive: name.clone(),
                path: path.clone(),
                reference,
                history,
                inspect,
            });
        }
    }
    drop(daemon);
    Ok(Recording {
        loaded,
        _fixtures: fixtures,
        refused,
        unanswered,
    })
}

/// The `name:tag`s of a pre-1.10 docker save's `repositories`.
fn v1_tags(path: &Path) -> Vec<String> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut ar = tar::Archive::new(file);
    let Ok(entries) = ar.entries() else {
        return Vec::new();
    };
    for mut e in entries.flatten() {
        if e.path().is_ok_and(|p| p.as_os_str() == "repositories") {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
            let repos: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return repos
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(name, tags)| {
                    tags.as_object()
                        .into_iter()
                        .flatten()
                        .map(move |(tag, _)| format!("{name}:{tag}"))
                })
                .collect();
        }
    }
    Vec::new()
}

/// What the live daemon in `mode` printed, or why there is none (said, and counted as skipped).
fn recording(mode: Mode) -> Option<&'static Recording> {
    let cell = match mode {
        Mode::Graphdriver => &GRAPHDRIVER,
        Mode::Containerd => &CONTAINERD,
    };
    match cell.get_or_init(|| record(mode)) {
        Ok(r) => Some(r),
        Err(why) => {
            common::skipped(format!("no live Docker 26 in {mode:?} mode: {why}"));
            None
        }
    }
}

fn store_flags(mode: Mode) -> &'static [&'static str] {
    match mode {
        Mode::Graphdriver => &[],
        Mode::Containerd => &["--image-store", "containerd"],
    }
}

/// strata's `history` of a loaded image, each variant, against the daemon's.
fn compare_history(mode: Mode, l: &Loaded, failures: &mut Vec<String>) {
    for ((suffix, flags), theirs) in VARIANTS.iter().zip(&l.history) {
        let mut args: Vec<&std::ffi::OsStr> = vec!["history".as_ref(), l.path.as_os_str()];
        args.push(std::ffi::OsStr::new("--image"));
        args.push(std::ffi::OsStr::new(&l.reference));
        args.extend(store_flags(mode).iter().map(std::ffi::OsStr::new));
        args.extend(flags.iter().map(std::ffi::OsStr::new));
        let r = run(&args);
        let ours = mask_years(&r.stdout, true).0;
        let theirs = mask_years(theirs, true).0;
        if r.code != 0 || ours != theirs {
            failures.push(format!(
                "{} {} [{suffix}] in {mode:?} mode:\n--- docker ---\n{theirs}--- strata ---\n{ours}{}",
                l.archive, l.reference, r.stderr
            ));
        }
    }
}

/// Every image the live daemon loaded: strata prints what `docker history` printed.
fn every_loaded_image_matches(mode: Mode) {
    let Some(rec) = recording(mode) else { return };
    assert!(!rec.loaded.is_empty(), "the daemon loaded nothing");
    let mut failures = Vec::new();
    for l in &rec.loaded {
        compare_history(mode, l, &mut failures);
    }
    for (archive, _, said) in &rec.refused {
        eprintln!("{mode:?}: docker did not load {archive}: {said}");
    }
    for said in &rec.unanswered {
        eprintln!("{mode:?}: docker loaded but did not answer for {said}");
    }
    let names: BTreeSet<&str> = rec.loaded.iter().map(|l| l.archive.as_str()).collect();
    eprintln!(
        "{mode:?}: compared {} images of {} archives ({} variants each)",
        rec.loaded.len(),
        names.len(),
        VARIANTS.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_archive_docker_26_loads_has_its_history() {
    every_loaded_image_matches(Mode::Graphdriver);
}

#[test]
fn every_archive_docker_26_loads_has_its_history_in_the_containerd_store() {
    every_loaded_image_matches(Mode::Containerd);
}

/// The archives a fixture test names were among those the daemon loaded (the generic tests
/// above compare them), and its golden files still say what the daemon said.
fn live(mode: Mode, archive: &str) {
    let Some(rec) = recording(mode) else { return };
    let images: Vec<&Loaded> = rec.loaded.iter().filter(|l| l.archive == archive).collect();
    assert!(
        !images.is_empty(),
        "{archive} was not loaded: {:?}",
        rec.refused.iter().find(|r| r.0 == archive)
    );
    let mut failures = Vec::new();
    for l in images {
        compare_history(mode, l, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `docker image inspect`'s fields strata shows too: ID, tags, parent, creation time, platform,
/// the layers' diffIDs and the runtime config.
#[test]
fn inspect_agrees_with_docker_image_inspect() {
    let Some(rec) = recording(Mode::Graphdriver) else {
        return;
    };
    let mut failures = Vec::new();
    let norm = |v: &Value| -> Value {
        match v {
            Value::String(s) if s.is_empty() => Value::Null,
            Value::Array(a) if a.is_empty() => Value::Null,
            Value::Object(o) if o.is_empty() => Value::Null,
            v => v.clone(),
        }
    };
    for l in &rec.loaded {
        let r = run(args!["inspect", l.path, "--image", l.reference, "--json"]);
        if r.code != 0 {
            failures.push(format!("{} {}: {r}", l.archive, l.reference));
            continue;
        }
        let ours: Value = serde_json::from_str(&r.stdout).unwrap();
        let d = &l.inspect;
        let mut check = |what: &str, theirs: Value, ours: Value| {
            if norm(&theirs) != norm(&ours) {
                failures.push(format!(
                    "{} {} {what}: docker {theirs}, strata {ours}",
                    l.archive, l.reference
                ));
            }
        };
        check("Id", d["Id"].clone(), ours["image"]["id"].clone());
        check(
            "Parent",
            d["Parent"].clone(),
            ours["image"]["parents"][0].clone(),
        );
        check(
            "Os",
            d["Os"].clone(),
            ours["image"]["platform"]["os"].clone(),
        );
        check(
            "Architecture",
            d["Architecture"].clone(),
            ours["image"]["platform"]["architecture"].clone(),
        );
        let diff_ids: Vec<Value> = ours["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["diff_id"].clone())
            .collect();
        check(
            "RootFS.Layers",
            d["RootFS"]["Layers"].clone(),
            Value::from(diff_ids),
        );
        // Docker keeps the config's time (RFC 3339, Go's shortest fraction); compare instants.
        let instant = |v: &Value| {
            v.as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| Value::from(t.timestamp_nanos_opt().unwrap_or(0)))
                .unwrap_or(Value::Null)
        };
        check(
            "Created",
            instant(&d["Created"]),
            instant(&ours["image"]["created"]),
        );
        for key in [
            "Env",
            "Cmd",
            "Entrypoint",
            "WorkingDir",
            "User",
            "Labels",
            "ExposedPorts",
            "Volumes",
            "StopSignal",
            "Healthcheck",
        ] {
            let theirs = d["Config"].get(key).cloned().unwrap_or(Value::Null);
            let ours = ours["image"]["config"]
                .get(key)
                .cloned()
                .unwrap_or(Value::Null);
            check(&format!("Config.{key}"), theirs, ours);
        }
        // A repository tag docker shows names the image for strata too.
        for tag in d["RepoTags"].as_array().into_iter().flatten() {
            let tag = tag.as_str().unwrap();
            let r = run(args!["inspect", l.path, "--image", tag, "--json"]);
            let id: Option<Value> = serde_json::from_str::<Value>(&r.stdout)
                .ok()
                .map(|v| v["image"]["id"].clone());
            if id.as_ref() != Some(&d["Id"]) {
                failures.push(format!("{} tag {tag}: strata picks {id:?}", l.archive));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What the containerd store refuses to load, strata refuses to show as that store would, in
/// one line naming the file; what it loads, strata shows.
#[test]
fn the_containerd_store_refuses_a_pre_1_10_save_and_so_does_strata() {
    let Some(rec) = recording(Mode::Containerd) else {
        return;
    };
    let (_, path, said) = rec
        .refused
        .iter()
        .find(|r| r.0 == "oldtimer")
        .expect("Docker's containerd store loads a pre-1.10 docker save now: show it");
    eprintln!("docker load said: {said}");
    let r = run(args!["history", path, "--image-store", "containerd"]);
    common::assert_clean_error(&r, "oldtimer.tar");
    assert!(r.stderr.contains("unrecognized image format"), "{r}");
}

/// Writes the quirk archives where `STRATA_DUMP_FIXTURES` points, for docker to load.
#[test]
fn dump_fixtures_for_docker() {
    let Some(dir) = std::env::var_os("STRATA_DUMP_FIXTURES") else {
        eprintln!("skipped: set STRATA_DUMP_FIXTURES=DIR to write the archives docker loads");
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let mut all = quirks::all();
    all.push(("odd-history", common::fixtures::odd_history()));
    for (name, fx) in all {
        std::fs::copy(&fx.path, Path::new(&dir).join(format!("{name}.tar"))).unwrap();
    }
}

#[test]
fn combining_marks_tabs_and_newlines_are_laid_out_as_docker_does() {
    // Docker counts a combining mark as one column when it cuts CREATED BY at 45, but as
    // none when it aligns the table; a tab in a comment starts another aligned cell; a
    // newline ends the line, and the column blocks restart after it.
    let fx = quirks::text();
    check_against_docker("quirks-text", &fx.path, None);
    live(Mode::Graphdriver, "quirks-text");
}

#[test]
fn fewer_steps_than_layers_shows_only_the_steps() {
    let fx = quirks::fewer_steps();
    check_against_docker("quirks-fewer", &fx.path, None);
    live(Mode::Graphdriver, "quirks-fewer");
    // strata's extra rows are there on request, with the image ID on the newest row.
    let out = history(&fx.path, None, &["--all-layers", "--human=false"]);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{out}");
    assert!(rows[0].starts_with(&fx.image().id[7..19]), "{out}");
    assert!(
        rows[0].contains("7         (no history entry for this layer)"),
        "{out}"
    );
    assert!(
        rows[1].contains("6         (no history entry for this layer)"),
        "{out}"
    );
    assert!(
        rows[2].starts_with("<missing>") && rows[2].contains("ENV A=1"),
        "{out}"
    );
}

#[test]
fn no_history_prints_the_header_only() {
    let fx = quirks::no_history();
    check_against_docker("quirks-none", &fx.path, None);
    live(Mode::Graphdriver, "quirks-none");
}

#[test]
fn parent_in_the_same_archive_puts_its_id_on_the_rows_below() {
    let fx = quirks::parent_link();
    check_against_docker("family.base", &fx.path, Some("family:base"));
    check_against_docker("family.child", &fx.path, Some("family:child"));
    live(Mode::Graphdriver, "family");
    // The link is in inspect's JSON too.
    let v = common::run_json(args![
        "inspect",
        fx.arg(),
        "--image",
        "family:child",
        "--json"
    ]);
    assert_eq!(v["image"]["parents"], serde_json::json!([fx.images[0].id]));
}

#[test]
fn wide_characters_and_size_quirks_match_docker() {
    // Its second step has no `created`: Docker 26 and 28 show the epoch (1970-01-01) for it
    // where 20.10 showed year 1 (0001-01-01); the --human=false variants hold that.
    check_against_docker("odd-history", &common::fixtures::odd_history().path, None);
    live(Mode::Graphdriver, "odd-history");
    // The live daemon sends the epoch too (the --human=false variants are among those compared).
    if let Some(rec) = recording(Mode::Graphdriver) {
        let l = rec
            .loaded
            .iter()
            .find(|l| l.archive == "odd-history")
            .unwrap();
        assert!(
            l.history[2].contains("1970-01-01T00:00:00Z"),
            "{}",
            l.history[2]
        );
    }
}

/// go-containerregistry's test_link.tar (test_image_3 names test_image_1 as its parent), as the
/// live daemon shows it; the README's example.
#[test]
fn ggcr_test_link_parent() {
    let entry = Path::new(common::corpus::CORPUS).join("ggcr.tarball.test_link");
    if common::corpus::find_archive(&entry).is_none() {
        common::skipped("../shared/corpus/ggcr.tarball.test_link is not here");
        return;
    }
    live(Mode::Graphdriver, "ggcr.tarball.test_link");
}

#[test]
fn pre_1_10_docker_save_has_the_ids_docker_gives_its_levels() {
    // No manifest.json and no config: docker builds a config per level from the v1 JSONs
    // (old ones normalised, newer ones kept as written) and links each level to the one
    // below as its parent, so every row has an ID.
    let fx = quirks::v1();
    check_against_docker("oldtimer", &fx.path, None);
    live(Mode::Graphdriver, "oldtimer");
}

/// `--image-store containerd` against Docker 26 with its containerd image store: the ID is the
/// image's target (a Docker 25+ save's manifest, a multi-platform index, the manifest the loader
/// writes for a legacy save), sizes are the unpacked snapshots' disk usage in 4 KiB blocks.
#[test]
fn containerd_store_ids_and_block_usage_are_dockers() {
    for archive in ["docker25", "multi-named", "hello", "family", "odd-history"] {
        live(Mode::Containerd, archive);
    }
}

/// A `"Parent"` docker would refuse (its history is not the child's minus one step): the image
/// is shown without the link — no parent ID on its rows — and a warning names both IDs.
#[test]
fn an_invalid_parent_link_is_a_warning_and_no_link() {
    let fx = quirks::invalid_parent_link();
    let r = run(args![
        "history",
        fx.arg(),
        "--image",
        "family:base",
        "--no-trunc",
        "--human=false"
    ]);
    assert_eq!(r.code, 0, "{r}");
    let base_id = &fx.images[0].id;
    let child_id = &fx.images[1].id;
    let warning = r
        .stderr
        .lines()
        .find(|l| l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning:\n{r}"));
    assert!(
        warning.contains("is not the child's minus one step")
            && warning.contains(&child_id[7..19])
            && warning.contains(&base_id[7..19]),
        "{warning}"
    );
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert!(rows[0].starts_with(base_id.as_str()), "{}", r.stdout);
    assert!(
        rows[1..].iter().all(|l| l.starts_with("<missing>")),
        "no parent ID on the rows below:\n{}",
        r.stdout
    );
}
