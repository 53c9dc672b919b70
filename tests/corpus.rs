//! Conformance against ../shared/corpus: real archives written by other tools, with reference
//! answers in each folder's layers.json (computed by skopeo/umoci/buildah/podman and an
//! independent script). Skipped, with a printed reason, when the corpus is not there.
//!
//! For every entry: images are compared field by field with `strata inspect --json` and must
//! pass `strata verify` unless layers.json itself records a disagreement; entries that are not
//! container images must be refused with exit 2 and a clean `error:` line.

use crate::common;

use std::path::Path;

use serde_json::Value;

use crate::common::corpus::{find_archive, reference_images, select_args, CORPUS};
use crate::common::{assert_clean_error, run, Run};

fn is_container_config(img: &Value) -> bool {
    match img["config_media_type"].as_str() {
        None => true, // docker-save: the config is always an image config
        Some(m) => {
            m == "application/vnd.oci.image.config.v1+json"
                || m == "application/vnd.docker.container.image.v1+json"
        }
    }
}

fn config_digest(img: &Value) -> Option<String> {
    img["config_digest"]
        .as_str()
        .or_else(|| img["config_sha256"].as_str())
        .map(str::to_string)
}

/// docker's layer size from the reference's entry list.
fn docker_size(layer: &Value) -> Option<u64> {
    let entries = layer["entries"].as_array()?;
    Some(
        entries
            .iter()
            .map(|e| match e["type"].as_str() {
                Some("file") => e["size"].as_u64().unwrap_or(0),
                Some("symlink") => e["linkname"].as_str().map(|l| l.len() as u64).unwrap_or(0),
                _ => 0,
            })
            .sum(),
    )
}

/// Whether layers.json records any disagreement that `verify` should report.
fn reference_disagrees(img: &Value) -> bool {
    let flag_false = |v: &Value, k: &str| v.get(k).is_some_and(|f| f == false);
    config_name_disagrees(img)
        || ["diff_ids_agree", "manifest_digest_ok", "config_digest_ok"]
            .iter()
            .any(|k| flag_false(img, k))
        || img["layers"].as_array().into_iter().flatten().any(|l| {
            flag_false(l, "descriptor_matches_blob") || flag_false(l, "diff_id_matches_config")
        })
}

/// A docker save names the config `<image ID>.json`, the image ID being the sha256 of its bytes.
/// Some old bazel-built archives (ggcr's source_image_with_empty_layer_history) break that rule;
/// docker itself ignores the name on load, but the archive's claim about its own image ID is
/// false, so `verify` reports it (exit 1) while inspect and history still work.
fn config_name_disagrees(img: &Value) -> bool {
    let (Some(path), Some(sha)) = (img["config_path"].as_str(), img["config_sha256"].as_str())
    else {
        return false;
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    let hex = name.strip_suffix(".json").unwrap_or(name);
    hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && sha.strip_prefix("sha256:") != Some(hex)
}

fn strata(sub: &str, rest: &[String], extra: &[&str]) -> Run {
    let mut a: Vec<&std::ffi::OsStr> = vec![sub.as_ref()];
    a.extend(rest.iter().map(std::ffi::OsStr::new));
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    run(&a)
}

/// Compares one image; returns the differences found.
fn compare_image(name: &str, i: usize, img: &Value, v: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let mut eq = |what: String, found: &Value, want: &Value| {
        if found != want {
            bad.push(format!(
                "{name} image {i}: {what}: strata {found}, reference {want}"
            ));
        }
    };
    if let Some(c) = config_digest(img) {
        eq(
            "image.id".into(),
            &v["image"]["id"],
            &Value::from(c.clone()),
        );
        eq(
            "image.config_digest".into(),
            &v["image"]["config_digest"],
            &Value::from(c),
        );
    }
    if let Some(m) = img["manifest_digest"].as_str() {
        eq(
            "image.manifest_digest".into(),
            &v["image"]["manifest_digest"],
            &Value::from(m),
        );
    }
    let empty = Vec::new();
    let want_layers = img["layers"].as_array().unwrap_or(&empty);
    let layers = v["layers"].as_array().unwrap_or(&empty);
    eq(
        "number of layers".into(),
        &Value::from(layers.len()),
        &Value::from(want_layers.len()),
    );
    for (n, (l, w)) in layers.iter().zip(want_layers).enumerate() {
        eq(
            format!("layer {n} digest"),
            &l["digest"],
            &w["stored_sha256"],
        );
        eq(
            format!("layer {n} compressed_size"),
            &l["compressed_size"],
            &w["stored_size"],
        );
        eq(
            format!("layer {n} compression"),
            &l["compression"],
            &w["compression_detected"],
        );
        eq(
            format!("layer {n} diff_id"),
            &l["diff_id"],
            &w["uncompressed_sha256"],
        );
        eq(
            format!("layer {n} uncompressed_size"),
            &l["uncompressed_size"],
            &w["uncompressed_size"],
        );
        eq(
            format!("layer {n} chain_id"),
            &l["chain_id"],
            &w["chain_id"],
        );
        eq(format!("layer {n} files"), &l["files"], &w["tar_entries"]);
        if let Some(s) = docker_size(w) {
            eq(
                format!("layer {n} size (docker)"),
                &l["size"],
                &Value::from(s),
            );
        }
    }
    // History: the reference is oldest first, strata newest first.
    let want_hist: Vec<&Value> = img["history"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .rev()
        .collect();
    let hist = v["history"].as_array().unwrap_or(&empty);
    eq(
        "number of history rows".into(),
        &Value::from(hist.len()),
        &Value::from(want_hist.len()),
    );
    for (n, (h, w)) in hist.iter().zip(want_hist).enumerate() {
        eq(
            format!("history row {n} layer_index"),
            &h["layer_index"],
            &w["layer_index"],
        );
        let empty_layer = w["empty_layer"].as_bool().unwrap_or(false);
        eq(
            format!("history row {n} empty_layer"),
            &h["empty_layer"],
            &Value::from(empty_layer),
        );
        if w["created_by"].is_string() {
            eq(
                format!("history row {n} created_by"),
                &h["created_by"],
                &w["created_by"],
            );
        }
    }
    bad
}

/// The chains of a pre-1.10 docker save (`repositories` + v1 JSONs), when that is what the
/// reference found.
fn v1_chains(doc: &Value) -> Option<Vec<Value>> {
    let view = doc["views"].as_array()?.iter().find(|v| {
        v["via"]
            .as_str()
            .is_some_and(|via| via.starts_with("legacy("))
    })?;
    view["chains"].as_array().cloned()
}

/// Each tagged chain is an image: its layers' diffIDs are the reference's uncompressed digests.
fn check_v1_chains(name: &str, archive: &Path, chains: &[Value], failures: &mut Vec<String>) {
    for chain in chains {
        let tag = format!(
            "{}:{}",
            chain["name"].as_str().unwrap_or_default(),
            chain["tag"].as_str().unwrap_or_default()
        );
        let sel = [
            archive.to_string_lossy().into_owned(),
            "--image".into(),
            tag.clone(),
        ];
        let r = strata("inspect", &sel, &["--json"]);
        let Ok(v) = serde_json::from_str::<Value>(&r.stdout) else {
            failures.push(format!("{name} {tag}: inspect failed: {}", r.stderr.trim()));
            continue;
        };
        let mut got: Vec<String> = v["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["diff_id"].as_str().unwrap_or_default().to_string())
            .collect();
        let mut want: Vec<String> = chain["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                l["uncompressed_sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!("{name} {tag}: diffIDs {got:?}, reference {want:?}"));
        }
    }
}

fn check_refused(name: &str, archive: &Path, failures: &mut Vec<String>) {
    let file = archive.file_name().unwrap().to_string_lossy().into_owned();
    let r = strata(
        "inspect",
        &[archive.to_string_lossy().into_owned()],
        &["--json"],
    );
    if let Err(e) = std::panic::catch_unwind(|| assert_clean_error(&r, &file)) {
        let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
        failures.push(format!(
            "{name}: must be refused cleanly: {}",
            msg.lines().next().unwrap_or("")
        ));
    }
}

#[test]
fn corpus_matches_reference_answers() {
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        common::skipped(format!("no corpus at {}", root.display()));
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut failures: Vec<String> = Vec::new();
    let mut checked = Vec::new();
    for name in &names {
        let dir = root.join(name);
        let Ok(text) = std::fs::read_to_string(dir.join("layers.json")) else {
            println!("{name}: no layers.json, skipped");
            continue;
        };
        let doc: Value = serde_json::from_str(&text).expect("layers.json");
        let Some(archive) = find_archive(&dir) else {
            failures.push(format!("{name}: no archive found in the folder"));
            continue;
        };
        let images = reference_images(&doc);
        if let Some(chains) = v1_chains(&doc) {
            check_v1_chains(name, &archive, &chains, &mut failures);
            checked.push(format!(
                "{name}: pre-1.10 docker save, {} chains",
                chains.len()
            ));
            continue;
        }
        let not_image = doc["formats"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "not-an-image"));
        if images.is_empty() || not_image || !images.iter().all(is_container_config) {
            check_refused(name, &archive, &mut failures);
            checked.push(format!("{name}: refused (not an image)"));
            continue;
        }
        for (i, img) in images.iter().enumerate() {
            let sel = select_args(&archive, images.len(), i, img);
            let r = strata("inspect", &sel, &["--json"]);
            if r.code != 0 || r.stderr.contains("panicked") {
                failures.push(format!(
                    "{name} image {i}: inspect {sel:?} failed: exit {}: {}",
                    r.code,
                    r.stderr.trim()
                ));
                continue;
            }
            match serde_json::from_str::<Value>(&r.stdout) {
                Ok(v) => failures.extend(compare_image(name, i, img, &v)),
                Err(e) => failures.push(format!("{name} image {i}: stdout is not JSON: {e}")),
            }
            let want = if reference_disagrees(img) { 1 } else { 0 };
            let r = strata("verify", &sel, &[]);
            if r.code != want || r.stderr.contains("panicked") {
                failures.push(format!(
                    "{name} image {i}: verify exit {} (expected {want}): {}",
                    r.code,
                    (r.stdout
                        .lines()
                        .filter(|l| l.contains("MISMATCH"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                        + " "
                        + r.stderr.trim())
                    .trim()
                ));
            }
        }
        checked.push(format!("{name}: {} image(s)", images.len()));
    }
    println!("corpus entries checked:\n  {}", checked.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} corpus mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
