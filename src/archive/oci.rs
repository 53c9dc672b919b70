//! OCI image layouts (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`): walks the index and any
//! nested indexes (OCI or docker manifest lists) down to image manifests.

use oci_spec::image::{Descriptor, ImageIndex, MediaType};

use super::container::Container;
use super::{BlobClaim, Candidate, Location};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

const MAX_DEPTH: usize = 8;
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

/// Checks a descriptor's digest has a form we can turn into a path.
pub fn descriptor_digest(
    container: &Container,
    desc: &Descriptor,
    what: &str,
) -> Result<Digest, ArchiveError> {
    Digest::parse(desc.digest().as_ref())
        .map_err(|e| ArchiveError::new(&container.display, Some(what.to_string()), e.into()))
}

pub fn read_index(
    container: &Container,
    path: &str,
    what: &'static str,
) -> Result<ImageIndex, ArchiveError> {
    let bytes = container.read_json_file(path, what)?;
    parse_json(container, path, what, &bytes)
}

pub fn parse_json<T: serde::de::DeserializeOwned>(
    container: &Container,
    path: &str,
    what: &'static str,
    bytes: &[u8],
) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ArchiveError::new(
            &container.display,
            Some(path.to_string()),
            Problem::BadJson { what, source: e },
        )
    })
}

pub fn candidates(container: &Container) -> Result<Vec<Candidate>, ArchiveError> {
    let index = read_index(container, "index.json", "index.json")?;
    let mut out = Vec::new();
    walk(container, &index, TOP, &mut out)?;
    Ok(out)
}

enum Kind {
    Manifest,
    Index,
    /// Attestations, signatures and other artifacts that are not runnable images.
    Skip,
    Unknown,
}

fn kind_of(desc: &Descriptor) -> Kind {
    let annotations = desc.annotations().as_ref();
    if annotations
        .and_then(|a| a.get("vnd.docker.reference.type"))
        .is_some()
    {
        return Kind::Skip;
    }
    match desc.media_type() {
        MediaType::ImageManifest => Kind::Manifest,
        MediaType::ImageIndex => Kind::Index,
        MediaType::Other(t) if t == "application/vnd.docker.distribution.manifest.v2+json" => {
            Kind::Manifest
        }
        MediaType::Other(t) if t == "application/vnd.docker.distribution.manifest.list.v2+json" => {
            Kind::Index
        }
        _ => Kind::Unknown,
    }
}

fn names_of(desc: &Descriptor) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(a) = desc.annotations() {
        for key in [CONTAINERD_NAME, REF_NAME] {
            if let Some(v) = a.get(key) {
                if !names.contains(v) {
                    names.push(v.clone());
                }
            }
        }
    }
    names
}

/// Where a walk of nested indexes is: what the images below inherit from the entries above.
#[derive(Clone, Copy)]
struct Level<'a> {
    /// The position of the top-level entry the images below belong to.
    group: Option<usize>,
    /// The digest of that top-level entry.
    top: Option<&'a Digest>,
    tags: &'a [String],
    /// The claims of every index above, against its bytes.
    claims: &'a [BlobClaim],
    depth: usize,
}

const TOP: Level<'static> = Level {
    group: None,
    top: None,
    tags: &[],
    claims: &[],
    depth: 0,
};

fn walk(
    container: &Container,
    index: &ImageIndex,
    level: Level<'_>,
    out: &mut Vec<Candidate>,
) -> Result<(), ArchiveError> {
    if level.depth > MAX_DEPTH {
        return Err(ArchiveError::new(
            &container.display,
            Some("index.json".into()),
            Problem::BadContent {
                what: "image index",
                detail: format!("image indexes nested more than {MAX_DEPTH} deep"),
            },
        ));
    }
    for (position, desc) in index.manifests().iter().enumerate() {
        walk_entry(container, desc, position, level, out)?;
    }
    for (n, c) in out.iter_mut().enumerate() {
        c.number = n;
    }
    Ok(())
}

/// One entry of an index: an image, a nested index to walk, an artifact to skip, or what
/// cannot be told (a candidate that reports why when chosen).
fn walk_entry(
    container: &Container,
    desc: &Descriptor,
    position: usize,
    level: Level<'_>,
    out: &mut Vec<Candidate>,
) -> Result<(), ArchiveError> {
    let group = level.group.unwrap_or(position);
    let mut tags = level.tags.to_vec();
    for name in names_of(desc) {
        if !tags.contains(&name) {
            tags.push(name);
        }
    }
    let digest = descriptor_digest(container, desc, "index.json")?;
    let top = level.top.unwrap_or(&digest).clone();
    let mut kind = kind_of(desc);
    if let Kind::Unknown = kind {
        kind = sniff_kind(container, &digest);
    }
    let candidate = |location: Location| Candidate {
        number: 0,
        group,
        tags: tags.clone(),
        platform: desc.platform().clone(),
        manifest_digest: Some(digest.clone()),
        config_digest: None,
        location,
        index_claims: level.claims.to_vec(),
        top_digest: Some(top.clone()),
    };
    match kind {
        Kind::Skip => {}
        Kind::Manifest => {
            let mut c = candidate(Location::Oci {
                descriptor: Box::new(desc.clone()),
            });
            c.config_digest = config_digest_of(container, &digest);
            out.push(c);
        }
        Kind::Index => match read_nested_index(container, &blob_path(&digest)) {
            Ok((nested, bytes)) => {
                // The nested index is trusted only as far as its bytes are the ones its
                // descriptor names: the images below it inherit the comparison.
                let mut claims = level.claims.to_vec();
                claims.extend(BlobClaim::of_descriptor(
                    ("index_digest", "index_size"),
                    &blob_path(&digest),
                    desc,
                    &bytes,
                ));
                let below = Level {
                    group: Some(group),
                    top: Some(&top),
                    tags: &tags,
                    claims: &claims,
                    depth: level.depth + 1,
                };
                walk(container, &nested, below, out)?
            }
            Err(e) => out.push(candidate(Location::Broken(Box::new(e)))),
        },
        Kind::Unknown => out.push(candidate(Location::Broken(Box::new(unknown_entry(
            container, desc, &digest,
        ))))),
    }
    Ok(())
}

/// A nested index and its bytes.
fn read_nested_index(
    container: &Container,
    path: &str,
) -> Result<(ImageIndex, Vec<u8>), ArchiveError> {
    let bytes = container.read_json_file(path, "image index")?;
    let index: ImageIndex = parse_json(container, path, "image index", &bytes)?;
    Ok((index, bytes))
}

/// Why an entry of unknown kind is no image: its blob is something else, or missing.
fn unknown_entry(container: &Container, desc: &Descriptor, digest: &Digest) -> ArchiveError {
    ArchiveError::new(
        &container.display,
        Some(blob_path(digest)),
        if container.exists(&blob_path(digest)) {
            Problem::NotAnImage(format!(
                "media type {} is not an image manifest or index",
                desc.media_type()
            ))
        } else {
            Problem::Missing("manifest blob".into())
        },
    )
}

/// The config digest a manifest names, if the manifest is present and readable.
fn config_digest_of(container: &Container, manifest: &Digest) -> Option<Digest> {
    let bytes = container
        .read_json_file(&blob_path(manifest), "image manifest")
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    Digest::parse(value.get("config")?.get("digest")?.as_str()?).ok()
}

/// Some writers label manifests with a generic media type; look inside to tell.
fn sniff_kind(container: &Container, digest: &Digest) -> Kind {
    let Ok(bytes) = container.read_json_file(&blob_path(digest), "manifest") else {
        return Kind::Unknown;
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Kind::Unknown;
    };
    if value.get("manifests").is_some() {
        Kind::Index
    } else if value.get("layers").is_some() || value.get("config").is_some() {
        Kind::Manifest
    } else {
        Kind::Unknown
    }
}
