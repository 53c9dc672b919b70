//! `strata history`: docker's table, its flags, docker's `--format json` and strata's `--json`.
//! Expected cells are computed from the fixture's own history with docker's rules
//! (tests/common/docker_fmt.rs). Lines are compared with trailing spaces removed.

#[macro_use]
mod common;

use common::check::assert_history_rows;
use common::docker_fmt::{created_at, created_by_cell, created_since, human_size, table};
use common::fixtures::{
    self, committed_hello_path, hello_image, CJK_CREATED_BY, EXACTLY_45, EXACTLY_46,
};
use common::{run, run_json, Fixture, ImageExpect};

#[derive(Clone, Copy)]
struct Opts {
    trunc: bool,
    human: bool,
}

fn expected_rows(img: &ImageExpect, o: Opts) -> Vec<Vec<String>> {
    let header = if o.human { "CREATED" } else { "CREATED AT" };
    let mut rows = vec![vec![
        "IMAGE".into(),
        header.into(),
        "CREATED BY".into(),
        "SIZE".into(),
        "COMMENT".into(),
    ]];
    for (n, h) in img.history.iter().rev().enumerate() {
        let id = match (n, o.trunc) {
            (0, true) => img.id[7..19].to_string(),
            (0, false) => img.id.clone(),
            _ => "<missing>".to_string(),
        };
        let created = if o.human {
            created_since(h.created.as_deref())
        } else {
            created_at(h.created.as_deref())
        };
        let size = if o.human {
            human_size(h.size)
        } else {
            h.size.to_string()
        };
        rows.push(vec![
            id,
            created,
            created_by_cell(&h.created_by, o.trunc),
            size,
            h.comment.clone().unwrap_or_default(),
        ]);
    }
    rows
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim_end().to_string()).collect()
}

fn assert_table(fx_path: &std::path::Path, img: &ImageExpect, extra: &[&str], o: Opts) {
    let mut a: Vec<&std::ffi::OsStr> = vec!["history".as_ref(), fx_path.as_os_str()];
    a.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    let r = run(&a);
    assert_eq!(r.code, 0, "{r}");
    let want = table(&expected_rows(img, o));
    assert_eq!(
        lines(&r.stdout),
        want,
        "history {extra:?}:\n{}\nexpected:\n{}",
        r.stdout,
        want.join("\n")
    );
}

const DEFAULT: Opts = Opts {
    trunc: true,
    human: true,
};

#[test]
fn table_matches_docker_history() {
    let fx = fixtures::legacy();
    assert_table(&fx.path, fx.image(), &[], DEFAULT);
}

#[test]
fn table_for_oci_layout_with_mixed_compression() {
    let fx = fixtures::oci_tar_mixed();
    assert_table(&fx.path, fx.image(), &[], DEFAULT);
}

#[test]
fn table_for_committed_hello_fixture() {
    assert_table(&committed_hello_path(), &hello_image().expect, &[], DEFAULT);
}

#[test]
fn explicit_human_true_is_the_default() {
    let fx = fixtures::legacy();
    assert_table(&fx.path, fx.image(), &["-H"], DEFAULT);
    assert_table(&fx.path, fx.image(), &["--human=true"], DEFAULT);
}

#[test]
fn no_trunc_shows_full_ids_and_commands() {
    let fx = fixtures::legacy();
    assert_table(
        &fx.path,
        fx.image(),
        &["--no-trunc"],
        Opts {
            trunc: false,
            human: true,
        },
    );
}

#[test]
fn human_false_shows_rfc3339_and_bytes() {
    let fx = fixtures::legacy();
    assert_table(
        &fx.path,
        fx.image(),
        &["--human=false"],
        Opts {
            trunc: true,
            human: false,
        },
    );
    assert_table(
        &fx.path,
        fx.image(),
        &["-H=false"],
        Opts {
            trunc: true,
            human: false,
        },
    );
}

#[test]
fn old_and_missing_times_wide_chars_tabs_and_size_quirks() {
    // 1970 and 1999 and a missing time show N/A; a tab becomes a space; CJK text is cut
    // without splitting a wide character; 45 columns stay whole and 46 get cut; 999 600 bytes
    // print as docker's `1e+03kB`.
    let fx = fixtures::odd_history();
    let img = fx.image();
    let rows = expected_rows(img, DEFAULT);
    let cells: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert!(cells.contains(&"LABEL desc=日本語の説明文がとても長いのでこ…"));
    assert!(cells.contains(&EXACTLY_45));
    assert!(cells
        .iter()
        .any(|c| *c == format!("{}…", &EXACTLY_46[..44])));
    assert!(cells.contains(&"/bin/sh -c echo done"));
    assert!(rows.iter().filter(|r| r[1] == "N/A").count() == 3);
    assert!(rows.iter().any(|r| r[3] == "1e+03kB"));
    assert!(CJK_CREATED_BY.contains('日'));
    assert_table(&fx.path, img, &[], DEFAULT);
}

#[test]
fn quiet_prints_ids_only() {
    let fx = fixtures::legacy();
    let img = fx.image();
    let r = run(args!["history", fx.arg(), "-q"]);
    assert_eq!(r.code, 0, "{r}");
    let mut want = vec![img.id[7..19].to_string()];
    want.extend(std::iter::repeat("<missing>".to_string()).take(img.history.len() - 1));
    assert_eq!(lines(&r.stdout), want);
}

#[test]
fn quiet_no_trunc_prints_full_id() {
    let fx = fixtures::legacy();
    let r = run(args!["history", fx.arg(), "-q", "--no-trunc"]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(lines(&r.stdout)[0], fx.image().id);
}

#[test]
fn format_json_is_dockers_one_object_per_line() {
    let fx = fixtures::legacy();
    let img = fx.image();
    let r = run(args!["history", fx.arg(), "--format", "json"]);
    assert_eq!(r.code, 0, "{r}");
    let objs: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}")))
        .collect();
    assert_eq!(objs.len(), img.history.len());
    for (n, (o, h)) in objs.iter().zip(img.history.iter().rev()).enumerate() {
        let keys: Vec<&String> = o.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "Comment",
                "CreatedAt",
                "CreatedBy",
                "CreatedSince",
                "ID",
                "Size"
            ],
            "row {n}"
        );
        let id = if n == 0 {
            img.id[7..19].to_string()
        } else {
            "<missing>".into()
        };
        assert_eq!(o["ID"], id.as_str(), "row {n}");
        assert_eq!(
            o["CreatedAt"],
            created_at(h.created.as_deref()).as_str(),
            "row {n}"
        );
        assert_eq!(
            o["CreatedSince"],
            created_since(h.created.as_deref()).as_str(),
            "row {n}"
        );
        assert_eq!(
            o["CreatedBy"],
            created_by_cell(&h.created_by, true).as_str(),
            "row {n}"
        );
        assert_eq!(o["Size"], human_size(h.size).as_str(), "row {n}");
        assert_eq!(
            o["Comment"],
            h.comment.clone().unwrap_or_default().as_str(),
            "row {n}"
        );
    }
}

#[test]
fn format_template_substitutes_fields_without_header() {
    let fx = fixtures::legacy();
    let img = fx.image();
    let r = run(args![
        "history",
        fx.arg(),
        "--format",
        "{{.ID}}|{{.Size}}|{{.CreatedBy}}"
    ]);
    assert_eq!(r.code, 0, "{r}");
    let want: Vec<String> = img
        .history
        .iter()
        .rev()
        .enumerate()
        .map(|(n, h)| {
            let id = if n == 0 {
                img.id[7..19].to_string()
            } else {
                "<missing>".into()
            };
            format!(
                "{id}|{}|{}",
                human_size(h.size),
                created_by_cell(&h.created_by, true)
            )
        })
        .collect();
    assert_eq!(lines(&r.stdout), want);
}

fn strata_json_history(fx: &Fixture) {
    let v = run_json(args!["history", fx.arg(), "--json"]);
    assert_history_rows(&v, fx.image(), "history --json");
}

#[test]
fn strata_json_rows_are_raw_and_newest_first() {
    strata_json_history(&fixtures::legacy());
    strata_json_history(&fixtures::oci_dir_mixed());
    strata_json_history(&fixtures::odd_history());
}

#[test]
fn history_json_equals_inspect_history() {
    let fx = fixtures::docker25();
    let h = run_json(args!["history", fx.arg(), "--json"]);
    let i = run_json(args!["inspect", fx.arg(), "--json"]);
    assert_eq!(h, i["history"]);
}

#[test]
fn history_of_second_image_and_of_a_platform() {
    let fx = fixtures::two_images();
    let v = run_json(args!["history", fx.arg(), "--image", "two:b", "--json"]);
    assert_history_rows(&v, &fx.images[1], "two:b");
    let fx = fixtures::multi_platform();
    let v = run_json(args![
        "history",
        fx.arg(),
        "--platform",
        "linux/arm64/v8",
        "--json"
    ]);
    assert_history_rows(&v, &fx.images[1], "arm64");
}

#[test]
fn json_conflicts_with_quiet() {
    let fx = fixtures::legacy();
    let r = run(args!["history", fx.arg(), "--json", "-q"]);
    assert_eq!(r.code, 2, "{r}");
}

#[test]
fn closing_the_pipe_early_is_not_an_error() {
    // `strata history x | head -1`: when the reader goes away, strata stops quietly (exit 0,
    // nothing on stderr), as ripgrep does. The history is long enough to overflow a pipe.
    use common::image::{build_image, empty_step, step, ImageSpec};
    use common::layer::{sized_entries, Compression, LayerSpec};
    use std::io::Read;
    let mut history = vec![step("2023-05-01T00:00:00Z", "ADD a /")];
    for n in 0..4000 {
        history.push(empty_step(
            "2023-05-01T00:00:01Z",
            &format!("LABEL step={n} padding=................................"),
        ));
    }
    let spec = ImageSpec::new(
        "long:history",
        vec![LayerSpec::new(
            sized_entries("a", "a", 3),
            Compression::None,
        )],
        history,
    );
    let img = build_image(&spec);
    let fx = Fixture::new_file(
        "long.tar",
        &fixtures::legacy_bytes(std::slice::from_ref(&img), Default::default()),
        "docker-save",
        vec![img.expect],
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"))
        .arg("history")
        .arg(fx.arg())
        .env_clear()
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "stderr after the pipe closed: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit status after the pipe closed"
    );
}
