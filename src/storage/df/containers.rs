//! Containers as `docker system df` counts them: each `containers/<id>/config.v2.json` read
//! for what the API's container summary shows (image, command, state and status as moby words
//! them), with the bytes its own layer holds (`SizeRw`) and the volumes it mounts.

use std::collections::HashMap;

use super::{bad, dir_size, names_in, ContainerUsage};
use crate::archive::container::JSON_LIMIT;
use crate::archive::dockerroot::{DockerRoot, IMAGE_DIR};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

/// The containers, newest first as the daemon lists them, and how many of them mount each
/// volume (by name).
pub(super) type Containers = (Vec<ContainerUsage>, HashMap<String, usize>);

pub(super) fn read_containers(root: &DockerRoot) -> Result<Containers, ArchiveError> {
    let now = chrono::Utc::now();
    let mut containers = Vec::new();
    let mut volume_links: HashMap<String, usize> = HashMap::new();
    for id in names_in(root, "containers")? {
        let Some(config) = read_config(root, &id)? else {
            continue;
        };
        let size_rw = size_rw(root, &id)?;
        for m in config.mount_points.values() {
            if m.kind == "volume" && !m.name.is_empty() {
                *volume_links.entry(m.name.clone()).or_default() += 1;
            }
        }
        containers.push(usage(root, id, &config, size_rw, now));
    }
    containers.sort_by(|a, b| {
        let t = |c: &ContainerUsage| time_of(&c.created_at);
        t(b).cmp(&t(a)).then(a.id.cmp(&b.id))
    });
    Ok((containers, volume_links))
}

/// The container's `config.v2.json`; None when its directory has none (it is skipped).
fn read_config(root: &DockerRoot, id: &str) -> Result<Option<ContainerConfig>, ArchiveError> {
    let rel = format!("containers/{id}/config.v2.json");
    match root.read(&rel, "container config", JSON_LIMIT) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| {
            ArchiveError::new(
                &root.display(),
                Some(rel.clone()),
                Problem::BadJson {
                    what: "container config",
                    source,
                },
            )
        }),
        Err(e) if matches!(e.problem, Problem::Absent) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bytes in the container's own layer, `overlay2/<mount-id>/diff`.
fn size_rw(root: &DockerRoot, id: &str) -> Result<u64, ArchiveError> {
    let mount_rel = format!("{IMAGE_DIR}/layerdb/mounts/{id}/mount-id");
    match root.read_line(&mount_rel, "container layer") {
        Ok(m) if !m.is_empty() && !m.contains('/') && m != ".." && m != "." => {
            dir_size(root, &format!("overlay2/{m}/diff"))
        }
        Ok(m) => Err(bad(
            root,
            &mount_rel,
            "container layer",
            format!("`{m}` is not a directory name"),
        )),
        Err(e) if matches!(e.problem, Problem::Absent) => Ok(0),
        Err(e) => Err(e),
    }
}

/// What the API's container summary shows of container `id`.
fn usage(
    root: &DockerRoot,
    id: String,
    config: &ContainerConfig,
    size_rw: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> ContainerUsage {
    let (image, image_ref) = image_of(root, config);
    ContainerUsage {
        image,
        image_ref,
        name: config.name.trim_start_matches('/').to_string(),
        command: command_of(&config.path, config.args.as_deref().unwrap_or_default()),
        created: time_of(&config.created).map_or(0, |t| t.timestamp()),
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
    }
}

/// The container's image ID, and the API's `Image`: the name it was made from, while that
/// name still gives the same image (moby's refreshImage); else the image ID.
fn image_of(root: &DockerRoot, config: &ContainerConfig) -> (Option<Digest>, String) {
    let image = config.image.as_deref().and_then(|i| Digest::parse(i).ok());
    let image_id = config.image.clone().unwrap_or_default();
    let named = config
        .config
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let image_ref = if named == image_id || (image.is_some() && root.resolve(&named).ok() == image)
    {
        named
    } else {
        image_id
    };
    (image, image_ref)
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
