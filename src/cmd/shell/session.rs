//! A `shell` session's directory in the store: `mounts/shell-<16 random hex>/` with `upper/`,
//! `work/`, `merged/` and `info.json`. The name is random, not a PID, so two sessions never
//! share an upper (PIDs repeat across pid namespaces and over time). `info.json` records the
//! owning strata process (`pid`, `start_time` — field 22 of /proc/PID/stat — and its pid
//! namespace) so a later run can tell a session whose strata died, and remove it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use strata::overlay::remove_all;

/// A session dir without `info.json` younger than this may be one being created right now.
const CREATION_WINDOW: Duration = Duration::from_secs(60);

pub struct Session {
    pub dir: PathBuf,
}

impl Session {
    /// Creates a new, unique session dir under `mounts` with its `upper`, `work` and `merged`.
    pub fn create(mounts: &Path) -> io::Result<Session> {
        let dir = loop {
            let dir = mounts.join(format!("shell-{}", random_hex()?));
            match fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        for sub in ["upper", "work", "merged"] {
            fs::create_dir(dir.join(sub))?;
        }
        Ok(Session { dir })
    }

    /// Writes `info.json` with `fields` plus the owner's `pid`, `start_time` and `pid_ns`,
    /// through a rename so a reader never sees half of it.
    pub fn write_info(&self, mut fields: serde_json::Value) -> io::Result<()> {
        let pid = std::process::id();
        fields["pid"] = pid.into();
        fields["start_time"] = start_time(pid).into();
        fields["pid_ns"] = pid_namespace().into();
        let tmp = self.dir.join(".info.json.tmp");
        fs::write(&tmp, serde_json::to_vec_pretty(&fields)?)?;
        fs::rename(&tmp, self.dir.join("info.json"))
    }

    /// Removes the session dir, unless an overlay still uses it.
    pub fn remove(&self) -> io::Result<()> {
        if in_use(&self.dir) {
            return Err(io::Error::other(format!(
                "{} is still used by a mount",
                self.dir.display()
            )));
        }
        remove_all(&self.dir)
    }
}

/// Removes the `shell-*` session dirs under `mounts` whose strata is gone and that no overlay
/// in this mount namespace uses; returns how many. Failures are warnings: they must not stop
/// a new session.
pub fn remove_dead(mounts: &Path) -> usize {
    let Ok(entries) = fs::read_dir(mounts) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !name.starts_with("shell-") || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if !is_dead(&path, &name) || in_use(&path) {
            continue;
        }
        match remove_all(&path) {
            Ok(()) => removed += 1,
            Err(e) => crate::cmd::warn(&format!(
                "could not remove the dead shell session {}: {e}",
                path.display()
            )),
        }
    }
    removed
}

/// Whether the strata that owned this session is gone. Unknown owners count as alive: a
/// session of another pid namespace, or an old `shell-PID` dir whose PID is in use.
fn is_dead(dir: &Path, name: &str) -> bool {
    let info: Option<serde_json::Value> = fs::read(dir.join("info.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(info) = &info {
        if let (Some(pid), Some(start)) = (info["pid"].as_u64(), info["start_time"].as_u64()) {
            if info["pid_ns"]
                .as_str()
                .is_some_and(|ns| ns != pid_namespace())
            {
                return false;
            }
            return u32::try_from(pid).map_or(true, |pid| start_time(pid) != Some(start));
        }
    }
    // Sessions of strata before info.json named their owner: `shell-<PID>`.
    if let Some(pid) = name
        .strip_prefix("shell-")
        .and_then(|p| p.parse::<u32>().ok())
    {
        return start_time(pid).is_none();
    }
    // No readable info.json: dead unless just created (its info.json is on the way).
    info.is_none()
        && fs::metadata(dir).and_then(|m| m.modified()).is_ok_and(|t| {
            SystemTime::now()
                .duration_since(t)
                .is_ok_and(|age| age > CREATION_WINDOW)
        })
}

/// Whether any mount of this mount namespace names a path below `dir` (an overlay's
/// upperdir or workdir). Conservative: a match anywhere on a line counts.
fn in_use(dir: &Path) -> bool {
    let Some(name) = dir.file_name() else {
        return true;
    };
    let needle = format!("/{}/", name.to_string_lossy());
    match fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => text.lines().any(|l| l.contains(&needle)),
        Err(_) => true,
    }
}

use strata::proc::{pid_namespace, start_time};

fn random_hex() -> io::Result<String> {
    strata::overlay::random_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable() {
        assert!(start_time(std::process::id()).is_some());
    }
}
