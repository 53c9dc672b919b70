//! `strata storage check`: a data root's records against its files, and its leftovers; and
//! opening the stores the storage commands read (`storage df` is in [`df`]).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use strata::archive::dockerroot::{DockerRoot, DEFAULT_ROOT, IMAGE_DIR};
use strata::render::{count, escape_for_message, human_size};
use strata::storage::check::{check_containers_storage, check_docker_root, Report};

use crate::cli::{StorageAction, StorageArgs, StorageCheckArgs};

use super::{EXIT_ERROR, EXIT_MISMATCH};

mod df;

pub fn run(args: StorageArgs, out: &mut impl Write) -> Result<ExitCode> {
    match args.action {
        StorageAction::Check(a) => check(a, out),
        StorageAction::Df(a) => df::run(a, out),
    }
}

/// Opens the data root `docker-root:` (with `--docker-root`) names, refusing a directory that
/// is not one with one line.
pub(crate) fn open_docker_root(source: &str, dir: Option<&Path>) -> Result<DockerRoot> {
    let whole_source = WholeSource {
        prefix: "docker-root:",
        whole: "data root",
        kind: "data root",
        how: " (with --docker-root DIR)",
    };
    let (dir, root) = whole_source.open(source, dir, DEFAULT_ROOT)?;
    if !matches!(
        root.kind_of(IMAGE_DIR)?,
        Some(rustix::fs::FileType::Directory)
    ) {
        bail!(
            "{}: not a Docker data root with the overlay2 graphdriver ({IMAGE_DIR} does not exist)",
            dir.display()
        );
    }
    Ok(root)
}

/// Opens the containers-storage root `containers-storage:` (with `--storage-root`) names.
pub(crate) fn open_containers_storage(source: &str, dir: Option<&Path>) -> Result<DockerRoot> {
    use strata::archive::containers_storage::{DEFAULT_ROOT, IMAGES_JSON};
    let whole_source = WholeSource {
        prefix: "containers-storage:",
        whole: "storage",
        kind: "containers-storage",
        how: "",
    };
    let (dir, root) = whole_source.open(source, dir, DEFAULT_ROOT)?;
    if root.kind_of(IMAGES_JSON)?.is_none() {
        bail!(
            "{}: not a containers-storage root with the overlay driver ({IMAGES_JSON} does not exist)",
            dir.display()
        );
    }
    Ok(root)
}

/// A source that names a whole store (`docker-root:`, `containers-storage:`), not an image in
/// it, as the commands that read a whole store take it.
struct WholeSource {
    prefix: &'static str,
    /// What the store is called when an image is named instead.
    whole: &'static str,
    /// What sort of source it is, when another is given.
    kind: &'static str,
    /// How to name the store's directory, after `use PREFIX`.
    how: &'static str,
}

impl WholeSource {
    /// Refuses a source that is not `prefix` alone, and opens the directory (`dir`, else
    /// `default`).
    fn open<'a>(
        &self,
        source: &str,
        dir: Option<&'a Path>,
        default: &'static str,
    ) -> Result<(&'a Path, DockerRoot)> {
        let prefix = self.prefix;
        match source.strip_prefix(prefix) {
            Some("") => {}
            Some(r) => bail!(
                "{source}: name the {} only (`{prefix}`), not an image (`{}`)",
                self.whole,
                escape_for_message(r, 80)
            ),
            None => bail!(
                "{}: not a {} source; use `{prefix}`{}",
                escape_for_message(source, 200),
                self.kind,
                self.how
            ),
        }
        let dir = dir.unwrap_or(Path::new(default));
        Ok((dir, DockerRoot::open(dir)?))
    }
}

fn check(args: StorageCheckArgs, out: &mut impl Write) -> Result<ExitCode> {
    let report = if args.source.starts_with("containers-storage:") {
        if args.docker_root.is_some() {
            bail!("--docker-root: applies to `docker-root:`; use --storage-root");
        }
        let root = open_containers_storage(&args.source, args.storage_root.as_deref())?;
        check_containers_storage(&root)?
    } else {
        if args.storage_root.is_some() {
            bail!("--storage-root: applies to `containers-storage:`; use --docker-root");
        }
        let root = open_docker_root(&args.source, args.docker_root.as_deref())?;
        check_docker_root(&root)?
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_text(&report, out)?;
    }
    Ok(if report.unreadable() {
        ExitCode::from(EXIT_ERROR)
    } else if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_MISMATCH)
    })
}

fn write_text(report: &Report, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{}: {}, {}, {}; {} of layer tar rebuilt and hashed",
        report.root,
        count(report.images as u64, "image", "images"),
        count(report.layers as u64, "layer", "layers"),
        count(report.containers as u64, "container", "containers"),
        human_size(report.bytes_checked),
    )?;
    let width = report
        .findings
        .iter()
        .map(|f| f.kind.len())
        .max()
        .unwrap_or(0);
    for f in &report.findings {
        let size = f
            .size
            .map(|s| format!(" ({})", human_size(s)))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<width$}  {}{size}: {}",
            f.kind,
            escape_for_message(&f.path, 400),
            escape_for_message(&f.detail, 400)
        )?;
    }
    let leftover: u64 = report.findings.iter().filter_map(|f| f.size).sum();
    match report.findings.len() {
        0 => writeln!(
            out,
            "clean: every record agrees with the files, nothing is left over"
        )?,
        n => writeln!(
            out,
            "{}{}",
            count(n as u64, "finding", "findings"),
            if leftover > 0 {
                format!(", {} left over", human_size(leftover))
            } else {
                String::new()
            }
        )?,
    }
    Ok(())
}
