//! `strata inspect`: image metadata, then every layer with its digests, sizes and IDs.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use strata::digest::Digest;
use strata::history::meaningful_time;
use strata::render::{config_block, ellipsis, human_duration, human_size};
use strata::report::Report;

use crate::cli::InspectArgs;

pub fn run(args: InspectArgs, out: &mut impl Write) -> Result<ExitCode> {
    let image = super::open_image(&args.select)?;
    let stats = image.scan_layers()?;
    let report = Report::build(&image, &stats);
    for w in &report.warnings {
        super::warn(w);
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        write_text(&report, args.no_trunc, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn short(d: &Digest, no_trunc: bool) -> String {
    if no_trunc {
        d.to_string()
    } else {
        d.short().to_string()
    }
}

fn write_text(r: &Report, no_trunc: bool, out: &mut impl Write) -> Result<()> {
    let img = &r.image;
    let mut platform = format!("{}/{}", img.platform.os, img.platform.architecture);
    if let Some(v) = &img.platform.variant {
        platform.push('/');
        platform.push_str(v);
    }
    if let Some(v) = &img.os_version {
        platform.push_str(&format!(" (os.version {v})"));
    }
    let created = match meaningful_time(img.created.as_deref()) {
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
    };
    let stored: u64 = r.layers.iter().map(|l| l.compressed_size).sum();
    let unpacked: u64 = r.layers.iter().map(|l| l.uncompressed_size).sum();
    let size: u64 = r.layers.iter().map(|l| l.size).sum();
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
        ("Platform", platform),
        ("Created", created),
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
    for (name, value) in fields {
        writeln!(out, "{:<10}{value}", format!("{name}:"))?;
    }
    write!(
        out,
        "{}",
        config_block(
            &img.config,
            &img.annotations.manifest,
            &img.annotations.index
        )
    )?;
    if r.layers.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "#",
            "DIGEST",
            "MEDIA TYPE",
            "COMP",
            "STORED",
            "TAR",
            "SIZE",
            "FILES",
            "DIFF ID",
            "CHAIN ID",
            "CREATED BY",
        ]);
    for l in &r.layers {
        let media = l
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
        table.add_row(vec![
            Cell::new(l.index).set_alignment(CellAlignment::Right),
            Cell::new(short(&l.digest, no_trunc)),
            Cell::new(media),
            Cell::new(l.compression.name()),
            Cell::new(human_size(l.compressed_size)).set_alignment(CellAlignment::Right),
            Cell::new(human_size(l.uncompressed_size)).set_alignment(CellAlignment::Right),
            Cell::new(human_size(l.size)).set_alignment(CellAlignment::Right),
            Cell::new(l.files).set_alignment(CellAlignment::Right),
            Cell::new(short(&l.diff_id, no_trunc)),
            Cell::new(short(&l.chain_id, no_trunc)),
            Cell::new(created_by),
        ]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
