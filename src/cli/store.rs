//! `store` and `storage`: the commands that look after where layers and images live.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo strata storage check
  sudo strata storage check docker-root: --docker-root /mnt/disk/var/lib/docker --json
  sudo strata storage check containers-storage: --storage-root ~/.local/share/containers/storage")]
pub struct StorageArgs {
    #[command(subcommand)]
    pub action: StorageAction,
}

#[derive(Debug, Subcommand)]
pub enum StorageAction {
    /// Is this data root what it claims? Every layer's records, links and files (rebuilt into
    /// the layer tar and hashed against its diffID), every image and tag, and what nothing uses.
    #[command(after_help = "Examples:
  sudo strata storage check
  sudo strata storage check docker-root: --docker-root /mnt/disk/var/lib/docker
  sudo strata storage check --json | jq '.findings[] | select(.kind == \"file-changed\") | .path'
  sudo strata storage check containers-storage:

Read-only: nothing under the data root is written, and no symlink in it is followed.
Exit status: 0 clean, 1 findings, 2 the data root (or part of it) could not be read.")]
    Check(StorageCheckArgs),
    /// Disk usage as `docker system df` shows it, computed offline: images, containers, local
    /// volumes and the build cache (-v: each one, as `docker system df -v` lists them).
    #[command(after_help = "Examples:
  sudo strata storage df
  sudo strata storage df -v --docker-root /mnt/disk/var/lib/docker
  sudo strata storage df --json | jq '.images[] | {id, unique_size}'

Read-only: BuildKit's databases (buildkit/*.db) are read whole, never locked or written.")]
    Df(StorageDfArgs),
}

#[derive(Debug, Args)]
pub struct StorageDfArgs {
    /// The data root: `docker-root:` (the only kind `df` reads).
    #[arg(value_name = "SOURCE", default_value = "docker-root:")]
    pub source: String,

    /// The Docker data root (default /var/lib/docker; read-only, links not followed).
    #[arg(long, value_name = "DIR")]
    pub docker_root: Option<PathBuf>,

    /// Print `docker system df -v`'s tables instead of the totals: images, containers, local
    /// volumes and build cache records.
    #[arg(short, long)]
    pub verbose: bool,

    /// Print a JSON object with every size in bytes.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StorageCheckArgs {
    /// What to check: `docker-root:` (the default) for the Docker data root `--docker-root`
    /// names, `containers-storage:` for the podman storage `--storage-root` names.
    #[arg(value_name = "SOURCE", default_value = "docker-root:")]
    pub source: String,

    /// The Docker data root (default /var/lib/docker; read-only, links not followed).
    #[arg(long, value_name = "DIR")]
    pub docker_root: Option<PathBuf>,

    /// The containers-storage root (default /var/lib/containers/storage; read-only).
    #[arg(long, value_name = "DIR")]
    pub storage_root: Option<PathBuf>,

    /// Print a JSON object (the stable contract): counts and each finding's kind, path, detail
    /// and, for leftovers, size.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata store ls
  strata store rm 3f2a9c1b7d44
  strata store prune
  strata store --store /srv/strata ls --json")]
pub struct StoreArgs {
    #[command(subcommand)]
    pub action: StoreAction,

    /// The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata).
    #[arg(long, value_name = "DIR", global = true)]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// List the layers in the store, their sizes and the mounts using them, and the upper dirs
    /// `umount --keep-upper` kept.
    #[command(after_help = "Examples:
  strata store ls
  strata store ls --no-trunc
  strata store ls --json | jq '.[] | select(.kind == \"layer\" and .used_by == [])'

FILE BYTES is the regular-file content unpacked into the layer; inspect's SIZE (docker's
figure) also counts each symlink's target length.")]
    Ls {
        /// Print a JSON array (the stable contract): the layers (`\"kind\": \"layer\"`), then the
        /// kept upper dirs (`\"kind\": \"kept\"`).
        #[arg(long)]
        json: bool,
        /// Show full chainIDs and diffIDs instead of their first 12 hex digits.
        #[arg(long)]
        no_trunc: bool,
        /// Print a Go-style template of each entry's JSON instead, one line each:
        /// `{{.chain_id}} {{.size}}`, …
        #[arg(long, value_name = "TEMPLATE", conflicts_with = "json")]
        format: Option<String>,
    },
    /// Remove layers that no mount uses, or kept upper dirs.
    #[command(after_help = "Examples:
  strata store rm 3f2a9c1b7d44
  strata store rm sha256:3f2a9c1b7d44e0f1…
  strata store rm kept/1a2b3c4d5e6f7a8b-1700000000000000000")]
    Rm {
        /// A layer's chainID, in full or a prefix that only it has (as `store ls` shows it),
        /// or a kept upper dir as `store ls` names it (`kept/…`).
        #[arg(value_name = "CHAINID|kept/NAME", required = true)]
        chain_ids: Vec<String>,
    },
    /// Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left.
    #[command(after_help = "Examples:
  strata store prune
  strata store --store /srv/strata prune")]
    Prune,
}
