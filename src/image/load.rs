//! Loading an image from the candidate an archive offers: its manifest (or what stands for one),
//! its config, and what they claim about each layer, each claim checked that can be without
//! reading layer bytes.

use std::collections::BTreeMap;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest, MediaType};

use super::check::{check, mismatch_text, Check};
use super::{sorted, Annotations, Image, PlatformInfo};
use crate::archive::{oci, Archive, Candidate, Container, Format, Location};
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
use crate::layer::LayerRef;

const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// What the manifest (or what stands for one) says, before the config is read.
struct Located {
    manifest_digest: Option<Digest>,
    config_path: String,
    layers: Vec<LayerRef>,
    /// A pre-1.10 save's config, made from its layers, and its parent chain.
    synthesized: Option<(Vec<u8>, Vec<Digest>)>,
}

/// What loading learns on the way besides the layers: checks made, annotations, the image's
/// target in a containerd store.
struct Gathered {
    checks: Vec<Check>,
    annotations: Annotations,
    store_target: Option<Digest>,
}

pub(super) fn load(archive: Archive, candidate: Candidate) -> Result<Image, ArchiveError> {
    let Archive {
        container,
        format,
        candidates: others,
    } = archive;
    let parent = match &candidate.location {
        Location::Docker { parent, .. } => parent.clone(),
        _ => None,
    };
    let mut gathered = Gathered {
        checks: claim_checks(&candidate.index_claims),
        annotations: Annotations::default(),
        store_target: candidate.top_digest.clone(),
    };
    let mut at = locate(&container, candidate.location, &mut gathered)?;
    let (config_bytes, v1_parents) = match at.synthesized.take() {
        Some((bytes, parents)) => (bytes, Some(parents)),
        None => (
            container.read_json_file(&at.config_path, "image config")?,
            None,
        ),
    };
    let config_digest = Digest::of_bytes(&config_bytes);
    check_config(
        &mut gathered.checks,
        &at,
        &config_digest,
        config_bytes.len(),
    );
    let config: ImageConfiguration =
        oci::parse_json(&container, &at.config_path, "image config", &config_bytes)
            .map_err(|e| not_an_image_if_no_rootfs(e, &config_bytes))?;
    if format == Format::DockerSaveOci && at.manifest_digest.is_none() {
        at.manifest_digest = adopt_oci_manifest(&container, &config_digest, &mut at, &mut gathered);
    }
    let mut warnings = Vec::new();
    attach_diff_ids(
        &container,
        &config,
        &mut at,
        &mut gathered.checks,
        &mut warnings,
    )?;
    for c in gathered.checks.iter().filter(|c| !c.ok) {
        warnings.push(mismatch_text(&container.display, c));
    }
    let parent_ids = match v1_parents {
        Some(ids) => ids,
        None => crate::parents::parent_chain(
            &container,
            &others,
            &config_digest,
            parent.as_deref(),
            &config,
            &mut warnings,
        ),
    };
    Ok(Image {
        source_path: container.display.clone(),
        format,
        packaging: container.packaging,
        tags: candidate.tags,
        platform: platform_of(&config),
        manifest_digest: at.manifest_digest,
        config_digest,
        config_size: config_bytes.len() as u64,
        store_target: gathered.store_target,
        config,
        healthcheck: healthcheck(&config_bytes),
        annotations: gathered.annotations,
        parent_ids,
        layers: at.layers,
        checks: gathered.checks,
        warnings,
        container,
        recorded: None,
    })
}

/// Index (and manifest) descriptor claims as checks.
fn claim_checks(claims: &[crate::archive::BlobClaim]) -> Vec<Check> {
    claims
        .iter()
        .map(|c| check(c.what, None, &c.expected, &c.found, &c.path))
        .collect()
}

/// Reads what the candidate's location names: an OCI manifest, docker save's manifest.json
/// entry, a data root's records, or a pre-1.10 save's chain of v1 layers.
fn locate(
    container: &Container,
    location: Location,
    gathered: &mut Gathered,
) -> Result<Located, ArchiveError> {
    let unclaimed = |config_path, layers| Located {
        manifest_digest: None,
        config_path,
        layers,
        synthesized: None,
    };
    match location {
        Location::Broken(e) => Err(*e),
        Location::DockerV1 { top } => {
            let v1 = crate::archive::legacy_v1::load(container, &top)?;
            Ok(Located {
                synthesized: Some((v1.config, v1.parent_ids)),
                ..unclaimed(v1.config_path, v1.layers)
            })
        }
        Location::Oci { descriptor } => locate_oci(container, &descriptor, gathered),
        Location::Docker {
            config_path,
            layer_paths,
            ..
        } => {
            let layers = layer_paths
                .into_iter()
                .enumerate()
                .map(|(index, path)| LayerRef {
                    claimed_digest: digest_in_name(&path),
                    ..LayerRef::unclaimed(index, path)
                })
                .collect();
            Ok(unclaimed(config_path, layers))
        }
        Location::DockerRoot {
            config_path,
            layer_paths,
        } => {
            // No compressed blob is kept: nothing to claim but the diffID, from the config.
            let layers = layer_paths
                .into_iter()
                .enumerate()
                .map(|(index, path)| LayerRef::unclaimed(index, path))
                .collect();
            Ok(unclaimed(config_path, layers))
        }
    }
}

/// The OCI manifest an index entry names, checked against the entry's digest and size.
fn locate_oci(
    container: &Container,
    descriptor: &Descriptor,
    gathered: &mut Gathered,
) -> Result<Located, ArchiveError> {
    let digest = oci::descriptor_digest(container, descriptor, "index.json")?;
    let path = oci::blob_path(&digest);
    let bytes = container.read_json_file(&path, "image manifest")?;
    let found = Digest::of_bytes(&bytes);
    let checks = &mut gathered.checks;
    checks.push(check(
        "manifest_digest",
        None,
        digest.as_str(),
        found.as_str(),
        &path,
    ));
    checks.push(check(
        "manifest_size",
        None,
        &descriptor.size().to_string(),
        &bytes.len().to_string(),
        &path,
    ));
    let manifest: ImageManifest = oci::parse_json(container, &path, "image manifest", &bytes)?;
    gathered.annotations.manifest = sorted(manifest.annotations());
    gathered.annotations.index = sorted(descriptor.annotations());
    let (config_path, layers) = from_manifest(container, &manifest, checks)?;
    Ok(Located {
        manifest_digest: Some(digest),
        config_path,
        layers,
        synthesized: None,
    })
}

/// Completes the config's checks now that its bytes are known: against the manifest's
/// descriptor, or (docker save) against the digest in its name.
fn check_config(checks: &mut Vec<Check>, at: &Located, config_digest: &Digest, size: usize) {
    if at.manifest_digest.is_none() {
        // docker save names the config after its digest (the image ID).
        if let Some(named) = digest_in_name(&at.config_path) {
            checks.push(check(
                "config_digest",
                None,
                named.as_str(),
                config_digest.as_str(),
                &at.config_path,
            ));
        }
    } else if let Some(c) = checks.iter_mut().find(|c| c.what == "config_digest") {
        c.found = config_digest.to_string();
        c.ok = c.expected == c.found;
    }
    if let Some(c) = checks.iter_mut().find(|c| c.what == "config_size") {
        c.found = size.to_string();
        c.ok = c.expected == c.found;
    }
}

/// A Docker 25+ save's OCI manifest for the image, when it has one: its descriptors' claims
/// and annotations are adopted, and its digest returned.
fn adopt_oci_manifest(
    container: &Container,
    config_digest: &Digest,
    at: &mut Located,
    gathered: &mut Gathered,
) -> Option<Digest> {
    let (digest, manifest, claims, index_annotations, top) =
        find_oci_manifest(container, config_digest)?;
    gathered.store_target = top;
    gathered.annotations.manifest = sorted(manifest.annotations());
    gathered.annotations.index = index_annotations;
    adopt_descriptors(container, &manifest, &mut at.layers);
    gathered.checks.extend(claims);
    Some(digest)
}

/// Gives each layer its diffID from the config's `rootfs.diff_ids`; a count that differs from
/// the manifest's layers is a warning and a failed check.
fn attach_diff_ids(
    container: &Container,
    config: &ImageConfiguration,
    at: &mut Located,
    checks: &mut Vec<Check>,
    warnings: &mut Vec<String>,
) -> Result<(), ArchiveError> {
    let config_path = &at.config_path;
    let diff_ids = config.rootfs().diff_ids();
    for (i, d) in diff_ids.iter().enumerate() {
        let parsed = Digest::parse(d).map_err(|e| {
            let entry = format!("{config_path}: rootfs.diff_ids[{i}]");
            ArchiveError::new(&container.display, Some(entry), e.into())
        })?;
        if let Some(layer) = at.layers.get_mut(i) {
            layer.config_diff_id = Some(parsed);
        }
    }
    if diff_ids.len() != at.layers.len() {
        warnings.push(format!(
            "{}: the manifest lists {} layers but the config has {} diff_ids",
            container.display,
            at.layers.len(),
            diff_ids.len()
        ));
        checks.push(check(
            "layer_count",
            None,
            &diff_ids.len().to_string(),
            &at.layers.len().to_string(),
            config_path,
        ));
    }
    Ok(())
}

fn platform_of(config: &ImageConfiguration) -> PlatformInfo {
    PlatformInfo {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

/// docker's `config.Healthcheck` (not part of the OCI config), as written.
fn healthcheck(config_bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(config_bytes)
        .ok()
        .and_then(|v| v.get("config")?.get("Healthcheck").cloned())
        .filter(|h| !h.is_null())
}

/// A config without `rootfs` that fails to parse is most likely another kind of artifact.
fn not_an_image_if_no_rootfs(e: ArchiveError, bytes: &[u8]) -> ArchiveError {
    let has_rootfs = serde_json::from_slice::<serde_json::Value>(bytes)
        .map(|v| v.get("rootfs").is_some())
        .unwrap_or(true);
    if has_rootfs {
        return e;
    }
    ArchiveError {
        problem: Problem::NotAnImage("its config has no rootfs (no layers to show)".into()),
        ..e
    }
}

/// Config path and layer references of an OCI/docker v2 manifest, with the config descriptor's
/// claims recorded as checks to complete once the config is read.
fn from_manifest(
    container: &Container,
    manifest: &ImageManifest,
    checks: &mut Vec<Check>,
) -> Result<(String, Vec<LayerRef>), ArchiveError> {
    let config = manifest.config();
    let media_type = config.media_type().to_string();
    if !IMAGE_CONFIG_TYPES.contains(&media_type.as_str()) {
        return Err(ArchiveError::new(
            &container.display,
            None,
            Problem::NotAnImage(format!("its config media type is {media_type}")),
        ));
    }
    let config_digest = oci::descriptor_digest(container, config, "image manifest config")?;
    let config_path = oci::blob_path(&config_digest);
    checks.push(check(
        "config_digest",
        None,
        config_digest.as_str(),
        "",
        &config_path,
    ));
    checks.push(check(
        "config_size",
        None,
        &config.size().to_string(),
        "",
        &config_path,
    ));
    let layers = manifest
        .layers()
        .iter()
        .enumerate()
        .map(|(index, desc)| {
            let digest =
                oci::descriptor_digest(container, desc, &format!("image manifest layer {index}"))?;
            Ok(LayerRef {
                media_type: Some(media_type_text(desc.media_type())),
                claimed_size: Some(desc.size()),
                claimed_digest: Some(digest.clone()),
                ..LayerRef::unclaimed(index, oci::blob_path(&digest))
            })
        })
        .collect::<Result<Vec<_>, ArchiveError>>()?;
    Ok((config_path, layers))
}

fn media_type_text(m: &MediaType) -> String {
    m.to_string()
}

/// `blobs/sha256/<hex>` and docker's `<hex>.json` / `<hex>/layer.tar`-less names carry a digest.
fn digest_in_name(path: &str) -> Option<Digest> {
    let name = path.rsplit('/').next()?;
    let hex = name.strip_suffix(".json").unwrap_or(name);
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// A Docker 25+ save's OCI manifest for an image: its digest, itself, the checks of its bytes
/// (and of the indexes above it), and the annotations of the index entry naming it.
type FoundManifest = (
    Digest,
    ImageManifest,
    Vec<Check>,
    BTreeMap<String, String>,
    Option<Digest>,
);

/// Docker 25+ archives carry an OCI manifest for each image; find the one for this config.
/// Its descriptors are adopted only with the checks of its own bytes (and of the indexes
/// above it) against what names them.
fn find_oci_manifest(container: &Container, config_digest: &Digest) -> Option<FoundManifest> {
    let candidates = oci::candidates(container).ok()?;
    candidates.into_iter().find_map(|c| {
        let Location::Oci { descriptor } = c.location else {
            return None;
        };
        let digest = Digest::parse(descriptor.digest().as_ref()).ok()?;
        let path = oci::blob_path(&digest);
        let bytes = container.read_json_file(&path, "image manifest").ok()?;
        let manifest: ImageManifest = serde_json::from_slice(&bytes).ok()?;
        if manifest.config().digest().to_string() != config_digest.as_str() {
            return None;
        }
        let mut checks = claim_checks(&c.index_claims);
        checks.extend(claim_checks(&crate::archive::BlobClaim::of_descriptor(
            ("manifest_digest", "manifest_size"),
            &path,
            &descriptor,
            &bytes,
        )));
        Some((
            digest,
            manifest,
            checks,
            sorted(descriptor.annotations()),
            c.top_digest,
        ))
    })
}

/// Takes media types and descriptor claims from the OCI manifest when it names the same blobs.
fn adopt_descriptors(container: &Container, manifest: &ImageManifest, layers: &mut [LayerRef]) {
    if manifest.layers().len() != layers.len() {
        return;
    }
    for (layer, desc) in layers.iter_mut().zip(manifest.layers()) {
        let Ok(digest) = oci::descriptor_digest(container, desc, "") else {
            return;
        };
        let same_blob =
            crate::archive::paths::normalize(&layer.path).ok() == Some(oci::blob_path(&digest));
        if !same_blob {
            continue;
        }
        layer.media_type = Some(media_type_text(desc.media_type()));
        layer.claimed_digest = Some(digest);
        layer.claimed_size = Some(desc.size());
    }
}
