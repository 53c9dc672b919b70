//! `strata inspect`: image metadata, then every layer with its digests, sizes and IDs.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::digest::Digest;
use strata::history::meaningful_time;
use strata::render::fit::{self, Column, Target};
use strata::render::template::Template;
use strata::render::{
    config_block, display_width, ellipsis, escape_for_message, human_duration, human_size,
};
use strata::report::{ImageInfo, Report};

use crate::cli::InspectArgs;

pub fn run(args: InspectArgs, out: &mut impl Write) -> Result<ExitCode> {
    let image = super::open_image(&args.select)?;
    let stats = image.scan_layers()?;
    let report = Report::build(&image, &stats);
    for w in &report.warnings {
        super::warn(w);
    }
    if let Some(text) = &args.format {
        let template = Template::parse(text).map_err(|e| anyhow::anyhow!("--format: {e}"))?;
        writeln!(out, "{}", template.render(&serde_json::to_value(&report)?))?;
    } else if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_text(&report, args.no_trunc, Target::stdout(), out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A line cut to `max` columns: a digest loses its `sha256:` first (it stays whole), then the
/// line is cut with `…`.
fn fit_line(line: &str, max: usize) -> String {
    if display_width(line) <= max {
        return line.to_string();
    }
    let line = line.replace("sha256:", "");
    ellipsis(&line, max)
}

fn short(d: &Digest, no_trunc: bool) -> String {
    if no_trunc {
        d.to_string()
    } else {
        d.short().to_string()
    }
}

fn write_text(r: &Report, no_trunc: bool, target: Target, out: &mut impl Write) -> Result<()> {
    for line in head(r).lines() {
        match target.width.filter(|_| !no_trunc) {
            Some(max) => writeln!(out, "{}", fit_line(line, max))?,
            None => writeln!(out, "{line}")?,
        }
    }
    if r.layers.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    write_layers(r, no_trunc, target, out)
}

/// The platform line: `os/arch[/variant] [(os.version …)]`.
fn platform(img: &ImageInfo) -> String {
    let mut platform = format!("{}/{}", img.platform.os, img.platform.architecture);
    if let Some(v) = &img.platform.variant {
        platform.push('/');
        platform.push_str(v);
    }
    if let Some(v) = &img.os_version {
        platform.push_str(&format!(" (os.version {v})"));
    }
    platform
}

/// The creation time, with its age when it is a real one.
fn created(img: &ImageInfo) -> String {
    match meaningful_time(img.created.as_deref()) {
        Some(t) => {
            let age = chrono::Utc::now()
                .signed_duration_since(t)
                .to_std()
                .unwrap_or_default();
            format!(
                "{} ({} ago)",
                img.created.as_deref().unwrap_or(""),
                human_duration(age)
            )
        }
        None => img.created.clone().unwrap_or_else(|| "N/A".into()),
    }
}

/// The image's fields, one `Name:    value` line each, then its config block.
fn head(r: &Report) -> String {
    let img = &r.image;
    let stored: u64 = r.layers.iter().map(|l| l.stats.compressed_size()).sum();
    let unpacked: u64 = r.layers.iter().map(|l| l.stats.uncompressed_size).sum();
    let size: u64 = r.layers.iter().map(|l| l.stats.size).sum();
    let fields = [
        (
            "Source",
            format!(
                "{} ({}, {})",
                r.source.path, r.source.format, r.source.container
            ),
        ),
        ("Image ID", img.id.to_string()),
        (
            "Tags",
            if img.tags.is_empty() {
                "<none>".into()
            } else {
                img.tags.join(", ")
            },
        ),
        ("Platform", platform(img)),
        ("Created", created(img)),
        (
            "Manifest",
            img.manifest_digest
                .as_ref()
                .map_or("-".into(), |d| d.to_string()),
        ),
        (
            "Layers",
            format!(
                "{} ({} stored, {} as tar, {} on disk)",
                r.layers.len(),
                human_size(stored),
                human_size(unpacked),
                human_size(size)
            ),
        ),
    ];
    let mut head = String::new();
    for (name, value) in fields {
        head.push_str(&format!("{:<10}{value}\n", format!("{name}:")));
    }
    head.push_str(&config_block(
        &img.config,
        &img.annotations.manifest,
        &img.annotations.index,
    ));
    head
}

/// The layer table, its columns dropped or cut to fit `target`.
fn write_layers(r: &Report, no_trunc: bool, target: Target, out: &mut impl Write) -> Result<()> {
    let col = |header, right, cut_to, drop_rank| Column {
        header,
        right,
        cut_to,
        drop_rank,
    };
    // On a narrow terminal CREATED BY is cut first, then the columns that repeat or matter
    // least go: media type, the blob digest, the tar size, the file count, the compression.
    let columns = [
        col("#", true, None, None),
        col("DIGEST", false, None, Some(2)),
        col("MEDIA TYPE", false, Some(12), Some(1)),
        col("COMP", false, None, Some(5)),
        col("STORED", true, None, None),
        col("TAR", true, None, Some(3)),
        col("SIZE", true, None, None),
        col("FILES", true, None, Some(4)),
        col("DIFF ID", false, None, None),
        col("CHAIN ID", false, None, None),
        col("CREATED BY", false, Some(12), None),
    ];
    let mut rows = Vec::new();
    for l in &r.layers {
        let media = l
            .layer
            .media_type
            .as_deref()
            .map(|m| m.trim_start_matches("application/vnd.").to_string())
            .unwrap_or_else(|| "-".into());
        let created_by = l.created_by.clone().unwrap_or_default().replace('\t', " ");
        let created_by = if no_trunc {
            created_by
        } else {
            ellipsis(&created_by, 45)
        };
        rows.push(vec![
            l.layer.index.to_string(),
            short(l.stats.digest(), no_trunc),
            media,
            l.stats.compression.name().to_string(),
            human_size(l.stats.compressed_size()),
            human_size(l.stats.uncompressed_size),
            human_size(l.stats.size),
            l.stats.files.to_string(),
            short(l.stats.diff_id(), no_trunc),
            short(&l.chain_id, no_trunc),
            escape_for_message(&created_by, 10_000),
        ]);
    }
    out.write_all(fit::render(&columns, &rows, target, no_trunc).as_bytes())?;
    Ok(())
}
