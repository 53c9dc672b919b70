//! `strata verify`: recomputes digests, sizes and diffIDs. Exit 0 when all agree, 1 on any
//! mismatch, 2 when it cannot finish.

use crate::common;

use serde_json::Value;

use crate::common::fixtures::{self, committed_hello_path};
use crate::common::golden::{assert_golden, mask_path};
use crate::common::malformed::{blob_digest_mismatch, blob_size_mismatch};
use crate::common::{assert_clean_error, run, run_json, Fixture, ImageExpect};

fn checks(v: &Value) -> &Vec<Value> {
    v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks array: {v}"))
}

/// Good archive: exit 0, every line ok, and in JSON a diffID check per layer whose found value
/// is the builder's diffID, plus a check that covers the config digest.
fn assert_verifies(fx: &Fixture, img: &ImageExpect, extra: &[&str]) {
    let mut a: Vec<&std::ffi::OsStr> = vec!["verify".as_ref(), fx.arg().as_os_str()];
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    let r = run(&a);
    assert_eq!(r.code, 0, "{}: {r}", fx.file_name());
    let lines: Vec<&str> = r.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > img.layers.len(), "too few checks:\n{r}");
    for l in &lines {
        assert!(
            l.contains("ok") && !l.contains("MISMATCH"),
            "line not ok: {l}\n{r}"
        );
    }

    a.push("--json".as_ref());
    let v = run_json(&a);
    assert_eq!(v["ok"], true, "{v}");
    let cs = checks(&v);
    for c in cs {
        assert_eq!(c["ok"], true, "{c}");
        for k in ["what", "layer_index", "expected", "found"] {
            assert!(c.get(k).is_some(), "check without {k}: {c}");
        }
    }
    for (i, l) in img.layers.iter().enumerate() {
        assert!(
            cs.iter()
                .any(|c| c["layer_index"] == i && c["found"] == l.diff_id.as_str()),
            "no diff_id check for layer {i} finding {}: {v}",
            l.diff_id
        );
        // Layouts with descriptors also get blob digest and size checks per layer.
        if fx.format != "docker-save" {
            let n = cs.iter().filter(|c| c["layer_index"] == i).count();
            assert!(
                n >= 3,
                "layer {i}: expected digest, size and diff_id checks: {v}"
            );
        }
    }
    let cfg_hex = &img.config_digest[7..];
    assert!(
        cs.iter()
            .any(|c| c["found"].as_str().is_some_and(|f| f.contains(cfg_hex))),
        "no config digest check: {v}"
    );
}

#[test]
fn good_archives_verify() {
    for fx in [
        fixtures::legacy(),
        fixtures::legacy_dedupe(),
        fixtures::docker25(),
        fixtures::oci_dir_mixed(),
        fixtures::oci_tar_mixed(),
        fixtures::oci_mislabelled(),
        fixtures::estargz(),
        fixtures::multi_member_gzip(),
        fixtures::outer_compressed(common::layer::Compression::Gzip),
        fixtures::outer_compressed(common::layer::Compression::Zstd),
    ] {
        assert_verifies(&fx, fx.image(), &[]);
    }
}

#[test]
fn each_image_of_a_pair_verifies() {
    let fx = fixtures::two_images();
    assert_verifies(&fx, &fx.images[0], &["--image", "two:a"]);
    assert_verifies(&fx, &fx.images[1], &["--image", "two:b"]);
}

#[test]
fn each_platform_verifies() {
    let fx = fixtures::multi_platform();
    assert_verifies(&fx, &fx.images[0], &["--platform", "linux/amd64"]);
    assert_verifies(&fx, &fx.images[1], &["--platform", "linux/arm64/v8"]);
}

#[test]
fn committed_hello_verifies() {
    let r = run(args!["verify", committed_hello_path()]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn corrupted_blob_is_a_mismatch_naming_the_layer() {
    let b = blob_digest_mismatch();
    let r = run(args!["verify", b.fixture.arg()]);
    assert_eq!(r.code, 1, "a mismatch must exit 1:\n{r}");
    assert!(r.stdout.contains("MISMATCH"), "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");

    let r = run(args!["verify", b.fixture.arg(), "--json"]);
    assert_eq!(r.code, 1, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON even on mismatch");
    assert_eq!(v["ok"], false);
    let bad: Vec<&Value> = checks(&v).iter().filter(|c| c["ok"] == false).collect();
    assert!(!bad.is_empty(), "{v}");
    assert!(
        bad.iter().all(|c| c["layer_index"] == b.layer_index),
        "only layer {} is broken: {v}",
        b.layer_index
    );
    let actual = &b.fixture.image().layers[b.layer_index].digest;
    assert!(
        bad.iter().any(|c| c["expected"] == b.descriptor_digest.as_str() && c["found"] == actual.as_str()),
        "expected a digest check expecting {} and finding {actual}: {v}",
        b.descriptor_digest
    );
}

#[test]
fn blob_size_different_from_descriptor_is_a_mismatch() {
    let b = blob_size_mismatch();
    let r = run(args!["verify", b.fixture.arg(), "--json"]);
    assert_eq!(r.code, 1, "{r}");
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["ok"], false);
    let real = b.fixture.image().layers[b.layer_index].compressed_size;
    assert!(
        checks(&v).iter().any(|c| c["ok"] == false
            && c["layer_index"] == b.layer_index
            && c["expected"]
                .to_string()
                .contains(&b.descriptor_size.to_string())
            && c["found"].to_string().contains(&real.to_string())),
        "no failing size check for layer {}: {v}",
        b.layer_index
    );
}

#[test]
fn inspect_on_size_mismatch_does_not_panic() {
    let b = blob_size_mismatch();
    let r = run(args!["inspect", b.fixture.arg(), "--json"]);
    assert!(!r.stderr.contains("panicked"), "{r}");
    match r.code {
        0 => assert!(
            r.stderr.to_lowercase().contains("warning"),
            "size mismatch passed silently:\n{r}"
        ),
        _ => assert_clean_error(&r, &b.fixture.file_name()),
    }
}

#[test]
fn expect_chainid_matching_top_layer() {
    let fx = fixtures::legacy();
    let top = fx.image().layers.last().unwrap().chain_id.clone();
    let r = run(args!["verify", fx.arg(), "--expect-chainid", top]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn expect_chainid_of_another_image_is_a_mismatch() {
    let fx = fixtures::legacy();
    let other = fx.image().layers[0].chain_id.clone();
    let r = run(args!["verify", fx.arg(), "--expect-chainid", other]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("MISMATCH"), "{r}");
}

#[test]
fn expect_chainid_malformed_is_an_error() {
    let fx = fixtures::legacy();
    let r = run(args![
        "verify",
        fx.arg(),
        "--expect-chainid",
        "sha256:nothex"
    ]);
    assert_eq!(r.code, 2, "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
}

#[test]
fn verify_of_an_unreadable_archive_is_an_error_not_a_mismatch() {
    let fx = common::malformed::missing_layer();
    let r = run(args!["verify", fx.arg()]);
    assert_clean_error(&r, &fx.file_name());
}

/// stdout of `strata verify ARCHIVE` with the archive's path as `<ARCHIVE>`, and its exit code.
fn verify_text(archive: &std::path::Path) -> (i32, String) {
    let r = run(args!["verify", archive]);
    assert!(!r.stderr.contains("panicked"), "{r}");
    (r.code, mask_path(&r.stdout, archive))
}

#[test]
fn text_output_of_the_committed_hello_fixture() {
    let (code, out) = verify_text(&committed_hello_path());
    assert_eq!(code, 0, "{out}");
    assert_golden("verify-hello", &out);
}

#[test]
fn text_output_of_a_legacy_archive_in_a_temporary_directory() {
    let fx = fixtures::legacy();
    let (code, out) = verify_text(fx.arg());
    assert_eq!(code, 0, "{out}");
    assert_golden("verify-legacy", &out);
}

#[test]
fn text_output_of_a_corrupted_layer() {
    // One byte of a layer's file content changed after the config recorded its diffID (legacy
    // docker-save: layers uncompressed, so the bytes do not depend on a compressor).
    let fx = fixtures::legacy();
    let mut bytes = fx.bytes();
    let needle = b"NAME=strata-test";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("content in a layer");
    bytes[at] = b'n';
    let bad = fx.dir.path().join("corrupt.tar");
    std::fs::write(&bad, &bytes).unwrap();
    let (code, out) = verify_text(&bad);
    assert_eq!(code, 1, "{out}");
    assert_golden("verify-legacy-corrupted-layer", &out);
}
