//! `strata chainid`: from arguments, from stdin, from an image's config.

use crate::common;

use crate::common::fixtures::{self, committed_hello_path};
use crate::common::golden::assert_golden;
use crate::common::{assert_clean_error, chain_ids, run, run_json, run_with_stdin};

const D1: &str = "sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b";
const D2: &str = "sha256:b3cce2ce0405ffbb4971b872588c5b7fc840514b807f18047bf7d486af79884c";
const C2: &str = "sha256:6613b10b697b0a267c9573ee23e54c0373ccf72e7991cf4479bd0b66609a631c";

fn out_lines(s: &str) -> Vec<&str> {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn known_vector_from_arguments() {
    let r = run(args!["chainid", D1, D2]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(out_lines(&r.stdout), [D1, C2]);
}

#[test]
fn single_layer_chain_is_its_diff_id() {
    let r = run(args!["chainid", D2]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(out_lines(&r.stdout), [D2]);
}

#[test]
fn diff_ids_from_stdin_one_per_line() {
    let r = run_with_stdin(args!["chainid"], Some(format!("{D1}\n{D2}\n").into_bytes()));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(out_lines(&r.stdout), [D1, C2]);
}

#[test]
fn fixture_diff_ids_give_the_builders_chain() {
    let fx = fixtures::oci_tar_mixed();
    let img = fx.image();
    let diff_ids: Vec<String> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
    let want = chain_ids(&diff_ids);
    let mut a: Vec<&std::ffi::OsStr> = vec!["chainid".as_ref()];
    a.extend(diff_ids.iter().map(std::ffi::OsStr::new));
    let r = run(&a);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(out_lines(&r.stdout), want);
    let from_layers: Vec<&str> = img.layers.iter().map(|l| l.chain_id.as_str()).collect();
    assert_eq!(out_lines(&r.stdout), from_layers);
}

#[test]
fn chain_of_an_image_archive() {
    for fx in [
        fixtures::legacy(),
        fixtures::docker25(),
        fixtures::oci_tar_mixed(),
        fixtures::legacy_dedupe(),
    ] {
        let r = run(args!["chainid", "--archive", fx.arg()]);
        assert_eq!(r.code, 0, "{r}");
        let want: Vec<&str> = fx
            .image()
            .layers
            .iter()
            .map(|l| l.chain_id.as_str())
            .collect();
        assert_eq!(out_lines(&r.stdout), want, "{}", fx.file_name());
    }
}

#[test]
fn chain_of_one_image_of_several() {
    let fx = fixtures::two_images();
    for img in &fx.images {
        let r = run(args![
            "chainid",
            "--archive",
            fx.arg(),
            "--image",
            img.tags[0]
        ]);
        assert_eq!(r.code, 0, "{r}");
        let want: Vec<&str> = img.layers.iter().map(|l| l.chain_id.as_str()).collect();
        assert_eq!(out_lines(&r.stdout), want);
    }
}

#[test]
fn chain_of_a_platform() {
    let fx = fixtures::multi_platform();
    let r = run(args![
        "chainid",
        "--archive",
        fx.arg(),
        "--platform",
        "linux/arm64/v8"
    ]);
    assert_eq!(r.code, 0, "{r}");
    let want: Vec<&str> = fx.images[1]
        .layers
        .iter()
        .map(|l| l.chain_id.as_str())
        .collect();
    assert_eq!(out_lines(&r.stdout), want);
}

#[test]
fn json_lists_index_diff_id_and_chain_id() {
    let v = run_json(args!["chainid", "--json", D1, D2]);
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["index"], 0);
    assert_eq!(rows[0]["diff_id"], D1);
    assert_eq!(rows[0]["chain_id"], D1);
    assert_eq!(rows[1]["index"], 1);
    assert_eq!(rows[1]["diff_id"], D2);
    assert_eq!(rows[1]["chain_id"], C2);
}

fn assert_usage_error(r: &common::Run) {
    assert_eq!(r.code, 2, "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert!(
        r.stderr.lines().filter(|l| l.starts_with("error:")).count() == 1,
        "{r}"
    );
    assert!(r.stdout.trim().is_empty() || !r.stdout.contains(C2), "{r}");
}

#[test]
fn malformed_diff_ids_are_errors() {
    for bad in [
        "sha256:xyz",
        "9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b",
        "sha256:9F54EEF412758095C8079AC465D494A2872E02E90BF1FB5F12A1641C0D1BB78B",
        "sha512:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b",
        "sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78",
    ] {
        let r = run(args!["chainid", D1, bad]);
        assert_usage_error(&r);
    }
}

#[test]
fn malformed_diff_id_on_stdin_is_an_error() {
    let r = run_with_stdin(
        args!["chainid"],
        Some(format!("{D1}\nnot-a-digest\n").into_bytes()),
    );
    assert_usage_error(&r);
}

#[test]
fn image_that_is_not_an_archive_is_an_error() {
    let fx = common::malformed::not_a_tar();
    let r = run(args!["chainid", "--archive", fx.arg()]);
    assert_clean_error(&r, &fx.file_name());
}

#[test]
fn text_and_json_output_for_the_committed_hello_fixture() {
    let hello = committed_hello_path();
    let r = run(args!["chainid", "--archive", hello]);
    assert_eq!(r.code, 0, "{r}");
    assert_golden("chainid-hello", &r.stdout);
    let r = run(args!["chainid", "--archive", hello, "--json"]);
    assert_eq!(r.code, 0, "{r}");
    assert_golden("chainid-hello-json", &r.stdout);
}
