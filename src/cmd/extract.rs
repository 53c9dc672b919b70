//! `strata extract`: the merged root filesystem, into a new directory (built beside it and
//! renamed into place when complete) or as one flat tar.

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::extract::dir_sink::{needs_in_order, DirSink};
use strata::extract::fs::Root;
use strata::extract::limits::Limits;
use strata::extract::merge::{merge, merge_with, Order, Outcome};
use strata::extract::space::Guarded;
use strata::extract::tar_sink::TarSink;
use strata::image::Image;

use crate::cli::ExtractArgs;

/// Left in DEST while `--force` extracts into it, removed when done.
const INCOMPLETE_MARKER: &str = ".strata-incomplete";

pub fn run(args: ExtractArgs, out: &mut impl Write) -> Result<ExitCode> {
    super::refuse_tar_to_terminal(&args.dest)?;
    let limits = super::limits_of(&args.limits, args.no_devices);
    let (image, top) = super::open_layered(&args.select, args.layer, "extract", &limits)?;
    let to_stdout = args.dest.as_os_str() == "-";
    let (outcome, notes) = if args.tar || to_stdout {
        (
            extract_tar(&image, top, &args.dest, args.force, &limits)?,
            Vec::new(),
        )
    } else {
        extract_dir(&image, top, &args.dest, args.force, &limits)?
    };
    for w in outcome.warnings.iter().chain(&notes) {
        super::warn(w);
    }
    let c = &outcome.counts;
    if args.json {
        let value = serde_json::json!({
            "dest": args.dest.display().to_string(),
            "format": if args.tar || to_stdout { "tar" } else { "directory" },
            "layers_applied": top + 1,
            "counts": c,
            "warnings": outcome.warnings.iter().chain(&notes).collect::<Vec<_>>(),
        });
        if to_stdout {
            eprintln!("{value}");
        } else {
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
    } else {
        use strata::render::count;
        let head = format!(
            "extracted layers 0-{top} of {} into {}:",
            image.source_path,
            args.dest.display()
        );
        let items = vec![
            format!(
                "{} ({})",
                count(c.files, "file", "files"),
                count(c.bytes, "byte", "bytes")
            ),
            count(c.dirs, "directory", "directories"),
            count(c.symlinks, "symlink", "symlinks"),
            count(c.hardlinks, "hardlink", "hardlinks"),
            count(c.specials, "special file", "special files"),
            format!(
                "{} hidden by upper layers",
                count(
                    c.hidden,
                    "lower-layer entry was",
                    "lower-layer entries were"
                )
            ),
        ];
        // The summary goes to stderr when the tar goes to stdout.
        let width = if to_stdout {
            None
        } else {
            strata::render::fit::Target::stdout().width
        };
        let summary = strata::render::fit::wrap_summary(&head, &items, width);
        if to_stdout {
            eprintln!("{summary}");
        } else {
            writeln!(out, "{summary}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn extract_tar(
    image: &Image,
    top: usize,
    dest: &Path,
    force: bool,
    limits: &Limits,
) -> Result<Outcome> {
    if dest.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut sink = TarSink::new(std::io::BufWriter::new(stdout.lock()));
        let outcome = match merge(image, top, &mut sink, limits) {
            Err(e) if needs_in_order(&e) => {
                return Err(anyhow::Error::new(e).context(
                    "this image can only be extracted in order, which a tar stream cannot follow once started; use `--tar FILE` or a directory",
                ))
            }
            other => other?,
        };
        sink.into_inner()?.flush()?;
        return Ok(outcome);
    }
    if dest.exists() && !force {
        bail!(
            "{} already exists (use --force to replace it)",
            dest.display()
        );
    }
    let staging = staging_path(dest)?;
    // A new file only: never follow or truncate whatever might already be at that name.
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&staging)
            .with_context(|| format!("creating {}", staging.display()))?
    };
    let result = (|| -> Result<Outcome> {
        let mut sink = TarSink::new(std::io::BufWriter::new(Guarded::new(file.try_clone()?)));
        let outcome = match merge(image, top, &mut sink, limits) {
            Err(e) if needs_in_order(&e) => {
                drop(sink);
                file.set_len(0)?;
                limits.restart();
                tar_in_order(image, top, dest, &file, limits)?
            }
            other => {
                let outcome = other?;
                sink.into_inner()?.flush()?;
                outcome
            }
        };
        fs::rename(&staging, dest).with_context(|| format!("renaming into {}", dest.display()))?;
        Ok(outcome)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&staging);
    }
    result
}

/// The flat tar of an image that writes through a lower layer's symlink: the layers applied in
/// order into a hidden directory beside DEST, then that tree written as the tar. Owners and
/// device nodes survive only as root, so anyone else is refused rather than given a wrong tar.
fn tar_in_order(
    image: &Image,
    top: usize,
    dest: &Path,
    file: &fs::File,
    limits: &Limits,
) -> Result<Outcome> {
    if !rustix::process::geteuid().is_root() {
        bail!(
            "{}: this image writes through a symlink of a lower layer, so its flat tar is made from an in-order extraction, which needs root to keep owners; extract to a directory instead, or run as root",
            image.source_path
        );
    }
    let mut wrapper = staging_path(dest)?.into_os_string();
    wrapper.push(".d");
    let wrapper = PathBuf::from(wrapper);
    // The image's device nodes and setuid files exist for real while the tar is made: a 0700
    // directory keeps other users from reaching them whatever modes the image gives its root.
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&wrapper)
            .with_context(|| format!("creating {}", wrapper.display()))?;
    }
    let tree = wrapper.join("root");
    let result = (|| -> Result<Outcome> {
        fs::create_dir(&tree).with_context(|| format!("creating {}", tree.display()))?;
        let mut sink = DirSink::for_extract(Root::open(&tree)?, true);
        let mut outcome = merge_with(image, top, &mut sink, Order::InOrder, limits)?;
        outcome.warnings.extend(notes_of(&sink));
        let mut file = file;
        (&mut file).rewind()?;
        let mut tar = TarSink::new(std::io::BufWriter::new(Guarded::new(file)));
        strata::extract::retar::write_tree(&Root::open(&tree)?, &mut tar)
            .with_context(|| format!("writing the tar of {}", tree.display()))?;
        tar.into_inner()?.flush()?;
        Ok(outcome)
    })();
    remove_tree(&wrapper);
    result
}

/// A hidden name beside DEST, on the same filesystem so the final rename is atomic. It names
/// this process (pid and start time), so a later run can tell that a killed run left it; such
/// leftovers beside DEST are removed here.
fn staging_path(dest: &Path) -> Result<PathBuf> {
    let name = dest
        .file_name()
        .with_context(|| format!("{}: not a usable destination name", dest.display()))?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(".{}.strata-tmp-", name.to_string_lossy());
    remove_dead_staging(&parent, &prefix);
    Ok(parent.join(format!("{prefix}{}", strata::proc::Stamp::current().tag())))
}

/// Removes `PREFIX<pid>.<start>[.d]` entries of `dir` whose process is gone (a bare
/// `PREFIX<pid>`, from older strata, when no such process runs).
fn remove_dead_staging(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let rest = rest.strip_suffix(".d").unwrap_or(rest);
        let dead = match strata::proc::Stamp::parse_tag(rest) {
            Some(owner) => !owner.is_alive(),
            None => rest
                .parse::<u32>()
                .is_ok_and(|pid| strata::proc::start_time(pid).is_none()),
        };
        if dead {
            remove_tree(&entry.path());
            super::warn(&format!(
                "removed {}, left by a killed extraction",
                entry.path().display()
            ));
        }
    }
}

fn extract_dir(
    image: &Image,
    top: usize,
    dest: &Path,
    force: bool,
    limits: &Limits,
) -> Result<(Outcome, Vec<String>)> {
    let existing = match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Some(fs::read_dir(dest)?.next().is_none()),
        Ok(_) => bail!("{} exists and is not a directory", dest.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("checking {}", dest.display())),
    };
    if existing == Some(false) {
        if !force {
            bail!(
                "{} is not empty; refusing to extract into it (use --force to extract over its content)",
                dest.display()
            );
        }
        let marker = dest.join(INCOMPLETE_MARKER);
        fs::write(
            &marker,
            b"strata extract did not finish; this tree is incomplete\n",
        )?;
        // Over existing content, layers are applied in order: the top-down merge assumes an
        // empty tree.
        let root = Root::open(dest)?;
        let mut sink = DirSink::for_extract(root, true);
        let outcome = merge_with(image, top, &mut sink, Order::InOrder, limits)?;
        // An opaque root marker in the image clears DEST, the marker with it.
        match fs::remove_file(&marker) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", marker.display()))
            }
            _ => {}
        }
        let notes = notes_of(&sink);
        return Ok((outcome, notes));
    }
    let staging = staging_path(dest)?;
    fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
    let result = (|| -> Result<(Outcome, Vec<String>)> {
        let mut sink = DirSink::for_extract(Root::open(&staging)?, false);
        let outcome = match merge(image, top, &mut sink, limits) {
            Err(e) if needs_in_order(&e) => {
                // The image writes through a symlink of a lower layer: start again, in order.
                drop(sink);
                remove_tree(&staging);
                fs::create_dir(&staging)
                    .with_context(|| format!("creating {}", staging.display()))?;
                sink = DirSink::for_extract(Root::open(&staging)?, true);
                limits.restart();
                merge_with(image, top, &mut sink, Order::InOrder, limits)?
            }
            other => other?,
        };
        if existing == Some(true) {
            fs::remove_dir(dest)?;
        }
        fs::rename(&staging, dest).with_context(|| format!("renaming into {}", dest.display()))?;
        Ok((outcome, notes_of(&sink)))
    })();
    if result.is_err() {
        remove_tree(&staging);
    }
    result
}

fn notes_of(sink: &DirSink) -> Vec<String> {
    let sink = sink.tree();
    let mut notes = Vec::new();
    if sink.skipped_owners {
        notes.push(
            "not running as root: files are owned by you, not by the owners the image names".into(),
        );
    }
    if sink.skipped_devices > 0 {
        notes.push(format!(
            "not running as root: skipped {} device node(s)",
            sink.skipped_devices
        ));
    }
    if sink.skipped_xattrs > 0 {
        notes.push(format!(
            "skipped {} extended attribute(s) this user or filesystem cannot set (or overlay attributes, never copied)",
            sink.skipped_xattrs
        ));
    }
    notes
}

/// Removes a staging directory that strata made, without following symlinks inside it.
fn remove_tree(path: &Path) {
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(fd) = rustix::fs::open(
            parent,
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        ) {
            let _ = Root::remove(
                &fd,
                &strata::rawname::from_bytes(std::os::unix::ffi::OsStrExt::as_bytes(name)),
            );
        }
    }
}
