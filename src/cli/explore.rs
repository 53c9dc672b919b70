//! The commands that explore the image's merged tree: `ls`, `diff`, `cat`, `waste`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{ImageSelect, LimitArgs};

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
