//! The commands that read an image's metadata and layers: `inspect`, `images`, `history`,
//! `chainid`, `verify`, `extract`.

use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};

use super::{ImageSelect, LimitArgs};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata inspect image.tar
  strata inspect --json image.tar | jq '.layers[].diff_id'
  docker save alpine | strata inspect -
  strata inspect --image '#1' --platform linux/arm64 oci-dir/")]
pub struct InspectArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Print one JSON object (the stable contract) instead of tables.
    #[arg(long)]
    pub json: bool,

    /// Show full digests instead of shortened ones, and keep every column on a narrow
    /// terminal (the table is fitted to its width, or to $COLUMNS, otherwise).
    #[arg(long)]
    pub no_trunc: bool,

    /// Print a Go-style template of the JSON instead: `{{.image.id}}`, `{{json .layers}}`, …
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "json")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata images images.tar
  strata images --json oci-dir/ | jq '.[].tags'
  strata history --image '#1' images.tar
  sudo strata images docker-root: --docker-root /mnt/disk/var/lib/docker
  sudo strata images containers-storage:")]
pub struct ImagesArgs {
    /// Image archive: docker-save tar, OCI layout dir or tar, optionally .gz/.zst; `-` for stdin;
    /// `docker-root:` or `containers-storage:` for the images of a data root, listed as
    /// `docker images` does.
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,

    /// With `docker-root:`: the Docker data root (default /var/lib/docker).
    #[arg(long, value_name = "DIR")]
    pub docker_root: Option<PathBuf>,

    /// With `containers-storage:`: podman's storage root (default /var/lib/containers/storage).
    #[arg(long, value_name = "DIR")]
    pub storage_root: Option<PathBuf>,

    /// Print a JSON array (the stable contract) instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Show full digests instead of shortened ones.
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata history image.tar
  strata history --no-trunc --human=false image.tar
  strata history --format '{{.Size}}\\t{{.CreatedBy}}' image.tar
  strata history --image-store containerd image.tar")]
pub struct HistoryArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,

    /// Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw).
    #[arg(
        short = 'H',
        long = "human",
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set,
    )]
    pub human: bool,

    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,

    /// `table` (default), `json` (docker's: one object per line), or a Go-template-like string
    /// with {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Print strata's own JSON: the `history` rows of `inspect --json`, raw values.
    #[arg(long, conflicts_with_all = ["format", "quiet"])]
    pub json: bool,

    /// Also show a row for each layer that no history step describes (the config lists fewer
    /// non-empty steps than layers). Docker shows only the steps.
    #[arg(long)]
    pub all_layers: bool,

    /// Which Docker image store to print as. `classic` (docker's graphdriver store, the
    /// default before Docker 29): image IDs are config digests, sizes the unpacked bytes.
    /// `containerd` (the containerd image store, the default of fresh Docker 29 installs): the
    /// top row's ID is what `docker load` makes the image's target (the manifest, the
    /// multi-platform index above it, or for a legacy docker save the manifest the loader
    /// writes), no parent IDs, and sizes are disk usage in 4 KiB blocks as on ext4
    /// (directories included), which is what that store measures on most hosts. A pre-1.10
    /// docker save, which that store does not load, is refused.
    #[arg(long, value_enum, value_name = "STORE", default_value_t = ImageStore::Classic)]
    pub image_store: ImageStore,
}

/// The Docker image store `history --image-store` imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageStore {
    Classic,
    Containerd,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata chainid sha256:9f54eef4… sha256:b3cce2ce…
  jq -r '.rootfs.diff_ids[]' config.json | strata chainid
  strata chainid --archive image.tar --json")]
pub struct ChainidArgs {
    /// diffIDs in layer order (`sha256:<64 hex>`); read one per line from stdin when none given.
    #[arg(value_name = "DIFFID", conflicts_with = "archive")]
    pub diff_ids: Vec<String>,

    /// Print the chain of this image archive's config (`rootfs.diff_ids`) instead: a docker-save
    /// tar, an OCI layout dir or tar, optionally .gz/.zst; `-` for stdin.
    #[arg(long = "archive", value_name = "ARCHIVE")]
    pub archive: Option<PathBuf>,

    /// With --archive: which image of several, as everywhere else (a tag, a digest, `#N`).
    #[arg(
        long = "image",
        visible_alias = "ref",
        value_name = "REF",
        requires = "archive"
    )]
    pub image_ref: Option<String>,

    /// With --archive docker-root:REF: the Docker data root (default /var/lib/docker).
    #[arg(long, value_name = "DIR", requires = "archive")]
    pub docker_root: Option<PathBuf>,

    /// With --archive: os/arch[/variant] from a multi-platform index.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", requires = "archive")]
    pub platform: Option<String>,

    /// Print JSON: [{"index", "diff_id", "chain_id"}].
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata verify image.tar
  strata verify --json image.tar.gz
  strata verify --expect-chainid sha256:6613b10b… image.tar")]
pub struct VerifyArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Also require the top layer's chainID to be this one.
    #[arg(long, value_name = "sha256:…")]
    pub expect_chainid: Option<String>,

    /// Print {"ok", "checks": [...]} instead of one line per check.
    #[arg(long)]
    pub json: bool,

    /// Keep full digests and names on a terminal too narrow for them (lines are shortened to
    /// the terminal's width, or to $COLUMNS, otherwise).
    #[arg(long)]
    pub no_trunc: bool,

    /// Print a Go-style template of each check's JSON instead, one line per check:
    /// `{{.what}} {{.ok}} {{.found}}`, …
    #[arg(long, value_name = "TEMPLATE", conflicts_with = "json")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata extract image.tar rootfs/
  strata extract --layer 1 image.tar base/
  strata extract --tar image.tar rootfs.tar
  strata extract image.tar - | tar -t")]
pub struct ExtractArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Destination directory (must not exist or be empty), or the tar file with --tar; `-`
    /// writes a tar to stdout.
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,

    /// Stop after layer N (0-based, as `inspect` numbers them).
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// Write one flat tar (no whiteouts) instead of a directory.
    #[arg(long)]
    pub tar: bool,

    /// Extract even if DEST exists and is not empty (its entries in the image's way are replaced).
    #[arg(long)]
    pub force: bool,

    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,

    /// Leave character and block device nodes out (one warning, with their count).
    #[arg(long)]
    pub no_devices: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}
