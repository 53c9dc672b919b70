//! `strata images` (what an archive holds), and one meaning per flag: `--image` tags win over
//! numbers (`#N` is always the number), `--platform` is checked even without an index, and
//! `chainid --archive` names the archive.

use crate::common::fixtures::{self, legacy_bytes, two_images_images};
use crate::common::layouts::LegacyOpts;
use crate::common::{run, run_json, Fixture};

/// two_images, with image #0 tagged `1` (so `--image 1` could mean either).
fn tagged_one() -> Fixture {
    let mut images = two_images_images();
    images[0].expect.tags = vec!["1:latest".into()];
    Fixture::new_file(
        "tagged-one.tar",
        &legacy_bytes(&images, LegacyOpts::default()),
        "docker-save",
        images.into_iter().map(|i| i.expect).collect(),
    )
}

#[test]
fn images_lists_every_image_with_its_facts() {
    let fx = fixtures::two_images();
    let v = run_json(args!["images", fx.arg(), "--json"]);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for (n, (got, want)) in list.iter().zip(&fx.images).enumerate() {
        assert_eq!(got["number"], n);
        assert_eq!(got["tags"], serde_json::json!(want.tags));
        assert_eq!(got["platform"], "linux/amd64");
        assert_eq!(got["config_digest"], want.config_digest.as_str());
        assert_eq!(got["manifest_digest"], serde_json::Value::Null);
        assert_eq!(got["layers"], want.layers.len());
        let stored: u64 = want.layers.iter().map(|l| l.compressed_size).sum();
        assert_eq!(got["stored_size"], stored);
    }
    let r = run(args!["images", fx.arg()]);
    assert_eq!(r.code, 0, "{r}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("#   ") && lines[0].contains("IMAGE ID"),
        "{r}"
    );
    assert!(
        lines[1].starts_with("#0  ") && lines[1].contains(&fx.images[0].id[7..19]),
        "{r}"
    );
    assert!(lines[2].contains("two:b"), "{r}");
}

#[test]
fn images_of_a_multi_platform_index_show_platforms_and_manifests() {
    let fx = fixtures::multi_platform();
    let v = run_json(args!["images", fx.arg(), "--json"]);
    for (got, want) in v.as_array().unwrap().iter().zip(&fx.images) {
        assert_eq!(
            got["manifest_digest"],
            want.manifest_digest.clone().unwrap().as_str()
        );
        let p = &want.platform;
        let mut text = format!("{}/{}", p.os, p.architecture);
        if let Some(v) = &p.variant {
            text = format!("{text}/{v}");
        }
        assert_eq!(got["platform"], text.as_str());
    }
}

#[test]
fn a_tag_wins_over_the_number_and_hash_n_is_the_number() {
    let fx = tagged_one();
    let id = |v: &serde_json::Value| v["image"]["id"].as_str().unwrap().to_string();
    let by_tag = run_json(args!["inspect", fx.arg(), "--image", "1", "--json"]);
    assert_eq!(id(&by_tag), fx.images[0].id);
    let by_number = run_json(args!["inspect", fx.arg(), "--image", "#1", "--json"]);
    assert_eq!(id(&by_number), fx.images[1].id);
    // No image is tagged 0: the bare number still works.
    let bare = run_json(args!["inspect", fx.arg(), "--image", "0", "--json"]);
    assert_eq!(id(&bare), fx.images[0].id);
    let r = run(args!["inspect", fx.arg(), "--image", "#7"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("#1: two:b"), "{r}");
}

#[test]
fn a_platform_the_archive_does_not_have_is_an_error_naming_what_it_has() {
    let fx = fixtures::legacy();
    let r = run(args!["history", fx.arg(), "--platform", "linux/s390x"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("no image for platform linux/s390x; available: linux/amd64"),
        "{r}"
    );
    let r = run(args![
        "history",
        fx.arg(),
        "--platform",
        "linux/amd64",
        "-q"
    ]);
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn an_ambiguous_choice_says_how_many_match_out_of_how_many() {
    let fx = fixtures::two_images();
    let r = run(args!["inspect", fx.arg()]);
    assert!(r.stderr.contains("the archive holds 2 images"), "{r}");
    // Both images share the `two` repository: `two` alone is not a tag of either, but a
    // digest prefix of both is unlikely; use the short-name rule instead.
    let mut images = two_images_images();
    images[1].expect.tags = images[0].expect.tags.clone();
    let same = Fixture::new_file(
        "same-tag.tar",
        &legacy_bytes(&images, LegacyOpts::default()),
        "docker-save",
        vec![],
    );
    let r = run(args!["inspect", same.arg(), "--image", "two:a"]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("`two:a` matches 2 of the archive's 2 images"),
        "{r}"
    );
}

#[test]
fn chainid_reads_an_archive_with_archive_and_hints_at_it() {
    let fx = fixtures::two_images();
    let r = run(args!["chainid", "--archive", fx.arg(), "--image", "two:b"]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(
        r.stdout.lines().last().unwrap(),
        fx.images[1].layers[1].chain_id
    );
    // The old spelling of the image choice still works.
    let r2 = run(args!["chainid", "--archive", fx.arg(), "--ref", "two:b"]);
    assert_eq!(r2.stdout, r.stdout);
    let r = run(args!["chainid", fx.arg()]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr
            .contains("is a file: to read an archive's chain, use --archive"),
        "{r}"
    );
}
