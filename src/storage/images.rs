//! The images of a Docker data root as `docker images` lists them: one row per tag (or one
//! `<none>` row for an untagged image), newest first, with the image's size (the sum of its
//! layers' layerdb `size`). Untagged images that are the parent of another image are the
//! intermediate ones `docker images` leaves out without `-a`; they are left out here too.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};

#[derive(Debug, Clone, Serialize)]
pub struct ImageRow {
    /// The repository in docker's short form (`busybox`, `me/app`, `quay.io/x/y`), or `<none>`.
    pub repository: String,
    pub tag: String,
    pub id: Digest,
    /// The config's `created`, as written.
    pub created: Option<String>,
    /// Sum of the layers' layerdb `size`: what `docker images` shows.
    pub size: u64,
}

impl ImageRow {
    pub fn created_time(&self) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(self.created.as_deref()?).ok()
    }
}

/// `docker.io/library/busybox` → `busybox`, `docker.io/me/app` → `me/app`.
pub fn familiar(name: &str) -> &str {
    name.strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("docker.io/"))
        .unwrap_or(name)
}

/// `name:tag` split at the tag's colon (a registry port is not a tag).
fn split_tag(reference: &str) -> (&str, &str) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(i) => (&reference[..slash + i], &reference[slash + i + 1..]),
        None => (reference, "latest"),
    }
}

/// An image's (repository, tag) pairs, and the repositories it has only a digest in.
type Names = (Vec<(String, String)>, HashSet<String>);

pub fn list_images(root: &DockerRoot) -> Result<Vec<ImageRow>, ArchiveError> {
    let refs = root.repositories()?;
    let mut by_image: BTreeMap<Digest, Names> = BTreeMap::new();
    for (reference, id) in &refs {
        let entry = by_image.entry(id.clone()).or_default();
        match reference.split_once('@') {
            Some((name, _)) => {
                entry.1.insert(familiar(name).to_string());
            }
            None => {
                let (name, tag) = split_tag(reference);
                entry.0.push((familiar(name).to_string(), tag.to_string()));
            }
        }
    }
    let mut parents = HashSet::new();
    let mut images = Vec::new();
    for hex in root.image_ids()? {
        let id = Digest::parse(&format!("sha256:{hex}")).expect("listed as hex");
        let rel = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{hex}/parent");
        match root.read_digest(&rel, "parent image") {
            Ok(p) => {
                parents.insert(p);
            }
            Err(e) if matches!(e.problem, Problem::Absent) => {}
            Err(e) => return Err(e),
        }
        let (created, size) = created_and_size(root, &id)?;
        images.push((id, created, size));
    }
    let mut rows = Vec::new();
    for (id, created, size) in images {
        let (mut tags, digested) = by_image.remove(&id).unwrap_or_default();
        let row = |repository: String, tag: String| ImageRow {
            repository,
            tag,
            id: id.clone(),
            created: created.clone(),
            size,
        };
        if !tags.is_empty() {
            tags.sort();
            rows.extend(tags.into_iter().map(|(r, t)| row(r, t)));
        } else if !digested.is_empty() {
            let mut names: Vec<String> = digested.into_iter().collect();
            names.sort();
            rows.extend(names.into_iter().map(|r| row(r, "<none>".into())));
        } else if !parents.contains(&id) {
            rows.push(row("<none>".into(), "<none>".into()));
        }
    }
    // Newest first, as the daemon sorts them.
    sort_newest_first(&mut rows);
    Ok(rows)
}

/// The images of a containers-storage root, one row per name, as podman counts their size
/// (the layers' `diff-size` plus the image's big-data items).
pub fn list_containers_storage_images(root: &DockerRoot) -> Result<Vec<ImageRow>, ArchiveError> {
    use crate::archive::containers_storage as cs;
    let layers = cs::layers(root)?;
    let mut rows = Vec::new();
    for image in cs::images(root)? {
        let chain = cs::layer_chain(root, &image, &layers)?;
        let size = chain.iter().filter_map(|l| l.diff_size).sum::<u64>()
            + image.big_data_sizes.values().sum::<u64>();
        let id = Digest::parse(&format!("sha256:{}", image.id)).map_err(|e| {
            ArchiveError::new(&root.display(), Some(cs::IMAGES_JSON.into()), e.into())
        })?;
        let row = |repository: String, tag: String| ImageRow {
            repository,
            tag,
            id: id.clone(),
            created: image.created.clone(),
            size,
        };
        let mut names: Vec<(String, String)> = image
            .names
            .iter()
            .filter(|n| !n.contains('@'))
            .map(|n| {
                let (r, t) = split_tag(n);
                (r.to_string(), t.to_string())
            })
            .collect();
        names.sort();
        if names.is_empty() {
            rows.push(row("<none>".into(), "<none>".into()));
        }
        rows.extend(names.into_iter().map(|(r, t)| row(r, t)));
    }
    sort_newest_first(&mut rows);
    Ok(rows)
}

fn sort_newest_first(rows: &mut [ImageRow]) {
    rows.sort_by(|a, b| {
        let (ta, tb) = (a.created_time(), b.created_time());
        tb.cmp(&ta)
            .then_with(|| a.repository.cmp(&b.repository))
            .then_with(|| a.tag.cmp(&b.tag))
    });
}

fn created_and_size(root: &DockerRoot, id: &Digest) -> Result<(Option<String>, u64), ArchiveError> {
    let config = root.config_fields(&DockerRoot::config_path(id))?;
    let mut size = 0u64;
    for chain in chain_ids(&config.diff_ids) {
        let size_rel = format!("{}/size", DockerRoot::layer_path(&chain));
        let text = root.read_line(&size_rel, "layer size")?;
        size += text.parse::<u64>().map_err(|_| {
            ArchiveError::new(
                &root.display(),
                Some(size_rel.clone()),
                Problem::BadContent {
                    what: "layer size",
                    detail: format!("`{text}` is not a size in bytes"),
                },
            )
        })?;
    }
    Ok((config.created, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_shorten_like_docker() {
        assert_eq!(split_tag("hello:latest"), ("hello", "latest"));
        assert_eq!(
            split_tag("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_tag("localhost:5000/app:1"),
            ("localhost:5000/app", "1")
        );
        assert_eq!(familiar("docker.io/library/busybox"), "busybox");
        assert_eq!(familiar("docker.io/me/app"), "me/app");
        assert_eq!(familiar("quay.io/x/y"), "quay.io/x/y");
    }
}
