//! Command-line definitions (clap derive). Clap types stop at `cmd/`: every subcommand turns its
//! args into plain library options there.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod explore;
mod image;
mod mount;
mod store;
mod tools;

pub use explore::*;
pub use image::*;
pub use mount::*;
pub use store::*;
pub use tools::*;

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

#[cfg(test)]
mod tests;
