//! Archives whose `docker history` output Docker itself was asked for (tests/golden/docker/README.md
//! says how): text that docker's table treats in its own way (combining characters, tabs and
//! newlines inside cells), history shorter than the layers, and a `Parent` link in manifest.json.
//! Built here deterministically, so the bytes docker loaded are the bytes the tests read.

use serde_json::Value;

use super::fixtures::legacy_bytes;
use super::image::{build_image, empty_step, step, BuiltImage, HistSpec, ImageSpec};
use super::layer::{sized_entries, Compression, LayerSpec};
use super::layouts::{docker_legacy_items, LegacyOpts};
use super::tarball::{items_to_tar, Item};
use super::Fixture;

/// 30 × `e` + COMBINING ACUTE ACCENT: 60 runes that a terminal shows in 30 columns.
pub fn combining_30() -> String {
    "e\u{301}".repeat(30)
}

fn layers(sizes: &[usize]) -> Vec<LayerSpec> {
    sizes
        .iter()
        .enumerate()
        .map(|(n, &size)| {
            LayerSpec::new(
                sized_entries(&format!("q{n}"), "f", size),
                Compression::None,
            )
        })
        .collect()
}

fn one(name: &str, spec: ImageSpec) -> Fixture {
    let img = build_image(&spec);
    Fixture::new_file(
        &format!("{name}.tar"),
        &legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default()),
        "docker-save",
        vec![img.expect],
    )
}

/// Combining characters, a tab in two comments, a newline in a CreatedBy and in a comment.
pub fn text() -> Fixture {
    let history: Vec<HistSpec> = vec![
        step("2020-01-01T00:00:00Z", "ADD base /").comment("one\ttab"),
        empty_step(
            "2020-01-01T00:01:00Z",
            "RUN set -eux;\n    apt-get update && apt-get install -y curl",
        ),
        step(
            "2020-01-01T00:02:00Z",
            &format!("RUN echo {}", combining_30()),
        ),
        empty_step("2020-01-01T00:03:00Z", "LABEL a=b").comment("c\td\te"),
        empty_step("2020-01-01T00:04:00Z", "CMD [\"sh\"]").comment("first line\nsecond"),
    ];
    one(
        "quirks-text",
        ImageSpec::new("quirks:text", layers(&[3, 1200]), history),
    )
}

/// Three layers, but only the first has a history step (plus one empty step).
pub fn fewer_steps() -> Fixture {
    let history = vec![
        step("2020-01-01T00:00:00Z", "ADD base /"),
        empty_step("2020-01-01T00:01:00Z", "ENV A=1"),
    ];
    one(
        "quirks-fewer",
        ImageSpec::new("quirks:fewer", layers(&[5, 6, 7]), history),
    )
}

/// Two layers and no history at all.
pub fn no_history() -> Fixture {
    one(
        "quirks-none",
        ImageSpec::new("quirks:none", layers(&[5, 6]), Vec::new()),
    )
}

/// The images of [`parent_link`]: a base, and a child that adds one step and one layer.
pub fn parent_images() -> (BuiltImage, BuiltImage) {
    let base_history = vec![
        step("2020-01-01T00:00:00Z", "ADD base /"),
        empty_step("2020-01-01T00:01:00Z", "ENV A=1"),
    ];
    let base = build_image(&ImageSpec::new(
        "family:base",
        layers(&[5]),
        base_history.clone(),
    ));
    let mut child_history = base_history;
    child_history.push(step("2020-01-01T00:02:00Z", "RUN make"));
    let child = build_image(&ImageSpec::new(
        "family:child",
        layers(&[5, 1500]),
        child_history,
    ));
    (base, child)
}

/// A legacy `docker save` of a base and a child whose manifest entry names the base as
/// `"Parent"` (what `docker save` writes for images built locally on top of another).
pub fn parent_link() -> Fixture {
    let (base, child) = parent_images();
    let mut items = docker_legacy_items(&[base.clone(), child.clone()], LegacyOpts::default());
    for item in &mut items {
        if let Item::File(path, bytes) = item {
            if path == "manifest.json" {
                let mut m: Value = serde_json::from_slice(bytes).unwrap();
                m[1]["Parent"] = Value::String(base.expect.id.clone());
                *bytes = serde_json::to_vec(&m).unwrap();
            }
        }
    }
    Fixture::new_file(
        "family.tar",
        &items_to_tar(&items),
        "docker-save",
        vec![base.expect, child.expect],
    )
}

/// A pre-1.10 `docker save` (no manifest.json, no config): three levels, whose v1 JSONs are
/// written by an old docker (normalised by docker on load) except the top one (kept as is).
pub fn v1() -> Fixture {
    let img = build_image(&ImageSpec::new(
        "oldtimer:1.6",
        layers(&[4, 2000, 30]),
        Vec::new(),
    ));
    let items = docker_legacy_items(std::slice::from_ref(&img), LegacyOpts::default());
    let config_name = format!("{}.json", &img.expect.config_digest[7..]);
    // The levels' JSON paths, base first (following each level's `parent`).
    let parents: Vec<(String, Option<String>)> = items
        .iter()
        .filter_map(|i| match i {
            Item::File(p, b) if p.ends_with("/json") => {
                let v: Value = serde_json::from_slice(b).unwrap();
                Some((
                    v["id"].as_str()?.to_string(),
                    v["parent"].as_str().map(str::to_string),
                ))
            }
            _ => None,
        })
        .collect();
    let mut jsons: Vec<String> = Vec::new();
    let mut below: Option<String> = None;
    while let Some((id, _)) = parents.iter().find(|(_, p)| *p == below) {
        jsons.push(format!("{id}/json"));
        below = Some(id.clone());
    }
    assert_eq!(jsons.len(), 3);
    let mut items: Vec<Item> = items
        .into_iter()
        .filter(|i| i.path() != "manifest.json" && i.path() != config_name)
        .collect();
    for item in &mut items {
        let Item::File(path, bytes) = item else {
            continue;
        };
        let Some(level) = jsons.iter().position(|j| j == path) else {
            continue;
        };
        let mut v: Value = serde_json::from_slice(bytes).unwrap();
        let created = [
            "2015-03-01T10:00:00.25Z",
            "2015-03-02T11:00:00+01:00",
            "2016-01-05T09:30:00.123456789Z",
        ];
        v["created"] = Value::String(created[level].into());
        v["architecture"] = Value::String("amd64".into());
        v["container_config"] = serde_json::json!({
            "Cmd": ["/bin/sh", "-c", format!("#(nop) step {level} <&>")],
            "Hostname": "builder",
        });
        match level {
            0 => {
                v["docker_version"] = Value::String("1.6.2".into());
                v["author"] = Value::String("someone <a@b>".into());
            }
            1 => {
                v["comment"] = Value::String("imported\tfrom a tarball".into());
                v["config"] = serde_json::json!({
                    "Env": ["PATH=/bin"], "Cmd": "sh", "ExposedPorts": {"80/tcp": {}},
                    "Labels": {"b": "2", "a": "1"}, "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000u64},
                });
            }
            _ => {
                v["docker_version"] = Value::String("1.9.1".into());
                v["config"] = serde_json::json!({"Cmd": ["sh"], "WorkingDir": "/w", "Volumes": {"/data": {}}});
                v["Size"] = Value::from(30);
            }
        }
        *bytes = serde_json::to_vec_pretty(&v).unwrap();
    }
    Fixture::new_file(
        "oldtimer.tar",
        &items_to_tar(&items),
        "docker-save-v1",
        vec![img.expect],
    )
}

/// Every quirk archive, by the name its golden files use.
pub fn all() -> Vec<(&'static str, Fixture)> {
    vec![
        ("quirks-text", text()),
        ("quirks-fewer", fewer_steps()),
        ("quirks-none", no_history()),
        ("family", parent_link()),
        ("oldtimer", v1()),
    ]
}

/// `parent_link` the wrong way round: the base names the child as its parent, whose history is
/// not the base's minus one step. Docker's `load` refuses such an archive; strata shows the
/// image without the link and says why.
pub fn invalid_parent_link() -> Fixture {
    let (base, child) = parent_images();
    let mut items = docker_legacy_items(&[base.clone(), child.clone()], LegacyOpts::default());
    for item in &mut items {
        if let Item::File(path, bytes) = item {
            if path == "manifest.json" {
                let mut m: Value = serde_json::from_slice(bytes).unwrap();
                m[0]["Parent"] = Value::String(child.expect.id.clone());
                *bytes = serde_json::to_vec(&m).unwrap();
            }
        }
    }
    Fixture::new_file(
        "bad-family.tar",
        &items_to_tar(&items),
        "docker-save",
        vec![base.expect, child.expect],
    )
}
