//! `mount`, `umount` and `shell` (with its internal halves): the commands that run the image.

use std::path::PathBuf;

use clap::Args;

use super::{ImageSelect, LimitArgs};

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
