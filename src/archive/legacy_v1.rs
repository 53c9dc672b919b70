//! The pre-1.10 `docker save`: no manifest.json and no image config, only `repositories`
//! (`{"name": {"tag": "<v1 id>"}}`) and one folder per layer, `<id>/json` (a v1 image JSON whose
//! `parent` names the folder below) and `<id>/layer.tar`.
//!
//! Docker still loads these: it walks each tagged ID down its parents, reads every layer for
//! its diffID, and builds an image config for each level from that level's v1 JSON, the
//! diffIDs so far and one history step per level; each level becomes an image whose parent is
//! the level below. The image ID is the digest of that config, so to show the IDs docker shows,
//! the config is built here the way Docker 26's `MakeConfigFromV1Config` writes it (see
//! [`super::v1_config`]). Nothing in the archive is content-addressed, so its layers can only be
//! read, not verified against a digest.

use super::container::Container;
use super::v1_config::{history_step, make_config};
use super::{Candidate, Location};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
use crate::image::LayerRef;

/// More levels than any image has (overlayfs stops at 500): past it, the chain is refused.
const MAX_LEVELS: usize = 1000;

pub fn candidates(container: &Container) -> Result<Vec<Candidate>, ArchiveError> {
    let bytes = container.read_json_file("repositories", "repositories")?;
    let bad = |detail: String| {
        ArchiveError::new(
            &container.display,
            Some("repositories".into()),
            Problem::BadContent {
                what: "repositories",
                detail,
            },
        )
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ArchiveError::new(
            &container.display,
            Some("repositories".into()),
            Problem::BadJson {
                what: "repositories",
                source: e,
            },
        )
    })?;
    let Some(names) = value.as_object() else {
        return Err(bad("it is not an object of names".into()));
    };
    let mut out: Vec<Candidate> = Vec::new();
    for (name, tags) in names {
        let Some(tags) = tags.as_object() else {
            return Err(bad(format!(
                "the tags of `{}` are not an object",
                crate::rawname::escape_for_message(name, 80)
            )));
        };
        for (tag, id) in tags {
            let Some(id) = id.as_str().filter(|id| is_v1_id(id)) else {
                return Err(bad(format!(
                    "`{}:{}` does not name a layer folder (64 hex characters)",
                    crate::rawname::escape_for_message(name, 80),
                    crate::rawname::escape_for_message(tag, 80)
                )));
            };
            let tag = format!("{name}:{tag}");
            match out.iter_mut().find(|c| top_of(c) == Some(id)) {
                Some(c) => c.tags.push(tag),
                None => out.push(Candidate {
                    number: out.len(),
                    group: out.len(),
                    tags: vec![tag],
                    platform: None,
                    manifest_digest: None,
                    config_digest: None,
                    index_claims: Vec::new(),
                    top_digest: None,
                    location: Location::DockerV1 {
                        top: id.to_string(),
                    },
                }),
            }
        }
    }
    Ok(out)
}

fn top_of(c: &Candidate) -> Option<&str> {
    match &c.location {
        Location::DockerV1 { top } => Some(top),
        _ => None,
    }
}

/// v1 IDs name folders: check the form before building any path from one.
fn is_v1_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An image built from a v1 chain, as docker would build it on load.
pub struct V1Image {
    /// The config docker makes for the top level; its digest is the image ID.
    pub config: Vec<u8>,
    /// Where the top level's v1 JSON is, for messages.
    pub config_path: String,
    /// Base first.
    pub layers: Vec<LayerRef>,
    /// The image IDs docker gives the levels below the top, nearest first.
    pub parent_ids: Vec<Digest>,
}

pub fn load(container: &Container, top: &str) -> Result<V1Image, ArchiveError> {
    let fail =
        |entry: &str, p: Problem| ArchiveError::new(&container.display, Some(entry.to_string()), p);
    let levels = levels(container, top)?;
    let mut diff_ids: Vec<Digest> = Vec::new();
    let mut history = Vec::new();
    let mut layers = Vec::new();
    let mut ids: Vec<Digest> = Vec::new();
    let mut config = Vec::new();
    for (index, (id, json)) in levels.iter().enumerate() {
        let path = format!("{id}/layer.tar");
        let entry = format!("layer {index} ({path})");
        // Docker reads every layer for its diffID when it loads such an archive; so must we.
        let stats = container.scan_layer(&path, &entry, None)?;
        let bad = |e: String| {
            fail(
                &format!("{id}/json"),
                Problem::BadContent {
                    what: "v1 image JSON",
                    detail: e,
                },
            )
        };
        diff_ids.push(stats.diff_id().clone());
        history.push(history_step(json).map_err(bad)?);
        config = make_config(json, &diff_ids, &history).map_err(bad)?;
        ids.push(Digest::of_bytes(&config));
        layers.push(LayerRef::unclaimed(index, path));
    }
    ids.pop();
    ids.reverse();
    Ok(V1Image {
        config,
        config_path: format!("{top}/json"),
        layers,
        parent_ids: ids,
    })
}

/// The v1 JSON of every level, base first: read from the top down, following `parent`.
fn levels(container: &Container, top: &str) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let fail =
        |entry: &str, p: Problem| ArchiveError::new(&container.display, Some(entry.to_string()), p);
    let mut levels: Vec<(String, Vec<u8>)> = Vec::new();
    let mut next = Some(top.to_string());
    while let Some(id) = next.take() {
        let path = format!("{id}/json");
        if levels.iter().any(|(seen, _)| *seen == id) || levels.len() >= MAX_LEVELS {
            return Err(fail(
                &path,
                Problem::BadContent {
                    what: "v1 image JSON",
                    detail: "its `parent` links loop or go deeper than 1000 levels".into(),
                },
            ));
        }
        let json = container.read_json_file(&path, "v1 image JSON")?;
        let value: serde_json::Value = serde_json::from_slice(&json).map_err(|e| {
            fail(
                &path,
                Problem::BadJson {
                    what: "v1 image JSON",
                    source: e,
                },
            )
        })?;
        next = match value.get("parent").and_then(|p| p.as_str()) {
            None | Some("") => None,
            Some(p) if is_v1_id(p) => Some(p.to_string()),
            Some(_) => {
                return Err(fail(
                    &path,
                    Problem::BadContent {
                        what: "v1 image JSON",
                        detail: "its `parent` is not a layer folder name (64 hex characters)"
                            .into(),
                    },
                ))
            }
        };
        levels.push((id, json));
    }
    levels.reverse();
    Ok(levels)
}
