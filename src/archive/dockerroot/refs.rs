//! References: the tags and digests of `repositories.json`, and finding the image a
//! reference names the way docker does.

use super::{DockerRoot, IMAGE_DIR};
use crate::archive::container::JSON_LIMIT;
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

impl DockerRoot {
    /// Every reference of `repositories.json` (tags and `name@digest`) with its image ID.
    pub fn repositories(&self) -> Result<Vec<(String, Digest)>, ArchiveError> {
        let rel = format!("{IMAGE_DIR}/repositories.json");
        let bytes = match self.read(&rel, "repositories.json", JSON_LIMIT) {
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
