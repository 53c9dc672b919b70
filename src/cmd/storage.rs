//! `strata storage check`: a data root's records against its files, and its leftovers.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use strata::archive::dockerroot::{DockerRoot, DEFAULT_ROOT, IMAGE_DIR};
use strata::render::{count, escape_for_message, human_size};
use strata::storage::check::{check_containers_storage, check_docker_root, Report};

use crate::cli::{StorageAction, StorageArgs, StorageCheckArgs, StorageDfArgs};

use super::{EXIT_ERROR, EXIT_MISMATCH};

pub fn run(args: StorageArgs, out: &mut impl Write) -> Result<ExitCode> {
    match args.action {
        StorageAction::Check(a) => check(a, out),
        StorageAction::Df(a) => df(a, out),
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

fn df(args: StorageDfArgs, out: &mut impl Write) -> Result<ExitCode> {
    use strata::archive::dockerroot::normalize;
    use strata::render::{ellipsis, human_duration, human_size4, tabwriter};
    if args.source.starts_with("containers-storage:") {
        bail!("storage df: reads a Docker data root (`docker-root:`); containers-storage has no `docker system df`");
    }
    let root = open_docker_root(&args.source, args.docker_root.as_deref())?;
    let du = strata::storage::df::disk_usage(&root)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &du)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    // `(N%)` after a reclaimable size, as docker prints it when the total is not 0.
    let with_percent = |part: u64, total: u64| match (part * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", human_size4(part)),
        None => human_size4(part),
    };
    if args.verbose {
        let by_id: std::collections::HashMap<_, _> =
            du.images.iter().map(|i| (i.id.clone(), i)).collect();
        let mut text = String::from(
            "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n",
        );
        let now = chrono::Utc::now();
        // One row per image, under its first tag as the daemon orders them (by the full
        // name), as docker's table shows only that one; `<none>` when it has no tag.
        let mut seen = std::collections::HashSet::new();
        for r in &du.rows {
            if !seen.insert(&r.id) {
                continue;
            }
            let first = du
                .rows
                .iter()
                .filter(|t| t.id == r.id && t.tag != "<none>" && t.repository != "<none>")
                .min_by_key(|t| normalize(&format!("{}:{}", t.repository, t.tag)));
            let (repository, tag) = first.map_or(("<none>", "<none>"), |t| {
                (t.repository.as_str(), t.tag.as_str())
            });
            let created = match r.created_time() {
                None => "N/A".to_string(),
                Some(t) => {
                    let secs = now.timestamp() - t.timestamp();
                    let age = std::time::Duration::from_secs(secs.max(0) as u64);
                    format!("{} ago", human_duration(age))
                }
            };
            let Some(u) = by_id.get(&r.id) else { continue };
            text.push_str(&format!(
                "{repository}\t{tag}\t{}\t{created}\t{}\t{}\t{}\t{}\n",
                r.id.short(),
                human_size(u.size),
                human_size4(u.shared_size),
                human_size4(u.unique_size),
                u.containers
            ));
        }
        writeln!(out, "Images space usage:\n")?;
        out.write_all(tabwriter(&text).as_bytes())?;
        writeln!(out, "\nContainers space usage:\n")?;
        let mut text = String::from(
            "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n",
        );
        for c in &du.containers {
            let age = (now.timestamp() - c.created).max(0) as u64;
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{} ago\t{}\t{}\n",
                short_id(&c.id),
                image_column(c),
                go_quote(&ellipsis(&c.command, 20)),
                c.local_volumes,
                human_size(c.size_rw),
                human_duration(std::time::Duration::from_secs(age)),
                c.status,
                c.name
            ));
        }
        out.write_all(tabwriter(&text).as_bytes())?;
        writeln!(out, "\nLocal Volumes space usage:\n")?;
        let mut text = String::from("VOLUME NAME\tLINKS\tSIZE\n");
        for v in &du.volumes {
            text.push_str(&format!(
                "{}\t{}\t{}\n",
                v.name,
                v.links,
                human_size4(v.size)
            ));
        }
        out.write_all(tabwriter(&text).as_bytes())?;
        // docker's build cache table: oldest use first (never used first of all), then by ID.
        writeln!(
            out,
            "\nBuild cache usage: {}\n",
            human_size4(builder_size(&du.build_cache).max(0) as u64)
        )?;
        let mut records: Vec<_> = du.build_cache.iter().collect();
        records.sort_by(|a, b| {
            a.last_used_at
                .is_some()
                .cmp(&b.last_used_at.is_some())
                .then(a.last_used_at.cmp(&b.last_used_at))
                .then(a.id.cmp(&b.id))
        });
        let mut text =
            String::from("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n");
        let ago = |nanos: i64| {
            let secs = now.timestamp() - nanos.div_euclid(1_000_000_000);
            format!(
                "{} ago",
                human_duration(std::time::Duration::from_secs(secs.max(0) as u64))
            )
        };
        for r in records {
            text.push_str(&format!(
                "{}{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                short_id(&r.id),
                if r.in_use { "*" } else { "" },
                r.kind,
                human_size(r.size.max(0) as u64),
                ago(r.created_at),
                r.last_used_at.map(ago).unwrap_or_default(),
                r.usage_count,
                r.shared
            ));
        }
        out.write_all(tabwriter(&text).as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let active_images = du.images.iter().filter(|i| i.containers > 0);
    let used: u64 = active_images.clone().map(|i| i.size - i.shared_size).sum();
    let image_reclaimable = du.layers_size.saturating_sub(used);
    let rw: u64 = du.containers.iter().map(|c| c.size_rw).sum();
    let rw_idle: u64 = du
        .containers
        .iter()
        .filter(|c| !c.active)
        .map(|c| c.size_rw)
        .sum();
    let vol: u64 = du.volumes.iter().map(|v| v.size).sum();
    let vol_idle: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let mut text = String::from("TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE\n");
    text.push_str(&format!(
        "Images\t{}\t{}\t{}\t{}\n",
        du.images.len(),
        active_images.count(),
        human_size4(du.layers_size),
        with_percent(image_reclaimable, du.layers_size)
    ));
    text.push_str(&format!(
        "Containers\t{}\t{}\t{}\t{}\n",
        du.containers.len(),
        du.containers.iter().filter(|c| c.active).count(),
        human_size4(rw),
        with_percent(rw_idle, rw)
    ));
    text.push_str(&format!(
        "Local Volumes\t{}\t{}\t{}\t{}\n",
        du.volumes.len(),
        du.volumes.iter().filter(|v| v.links > 0).count(),
        human_size4(vol),
        with_percent(vol_idle, vol)
    ));
    // docker's build cache line: the size counts no shared record, the reclaimable part no
    // record in use, and no percentage.
    let bsz = builder_size(&du.build_cache);
    let in_use: i64 = du
        .build_cache
        .iter()
        .filter(|r| r.in_use && !r.shared)
        .map(|r| r.size)
        .sum();
    text.push_str(&format!(
        "Build Cache\t{}\t{}\t{}\t{}\n",
        du.build_cache.len(),
        du.build_cache.iter().filter(|r| r.in_use).count(),
        human_size4(bsz.max(0) as u64),
        human_size4((bsz - in_use).max(0) as u64)
    ));
    out.write_all(tabwriter(&text).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The CLI's build cache size: the records not shared with an image.
fn builder_size(records: &[strata::storage::buildcache::CacheRecord]) -> i64 {
    records.iter().filter(|r| !r.shared).map(|r| r.size).sum()
}

/// docker's `TruncateID`: the hex after any `algorithm:`, 12 characters of it.
fn short_id(id: &str) -> &str {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.get(..12).unwrap_or(hex)
}

/// The IMAGE column as docker's container formatter cuts it: the short ID when the container
/// names its image by ID, else the name familiar and without a digest.
fn image_column(c: &strata::storage::df::ContainerUsage) -> String {
    let named = c.image_ref.as_str();
    if named.is_empty() {
        return "<no image>".into();
    }
    let id = c.image.as_ref().map(|d| d.to_string()).unwrap_or_default();
    if short_id(&id) == short_id(named) {
        return short_id(named).to_string();
    }
    let name = named.split_once('@').map_or(named, |(n, _)| n);
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .map_or(name, |rest| {
            rest.strip_prefix("library/")
                .filter(|r| !r.contains('/'))
                .unwrap_or(rest)
        });
    name.to_string()
}

/// Go's `strconv.Quote`: in double quotes, `"` and `\` escaped, control characters as `\n`,
/// `\t`, `\xNN` or `\uNNNN`.
fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quote_escapes_as_strconv_quote() {
        assert_eq!(go_quote("/bin/sh"), r#""/bin/sh""#);
        assert_eq!(go_quote("a\"b\\c\n\u{1}…"), r#""a\"b\\c\n\x01…""#);
    }

    #[test]
    fn the_image_column_is_the_short_id_or_the_familiar_name() {
        let id = "sha256:40f6d0c2ea47f25e38146f86bf7969462e3a8642d01b8f1c0a235373b522b247";
        let c = |image_ref: &str| strata::storage::df::ContainerUsage {
            id: "x".into(),
            image: strata::digest::Digest::parse(id).ok(),
            image_ref: image_ref.into(),
            name: String::new(),
            command: String::new(),
            created: 0,
            created_at: String::new(),
            state: String::new(),
            status: String::new(),
            local_volumes: 0,
            size_rw: 0,
            active: false,
        };
        assert_eq!(image_column(&c(id)), "40f6d0c2ea47");
        assert_eq!(image_column(&c("40f6d0c2")), "40f6d0c2");
        assert_eq!(image_column(&c("hello:latest")), "hello:latest");
        assert_eq!(image_column(&c("docker.io/library/alpine:3")), "alpine:3");
        assert_eq!(image_column(&c("docker.io/me/app@sha256:0123")), "me/app");
        assert_eq!(image_column(&c("")), "<no image>");
    }
}
