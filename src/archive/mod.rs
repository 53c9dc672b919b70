//! Format readers behind one abstraction: whatever the packaging (docker save legacy or
//! Docker 25+, OCI layout directory or tar, compressed or streamed), an archive yields a list of
//! image candidates, and one of them is loaded into the [`crate::image::Image`] model.

pub mod container;
pub mod containers_storage;
pub mod docker;
pub mod dockerroot;
pub mod legacy_v1;
pub mod listing;
pub mod oci;
pub mod paths;
mod select;
mod stream;
mod tarfile;
pub mod tarsplit;
mod v1_config;

use std::path::Path;

use oci_spec::image::{Descriptor, Platform};

pub use container::{Container, Packaging};
pub use select::{fits, host_platform, parse_platform, platform_text, PlatformWanted};
pub use tarfile::Section;

use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};

/// The archive layout, as reported in `source.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `manifest.json` + `<id>/layer.tar`.
    DockerSave,
    /// Docker 25+: an OCI layout plus `manifest.json`.
    DockerSaveOci,
    /// Before docker 1.10: `repositories` + `<id>/json` + `<id>/layer.tar`, no manifest.json.
    DockerSaveV1,
    OciLayout,
    /// A Docker data root (overlay2): `docker-root:REF`.
    DockerRoot,
    /// containers-storage (podman, buildah): `containers-storage:REF`.
    ContainersStorage,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DockerSave => "docker-save",
            Format::DockerSaveOci => "docker-save+oci",
            Format::DockerSaveV1 => "docker-save-v1",
            Format::OciLayout => "oci-layout",
            Format::DockerRoot => "docker-root",
            Format::ContainersStorage => "containers-storage",
        }
    }
}

/// One image an archive offers, before it is loaded.
#[derive(Debug)]
pub struct Candidate {
    /// Position in the archive's list, as `--image N` numbers them.
    pub number: usize,
    /// Which top-level entry it came from: the platforms of one multi-platform index share it.
    pub group: usize,
    pub tags: Vec<String>,
    pub platform: Option<Platform>,
    pub manifest_digest: Option<Digest>,
    /// The image ID, when the config (or the manifest naming it) could be read while listing.
    pub config_digest: Option<Digest>,
    pub location: Location,
    /// What the nested indexes on the way to this image claim about their own blobs, against
    /// what their bytes are: checked by the image model, which readers make binding.
    pub index_claims: Vec<BlobClaim>,
    /// The digest of the index.json entry the image was reached from (itself, or the
    /// multi-platform index above it): what Docker's containerd image store takes as the
    /// image's target after `docker load`, and shows as its ID.
    pub top_digest: Option<Digest>,
}

/// A descriptor's claim about a blob (digest or size) and what the blob's bytes gave.
#[derive(Debug, Clone)]
pub struct BlobClaim {
    /// `index_digest`, `index_size`, …
    pub what: &'static str,
    /// The blob's path in the archive.
    pub path: String,
    pub expected: String,
    pub found: String,
}

impl BlobClaim {
    /// The digest and size claims of a descriptor, against `bytes`.
    pub fn of_descriptor(
        what: (&'static str, &'static str),
        path: &str,
        desc: &Descriptor,
        bytes: &[u8],
    ) -> [BlobClaim; 2] {
        [
            BlobClaim {
                what: what.0,
                path: path.to_string(),
                expected: desc.digest().to_string(),
                found: Digest::of_bytes(bytes).to_string(),
            },
            BlobClaim {
                what: what.1,
                path: path.to_string(),
                expected: desc.size().to_string(),
                found: bytes.len().to_string(),
            },
        ]
    }
}

#[derive(Debug)]
pub enum Location {
    Docker {
        config_path: String,
        layer_paths: Vec<String>,
        /// manifest.json's `"Parent"`: the image ID of the image this one was built on, which
        /// `docker load` links when the archive holds it (docker history shows its ID).
        parent: Option<String>,
    },
    Oci {
        descriptor: Box<Descriptor>,
    },
    /// A pre-1.10 docker save: the v1 ID of the tagged (top) level.
    DockerV1 {
        top: String,
    },
    /// An image of a Docker data root: its config and the layerdb directory of each layer.
    DockerRoot {
        config_path: String,
        layer_paths: Vec<String>,
    },
    /// Listed, but cannot be loaded (missing blob, bad nested index): the error is reported only
    /// if this is the image the user picks.
    Broken(Box<ArchiveError>),
}

pub struct Archive {
    pub container: Container,
    pub format: Format,
    pub candidates: Vec<Candidate>,
}

impl Archive {
    pub fn open(path: &Path) -> Result<Archive, ArchiveError> {
        Archive::from_container(Container::open(path)?)
    }

    /// Lists the images of an already opened container.
    pub fn from_container(container: Container) -> Result<Archive, ArchiveError> {
        let has_manifest = container.exists("manifest.json");
        let has_index = container.exists("index.json");
        let (format, candidates) = if has_manifest {
            let format = if has_index {
                Format::DockerSaveOci
            } else {
                Format::DockerSave
            };
            (format, docker::candidates(&container)?)
        } else if has_index {
            (Format::OciLayout, oci::candidates(&container)?)
        } else if container.exists("repositories") {
            (Format::DockerSaveV1, legacy_v1::candidates(&container)?)
        } else {
            return Err(ArchiveError::new(
                &container.display,
                None,
                Problem::NoManifest,
            ));
        };
        if candidates.is_empty() {
            return Err(ArchiveError::new(
                &container.display,
                None,
                Problem::NoImages,
            ));
        }
        Ok(Archive {
            container,
            format,
            candidates,
        })
    }

    /// Picks the image the user asked for (see [`select::select`]) and takes it out of the list.
    pub fn take(
        &mut self,
        image: Option<&str>,
        platform: Option<&PlatformWanted>,
    ) -> Result<Candidate, ArchiveError> {
        let n = select::select(&self.container.display, &self.candidates, image, platform)?;
        Ok(self.candidates.swap_remove(n))
    }
}
