//! One file per subcommand: each turns its clap args into plain options, calls the library and
//! renders. This is the edge where library errors get their context.

mod cat;
mod chainid;
mod completions;
mod diff;
mod extract;
mod history;
mod images;
mod inspect;
mod ls;
mod man;
mod mount;
mod shell;
mod storage;
mod store;
mod verify;
mod waste;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use std::path::Path;

use anyhow::{bail, Context, Result};
use strata::archive::{parse_platform, PlatformWanted};
use strata::extract::limits::Limits;
use strata::image::Image;
use strata::overlay::store::Store;

use crate::cli::{Cli, Command, ImageSelect, LimitArgs};

/// Exit codes: 0 ok, 1 verification found a mismatch, 2 an error stopped the command.
pub const EXIT_MISMATCH: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = match cli.command {
        Command::Inspect(args) => inspect::run(args, &mut out)?,
        Command::Images(args) => images::run(args, &mut out)?,
        Command::History(args) => history::run(args, &mut out)?,
        Command::Chainid(args) => chainid::run(args, &mut out)?,
        Command::Verify(args) => verify::run(args, &mut out)?,
        Command::Extract(args) => extract::run(args, &mut out)?,
        Command::Mount(args) => mount::mount(args, &mut out)?,
        Command::Umount(args) => mount::umount(args, &mut out)?,
        Command::Store(args) => store::run(args, &mut out)?,
        Command::Storage(args) => storage::run(args, &mut out)?,
        Command::Ls(args) => ls::run(args, &mut out)?,
        Command::Diff(args) => diff::run(args, &mut out)?,
        Command::Cat(args) => cat::run(args, &mut out)?,
        Command::Shell(args) => shell::run(args)?,
        Command::Enter(args) => shell::enter(args)?,
        Command::Init(args) => shell::init(args)?,
        Command::Waste(args) => waste::run(args, &mut out)?,
        Command::Completions(args) => completions::run(args, &mut out)?,
        Command::Man(args) => man::run(args, &mut out)?,
    };
    out.flush()?;
    Ok(code)
}

pub fn platform_arg(text: Option<&str>) -> Result<Option<PlatformWanted>> {
    text.map(parse_platform)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--platform: {e}"))
}

pub fn open_image(select: &ImageSelect) -> Result<Image> {
    note_terminal_stdin(&select.archive);
    open_source(
        &select.archive,
        select.image.as_deref(),
        select.platform.as_deref(),
        Roots::of(select),
        false,
    )
}

/// Where `docker-root:` and `containers-storage:` sources live (defaults when None).
#[derive(Clone, Copy, Default)]
pub struct Roots<'a> {
    pub docker: Option<&'a Path>,
    pub storage: Option<&'a Path>,
}

impl<'a> Roots<'a> {
    pub fn of(select: &'a ImageSelect) -> Roots<'a> {
        Roots {
            docker: select.docker_root.as_deref(),
            storage: select.storage_root.as_deref(),
        }
    }
}

/// Opens IMAGE: an archive (spooled first when `random_access` and it is a stream),
/// `docker-root:REF` from a Docker data root (default /var/lib/docker), or
/// `containers-storage:REF` from podman's storage (default /var/lib/containers/storage).
pub fn open_source(
    archive: &Path,
    image: Option<&str>,
    platform: Option<&str>,
    roots: Roots,
    random_access: bool,
) -> Result<Image> {
    let text = archive.to_str();
    let (prefix, reference) = match (
        text.and_then(|s| s.strip_prefix(DOCKER_ROOT)),
        text.and_then(|s| s.strip_prefix(CONTAINERS_STORAGE)),
    ) {
        (Some(r), _) => (DOCKER_ROOT, r),
        (_, Some(r)) => (CONTAINERS_STORAGE, r),
        (None, None) => {
            if roots.docker.is_some() {
                bail!(
                    "--docker-root: applies to `{DOCKER_ROOT}REF` sources, and {} is not one",
                    archive.display()
                );
            }
            if roots.storage.is_some() {
                bail!(
                    "--storage-root: applies to `{CONTAINERS_STORAGE}REF` sources, and {} is not one",
                    archive.display()
                );
            }
            let platform = platform_arg(platform)?;
            return Ok(if random_access {
                Image::open_random_access(archive, image, platform.as_ref())?
            } else {
                Image::open(archive, image, platform.as_ref())?
            });
        }
    };
    if platform.is_some() {
        bail!("--platform: an image of {prefix} has one platform; leave --platform out");
    }
    let reference = match (reference, image) {
        ("", Some(r)) => r,
        ("", None) => bail!("{prefix}: name the image, as in {prefix}busybox:latest"),
        (r, None) => r,
        (_, Some(_)) => bail!(
            "--image: the image is already named by {}",
            archive.display()
        ),
    };
    if prefix == DOCKER_ROOT {
        if roots.storage.is_some() {
            bail!(
                "--storage-root: applies to `{CONTAINERS_STORAGE}REF` sources; use --docker-root"
            );
        }
        let root = roots
            .docker
            .unwrap_or(Path::new(strata::archive::dockerroot::DEFAULT_ROOT));
        Ok(Image::open_docker_root(root, reference)?)
    } else {
        if roots.docker.is_some() {
            bail!("--docker-root: applies to `{DOCKER_ROOT}REF` sources; use --storage-root");
        }
        let root = roots
            .storage
            .unwrap_or(Path::new(strata::archive::containers_storage::DEFAULT_ROOT));
        Ok(Image::open_containers_storage(root, reference)?)
    }
}

const DOCKER_ROOT: &str = "docker-root:";
const CONTAINERS_STORAGE: &str = "containers-storage:";

/// The plain limits of the `--max-*` flags (and `--no-devices` where a command has it).
pub fn limits_of(args: &LimitArgs, no_devices: bool) -> Limits {
    Limits::new(args.max_layers, args.max_files, args.max_size, no_devices)
}

/// Opens an image whose layers will be read top-down or one by one (streams are spooled),
/// refuses it unless its manifest, config and indexes are the blobs their descriptors name
/// and its layers are within `--max-layers`, prints its warnings, and returns it with the top
/// layer `--layer` names (default: the last).
pub fn open_layered(
    select: &ImageSelect,
    layer: Option<usize>,
    verb: &str,
    limits: &Limits,
) -> Result<(Image, usize)> {
    note_terminal_stdin(&select.archive);
    let image = open_source(
        &select.archive,
        select.image.as_deref(),
        select.platform.as_deref(),
        Roots::of(select),
        true,
    )?;
    image.require_intact()?;
    for w in &image.warnings {
        warn(w);
    }
    let count = image.layers.len();
    if count == 0 {
        anyhow::bail!("{}: the image has no layers to {verb}", image.source_path);
    }
    let top = match layer {
        Some(n) if n >= count => anyhow::bail!(
            "--layer {n}: the image has {} (0 to {})",
            strata::render::count(count as u64, "layer", "layers"),
            count - 1
        ),
        Some(n) => n,
        None => count - 1,
    };
    limits
        .layers(top + 1)
        .map_err(|e| anyhow::anyhow!("{}: {e}", image.source_path))?;
    Ok((image, top))
}

/// Opens the layer store `--store` (or the environment, or the default) names; an error says
/// which path it was and what chose it.
pub fn open_store(explicit: Option<&std::path::Path>, rootless: bool) -> Result<Store> {
    let (root, why) = Store::locate_why(explicit);
    let shown = root.display().to_string();
    Store::open(root, rootless).with_context(|| {
        format!("opening the layer store {shown} (chosen by {why}; --store DIR picks another)")
    })
}

/// `-` as the archive with a terminal on stdin would wait silently for a tar nobody types.
fn note_terminal_stdin(archive: &std::path::Path) {
    if archive.as_os_str() == "-" && io::stdin().is_terminal() {
        eprintln!("strata: reading the image archive from standard input (a terminal); pipe a tar in, or press Ctrl-D");
    }
}

/// A tar written to stdout when stdout is a terminal would only garble it (`docker save`
/// refuses the same way).
pub fn refuse_tar_to_terminal(dest: &std::path::Path) -> Result<()> {
    if dest.as_os_str() == "-" && io::stdout().is_terminal() {
        anyhow::bail!("refusing to write a tar to the terminal: redirect stdout (`> rootfs.tar`) or pipe it (`| tar -t`)");
    }
    Ok(())
}

pub fn warn(message: &str) {
    use strata::render::color::{paint, Paint, Stream};
    eprintln!(
        "{} {message}",
        paint(Stream::Stderr, Paint::Warn, "warning:")
    );
}
