//! The pre-1.10 `docker save` (`repositories` + `<id>/json` + `<id>/layer.tar`, no
//! manifest.json) is read like any other archive: inspect, history, verify, extract, stdin.
//! Its image IDs are the ones docker gives it (tests/docker_history.rs compares the table).

use crate::common;

use crate::common::quirks;
use crate::common::{run, run_json, run_with_stdin};

#[test]
fn inspect_json_names_the_format_the_tag_and_the_layers() {
    let fx = quirks::v1();
    let v = run_json(args!["inspect", fx.arg(), "--json"]);
    assert_eq!(v["source"]["format"], "docker-save-v1");
    assert_eq!(v["image"]["tags"], serde_json::json!(["oldtimer:1.6"]));
    // The ID Docker 26 gave this image when it loaded the same bytes (`docker history -q
    // --no-trunc`, recorded in tests/golden/docker/).
    let docker_said = std::fs::read_to_string(common::golden::golden_path(
        "docker/oldtimer.quiet-no-trunc",
    ))
    .unwrap();
    assert_eq!(v["image"]["id"], docker_said.lines().next().unwrap());
    assert_eq!(v["image"]["parents"].as_array().unwrap().len(), 2);
    let layers = v["layers"].as_array().unwrap();
    let want = &fx.image().layers;
    assert_eq!(layers.len(), want.len());
    for (got, want) in layers.iter().zip(want) {
        assert_eq!(got["diff_id"], want.diff_id.as_str());
        assert_eq!(got["chain_id"], want.chain_id.as_str());
    }
}

#[test]
fn verify_and_extract_work_and_stdin_too() {
    let fx = quirks::v1();
    let r = run(args!["verify", fx.arg()]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("names no digests"), "{r}");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("root");
    let r = run(args!["extract", fx.arg(), dest]);
    assert_eq!(r.code, 0, "{r}");
    for n in 0..3 {
        assert!(
            dest.join(format!("q{n}/f")).is_file(),
            "q{n}/f missing:\n{r}"
        );
    }
    let r = run_with_stdin(args!["history", "-", "-q"], Some(fx.bytes()));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(r.stdout.lines().count(), 3, "{r}");
}

#[test]
fn a_tag_naming_no_folder_is_a_clean_error() {
    let fx = quirks::v1();
    let dir = tempfile::tempdir().unwrap();
    // Same archive, but `repositories` names a folder that is not there.
    let mut items = Vec::new();
    let mut ar = tar::Archive::new(std::io::Cursor::new(fx.bytes()));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        if path == "repositories" {
            body = format!("{{\"oldtimer\": {{\"1.6\": \"{}\"}}}}", "e".repeat(64)).into_bytes();
        }
        items.push((path, e.header().entry_type(), body));
    }
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, body) in items {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, &body[..]).unwrap();
    }
    let bad = dir.path().join("dangling.tar");
    std::fs::write(&bad, b.into_inner().unwrap()).unwrap();
    let r = run(args!["inspect", bad]);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("dangling.tar") && r.stderr.contains("/json"),
        "{r}"
    );
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
}
