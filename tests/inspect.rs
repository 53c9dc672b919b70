//! `strata inspect --json` against every archive format the fixture builder makes: each field
//! is compared with what the builder computed from the bytes it wrote.

use crate::common;

use crate::common::check::assert_inspect;
use crate::common::fixtures::{self, committed_hello_path, hello_image};
use crate::common::golden::{assert_golden, mask_path, mask_years, years_since};
use crate::common::layer::{gzip, Compression};
use crate::common::{
    assert_clean_error, run, run_json, run_with_stdin, Fixture, FIRST_IMAGE_NUMBER,
};

fn inspect_matches(fx: &Fixture, ctx: &str) {
    let v = run_json(args!["inspect", fx.arg(), "--json"]);
    assert_inspect(&v, fx.format, fx.image(), ctx);
    assert_eq!(
        v["source"]["path"],
        fx.arg().to_str().unwrap(),
        "{ctx}: source.path is the path given"
    );
}

#[test]
fn legacy_docker_save() {
    inspect_matches(&fixtures::legacy(), "legacy docker-save");
}

#[test]
fn legacy_docker_save_layer_stored_as_symlink_to_another() {
    // docker save stores a layer identical to an earlier one as a tar symlink to it; the
    // symlink must be followed inside the archive, giving the same digest and a later chainID.
    let fx = fixtures::legacy_dedupe();
    inspect_matches(&fx, "dedupe");
    let l = &fx.image().layers;
    assert_eq!(l[1].digest, l[2].digest);
    assert_ne!(l[1].chain_id, l[2].chain_id);
}

#[test]
fn docker25_save_with_oci_layout() {
    inspect_matches(&fixtures::docker25(), "docker 25 save");
}

#[test]
fn oci_layout_directory_with_gzip_zstd_and_plain_layers() {
    inspect_matches(&fixtures::oci_dir_mixed(), "OCI dir");
}

#[test]
fn oci_layout_tar_with_gzip_zstd_and_plain_layers() {
    inspect_matches(&fixtures::oci_tar_mixed(), "OCI tar");
}

#[test]
fn compression_is_sniffed_not_taken_from_the_media_type() {
    let fx = fixtures::oci_mislabelled();
    assert_eq!(fx.image().layers[0].compression, "none");
    assert_eq!(
        fx.image().layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    inspect_matches(&fx, "uncompressed blob labelled tar+gzip");
}

#[test]
fn estargz_trailing_bytes_are_part_of_the_diff_id() {
    let fx = fixtures::estargz();
    let l = &fx.image().layers[1];
    // The builder's diffID covers the TOC after the tar end marker; a reader that stops at the
    // end marker would compute another one.
    assert!(l.uncompressed_size % 512 != 0);
    inspect_matches(&fx, "estargz");
}

#[test]
fn multi_member_gzip_layer_is_read_to_the_end() {
    inspect_matches(&fixtures::multi_member_gzip(), "multi-member gzip");
}

#[test]
fn outer_archive_gzip_compressed() {
    inspect_matches(&fixtures::outer_compressed(Compression::Gzip), ".tar.gz");
}

#[test]
fn outer_archive_zstd_compressed() {
    inspect_matches(&fixtures::outer_compressed(Compression::Zstd), ".tar.zst");
}

#[test]
fn stdin_plain_tar() {
    let fx = fixtures::legacy();
    let r = run_with_stdin(args!["inspect", "-", "--json"], Some(fx.bytes()));
    assert_eq!(r.code, 0, "{r}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_inspect(&v, fx.format, fx.image(), "stdin");
    assert_eq!(v["source"]["path"], "-");
}

#[test]
fn stdin_gzip_compressed_stream() {
    let fx = fixtures::oci_tar_mixed();
    let r = run_with_stdin(args!["inspect", "-", "--json"], Some(gzip(&fx.bytes())));
    assert_eq!(r.code, 0, "{r}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_inspect(&v, fx.format, fx.image(), "gzip stdin");
}

#[test]
fn committed_hello_fixture() {
    let v = run_json(args!["inspect", committed_hello_path(), "--json"]);
    assert_inspect(
        &v,
        "docker-save",
        &hello_image().expect,
        "testdata/hello.tar",
    );
}

#[test]
fn several_images_without_a_choice_is_an_error_listing_them() {
    let fx = fixtures::two_images();
    let r = run(args!["inspect", fx.arg(), "--json"]);
    assert_clean_error(&r, &fx.file_name());
    assert!(
        r.stderr.contains("two:a") && r.stderr.contains("two:b"),
        "images not listed:\n{r}"
    );
    assert!(r.stderr.contains("--image"), "no hint to use --image:\n{r}");
}

#[test]
fn select_image_by_tag() {
    let fx = fixtures::two_images();
    for img in &fx.images {
        let v = run_json(args!["inspect", fx.arg(), "--image", img.tags[0], "--json"]);
        assert_inspect(&v, fx.format, img, &img.tags[0]);
    }
}

#[test]
fn select_image_by_number() {
    let fx = fixtures::two_images();
    for (i, img) in fx.images.iter().enumerate() {
        let n = (FIRST_IMAGE_NUMBER + i).to_string();
        let v = run_json(args!["inspect", fx.arg(), "--image", n, "--json"]);
        assert_inspect(&v, fx.format, img, &format!("--image {n}"));
    }
}

#[test]
fn select_image_by_config_digest() {
    let fx = fixtures::two_images();
    let img = &fx.images[1];
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--image",
        img.config_digest,
        "--json"
    ]);
    assert_inspect(&v, fx.format, img, "--image <config digest>");
}

#[test]
fn select_image_by_unknown_tag_is_an_error() {
    let fx = fixtures::two_images();
    let r = run(args!["inspect", fx.arg(), "--image", "two:nope", "--json"]);
    assert_clean_error(&r, &fx.file_name());
}

#[test]
fn select_oci_image_by_manifest_digest() {
    let fx = fixtures::multi_platform();
    let arm = &fx.images[1];
    let d = arm.manifest_digest.clone().unwrap();
    let v = run_json(args!["inspect", fx.arg(), "--image", d, "--json"]);
    assert_inspect(&v, fx.format, arm, "--image <manifest digest>");
}

#[test]
fn select_oci_image_by_config_digest() {
    // `--image sha256:<config digest>` (the image ID) works for every format, not only for
    // docker-save where the config file is named after it.
    let fx = fixtures::multi_platform();
    let arm = &fx.images[1];
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--image",
        arm.config_digest,
        "--json"
    ]);
    assert_inspect(
        &v,
        fx.format,
        arm,
        "--image <config digest> in an OCI layout",
    );
}

#[test]
fn select_docker25_image_by_tag_and_by_manifest_digest() {
    let fx = fixtures::docker25();
    let img = fx.image();
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--image",
        "strata-test:v25",
        "--json"
    ]);
    assert_inspect(&v, fx.format, img, "docker25 --image tag");
    let d = img.manifest_digest.clone().unwrap();
    let v = run_json(args!["inspect", fx.arg(), "--image", d, "--json"]);
    assert_inspect(&v, fx.format, img, "docker25 --image manifest digest");
}

#[test]
fn multi_platform_defaults_to_the_host() {
    let fx = fixtures::multi_platform();
    let host = if cfg!(target_arch = "aarch64") { 1 } else { 0 };
    let v = run_json(args!["inspect", fx.arg(), "--json"]);
    assert_inspect(&v, fx.format, &fx.images[host], "default platform");
}

#[test]
fn multi_platform_pick_arm64_v8() {
    let fx = fixtures::multi_platform();
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--platform",
        "linux/arm64/v8",
        "--json"
    ]);
    assert_inspect(&v, fx.format, &fx.images[1], "--platform linux/arm64/v8");
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--platform",
        "linux/amd64",
        "--json"
    ]);
    assert_inspect(&v, fx.format, &fx.images[0], "--platform linux/amd64");
}

#[test]
fn multi_platform_tag_and_platform_together() {
    let fx = fixtures::multi_platform();
    let v = run_json(args![
        "inspect",
        fx.arg(),
        "--image",
        "multi:latest",
        "--platform",
        "linux/arm64/v8",
        "--json"
    ]);
    assert_inspect(
        &v,
        fx.format,
        &fx.images[1],
        "--image multi:latest --platform linux/arm64/v8",
    );
}

#[test]
fn multi_platform_absent_platform_is_an_error() {
    let fx = fixtures::multi_platform();
    let r = run(args![
        "inspect",
        fx.arg(),
        "--platform",
        "linux/s390x",
        "--json"
    ]);
    assert_clean_error(&r, &fx.file_name());
}

#[test]
fn history_with_more_entries_than_layers_warns_and_shows_what_it_can() {
    let fx = common::malformed::history_more_than_layers();
    let r = run(args!["inspect", fx.arg(), "--json"]);
    assert_eq!(
        r.code, 0,
        "docker refuses this; strata warns and goes on:\n{r}"
    );
    assert!(
        r.stderr.to_lowercase().contains("warning"),
        "no warning:\n{r}"
    );
    assert!(!r.stderr.contains("panicked"), "{r}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_inspect(&v, fx.format, fx.image(), "history > layers");
}

#[test]
fn history_with_fewer_entries_than_layers_warns_and_keeps_every_layer() {
    let fx = common::malformed::history_fewer_than_layers();
    let r = run(args!["inspect", fx.arg(), "--json"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stderr.to_lowercase().contains("warning"),
        "no warning:\n{r}"
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let img = fx.image();
    // docker shows only the config's entries (the last layer vanishes from its output); strata
    // may instead add a row on top for each layer without an entry. Either way every config
    // entry keeps its mapping, and no layer is listed twice.
    let rows = v["history"].as_array().expect("history rows");
    let uncovered: Vec<usize> = (0..img.layers.len())
        .filter(|i| !img.history.iter().any(|h| h.layer_index == Some(*i)))
        .collect();
    assert_eq!(uncovered, [2]);
    let extra = rows.len() - img.history.len();
    assert!(
        extra == 0 || extra == uncovered.len(),
        "unexpected number of history rows: {}",
        rows.len()
    );
    for (n, row) in rows[..extra].iter().enumerate() {
        let i = uncovered[uncovered.len() - 1 - n];
        assert_eq!(row["layer_index"], i, "synthesized row {n}");
        assert_eq!(row["size"], img.layers[i].size, "synthesized row {n}");
        assert_eq!(row["empty_layer"], false, "synthesized row {n}");
    }
    assert_eq!(
        rows[0]["id"],
        img.id.as_str(),
        "the top row carries the image ID"
    );
    // Below the top row no row carries the ID.
    for (n, (row, h)) in rows[extra..]
        .iter()
        .zip(img.history.iter().rev())
        .enumerate()
    {
        let id = (extra == 0 && n == 0).then_some(img.id.as_str());
        common::check::assert_history_row(row, h, id, &format!("config history row {n}"));
    }
    let layers = v["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 3, "every layer is listed");
    for (l, e) in layers.iter().zip(&img.layers) {
        assert_eq!(l["diff_id"], e.diff_id.as_str());
        assert_eq!(l["chain_id"], e.chain_id.as_str());
    }
    assert!(
        layers[2]["created_by"].is_null() || layers[2]["created_by"] == "",
        "layer 2 has no history"
    );
}

#[test]
fn blob_digest_mismatch_warns_but_inspect_succeeds() {
    let b = common::malformed::blob_digest_mismatch();
    let r = run(args!["inspect", b.fixture.arg(), "--json"]);
    assert_eq!(
        r.code, 0,
        "inspect reports a digest mismatch as a warning:\n{r}"
    );
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert!(
        r.stderr.to_lowercase().contains("warning"),
        "no warning on stderr:\n{r}"
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let l = &v["layers"][b.layer_index];
    let found = &b.fixture.image().layers[b.layer_index];
    assert_eq!(
        l["digest"],
        found.digest.as_str(),
        "digest is what the stored bytes hash to"
    );
    assert_ne!(l["digest"], b.descriptor_digest.as_str());
    assert_eq!(l["diff_id"], found.diff_id.as_str());
}

#[test]
fn plain_output_without_json_mentions_every_layer() {
    // The human format may change; only check that it is produced and names the layers.
    let fx = fixtures::oci_tar_mixed();
    let r = run(args!["inspect", fx.arg()]);
    assert_eq!(r.code, 0, "{r}");
    for l in &fx.image().layers {
        assert!(
            r.stdout.contains(&l.diff_id[7..19]),
            "diffID {} not shown:\n{r}",
            l.diff_id
        );
    }
}

/// stdout of `strata inspect ARCHIVE EXTRA...` with the archive's path as `<ARCHIVE>` and the
/// image's age as `N years ago` (checked against `created`).
fn inspect_text(archive: &std::path::Path, extra: &[&str], created: &str) -> String {
    let mut a: Vec<&std::ffi::OsStr> = vec!["inspect".as_ref(), archive.as_os_str()];
    a.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    let r = run(&a);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.is_empty(), "{r}");
    let (out, years) = mask_years(&mask_path(&r.stdout, archive), false);
    assert_eq!(years, [years_since(created)], "{r}");
    out
}

#[test]
fn text_output_of_the_committed_hello_fixture() {
    // 4608 + 3072 + 2048 stored bytes are 9.73kB; 55 + 12 + 0 bytes on disk are 67B.
    let out = inspect_text(&committed_hello_path(), &[], "2023-05-01T12:00:00Z");
    assert_golden("inspect-hello", &out);
}

#[test]
fn text_output_with_full_digests() {
    let out = inspect_text(
        &committed_hello_path(),
        &["--no-trunc"],
        "2023-05-01T12:00:00Z",
    );
    assert_golden("inspect-hello-no-trunc", &out);
}

#[test]
fn text_output_of_a_legacy_archive_in_a_temporary_directory() {
    let fx = fixtures::legacy();
    let out = inspect_text(fx.arg(), &[], &fx.image().created);
    assert_golden("inspect-legacy", &out);
}
