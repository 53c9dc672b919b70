//! Command-line definitions (clap derive). Clap types stop at `cmd/`: every subcommand turns its
//! args into plain library options there.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Open container image archives and show what is inside them, layer by layer.
///
/// IMAGE is a `docker save` tarball (legacy or Docker 25+ layout), an OCI image layout (directory or
/// tar), either of them gzip- or zstd-compressed, `-` for standard input, `docker-root:REF`
/// for an image in a Docker data root, read without the daemon (`--docker-root DIR`, default
/// /var/lib/docker), or `containers-storage:REF` for one of podman's or buildah's
/// (`--storage-root DIR`, default /var/lib/containers/storage).
#[derive(Debug, Parser)]
#[command(name = "strata", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the image's metadata and every layer: digests, compression, sizes, diffID, chainID.
    Inspect(InspectArgs),
    /// List the images an archive holds (number, tags, platform, digests, layers, size), or a
    /// Docker data root's as `docker images` does.
    Images(ImagesArgs),
    /// Show the image's build history, like `docker history`.
    History(HistoryArgs),
    /// Compute chainIDs from diffIDs (arguments, stdin, or an image's config).
    Chainid(ChainidArgs),
    /// Recompute every digest, size and diffID from the bytes and compare with manifest and config.
    Verify(VerifyArgs),
    /// Write the merged root filesystem (all layers applied in order) to a directory or a tar.
    Extract(ExtractArgs),
    /// Mount the image as a real overlayfs: layers from the layer store, plus an upper dir.
    Mount(MountArgs),
    /// Unmount what `strata mount` mounted and remove its upper and work dirs.
    Umount(UmountArgs),
    /// Look after the layer store: list layers, remove them, prune unused ones.
    Store(StoreArgs),
    /// Check where images live: a Docker data root's records against its files, and leftovers.
    Storage(StorageArgs),
    /// List the merged tree (as of layer N) with the layer each path comes from.
    Ls(LsArgs),
    /// Show what each layer added, modified and deleted, or compare two images by content.
    Diff(DiffArgs),
    /// Print one file of the image (as of layer N); symlinks are resolved inside the image.
    Cat(CatArgs),
    /// Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files),
    /// and what each layer ships that later layers shadow or delete; `--ci` applies dive's rules.
    Waste(WasteArgs),
    /// Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User,
    /// in private mount and pid namespaces; works without root through a user namespace.
    Shell(ShellArgs),
    /// (internal) The namespace side of `shell`: runs in a fresh single-threaded process.
    #[command(hide = true, name = "__enter")]
    Enter(EnterArgs),
    /// (internal) pid 1 of a `shell` session: enters the image's root and runs the command.
    #[command(hide = true, name = "__init")]
    Init(InitArgs),
    /// Print a shell completion script generated from these definitions.
    Completions(CompletionsArgs),
    /// Print the man page (roff) of strata or of one of its commands.
    Man(ManArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo \"$(command -v strata)\" mount image.tar /mnt/img
  sudo \"$(command -v strata)\" mount --read-only --layer 0 image.tar /mnt/base
  sudo \"$(command -v strata)\" mount docker-root:busybox /mnt/bb
  sudo \"$(command -v strata)\" umount /mnt/img")]
pub struct MountArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// An existing empty directory to mount on.
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: PathBuf,

    /// Mount only layers 0..=N.
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// No upper dir: the mount cannot be written.
    #[arg(long)]
    pub read_only: bool,

    /// Let the image's setuid/setgid files and file capabilities take effect (the mount is
    /// `nosuid` by default). Risky: anyone who can reach the mountpoint can run an image's
    /// setuid-root program as root.
    #[arg(long)]
    pub suid: bool,

    /// Let the image's device nodes work (the mount is `nodev` by default). Risky: a device
    /// node of the image opens the host's device with the node's permissions.
    #[arg(long)]
    pub dev: bool,

    /// The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata shell image.tar
  strata shell image.tar -- cat /etc/os-release
  strata shell --layer 1 --image app:1 images.tar")]
pub struct ShellArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Only layers 0..=N.
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Today's older behaviour: keep the host's `/` and run the host's $SHELL (or CMD) with the
    /// image's merged tree as the working directory ($STRATA_ROOT names it). The image's
    /// Env, WorkingDir and User do not apply, and the host (and the store) stay visible.
    #[arg(long)]
    pub host_root: bool,

    /// The command to run instead of the shell, after `--`. Without it: $SHELL if the image
    /// has it, else the image's /bin/sh.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EnterArgs {
    #[arg(long = "lower", required = true)]
    pub lowers: Vec<PathBuf>,
    #[arg(long)]
    pub upper: PathBuf,
    #[arg(long)]
    pub work: PathBuf,
    #[arg(long)]
    pub merged: PathBuf,
    /// What to run and how, as JSON (`cmd::shell::Spec`).
    #[arg(long)]
    pub spec: String,
}

#[derive(Debug, Args)]
/// Started at the merged tree, which becomes `/`.
pub struct InitArgs {
    /// The session runs in a user namespace where only uid 0 is mapped.
    #[arg(long)]
    pub rootless: bool,
    #[arg(long)]
    pub spec: String,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sudo \"$(command -v strata)\" umount /mnt/img
  sudo \"$(command -v strata)\" umount --keep-upper /mnt/img")]
pub struct UmountArgs {
    /// Where `strata mount` mounted the image.
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: PathBuf,

    /// Keep the upper dir (what was written in the mount) instead of removing it.
    #[arg(long)]
    pub keep_upper: bool,

    /// The layer store the mount was made from (default: $STRATA_STORE, /var/lib/strata as
    /// root, else ~/.local/share/strata).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

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

/// How to find the image inside an archive.
#[derive(Debug, Args, Clone)]
pub struct ImageSelect {
    /// Image archive: docker-save tar, OCI layout dir or tar, optionally .gz/.zst; `-` for stdin;
    /// `docker-root:REF` for an image of a Docker data root (REF: tag, name@digest, ID or prefix);
    /// `containers-storage:REF` for one of podman's or buildah's.
    #[arg(value_name = "IMAGE")]
    pub archive: PathBuf,

    /// The Docker data root `docker-root:REF` reads (read-only, links not followed).
    #[arg(long, value_name = "DIR")]
    pub docker_root: Option<PathBuf>,

    /// The containers-storage root `containers-storage:REF` reads (podman's, default
    /// /var/lib/containers/storage; read-only, links not followed).
    #[arg(long, value_name = "DIR")]
    pub storage_root: Option<PathBuf>,

    /// Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for
    /// the N-th (as `strata images` numbers them; a bare N works when no image is tagged N).
    #[arg(long = "image", value_name = "REF")]
    pub image: Option<String>,

    /// Pick from a multi-platform index: os/arch[/variant] (default: this host's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

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

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata ls image.tar                   every path, with the layer its entry comes from
  strata ls -lh image.tar /etc          one subtree, with type, mode, owner and size
  strata ls --tree --depth 2 image.tar  the hierarchy with directory totals
  strata ls --layer 0 --json image.tar  the tree after the first layer, as JSON")]
pub struct LsArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Only these paths and what is below them (a trailing `/` follows a symlink to a
    /// directory, as `ls` does).
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,

    /// The tree as of layer N (0-based, as `inspect` numbers them; default: the top).
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    /// Long listing: type and mode, owner, size, layer, link target.
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes.
    #[arg(short = 'H', long = "human")]
    pub human: bool,

    /// Draw the hierarchy, with the total size of each directory.
    #[arg(long, conflicts_with = "json")]
    pub tree: bool,

    /// With --tree: only D levels below each PATH.
    #[arg(long, value_name = "D", requires = "tree")]
    pub depth: Option<usize>,

    /// Order by path (default) or by size, largest first (directories by their total).
    #[arg(long, value_enum, default_value_t = SortBy::Name)]
    pub sort: SortBy,

    /// Print a JSON array: [{"path", "type", "size", "mode", "uid", "gid", "link", "layer"}].
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortBy {
    Name,
    Size,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata diff image.tar                 what every layer added (A), modified (M), deleted (D)
  strata diff image.tar --layer 3       only layer 3
  strata diff old.tar new.tar           two images' merged trees, compared by content
  strata diff multi.tar --image a:1 --other-image a:2   two images of one archive")]
pub struct DiffArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// A second image archive: compare the two merged trees by content instead.
    #[arg(value_name = "OTHER")]
    pub other: Option<PathBuf>,

    /// The second image: inside OTHER, or (without OTHER) inside IMAGE.
    #[arg(long, value_name = "REF")]
    pub other_image: Option<String>,

    /// The second image's platform, from a multi-platform index.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub other_platform: Option<String>,

    /// Only the changes of layer N.
    #[arg(long, value_name = "N", conflicts_with_all = ["other", "other_image"])]
    pub layer: Option<usize>,

    /// Sizes in bytes instead of kB, MB, GB.
    #[arg(long)]
    pub bytes: bool,

    /// Print JSON: [{"layer", "changes": [...]}], or {"added", "removed", "changed"} for two
    /// images.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata cat image.tar /etc/os-release
  strata cat image.tar /etc/passwd --layer 0    the file as the first layer left it")]
pub struct CatArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// The file to print; symlinks are followed inside the image, never on the host.
    #[arg(value_name = "PATH")]
    pub path: String,

    /// The file as of layer N (default: the top).
    #[arg(long, value_name = "N")]
    pub layer: Option<usize>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata waste image.tar                  dive's efficiency, wasted bytes and file list
  strata waste image.tar --json           the same as one JSON object
  strata waste image.tar --ci             dive's CI rules from ./.dive-ci (exit 1 on a failure)
  strata waste image.tar --ci --lowest-efficiency 0.95 --highest-wasted-bytes 20MB")]
pub struct WasteArgs {
    #[command(flatten)]
    pub select: ImageSelect,

    /// Print one JSON object (the stable contract) instead of text.
    #[arg(long)]
    pub json: bool,

    /// Evaluate dive's CI rules; exit 1 when one fails, 2 when one is misconfigured.
    #[arg(long)]
    pub ci: bool,

    /// dive's CI file (YAML with `rules:`). Default: `.dive-ci` in the current directory, if any.
    #[arg(long, value_name = "FILE", requires = "ci")]
    pub ci_config: Option<PathBuf>,

    /// Fail below this efficiency (0-1; `disabled` skips the rule). Default 0.9.
    #[arg(
        long,
        alias = "lowestEfficiency",
        value_name = "RATIO",
        requires = "ci"
    )]
    pub lowest_efficiency: Option<String>,

    /// Fail above this many wasted bytes (`20MB`, `19Mb`, `1GiB`; dive's units). Default: disabled.
    #[arg(
        long,
        alias = "highestWastedBytes",
        value_name = "SIZE",
        requires = "ci"
    )]
    pub highest_wasted_bytes: Option<String>,

    /// Fail above this ratio of wasted bytes to bytes above the first layer (0-1). Default 0.1.
    #[arg(
        long,
        alias = "highestUserWastedPercent",
        value_name = "RATIO",
        requires = "ci"
    )]
    pub highest_user_wasted_percent: Option<String>,

    /// How many of the largest hidden files the text output lists.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Limits on what building the image's tree may take, for every command that builds one. An
/// image past one is refused (exit 2) before anything is left behind.
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Refuse an image with more than N layers (500 is overlayfs' own limit).
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_layers: usize,

    /// Refuse an image with more than N tar entries, all layers together.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_files: u64,

    /// Refuse an image with more than SIZE bytes of file content: written, for extract and
    /// mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024).
    /// Default: no limit beyond keeping the filesystem's free space.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
}

/// `1048576`, `512K`, `10M`, `2G`, `1T` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("unknown size suffix `{c}` (use K, M, G or T)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size in bytes (such as 1048576, 512K, 10G)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata man > strata.1
  strata man inspect | man -l -")]
pub struct ManArgs {
    /// The command whose page to print (`inspect`, `store`, …); strata's own page without it.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// List the commands that have a page, one per line, instead.
    #[arg(long, conflicts_with = "command")]
    pub list: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  strata completions bash > ~/.local/share/bash-completion/completions/strata
  strata completions zsh > ~/.zfunc/_strata
  strata completions fish > ~/.config/fish/completions/strata.fish")]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Every visible command has an example section, and every visible argument a
    /// description (the man pages and completions are made from these).
    #[test]
    fn every_command_has_examples_and_every_argument_a_description() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let builtin = matches!(a.get_id().as_str(), "help" | "version");
                if !a.is_hide_set() && !builtin && a.get_help().is_none() {
                    missing.push(format!(
                        "{path}: argument {} has no description",
                        a.get_id()
                    ));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.is_hide_set() || sub.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(format!("{p}: no description"));
                }
                let examples = sub
                    .get_after_help()
                    .is_some_and(|h| h.to_string().starts_with("Examples:\n  "));
                if !examples {
                    missing.push(format!("{p}: no `Examples:` in its help"));
                }
                walk(sub, &p, missing);
            }
        }
        let mut missing = Vec::new();
        let mut cli = Cli::command();
        cli.build();
        walk(&cli, "strata", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("1X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn human_flag_accepts_docker_forms() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::History(h) => h.human,
            _ => unreachable!(),
        };
        assert!(parse(&["strata", "history", "x"]));
        assert!(parse(&["strata", "history", "-H", "x"]));
        assert!(!parse(&["strata", "history", "--human=false", "x"]));
        assert!(!parse(&["strata", "history", "-H=false", "x"]));
    }
}
