//! Picking one image out of several: by number, tag or digest, then by platform within a
//! multi-platform index (default: the host's).

use std::fmt::Write as _;

use oci_spec::image::Platform;

use super::Candidate;
use crate::error::{ArchiveError, Problem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformWanted {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl std::fmt::Display for PlatformWanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// `os/arch[/variant]`.
pub fn parse_platform(text: &str) -> Result<PlatformWanted, String> {
    let parts: Vec<&str> = text.split('/').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "`{text}` is not a platform of the form os/arch[/variant]"
        ));
    }
    Ok(PlatformWanted {
        os: parts[0].to_string(),
        architecture: parts[1].to_string(),
        variant: parts.get(2).map(|v| v.to_string()),
    })
}

pub fn host_platform() -> PlatformWanted {
    let (architecture, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "aarch64" => ("arm64", None),
        "x86" => ("386", None),
        "arm" => ("arm", Some("v7")),
        "powerpc64" => ("ppc64le", None),
        other => (other, None),
    };
    PlatformWanted {
        os: std::env::consts::OS.to_string(),
        architecture: architecture.to_string(),
        variant: variant.map(str::to_string),
    }
}

pub fn platform_text(p: &Platform) -> String {
    let mut s = format!("{}/{}", p.os(), p.architecture());
    if let Some(v) = p.variant() {
        let _ = write!(s, "/{v}");
    }
    s
}

fn platform_matches(p: &Platform, want: &PlatformWanted) -> bool {
    let (os, arch) = (p.os().to_string(), p.architecture().to_string());
    fits(&os, &arch, p.variant().as_deref(), want)
}

/// Whether an image of `os/arch[/variant]` is what `want` asks for.
pub fn fits(os: &str, arch: &str, variant: Option<&str>, want: &PlatformWanted) -> bool {
    if os != want.os || arch != want.architecture {
        return false;
    }
    match (&want.variant, variant) {
        (None, _) => true,
        (Some(w), Some(have)) => w == have,
        // arm64 without a variant means v8.
        (Some(w), None) => want.architecture == "arm64" && w == "v8",
    }
}

/// Docker's short forms: `alpine` means `docker.io/library/alpine:latest`.
fn normalize_ref(r: &str) -> String {
    let mut s = r.to_string();
    for prefix in [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
            break;
        }
    }
    let last = s.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !s.contains('@') {
        s.push_str(":latest");
    }
    s
}

fn digest_matches(wanted: &str, c: &Candidate) -> bool {
    let hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
    if hex.len() < 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let hex = hex.to_ascii_lowercase();
    let by_manifest = c
        .manifest_digest
        .as_ref()
        .is_some_and(|d| d.hex().starts_with(&hex));
    let by_id = c
        .config_digest
        .as_ref()
        .is_some_and(|d| d.hex().starts_with(&hex));
    // A docker save's config file is named after the image ID it claims.
    let by_config_name = match &c.location {
        super::Location::Docker { config_path, .. } => config_path
            .rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with(&hex)),
        _ => false,
    };
    by_manifest || by_id || by_config_name
}

fn matches(wanted: &str, c: &Candidate) -> bool {
    if let Some((_, digest)) = wanted.split_once('@') {
        return digest_matches(digest, c);
    }
    if digest_matches(wanted, c) {
        return true;
    }
    let want = normalize_ref(wanted);
    c.tags
        .iter()
        .any(|t| t == wanted || normalize_ref(t) == want)
}

pub fn listing(candidates: &[&Candidate]) -> String {
    let mut out = String::new();
    for c in candidates {
        let tags = if c.tags.is_empty() {
            "<untagged>".to_string()
        } else {
            c.tags.join(", ")
        };
        let _ = write!(out, "  #{}: {}", c.number, tags);
        if let Some(p) = &c.platform {
            let _ = write!(out, " [{}]", platform_text(p));
        }
        if let Some(d) = &c.manifest_digest {
            let _ = write!(out, " {d}");
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Returns the position in `candidates` of the image to load.
pub fn select(
    archive: &str,
    candidates: &[Candidate],
    image: Option<&str>,
    platform: Option<&PlatformWanted>,
) -> Result<usize, ArchiveError> {
    let err = |p: Problem| ArchiveError::new(archive, None, p);
    let mut pool: Vec<&Candidate> = candidates.iter().collect();
    if let Some(wanted) = image {
        match by_name(candidates, wanted).map_err(err)? {
            Named::Number(at) => return Ok(at),
            Named::Pool(named) => pool = named,
        }
    }
    if pool.len() > 1 {
        if let Some(want) = platform {
            narrow_to_platform(&mut pool, want);
        }
    }
    if pool.len() == 1 {
        return Ok(position(candidates, pool[0]));
    }
    let one_group = pool.iter().all(|c| c.group == pool[0].group);
    let all_have_platform = pool.iter().all(|c| c.platform.is_some());
    if !one_group || !all_have_platform {
        return Err(err(Problem::SeveralImages {
            count: pool.len(),
            total: candidates.len(),
            wanted: image.map(str::to_string),
            listing: listing(&pool),
        }));
    }
    let host = host_platform();
    let want = platform.unwrap_or(&host);
    of_platform(candidates, &pool, want).map_err(err)
}

/// What `--image` names: one image by number, or the images with that tag or digest.
enum Named<'a> {
    Number(usize),
    Pool(Vec<&'a Candidate>),
}

/// `#N` is always the number; a bare `N` is a tag when an image has that tag, else the number
/// too.
fn by_name<'a>(candidates: &'a [Candidate], wanted: &str) -> Result<Named<'a>, Problem> {
    let all: Vec<&Candidate> = candidates.iter().collect();
    let no_match = || Problem::NoMatch {
        wanted: wanted.to_string(),
        listing: listing(&all),
    };
    let number = match wanted.strip_prefix('#') {
        Some(n) => Some(n.parse::<usize>().map_err(|_| no_match())?),
        None if !candidates.iter().any(|c| matches(wanted, c)) => wanted.parse().ok(),
        None => None,
    };
    if let Some(n) = number {
        let at = candidates.iter().position(|c| c.number == n);
        return at.map(Named::Number).ok_or_else(no_match);
    }
    let pool: Vec<&Candidate> = all.iter().copied().filter(|c| matches(wanted, c)).collect();
    if pool.is_empty() {
        return Err(no_match());
    }
    Ok(Named::Pool(pool))
}

/// Keeps the images of `--platform` when that leaves one, or several of one index.
fn narrow_to_platform(pool: &mut Vec<&Candidate>, want: &PlatformWanted) {
    let fits: Vec<&Candidate> = pool
        .iter()
        .copied()
        .filter(|c| {
            c.platform
                .as_ref()
                .is_some_and(|p| platform_matches(p, want))
        })
        .collect();
    if fits.len() == 1 || (!fits.is_empty() && fits.iter().all(|c| c.group == fits[0].group)) {
        *pool = fits;
    }
}

/// The image of one index that fits `want`.
fn of_platform(
    candidates: &[Candidate],
    pool: &[&Candidate],
    want: &PlatformWanted,
) -> Result<usize, Problem> {
    match pool.iter().find(|c| {
        c.platform
            .as_ref()
            .is_some_and(|p| platform_matches(p, want))
    }) {
        Some(c) => Ok(position(candidates, c)),
        None => Err(Problem::NoPlatform {
            wanted: want.to_string(),
            available: pool
                .iter()
                .filter_map(|c| c.platform.as_ref().map(platform_text))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn position(candidates: &[Candidate], chosen: &Candidate) -> usize {
    candidates
        .iter()
        .position(|c| std::ptr::eq(c, chosen))
        .expect("chosen from this list")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Location;

    fn cand(number: usize, group: usize, tags: &[&str], platform: Option<&str>) -> Candidate {
        let platform = platform.map(|p| {
            let w = parse_platform(p).unwrap();
            let mut b = oci_spec::image::PlatformBuilder::default()
                .os(w.os.as_str())
                .architecture(w.architecture.as_str());
            if let Some(v) = w.variant {
                b = b.variant(v);
            }
            b.build().unwrap()
        });
        Candidate {
            number,
            group,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            platform,
            manifest_digest: None,
            config_digest: None,
            index_claims: Vec::new(),
            top_digest: None,
            location: Location::Docker {
                config_path: format!("{}.json", ["a", "b", "c"][number].repeat(64)),
                layer_paths: vec![],
                parent: None,
            },
        }
    }

    #[test]
    fn picks_by_tag_number_and_docker_short_names() {
        let c = vec![
            cand(0, 0, &["docker.io/library/alpine:3.19"], None),
            cand(1, 1, &["example.com/app:1.0"], None),
        ];
        assert_eq!(select("a", &c, Some("alpine:3.19"), None).unwrap(), 0);
        assert_eq!(
            select("a", &c, Some("example.com/app:1.0"), None).unwrap(),
            1
        );
        assert_eq!(select("a", &c, Some("1"), None).unwrap(), 1);
        assert!(matches!(
            select("a", &c, None, None).unwrap_err().problem,
            Problem::SeveralImages { .. }
        ));
        assert!(matches!(
            select("a", &c, Some("nope"), None).unwrap_err().problem,
            Problem::NoMatch { .. }
        ));
        assert!(matches!(
            select("a", &c, Some("7"), None).unwrap_err().problem,
            Problem::NoMatch { .. }
        ));
    }

    #[test]
    fn picks_by_config_digest_prefix() {
        let c = vec![cand(0, 0, &[], None), cand(1, 1, &[], None)];
        let id = format!("sha256:{}", "b".repeat(64));
        assert_eq!(select("a", &c, Some(&id), None).unwrap(), 1);
        assert_eq!(select("a", &c, Some(&id[7..19]), None).unwrap(), 1);
    }

    #[test]
    fn multi_platform_index_defaults_to_host_and_honours_flag() {
        let c = vec![
            cand(0, 0, &["multi:latest"], Some("linux/amd64")),
            cand(1, 0, &["multi:latest"], Some("linux/arm64/v8")),
        ];
        let arm = parse_platform("linux/arm64/v8").unwrap();
        assert_eq!(select("a", &c, None, Some(&arm)).unwrap(), 1);
        assert_eq!(
            select("a", &c, Some("multi:latest"), Some(&arm)).unwrap(),
            1
        );
        let amd = parse_platform("linux/amd64").unwrap();
        assert_eq!(select("a", &c, None, Some(&amd)).unwrap(), 0);
        let s390 = parse_platform("linux/s390x").unwrap();
        assert!(matches!(
            select("a", &c, None, Some(&s390)).unwrap_err().problem,
            Problem::NoPlatform { .. }
        ));
    }

    #[test]
    fn platform_text_parses() {
        assert!(parse_platform("linux").is_err());
        assert!(parse_platform("linux//v7").is_err());
        assert_eq!(
            parse_platform("linux/arm/v7").unwrap().variant.as_deref(),
            Some("v7")
        );
    }
}
