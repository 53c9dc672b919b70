//! `storage df`: a Docker data root's disk usage as the daemon reports it in `docker system df`
//! (`GET /system/df`), computed offline from the records and files:
//!
//! - layers: a layer counts when an image uses it (an untagged image that is another's parent
//!   does not count, as `docker images` leaves it out); `LayersSize` is the sum of their layerdb
//!   `size`;
//! - images (those `docker images` lists): `Size` the sum of their layers' `size`, `SharedSize`
//!   the part in layers more than one counted image uses, `Containers` the containers made from
//!   them;
//! - containers: `SizeRw`, the bytes under the container's `overlay2/<mount-id>/diff` (each
//!   inode once, directories not counted, symlinks their own length); active when running,
//!   paused or restarting;
//! - local volumes: `volumes/<name>/_data` sized the same way, in use when a container mounts
//!   it.
//!
//! The build cache is BuildKit's, kept in bolt databases under `buildkit/`: not read here.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::archive::container::JSON_LIMIT;
use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};
use crate::storage::images::{list_images, ImageRow};
use crate::storage::usage::tree_size;

#[derive(Debug, Clone, Serialize)]
pub struct ImageUsage {
    pub id: Digest,
    pub size: u64,
    pub shared_size: u64,
    pub unique_size: u64,
    pub containers: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerUsage {
    pub id: String,
    pub image: Option<Digest>,
    pub size_rw: u64,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeUsage {
    pub name: String,
    pub size: u64,
    pub links: usize,
}

#[derive(Debug, Serialize)]
pub struct DiskUsage {
    pub root: String,
    pub layers_size: u64,
    /// One per image `docker images` lists (tags aside), newest first.
    pub images: Vec<ImageUsage>,
    /// One per tag, as `docker system df -v` prints them.
    pub rows: Vec<ImageRow>,
    pub containers: Vec<ContainerUsage>,
    pub volumes: Vec<VolumeUsage>,
}

fn bad(root: &DockerRoot, rel: &str, what: &'static str, detail: String) -> ArchiveError {
    ArchiveError::new(
        &root.display(),
        Some(rel.to_string()),
        Problem::BadContent { what, detail },
    )
}

/// An image's layers' chainIDs, base first, from its config.
fn chains_of(root: &DockerRoot, id: &Digest) -> Result<Vec<Digest>, ArchiveError> {
    let rel = DockerRoot::config_path(id);
    let bytes = root.read(&rel, "image config", JSON_LIMIT)?;
    #[derive(serde::Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    let config: Config = serde_json::from_slice(&bytes).map_err(|source| {
        ArchiveError::new(
            &root.display(),
            Some(rel.clone()),
            Problem::BadJson {
                what: "image config",
                source,
            },
        )
    })?;
    let diff_ids = config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| Digest::parse(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ArchiveError::new(&root.display(), Some(rel), e.into()))?;
    Ok(chain_ids(&diff_ids))
}

fn layer_size(root: &DockerRoot, chain: &Digest) -> Result<u64, ArchiveError> {
    let rel = format!("{}/size", DockerRoot::layer_path(chain));
    let text = root.read_line(&rel, "layer size")?;
    text.parse().map_err(|_| {
        bad(
            root,
            &rel,
            "layer size",
            format!("`{text}` is not a size in bytes"),
        )
    })
}

/// What `containers/<id>/config.v2.json` says that matters here.
#[derive(serde::Deserialize, Default)]
struct ContainerConfig {
    #[serde(rename = "Image", default)]
    image: Option<String>,
    #[serde(rename = "State", default)]
    state: State,
    #[serde(rename = "MountPoints", default)]
    mount_points: HashMap<String, MountPoint>,
}

#[derive(serde::Deserialize, Default)]
struct State {
    #[serde(rename = "Running", default)]
    running: bool,
    #[serde(rename = "Paused", default)]
    paused: bool,
    #[serde(rename = "Restarting", default)]
    restarting: bool,
}

#[derive(serde::Deserialize, Default)]
struct MountPoint {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Name", default)]
    name: String,
}

/// Bytes under `rel` (a directory), 0 when it is not there.
fn dir_size(root: &DockerRoot, rel: &str) -> Result<u64, ArchiveError> {
    match root.open_dir(rel) {
        Ok(fd) => tree_size(&fd)
            .map_err(|e| ArchiveError::new(&root.display(), Some(rel.to_string()), Problem::Io(e))),
        Err(e) if matches!(e.problem, Problem::Absent) => Ok(0),
        Err(e) => Err(e),
    }
}

fn names_in(root: &DockerRoot, rel: &str) -> Result<Vec<String>, ArchiveError> {
    match root.list(rel) {
        Ok(mut n) => {
            n.sort();
            Ok(n)
        }
        Err(e) if matches!(e.problem, Problem::Absent) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

pub fn disk_usage(root: &DockerRoot) -> Result<DiskUsage, ArchiveError> {
    let rows = list_images(root)?;
    let tagged: HashSet<Digest> = root.repositories()?.into_iter().map(|(_, id)| id).collect();
    // Images with a child (imagedb/metadata/<child>/parent names them).
    let mut with_children = HashSet::new();
    let all_ids: Vec<Digest> = root
        .image_ids()?
        .into_iter()
        .filter_map(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
        .collect();
    for id in &all_ids {
        let rel = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{}/parent", id.hex());
        match root.read_digest(&rel, "parent image") {
            Ok(p) => {
                with_children.insert(p);
            }
            Err(e) if matches!(e.problem, Problem::Absent) => {}
            Err(e) => return Err(e),
        }
    }
    let mut chains: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    let mut refs: HashMap<Digest, usize> = HashMap::new();
    for id in &all_ids {
        let c = chains_of(root, id)?;
        if tagged.contains(id) || !with_children.contains(id) {
            for chain in &c {
                *refs.entry(chain.clone()).or_default() += 1;
            }
        }
        chains.insert(id.clone(), c);
    }
    let mut sizes: HashMap<Digest, u64> = HashMap::new();
    for chain in refs.keys() {
        sizes.insert(chain.clone(), layer_size(root, chain)?);
    }
    let layers_size = sizes.values().sum();

    let mut containers = Vec::new();
    let mut volume_links: HashMap<String, usize> = HashMap::new();
    for id in names_in(root, "containers")? {
        let rel = format!("containers/{id}/config.v2.json");
        let config: ContainerConfig = match root.read(&rel, "container config", JSON_LIMIT) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| {
                ArchiveError::new(
                    &root.display(),
                    Some(rel.clone()),
                    Problem::BadJson {
                        what: "container config",
                        source,
                    },
                )
            })?,
            Err(e) if matches!(e.problem, Problem::Absent) => continue,
            Err(e) => return Err(e),
        };
        let mount_rel = format!("{IMAGE_DIR}/layerdb/mounts/{id}/mount-id");
        let size_rw = match root.read_line(&mount_rel, "container layer") {
            Ok(m) if !m.is_empty() && !m.contains('/') && m != ".." && m != "." => {
                dir_size(root, &format!("overlay2/{m}/diff"))?
            }
            Ok(m) => {
                return Err(bad(
                    root,
                    &mount_rel,
                    "container layer",
                    format!("`{m}` is not a directory name"),
                ))
            }
            Err(e) if matches!(e.problem, Problem::Absent) => 0,
            Err(e) => return Err(e),
        };
        for m in config.mount_points.values() {
            if m.kind == "volume" && !m.name.is_empty() {
                *volume_links.entry(m.name.clone()).or_default() += 1;
            }
        }
        containers.push(ContainerUsage {
            id,
            image: config.image.as_deref().and_then(|i| Digest::parse(i).ok()),
            size_rw,
            active: config.state.running || config.state.paused || config.state.restarting,
        });
    }

    let mut listed: Vec<Digest> = Vec::new();
    for r in &rows {
        if !listed.contains(&r.id) {
            listed.push(r.id.clone());
        }
    }
    let images = listed
        .into_iter()
        .map(|id| {
            let c = chains.get(&id).map(Vec::as_slice).unwrap_or_default();
            let size: u64 = c.iter().filter_map(|l| sizes.get(l)).sum();
            let shared_size: u64 = c
                .iter()
                .filter(|l| refs.get(*l).copied().unwrap_or(0) > 1)
                .filter_map(|l| sizes.get(l))
                .sum();
            let used_by = containers
                .iter()
                .filter(|k| k.image.as_ref() == Some(&id))
                .count();
            ImageUsage {
                id,
                size,
                shared_size,
                unique_size: size - shared_size,
                containers: used_by,
            }
        })
        .collect();

    let mut volumes = Vec::new();
    for name in names_in(root, "volumes")? {
        let data = format!("volumes/{name}/_data");
        let is_dir = |rel: &str| -> Result<bool, ArchiveError> {
            Ok(matches!(
                root.kind_of(rel)?,
                Some(rustix::fs::FileType::Directory)
            ))
        };
        // metadata.db and backingFsBlockDev sit beside the volumes.
        if !is_dir(&format!("volumes/{name}"))?
            || !matches!(root.kind_of(&data)?, Some(rustix::fs::FileType::Directory))
        {
            continue;
        }
        volumes.push(VolumeUsage {
            size: dir_size(root, &data)?,
            links: volume_links.get(&name).copied().unwrap_or(0),
            name,
        });
    }
    Ok(DiskUsage {
        root: root.display(),
        layers_size,
        images,
        rows,
        containers,
        volumes,
    })
}
