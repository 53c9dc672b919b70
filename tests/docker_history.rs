//! `strata history` against what Docker itself printed for the same archive bytes: the golden
//! files under tests/golden/docker/ were written by `docker history` (tests/golden/docker/README.md
//! says how), never by strata. Relative times are the only thing masked (`N years ago`).

#[macro_use]
mod common;

use std::path::Path;

use common::golden::{assert_golden, mask_years};
use common::quirks;
use common::run;

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
}

#[test]
fn fewer_steps_than_layers_shows_only_the_steps() {
    let fx = quirks::fewer_steps();
    check_against_docker("quirks-fewer", &fx.path, None);
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
}

#[test]
fn parent_in_the_same_archive_puts_its_id_on_the_rows_below() {
    let fx = quirks::parent_link();
    check_against_docker("family.base", &fx.path, Some("family:base"));
    check_against_docker("family.child", &fx.path, Some("family:child"));
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
}

/// go-containerregistry's test_link.tar: test_image_3 names test_image_1 as its parent.
#[test]
fn ggcr_test_link_parent() {
    let entry = Path::new(common::corpus::CORPUS).join("ggcr.tarball.test_link");
    let Some(tar) = common::corpus::find_archive(&entry) else {
        eprintln!("skipped: ../shared/corpus/ggcr.tarball.test_link is not here");
        return;
    };
    let out = history(
        &tar,
        Some("bazel/v1/tarball:test_image_3"),
        &["--human=false"],
    );
    assert_eq!(
        out,
        "IMAGE          CREATED AT             CREATED BY                                      SIZE      COMMENT\n\
         d4c9adacde69   2021-04-21T02:24:18Z   /bin/sh -c #(nop) ADD file:31f0f7fb6b901307b…   6         \n\
         6e0b05049ed9   1970-01-01T00:00:00Z   bazel build ...                                 8         \n"
    );
}

#[test]
fn pre_1_10_docker_save_has_the_ids_docker_gives_its_levels() {
    // No manifest.json and no config: docker builds a config per level from the v1 JSONs
    // (old ones normalised, newer ones kept as written) and links each level to the one
    // below as its parent, so every row has an ID.
    let fx = quirks::v1();
    check_against_docker("oldtimer", &fx.path, None);
}

/// `--image-store containerd`: what Docker with its containerd image store prints. Worked out
/// by hand from that store's rules (tests/golden/docker/README.md says why no recording):
/// every layer of quirks-fewer is a directory and one small file, so root + directory + one
/// block = 12 288 bytes; the ID is the manifest digest, and no row below the top has one.
#[test]
fn containerd_store_shows_the_manifest_digest_and_block_usage() {
    let fx = common::fixtures::docker25();
    let out = history(
        &fx.path,
        None,
        &["--image-store", "containerd", "-q", "--no-trunc"],
    );
    let manifest = fx
        .image()
        .manifest_digest
        .clone()
        .expect("docker25 has a manifest");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids[0], manifest, "{out}");
    assert!(ids[1..].iter().all(|l| *l == "<missing>"), "{out}");

    let fx = quirks::fewer_steps();
    let args = [
        "--image-store",
        "containerd",
        "--human=false",
        "--all-layers",
        "--format",
        "{{.ID}} {{.Size}}",
    ];
    let out = history(&fx.path, None, &args);
    let sizes: Vec<&str> = out.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(sizes, ["12288", "12288", "0", "12288"], "{out}");
    // Without a manifest the image ID stands in, as the classic store shows it.
    assert!(out.starts_with(&fx.image().id[7..19]), "{out}");
    let classic = history(&fx.path, None, &["--human=false"]);
    assert!(classic.contains("   5         \n"), "{classic}");
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
