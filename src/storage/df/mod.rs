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
//! - the build cache: BuildKit's records in its bolt databases under `buildkit/`
//!   ([`crate::storage::buildcache`]).

mod containers;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};
use crate::storage::buildcache::{self, CacheRecord};
use crate::storage::images::{list_images, ImageRow};
use crate::storage::usage::tree_size;
use containers::read_containers;

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
    /// The image's ID (`ImageID` in the API).
    pub image: Option<Digest>,
    /// What the API's `Image` says: the name the container was created from while it still
    /// names that image, else the image ID.
    pub image_ref: String,
    /// The name, without docker's leading `/`.
    pub name: String,
    /// The entrypoint and arguments as the API's `Command` joins them.
    pub command: String,
    /// When it was created, seconds since the epoch (the API's `Created`).
    pub created: i64,
    /// The same, as recorded (RFC 3339, nanoseconds).
    pub created_at: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    pub state: String,
    /// As `docker ps` words it now ("Created", "Exited (0) 2 hours ago", "Up 3 minutes").
    pub status: String,
    /// Volume mounts of the `local` driver.
    pub local_volumes: usize,
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
    /// BuildKit's cache records, by ID.
    pub build_cache: Vec<CacheRecord>,
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
    let fields = root.config_fields(&DockerRoot::config_path(id))?;
    Ok(chain_ids(&fields.diff_ids))
}

fn layer_size(root: &DockerRoot, chain: &Digest) -> Result<u64, ArchiveError> {
    root.layer_size(&DockerRoot::layer_path(chain))
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

/// The names in the directory `rel`, sorted; none when it is not there.
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
    let layers = image_layers(root)?;
    let mut sizes: HashMap<Digest, u64> = HashMap::new();
    for chain in layers.refs.keys() {
        sizes.insert(chain.clone(), layer_size(root, chain)?);
    }
    let layers_size = sizes.values().sum();
    let build_cache = build_cache(root, &layers, &sizes)?;
    let (containers, volume_links) = read_containers(root)?;
    let images = image_usage(&rows, &layers, &sizes, &containers);
    let volumes = read_volumes(root, &volume_links)?;
    Ok(DiskUsage {
        root: root.display(),
        layers_size,
        images,
        rows,
        containers,
        volumes,
        build_cache,
    })
}

/// The images' layers, and which of them count.
struct ImageLayers {
    /// Every image's layers' chainIDs, base first, by image ID.
    chains: BTreeMap<Digest, Vec<Digest>>,
    /// How many of the images `docker images` lists use each layer: the layers that count.
    refs: HashMap<Digest, usize>,
}

fn image_layers(root: &DockerRoot) -> Result<ImageLayers, ArchiveError> {
    let tagged: HashSet<Digest> = root.repositories()?.into_iter().map(|(_, id)| id).collect();
    let all_ids: Vec<Digest> = root
        .image_ids()?
        .into_iter()
        .filter_map(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
        .collect();
    let with_children = images_with_children(root, &all_ids)?;
    let mut chains: BTreeMap<Digest, Vec<Digest>> = BTreeMap::new();
    let mut refs: HashMap<Digest, usize> = HashMap::new();
    for id in &all_ids {
        let c = chains_of(root, id)?;
        // An untagged image that is another's parent is not listed, so does not count.
        if tagged.contains(id) || !with_children.contains(id) {
            for chain in &c {
                *refs.entry(chain.clone()).or_default() += 1;
            }
        }
        chains.insert(id.clone(), c);
    }
    Ok(ImageLayers { chains, refs })
}

/// The images with a child (`imagedb/metadata/<child>/parent` names them).
fn images_with_children(
    root: &DockerRoot,
    all_ids: &[Digest],
) -> Result<HashSet<Digest>, ArchiveError> {
    let mut with_children = HashSet::new();
    for id in all_ids {
        let rel = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{}/parent", id.hex());
        match root.read_digest(&rel, "parent image") {
            Ok(p) => {
                with_children.insert(p);
            }
            Err(e) if matches!(e.problem, Problem::Absent) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(with_children)
}

/// BuildKit's records, sized with the layers' sizes already read where they can be.
fn build_cache(
    root: &DockerRoot,
    layers: &ImageLayers,
    sizes: &HashMap<Digest, u64>,
) -> Result<Vec<CacheRecord>, ArchiveError> {
    let image_chains: HashSet<Digest> = layers.chains.values().flatten().cloned().collect();
    buildcache::build_cache(
        root,
        &image_chains,
        &|chain| {
            sizes
                .get(chain)
                .copied()
                .or_else(|| layer_size(root, chain).ok())
        },
        &|id| snapshot_dir_size(root, id),
    )
}

/// The bytes in a BuildKit snapshot's graphdriver directory `overlay2/<id>/diff`.
fn snapshot_dir_size(root: &DockerRoot, id: &str) -> Result<i64, ArchiveError> {
    if id.is_empty() || id.contains('/') || id == "." || id == ".." {
        return Err(bad(
            root,
            buildcache::SNAPSHOTS_DB,
            "BuildKit snapshot",
            format!("`{id}` is not a directory name"),
        ));
    }
    Ok(dir_size(root, &format!("overlay2/{id}/diff"))? as i64)
}

/// One row per image `docker images` lists, in its order: its size, the part of it other
/// listed images share, and the containers made from it.
fn image_usage(
    rows: &[ImageRow],
    layers: &ImageLayers,
    sizes: &HashMap<Digest, u64>,
    containers: &[ContainerUsage],
) -> Vec<ImageUsage> {
    let mut listed: Vec<&Digest> = Vec::new();
    for r in rows {
        if !listed.contains(&&r.id) {
            listed.push(&r.id);
        }
    }
    listed
        .into_iter()
        .map(|id| {
            let c = layers.chains.get(id).map(Vec::as_slice).unwrap_or_default();
            let size: u64 = c.iter().filter_map(|l| sizes.get(l)).sum();
            let shared_size: u64 = c
                .iter()
                .filter(|l| layers.refs.get(*l).copied().unwrap_or(0) > 1)
                .filter_map(|l| sizes.get(l))
                .sum();
            let used_by = containers
                .iter()
                .filter(|k| k.image.as_ref() == Some(id))
                .count();
            ImageUsage {
                id: id.clone(),
                size,
                shared_size,
                unique_size: size - shared_size,
                containers: used_by,
            }
        })
        .collect()
}

/// The local volumes (`volumes/<name>/_data`), with how many containers mount each.
fn read_volumes(
    root: &DockerRoot,
    volume_links: &HashMap<String, usize>,
) -> Result<Vec<VolumeUsage>, ArchiveError> {
    let is_dir = |rel: &str| -> Result<bool, ArchiveError> {
        Ok(matches!(
            root.kind_of(rel)?,
            Some(rustix::fs::FileType::Directory)
        ))
    };
    let mut volumes = Vec::new();
    for name in names_in(root, "volumes")? {
        let data = format!("volumes/{name}/_data");
        // metadata.db and backingFsBlockDev sit beside the volumes.
        if !is_dir(&format!("volumes/{name}"))? || !is_dir(&data)? {
            continue;
        }
        volumes.push(VolumeUsage {
            size: dir_size(root, &data)?,
            links: volume_links.get(&name).copied().unwrap_or(0),
            name,
        });
    }
    Ok(volumes)
}
