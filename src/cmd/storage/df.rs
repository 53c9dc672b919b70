//! `strata storage df`: a Docker data root's disk usage, printed as `docker system df` (and
//! `-v`) prints it. What is counted is [`strata::storage::df`]'s; here it is only worded.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use strata::archive::dockerroot::normalize;
use strata::render::{ellipsis, human_duration, human_size, human_size4, tabwriter};
use strata::storage::buildcache::CacheRecord;
use strata::storage::df::{disk_usage, ContainerUsage, DiskUsage};

use crate::cli::StorageDfArgs;

pub(super) fn run(args: StorageDfArgs, out: &mut impl Write) -> Result<ExitCode> {
    if args.source.starts_with("containers-storage:") {
        bail!("storage df: reads a Docker data root (`docker-root:`); containers-storage has no `docker system df`");
    }
    let root = super::open_docker_root(&args.source, args.docker_root.as_deref())?;
    let du = disk_usage(&root)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &du)?;
        writeln!(out)?;
    } else if args.verbose {
        let now = chrono::Utc::now().timestamp();
        writeln!(out, "Images space usage:\n")?;
        out.write_all(tabwriter(&images_table(&du, now)).as_bytes())?;
        writeln!(out, "\nContainers space usage:\n")?;
        out.write_all(tabwriter(&containers_table(&du, now)).as_bytes())?;
        writeln!(out, "\nLocal Volumes space usage:\n")?;
        out.write_all(tabwriter(&volumes_table(&du)).as_bytes())?;
        writeln!(
            out,
            "\nBuild cache usage: {}\n",
            human_size4(builder_size(&du.build_cache).max(0) as u64)
        )?;
        out.write_all(tabwriter(&build_cache_table(&du, now)).as_bytes())?;
    } else {
        out.write_all(tabwriter(&summary_table(&du)).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How long ago `then` was at `now` (both seconds since the epoch), as docker words it.
fn ago(then: i64, now: i64) -> String {
    let age = Duration::from_secs((now - then).max(0) as u64);
    format!("{} ago", human_duration(age))
}

/// `docker system df`'s table: per type, how many, how many in use, their size and what
/// could be reclaimed.
fn summary_table(du: &DiskUsage) -> String {
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
    text.push_str(&build_cache_line(&du.build_cache));
    text
}

/// `(N%)` after a reclaimable size, as docker prints it when the total is not 0.
fn with_percent(part: u64, total: u64) -> String {
    match (part * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", human_size4(part)),
        None => human_size4(part),
    }
}

/// docker's build cache line: the size counts no shared record, the reclaimable part no
/// record in use, and no percentage.
fn build_cache_line(records: &[CacheRecord]) -> String {
    let bsz = builder_size(records);
    let in_use: i64 = records
        .iter()
        .filter(|r| r.in_use && !r.shared)
        .map(|r| r.size)
        .sum();
    format!(
        "Build Cache\t{}\t{}\t{}\t{}\n",
        records.len(),
        records.iter().filter(|r| r.in_use).count(),
        human_size4(bsz.max(0) as u64),
        human_size4((bsz - in_use).max(0) as u64)
    )
}

/// `-v`'s images table.
fn images_table(du: &DiskUsage, now: i64) -> String {
    let by_id: HashMap<_, _> = du.images.iter().map(|i| (i.id.clone(), i)).collect();
    let mut text = String::from(
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n",
    );
    // One row per image, under its first tag as the daemon orders them (by the full
    // name), as docker's table shows only that one; `<none>` when it has no tag.
    let mut seen = HashSet::new();
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
            Some(t) => ago(t.timestamp(), now),
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
    text
}

/// `-v`'s containers table.
fn containers_table(du: &DiskUsage, now: i64) -> String {
    let mut text =
        String::from("CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n");
    for c in &du.containers {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            short_id(&c.id),
            image_column(c),
            go_quote(&ellipsis(&c.command, 20)),
            c.local_volumes,
            human_size(c.size_rw),
            ago(c.created, now),
            c.status,
            c.name
        ));
    }
    text
}

/// `-v`'s volumes table.
fn volumes_table(du: &DiskUsage) -> String {
    let mut text = String::from("VOLUME NAME\tLINKS\tSIZE\n");
    for v in &du.volumes {
        text.push_str(&format!(
            "{}\t{}\t{}\n",
            v.name,
            v.links,
            human_size4(v.size)
        ));
    }
    text
}

/// `-v`'s build cache table: oldest use first (never used first of all), then by ID.
fn build_cache_table(du: &DiskUsage, now: i64) -> String {
    let mut records: Vec<_> = du.build_cache.iter().collect();
    records.sort_by(|a, b| {
        a.last_used_at
            .is_some()
            .cmp(&b.last_used_at.is_some())
            .then(a.last_used_at.cmp(&b.last_used_at))
            .then(a.id.cmp(&b.id))
    });
    let mut text = String::from("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n");
    // BuildKit records times in nanoseconds.
    let ago_nanos = |nanos: i64| ago(nanos.div_euclid(1_000_000_000), now);
    for r in records {
        text.push_str(&format!(
            "{}{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            short_id(&r.id),
            if r.in_use { "*" } else { "" },
            r.kind,
            human_size(r.size.max(0) as u64),
            ago_nanos(r.created_at),
            r.last_used_at.map(ago_nanos).unwrap_or_default(),
            r.usage_count,
            r.shared
        ));
    }
    text
}

/// The CLI's build cache size: the records not shared with an image.
fn builder_size(records: &[CacheRecord]) -> i64 {
    records.iter().filter(|r| !r.shared).map(|r| r.size).sum()
}

/// docker's `TruncateID`: the hex after any `algorithm:`, 12 characters of it.
fn short_id(id: &str) -> &str {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.get(..12).unwrap_or(hex)
}

/// The IMAGE column as docker's container formatter cuts it: the short ID when the container
/// names its image by ID, else the name familiar and without a digest.
fn image_column(c: &ContainerUsage) -> String {
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
        let c = |image_ref: &str| ContainerUsage {
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
