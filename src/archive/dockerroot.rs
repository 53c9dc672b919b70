//! A Docker data root (overlay2 graphdriver) read without the daemon, as one more source of the
//! image model: the config from `image/overlay2/imagedb/content/sha256/<ID>`, tags from
//! `repositories.json`, and each layer from `layerdb/sha256/<chainID>/` as a blob rebuilt from
//! its `tar-split.json.gz` and `overlay2/<cache-id>/diff/` (see [`super::tarsplit`]).
//!
//! Read-only and untrusted: nothing is ever written, every file is opened relative to the data
//! root's directory fd with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (a symlink anywhere under
//! the root is refused, never followed), small files are read with a cap, and names taken from
//! the data root (cache IDs, image IDs) are checked before they become paths.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::tarsplit::TarSplitReader;
use super::{BlobClaim, Candidate, Location};
use crate::digest::{chain_ids, Digest};
use crate::error::{ArchiveError, Problem};

pub const DEFAULT_ROOT: &str = "/var/lib/docker";
/// Where the graphdriver keeps image metadata.
pub const IMAGE_DIR: &str = "image/overlay2";
/// `size`, `diff`, `parent`, `cache-id`: a line each.
const SMALL: u64 = 4096;

const BENEATH: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// What the data root records about an image beyond its config.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// layerdb `size` of each layer: what `docker history` shows.
    pub layer_sizes: Vec<u64>,
    /// The image's parent, its parent's parent… (`imagedb/metadata/sha256/<ID>/parent`).
    pub lineage: Vec<Digest>,
    /// `name@sha256:…` references of `repositories.json` to the image, in docker's short
    /// names: what `docker image inspect` shows as `RepoDigests`.
    pub repo_digests: Vec<String>,
    /// The sum of the layers' layerdb `size`: `docker image inspect`'s `Size` (Docker only).
    pub size: Option<u64>,
}

pub struct DockerRoot {
    pub dir: PathBuf,
    fd: OwnedFd,
}

impl DockerRoot {
    pub fn open(dir: &Path) -> Result<DockerRoot, ArchiveError> {
        let display = dir.display().to_string();
        let fd = rfs::open(
            dir,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            let problem = if e == Errno::NOTDIR {
                Problem::BadContent {
                    what: "data root",
                    detail: "not a directory (a Docker data root, such as /var/lib/docker)".into(),
                }
            } else {
                Problem::Io(e.into())
            };
            ArchiveError::new(&display, None, problem)
        })?;
        Ok(DockerRoot {
            dir: dir.to_path_buf(),
            fd,
        })
    }

    pub fn display(&self) -> String {
        self.dir.display().to_string()
    }

    fn error(&self, rel: &str, problem: Problem) -> ArchiveError {
        ArchiveError::new(&self.display(), Some(rel.to_string()), problem)
    }

    fn open_beneath(&self, rel: &str, flags: OFlags) -> Result<OwnedFd, Problem> {
        if rel.split('/').any(|p| p == ".." || p.is_empty()) || rel.contains('\0') {
            return Err(Problem::PathEscapes);
        }
        rfs::openat2(
            &self.fd,
            rel,
            flags | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::empty(),
            BENEATH,
        )
        .map_err(|e| match e {
            Errno::NOENT => Problem::Absent,
            Errno::LOOP | Errno::XDEV => Problem::Symlink,
            e => Problem::Io(e.into()),
        })
    }

    /// A regular file under the root.
    pub fn open_file(&self, rel: &str) -> Result<File, ArchiveError> {
        let fd = self
            .open_beneath(rel, OFlags::empty())
            .map_err(|p| self.error(rel, p))?;
        let stat = rfs::fstat(&fd).map_err(|e| self.error(rel, Problem::Io(e.into())))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(self.error(rel, Problem::NotAFile));
        }
        Ok(File::from(fd))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.open_file(rel).is_ok()
    }

    /// A file read whole, refused beyond `limit` bytes.
    /// What the data root's own listings need of the image config at `rel`: its `created` time
    /// and `rootfs.diff_ids` (parsed). Read leniently, so that a config field no listing uses
    /// never fails one; images themselves are opened through oci-spec's types.
    pub fn config_fields(&self, rel: &str) -> Result<ConfigFields, ArchiveError> {
        #[derive(serde::Deserialize)]
        struct RootFs {
            #[serde(default)]
            diff_ids: Vec<String>,
        }
        #[derive(serde::Deserialize)]
        struct Config {
            #[serde(default)]
            created: Option<String>,
            rootfs: RootFs,
        }
        let bytes = self.read(rel, "image config", super::container::JSON_LIMIT)?;
        let fail = |p: Problem| ArchiveError::new(&self.display(), Some(rel.to_string()), p);
        let config: Config = serde_json::from_slice(&bytes).map_err(|source| {
            fail(Problem::BadJson {
                what: "image config",
                source,
            })
        })?;
        let diff_ids = config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| Digest::parse(d))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.into()))?;
        Ok(ConfigFields {
            created: config.created,
            diff_ids,
        })
    }

    pub fn read(&self, rel: &str, what: &'static str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let file = self.open_file(rel)?;
        let mut buf = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.error(rel, Problem::Io(e)))?;
        if buf.len() as u64 > limit {
            return Err(self.error(rel, Problem::TooLarge { what, limit }));
        }
        Ok(buf)
    }

    /// A one-line metadata file (`diff`, `size`, `cache-id`, `parent`), trimmed.
    pub fn read_line(&self, rel: &str, what: &'static str) -> Result<String, ArchiveError> {
        let bytes = self.read(rel, what, SMALL)?;
        String::from_utf8(bytes)
            .map(|s| s.trim().to_string())
            .map_err(|_| {
                self.error(
                    rel,
                    Problem::BadContent {
                        what,
                        detail: format!("the {what} file is not text"),
                    },
                )
            })
    }

    pub fn read_digest(&self, rel: &str, what: &'static str) -> Result<Digest, ArchiveError> {
        let text = self.read_line(rel, what)?;
        Digest::parse(&text).map_err(|e| self.error(rel, e.into()))
    }

    /// The names in a directory under the root.
    pub fn list(&self, rel: &str) -> Result<Vec<String>, ArchiveError> {
        let fd = self
            .open_beneath(rel, OFlags::DIRECTORY)
            .map_err(|p| self.error(rel, p))?;
        let dir = rfs::Dir::read_from(&fd).map_err(|e| self.error(rel, Problem::Io(e.into())))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| self.error(rel, Problem::Io(e.into())))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Every reference of `repositories.json` (tags and `name@digest`) with its image ID.
    pub fn repositories(&self) -> Result<Vec<(String, Digest)>, ArchiveError> {
        let rel = format!("{IMAGE_DIR}/repositories.json");
        let bytes = match self.read(&rel, "repositories.json", super::container::JSON_LIMIT) {
            Ok(b) => b,
            // A data root that never had a tag has no repositories.json.
            Err(e) if matches!(e.problem, Problem::Absent) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        #[derive(serde::Deserialize)]
        struct Repos {
            #[serde(rename = "Repositories", default)]
            repositories:
                std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
        }
        let repos: Repos = serde_json::from_slice(&bytes).map_err(|source| {
            self.error(
                &rel,
                Problem::BadJson {
                    what: "repositories.json",
                    source,
                },
            )
        })?;
        let mut refs = Vec::new();
        for (name, id) in repos.repositories.into_values().flatten() {
            let id = Digest::parse(&id).map_err(|e| self.error(&rel, e.into()))?;
            refs.push((name, id));
        }
        Ok(refs)
    }

    /// The image IDs (hex) of `imagedb/content/sha256`, sorted.
    pub fn image_ids(&self) -> Result<Vec<String>, ArchiveError> {
        let rel = format!("{IMAGE_DIR}/imagedb/content/sha256");
        let mut ids = self.list(&rel)?;
        ids.retain(|n| n.len() == 64 && n.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        ids.sort();
        Ok(ids)
    }

    /// Finds the image `reference` names the way `docker history` does: a tag (docker's short
    /// names completed), `name@sha256:…`, a full image ID, or a unique prefix of one.
    pub fn resolve(&self, reference: &str) -> Result<Digest, ArchiveError> {
        let refs = self.repositories()?;
        let not_found = |detail: String| {
            ArchiveError::new(
                &self.display(),
                None,
                Problem::NotInDataRoot {
                    wanted: reference.to_string(),
                    listing: detail,
                },
            )
        };
        let wanted = normalize(reference);
        if let Some((_, id)) = refs.iter().find(|(name, _)| normalize(name) == wanted) {
            return Ok(id.clone());
        }
        let hex = reference.strip_prefix("sha256:").unwrap_or(reference);
        let is_hex = !hex.is_empty() && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if is_hex && !reference.contains('@') {
            let ids = self.image_ids()?;
            let found: Vec<&String> = ids.iter().filter(|id| id.starts_with(hex)).collect();
            match found.as_slice() {
                [one] => {
                    return Digest::parse(&format!("sha256:{one}"))
                        .map_err(|e| not_found(e.to_string()))
                }
                [] => {}
                many => {
                    return Err(ArchiveError::new(
                        &self.display(),
                        None,
                        Problem::BadContent {
                            what: "image reference",
                            detail: format!(
                                "`{reference}` is a prefix of {} image IDs; give more of it",
                                many.len()
                            ),
                        },
                    ))
                }
            }
        }
        let mut tags: Vec<&str> = refs.iter().map(|(n, _)| n.as_str()).collect();
        tags.sort();
        let listing = if tags.is_empty() {
            "  (no tags; name an image by its ID)".to_string()
        } else {
            tags.iter()
                .map(|t| format!("  {t}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        Err(not_found(listing))
    }

    /// The tags (`name:tag`) that point at `id`, as `docker images` shows them.
    pub fn tags_of(&self, id: &Digest) -> Result<Vec<String>, ArchiveError> {
        let mut tags: Vec<String> = self
            .repositories()?
            .into_iter()
            .filter(|(name, d)| d == id && !name.contains('@'))
            .map(|(name, _)| name)
            .collect();
        tags.sort();
        Ok(tags)
    }

    /// The `name@digest` references that point at `id`, in docker's short names, sorted.
    pub fn digests_of(&self, id: &Digest) -> Result<Vec<String>, ArchiveError> {
        let mut refs: Vec<String> = self
            .repositories()?
            .into_iter()
            .filter(|(name, d)| d == id && name.contains('@'))
            .map(|(name, _)| crate::storage::images::familiar(&name).to_string())
            .collect();
        refs.sort();
        refs.dedup();
        Ok(refs)
    }

    pub fn config_path(id: &Digest) -> String {
        format!("{IMAGE_DIR}/imagedb/content/sha256/{}", id.hex())
    }

    pub fn layer_path(chain_id: &Digest) -> String {
        format!("{IMAGE_DIR}/layerdb/sha256/{}", chain_id.hex())
    }

    /// The candidate for image `id`: its config and, through the config's diff_ids, the
    /// layerdb directory of each layer, whose `diff` must be that diffID.
    pub fn candidate(
        &self,
        id: &Digest,
        tags: Vec<String>,
    ) -> Result<(Candidate, Recorded), ArchiveError> {
        let config_path = Self::config_path(id);
        let bytes = self.read(&config_path, "image config", super::container::JSON_LIMIT)?;
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
            self.error(
                &config_path,
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
            .enumerate()
            .map(|(i, d)| {
                Digest::parse(d).map_err(|e| {
                    self.error(&format!("{config_path}: rootfs.diff_ids[{i}]"), e.into())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut layer_paths = Vec::new();
        let mut claims = Vec::new();
        let mut recorded = Recorded::default();
        for (chain, diff_id) in chain_ids(&diff_ids).iter().zip(&diff_ids) {
            let dir = Self::layer_path(chain);
            let recorded_diff = self.read_digest(&format!("{dir}/diff"), "layer diff")?;
            claims.push(BlobClaim {
                what: "layerdb_diff",
                path: format!("{dir}/diff"),
                expected: diff_id.to_string(),
                found: recorded_diff.to_string(),
            });
            let size_path = format!("{dir}/size");
            let size_text = self.read_line(&size_path, "layer size")?;
            let size = size_text.parse::<u64>().map_err(|_| {
                self.error(
                    &size_path,
                    Problem::BadContent {
                        what: "layer size",
                        detail: format!("`{size_text}` is not a size in bytes"),
                    },
                )
            })?;
            recorded.layer_sizes.push(size);
            layer_paths.push(dir);
        }
        recorded.lineage = self.lineage(id)?;
        recorded.size = Some(recorded.layer_sizes.iter().sum());
        recorded.repo_digests = self.digests_of(id)?;
        let candidate = Candidate {
            number: 0,
            group: 0,
            tags,
            platform: None,
            manifest_digest: None,
            config_digest: Some(id.clone()),
            location: Location::DockerRoot {
                config_path,
                layer_paths,
            },
            index_claims: claims,
            top_digest: None,
        };
        Ok((candidate, recorded))
    }

    /// Parent image IDs from `imagedb/metadata`, nearest first; stops at a loop or a parent
    /// that is not in the data root (docker stops there too).
    fn lineage(&self, id: &Digest) -> Result<Vec<Digest>, ArchiveError> {
        let mut chain: Vec<Digest> = Vec::new();
        let mut at = id.clone();
        loop {
            let rel = format!("{IMAGE_DIR}/imagedb/metadata/sha256/{}/parent", at.hex());
            let parent = match self.read_digest(&rel, "parent image") {
                Ok(p) => p,
                Err(e) if matches!(e.problem, Problem::Absent) => break,
                Err(e) => return Err(e),
            };
            if parent == *id || chain.contains(&parent) || !self.exists(&Self::config_path(&parent))
            {
                break;
            }
            chain.push(parent.clone());
            at = parent;
        }
        Ok(chain)
    }

    /// A directory under the root, opened (never through a symlink).
    pub fn open_dir(&self, rel: &str) -> Result<OwnedFd, ArchiveError> {
        self.open_beneath(rel, OFlags::DIRECTORY)
            .map_err(|p| self.error(rel, p))
    }

    /// What is at `rel` (not following a final symlink): None when nothing is.
    pub fn kind_of(&self, rel: &str) -> Result<Option<FileType>, ArchiveError> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let fd = match self.open_beneath(dir, OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Problem::Absent) => return Ok(None),
            Err(p) => return Err(self.error(dir, p)),
        };
        match rfs::statat(&fd, name, rfs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.error(rel, Problem::Io(e.into()))),
        }
    }

    /// The target of the symlink at `rel` (read, never followed).
    pub fn read_link(&self, rel: &str) -> Result<Vec<u8>, ArchiveError> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or((".", rel));
        let fd = self.open_dir(dir)?;
        rfs::readlinkat(&fd, name, Vec::new())
            .map(|t| t.into_bytes())
            .map_err(|e| {
                let problem = if e == Errno::NOENT {
                    Problem::Absent
                } else {
                    Problem::Io(e.into())
                };
                self.error(rel, problem)
            })
    }

    /// The layer's `cache-id`: its directory under `overlay2/`, checked to be a plain name.
    pub fn cache_id(&self, layer_dir: &str) -> Result<String, ArchiveError> {
        let cache_path = format!("{layer_dir}/cache-id");
        let cache_id = self.read_line(&cache_path, "cache-id")?;
        let plain = !cache_id.is_empty()
            && cache_id.len() <= 128
            && cache_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain {
            return Err(self.error(
                &cache_path,
                Problem::BadContent {
                    what: "cache-id",
                    detail: format!(
                        "`{}` is not a layer directory name",
                        crate::render::escape_for_message(&cache_id, 80)
                    ),
                },
            ));
        }
        Ok(cache_id)
    }

    /// Where the files of the layer at `layer_dir` lie, relative to the root: docker's
    /// `overlay2/<cache-id>/diff`, or containers-storage's `overlay/<ID>/diff` for an
    /// `overlay-layers/<ID>` layer. Only names are checked here, nothing is opened.
    pub fn diff_dir(&self, layer_dir: &str) -> Result<String, ArchiveError> {
        use super::containers_storage::LAYER_PREFIX;
        if let Some(id) = layer_dir.strip_prefix(LAYER_PREFIX) {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(self.error(layer_dir, Problem::PathEscapes));
            }
            return Ok(format!("overlay/{id}/diff"));
        }
        Ok(format!("overlay2/{}/diff", self.cache_id(layer_dir)?))
    }

    /// The layer at `layer_dir` (a layerdb directory) as its original tar.
    /// A containers-storage layer (`overlay-layers/<ID>`) is read from
    /// `overlay-layers/<ID>.tar-split.gz` and `overlay/<ID>/diff/`.
    pub fn open_layer(&self, layer_dir: &str) -> Result<TarSplitReader, ArchiveError> {
        use super::containers_storage::LAYER_PREFIX;
        if let Some(id) = layer_dir.strip_prefix(LAYER_PREFIX) {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(self.error(layer_dir, Problem::PathEscapes));
            }
            let split_path = format!("{layer_dir}.tar-split.gz");
            let split = self.open_file(&split_path)?;
            let diff_path = format!("overlay/{id}/diff");
            let diff = self.open_dir(&diff_path)?;
            return Ok(TarSplitReader::new(split, split_path, diff, diff_path));
        }
        let cache_id = self.cache_id(layer_dir)?;
        let split_path = format!("{layer_dir}/tar-split.json.gz");
        let split = self.open_file(&split_path)?;
        let diff_path = format!("overlay2/{cache_id}/diff");
        let diff = self
            .open_beneath(&diff_path, OFlags::DIRECTORY)
            .map_err(|p| self.error(&diff_path, p))?;
        Ok(TarSplitReader::new(split, split_path, diff, diff_path))
    }
}

/// See [`DockerRoot::config_fields`].
#[derive(Debug, Clone)]
pub struct ConfigFields {
    pub created: Option<String>,
    pub diff_ids: Vec<Digest>,
}

/// A reference completed the way docker does: `busybox` is `docker.io/library/busybox:latest`.
pub fn normalize(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_domain =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_domain {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    if let Some(rest) = full.strip_prefix("index.docker.io/") {
        full = format!("docker.io/{rest}");
    }
    match (tag, digest) {
        (Some(t), Some(d)) => format!("{full}:{t}@{d}"),
        (Some(t), None) => format!("{full}:{t}"),
        (None, Some(d)) => format!("{full}@{d}"),
        (None, None) => format!("{full}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn references_complete_like_docker() {
        let same = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("docker.io/library/busybox:latest", "busybox"),
            ("index.docker.io/library/busybox", "busybox:latest"),
            ("me/app:1", "docker.io/me/app:1"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            (
                "busybox@sha256:abcd",
                "docker.io/library/busybox@sha256:abcd",
            ),
        ];
        for (a, b) in same {
            assert_eq!(normalize(a), normalize(b), "{a} vs {b}");
        }
        assert_ne!(normalize("busybox"), normalize("busybox:1"));
        assert_ne!(normalize("quay.io/busybox"), normalize("busybox"));
        assert_eq!(normalize("localhost:5000/app"), "localhost:5000/app:latest");
    }
}
