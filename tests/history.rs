//! `strata history`: docker's table, its flags, docker's `--format json` and strata's `--json`.
//! Text output is compared with golden files (tests/golden/, see tests/common/golden.rs) and with
//! literal cells worked out by hand from docker's rules (/work/shared/docs/formats.md), never
//! with a second implementation of those rules.

use chrono::{Duration, Utc};

use crate::common::check::assert_history_rows;
use crate::common::fixtures::{self, committed_hello_path, EXACTLY_45};
use crate::common::golden::{assert_golden, mask_years, years_since};
use crate::common::image::{build_image, empty_step, step, HistSpec, ImageSpec};
use crate::common::layer::{sized_entries, Compression, LayerSpec};
use crate::common::{run, run_json, Fixture};

/// stdout of a successful `strata history ARCHIVE EXTRA...`.
fn history(archive: &std::path::Path, extra: &[&str]) -> String {
    let mut a: Vec<&std::ffi::OsStr> = vec!["history".as_ref(), archive.as_os_str()];
    a.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    let r = run(&a);
    assert_eq!(r.code, 0, "history {extra:?}:\n{r}");
    assert!(r.stderr.is_empty(), "history {extra:?}:\n{r}");
    r.stdout
}

/// Builds a legacy docker-save of one image from `history`, whose non-empty steps take the
/// layers of `layer_sizes` (one file of that many bytes each) in order.
fn archive_of(name: &str, layer_sizes: &[usize], history: Vec<HistSpec>) -> Fixture {
    let layers = layer_sizes
        .iter()
        .enumerate()
        .map(|(n, &size)| {
            LayerSpec::new(
                sized_entries(&format!("d{n}"), "f", size),
                Compression::None,
            )
        })
        .collect();
    let img = build_image(&ImageSpec::new(&format!("{name}:1"), layers, history));
    Fixture::new_file(
        &format!("{name}.tar"),
        &fixtures::legacy_bytes(std::slice::from_ref(&img), Default::default()),
        "docker-save",
        vec![img.expect],
    )
}

#[test]
fn human_false_table_of_the_committed_hello_fixture() {
    // CREATED AT in RFC 3339, sizes in bytes, CREATED BY cut at 44 columns + `…`.
    let hello = committed_hello_path();
    let out = history(&hello, &["--human=false"]);
    assert_golden("history-hello-human-false", &out);
    assert_eq!(history(&hello, &["-H=false"]), out);
}

#[test]
fn no_trunc_shows_full_ids_and_commands() {
    let out = history(&committed_hello_path(), &["--no-trunc", "--human=false"]);
    assert_golden("history-hello-no-trunc-human-false", &out);
}

#[test]
fn human_false_table_is_the_same_for_docker_save_and_oci_layout() {
    // Same history, so the same table; only the image ID (the config digest) differs.
    let legacy = fixtures::legacy();
    let out = history(&legacy.path, &["--human=false"]);
    assert_golden("history-legacy-human-false", &out);
    for fx in [fixtures::oci_tar_mixed(), fixtures::oci_dir_mixed()] {
        let id = |f: &Fixture| f.image().id[7..19].to_string();
        assert_eq!(
            history(&fx.path, &["--human=false"]),
            out.replacen(&id(&legacy), &id(&fx), 1),
            "{}",
            fx.file_name()
        );
    }
}

/// The newest-first created times of odd_history that docker shows in years.
fn odd_history_years() -> Vec<u64> {
    vec![
        years_since("2010-06-15T08:00:00Z"),
        years_since("2000-01-01T00:00:01Z"),
    ]
}

#[test]
fn default_table_with_old_and_missing_times_wide_chars_tabs_and_size_quirks() {
    let fx = fixtures::odd_history();
    let out = history(&fx.path, &[]);
    assert_eq!(history(&fx.path, &["-H"]), out, "-H is the default");
    assert_eq!(history(&fx.path, &["--human=true"]), out);
    let (masked, years) = mask_years(&out, true);
    assert_eq!(years, odd_history_years(), "{out}");
    assert_golden("history-odd-human", &masked);

    // The same facts, worked out by hand from docker's rules (rows newest first):
    let rows: Vec<&str> = out.lines().skip(1).collect();
    // 46 columns are cut to 44 + `…` (a 45-column cell, padded to 48); 63 900 bytes.
    assert!(
        rows[0].ends_with("   RUN echo 01234567890123456789012345678901234…   63.9kB    a comment"),
        "{out}"
    );
    // A missing time is N/A. "LABEL desc=" is 11 columns; 16 wide characters reach 43, a 17th
    // would pass 44, so the cell is 44 columns wide and gets 4 spaces of padding.
    assert!(
        rows[1].contains("   N/A            LABEL desc=日本語の説明文がとても長いのでこ…    0B   "),
        "{out}"
    );
    // 2000-01-01T00:00:01Z is after docker's cut-off; 45 columns stay whole; 999 600 bytes
    // are 999.6kB, which `%.3g` rounds to 1e+03.
    assert!(
        rows[2].contains(&format!(" years ago   {EXACTLY_45}   1e+03kB   ")),
        "{out}"
    );
    // 1999-12-31T23:59:59Z is N/A; the tab became a space.
    assert!(
        rows[3].contains("   N/A            /bin/sh -c echo done      "),
        "{out}"
    );
    assert!(!out.contains('\t'));
    // 1970-01-01T00:00:00Z is N/A; one byte is 1B.
    assert!(
        rows[4].ends_with(
            "   N/A            ADD one /a/                                     1B        "
        ),
        "{out}"
    );
}

#[test]
fn no_trunc_keeps_wide_and_long_commands_whole_but_still_replaces_tabs() {
    let fx = fixtures::odd_history();
    let out = history(&fx.path, &["--no-trunc"]);
    assert!(out.contains(" /bin/sh -c echo done ") && !out.contains('\t'));
    let (masked, years) = mask_years(&out, true);
    assert_eq!(years, odd_history_years(), "{out}");
    assert_golden("history-odd-no-trunc", &masked);
}

/// Regression: a missing or epoch time printed an empty CREATED AT; docker prints
/// 1970-01-01T00:00:00Z (its daemon sends 0 for a missing time and the CLI formats it).
#[test]
fn human_false_table_with_missing_and_epoch_times() {
    // The golden file was written by hand: do not regenerate it from strata's output.
    let out = history(&fixtures::odd_history().path, &["--human=false"]);
    assert_golden("history-odd-human-false", &out);
}

#[test]
fn quiet_prints_ids_only() {
    let hello = committed_hello_path();
    assert_golden("history-hello-quiet", &history(&hello, &["-q"]));
    assert_golden(
        "history-hello-quiet-no-trunc",
        &history(&hello, &["-q", "--no-trunc"]),
    );
}

/// docker's `--format json` goes through Go's json.Marshal, which writes `<`, `>` and `&` as
/// `\u003c`, `\u003e` and `\u0026`; strata writes them as they are. Both are the same JSON; the
/// golden file has docker's bytes, so strata's output is brought to Go's escaping first.
fn go_html_escapes(json_lines: &str) -> String {
    json_lines
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[test]
fn format_json_is_dockers_one_object_per_line() {
    let out = history(&committed_hello_path(), &["--format", "json"]);
    for l in out.lines() {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}"));
    }
    let (masked, years) = mask_years(&out, false);
    let created = [
        "2023-05-01T11:20:01Z",
        "2023-05-01T11:20:00Z",
        "2023-05-01T11:10:00Z",
        "2023-05-01T11:00:01Z",
        "2023-05-01T11:00:00Z",
    ];
    let want: Vec<u64> = created.iter().map(|c| years_since(c)).collect();
    assert_eq!(years, want, "{out}");
    assert_golden("history-hello-format-json", &go_html_escapes(&masked));
}

#[test]
fn format_json_with_human_false_has_raw_sizes_and_times() {
    let out = history(
        &committed_hello_path(),
        &["--format", "json", "--human=false"],
    );
    assert_golden(
        "history-hello-format-json-human-false",
        &go_html_escapes(&out),
    );
}

#[test]
fn format_table_template_has_a_header_and_aligned_columns() {
    let out = history(
        &fixtures::legacy().path,
        &["--format", "table {{.ID}}\t{{.Size}}\t{{.Comment}}"],
    );
    assert_golden("history-legacy-format-table", &out);
}

#[test]
fn format_template_substitutes_fields_without_header() {
    let out = history(
        &fixtures::legacy().path,
        &["--format", "{{.ID}}|{{.Size}}|{{.CreatedBy}}"],
    );
    assert_golden("history-legacy-format-template", &out);
}

#[test]
fn sizes_are_go_units_three_significant_digits() {
    // go-units HumanSizeWithPrecision(size, 3): `%.3g` of the value in base-1000 units. 999.5kB
    // and above round to 1000 at three digits, which `%g` writes as 1e+03.
    let sizes = [
        0, 1, 12, 999, 1000, 1234, 4610, 10_240, 63_900, 999_499, 999_500, 999_999, 1_000_000,
        1_234_567,
    ];
    let history = (0..sizes.len())
        .map(|n| step("2023-05-01T00:00:00Z", &format!("ADD {n} /")))
        .collect();
    let fx = archive_of("sizes", &sizes, history);
    let human: Vec<String> = history_lines(&fx, &["--format", "{{.Size}}"]);
    assert_eq!(
        human,
        [
            "1.23MB", "1MB", "1e+03kB", "1e+03kB", "999kB", "63.9kB", "10.2kB", "4.61kB", "1.23kB",
            "1kB", "999B", "12B", "1B", "0B",
        ]
    );
    let raw = history_lines(&fx, &["--human=false", "--format", "{{.Size}}"]);
    let want: Vec<String> = sizes.iter().rev().map(|s| s.to_string()).collect();
    assert_eq!(raw, want);
}

fn history_lines(fx: &Fixture, extra: &[&str]) -> Vec<String> {
    history(&fx.path, extra).lines().map(String::from).collect()
}

#[test]
fn created_since_uses_go_units_human_duration() {
    // Times relative to now, each in the middle of its go-units bucket so that the seconds the
    // test takes cannot move it to the next one.
    let now = Utc::now();
    let ago = |d: Duration| (now - d).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let cases: Vec<(String, &str)> = vec![
        (ago(Duration::days(3 * 365 + 30)), "3 years ago"),
        (ago(Duration::days(100)), "3 months ago"),
        (ago(Duration::days(20)), "2 weeks ago"),
        (ago(Duration::hours(3 * 24 + 5)), "3 days ago"),
        (ago(Duration::minutes(5 * 60 + 10)), "5 hours ago"),
        (ago(Duration::minutes(70)), "About an hour ago"),
        (ago(Duration::seconds(45 * 60 + 20)), "45 minutes ago"),
        (ago(Duration::seconds(90)), "About a minute ago"),
        (ago(Duration::hours(-1)), "Less than a second ago"),
        ("2000-01-01T00:00:01Z".into(), "ago"),
        ("2000-01-01T00:00:00Z".into(), "N/A"),
        ("2000-01-01T00:30:00+01:00".into(), "N/A"),
    ];
    let mut hist = vec![step("2023-05-01T00:00:00Z", "ADD x /")];
    hist.extend(cases.iter().map(|(t, _)| empty_step(t, "ENV A=1")));
    let fx = archive_of("durations", &[1], hist);
    let got = history_lines(&fx, &["--format", "{{.CreatedSince}}"]);
    let got: Vec<&str> = got.iter().rev().skip(1).map(String::as_str).collect();
    assert_eq!(got.len(), cases.len());
    for ((t, want), got) in cases.iter().zip(&got) {
        if *want == "ago" {
            assert_eq!(*got, format!("{} years ago", years_since(t)), "{t}");
        } else {
            assert_eq!(got, want, "{t}");
        }
    }
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
    use crate::common::image::{build_image, empty_step, step, ImageSpec};
    use crate::common::layer::{sized_entries, Compression, LayerSpec};
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
