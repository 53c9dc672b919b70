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
    pub build_cache: Vec<crate::storage::buildcache::CacheRecord>,
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
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Path", default)]
    path: String,
    #[serde(rename = "Args", default)]
    args: Option<Vec<String>>,
    #[serde(rename = "Created", default)]
    created: String,
    #[serde(rename = "Config", default)]
    config: Option<RunConfig>,
    #[serde(rename = "State", default)]
    state: State,
    #[serde(rename = "MountPoints", default)]
    mount_points: HashMap<String, MountPoint>,
}

#[derive(serde::Deserialize, Default)]
struct RunConfig {
    #[serde(rename = "Image", default)]
    image: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct State {
    #[serde(rename = "Running", default)]
    running: bool,
    #[serde(rename = "Paused", default)]
    paused: bool,
    #[serde(rename = "Restarting", default)]
    restarting: bool,
    #[serde(rename = "RemovalInProgress", default)]
    removal_in_progress: bool,
    #[serde(rename = "Dead", default)]
    dead: bool,
    #[serde(rename = "ExitCode", default)]
    exit_code: i64,
    #[serde(rename = "StartedAt", default)]
    started_at: String,
    #[serde(rename = "FinishedAt", default)]
    finished_at: String,
    #[serde(rename = "Health", default)]
    health: Option<Health>,
}

#[derive(serde::Deserialize, Default)]
struct Health {
    #[serde(rename = "Status", default)]
    status: String,
}

#[derive(serde::Deserialize, Default)]
struct MountPoint {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Driver", default)]
    driver: String,
}

/// A time as docker records it (RFC 3339, nanoseconds); `None` for Go's zero time (year 1)
/// and for what is not a time.
fn time_of(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    (t.timestamp() > -62_135_596_800).then(|| t.with_timezone(&chrono::Utc))
}

/// go-units' `HumanDuration` of the time from `t` to `now`.
fn since(t: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> String {
    let d = t.and_then(|t| (now - t).to_std().ok()).unwrap_or_default();
    crate::render::human_duration(d)
}

impl State {
    /// The API's `State`, as moby's `StateString` names it.
    fn name(&self) -> &'static str {
        if self.running {
            if self.paused {
                "paused"
            } else if self.restarting {
                "restarting"
            } else {
                "running"
            }
        } else if self.removal_in_progress {
            "removing"
        } else if self.dead {
            "dead"
        } else if time_of(&self.started_at).is_none() {
            "created"
        } else {
            "exited"
        }
    }

    /// The API's `Status`, as moby's `State.String` words it at `now`.
    fn status(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let started = time_of(&self.started_at);
        let finished = time_of(&self.finished_at);
        if self.running {
            if self.paused {
                return format!("Up {} (Paused)", since(started, now));
            }
            if self.restarting {
                return format!(
                    "Restarting ({}) {} ago",
                    self.exit_code,
                    since(finished, now)
                );
            }
            if let Some(h) = &self.health {
                let health = match h.status.as_str() {
                    "starting" => "health: starting".to_string(),
                    other => other.to_string(),
                };
                return format!("Up {} ({health})", since(started, now));
            }
            return format!("Up {}", since(started, now));
        }
        if self.removal_in_progress {
            return "Removal In Progress".into();
        }
        if self.dead {
            return "Dead".into();
        }
        if started.is_none() {
            return "Created".into();
        }
        if finished.is_none() {
            return String::new();
        }
        format!("Exited ({}) {} ago", self.exit_code, since(finished, now))
    }
}

/// The API's `Command`: the path and its arguments, an argument with a space in quotes.
fn command_of(path: &str, args: &[String]) -> String {
    if args.is_empty() {
        return path.to_string();
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    format!("{path} {}", args.join(" "))
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
    let image_chains: HashSet<Digest> = chains.values().flatten().cloned().collect();
    let build_cache = crate::storage::buildcache::build_cache(
        root,
        &image_chains,
        &|chain| {
            sizes
                .get(chain)
                .copied()
                .or_else(|| layer_size(root, chain).ok())
        },
        &|id| {
            if id.is_empty() || id.contains('/') || id == "." || id == ".." {
                return Err(bad(
                    root,
                    crate::storage::buildcache::SNAPSHOTS_DB,
                    "BuildKit snapshot",
                    format!("`{id}` is not a directory name"),
                ));
            }
            Ok(dir_size(root, &format!("overlay2/{id}/diff"))? as i64)
        },
    )?;

    let now = chrono::Utc::now();
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
        let image = config.image.as_deref().and_then(|i| Digest::parse(i).ok());
        // The name it was made from, while that name still gives the same image (moby's
        // refreshImage); else the image ID.
        let image_id = config.image.clone().unwrap_or_default();
        let named = config
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        let image_ref =
            if named == image_id || (image.is_some() && root.resolve(&named).ok() == image) {
                named
            } else {
                image_id
            };
        let created = time_of(&config.created).map_or(0, |t| t.timestamp());
        containers.push(ContainerUsage {
            image,
            image_ref,
            name: config.name.trim_start_matches('/').to_string(),
            command: command_of(&config.path, config.args.as_deref().unwrap_or_default()),
            created,
            created_at: config.created.clone(),
            state: config.state.name().to_string(),
            status: config.state.status(now),
            local_volumes: config
                .mount_points
                .values()
                .filter(|m| m.driver == "local")
                .count(),
            size_rw,
            active: config.state.running || config.state.paused || config.state.restarting,
            id,
        });
    }
    // Newest first, as the daemon lists them.
    containers.sort_by(|a, b| {
        let t = |c: &ContainerUsage| time_of(&c.created_at);
        t(b).cmp(&t(a)).then(a.id.cmp(&b.id))
    });

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
        build_cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        time_of(text).unwrap()
    }

    #[test]
    fn state_and_status_are_worded_as_moby_words_them() {
        let now = at("2024-05-01T12:00:00Z");
        let zero = "0001-01-01T00:00:00Z".to_string();
        let mut s = State {
            started_at: zero.clone(),
            finished_at: zero,
            ..State::default()
        };
        assert_eq!((s.name(), s.status(now).as_str()), ("created", "Created"));
        s.started_at = "2024-05-01T10:00:00.5Z".into();
        s.finished_at = "2024-05-01T11:59:30Z".into();
        s.exit_code = 3;
        assert_eq!(s.name(), "exited");
        assert_eq!(s.status(now), "Exited (3) 30 seconds ago");
        s.running = true;
        assert_eq!(
            (s.name(), s.status(now).as_str()),
            ("running", "Up 2 hours")
        );
        s.paused = true;
        assert_eq!(s.status(now), "Up 2 hours (Paused)");
        s.paused = false;
        s.health = Some(Health {
            status: "starting".into(),
        });
        assert_eq!(s.status(now), "Up 2 hours (health: starting)");
        s.running = false;
        s.dead = true;
        assert_eq!((s.name(), s.status(now).as_str()), ("dead", "Dead"));
    }

    #[test]
    fn the_command_quotes_arguments_with_spaces() {
        assert_eq!(command_of("/greeting", &[]), "/greeting");
        let args = ["-c".to_string(), "echo hi".to_string()];
        assert_eq!(command_of("sh", &args), "sh -c 'echo hi'");
    }
}
