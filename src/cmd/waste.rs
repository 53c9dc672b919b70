//! `strata waste`: dive's wasted-space figures for an image, computed as dive 0.13.1 computes
//! them, strata's own per-layer account of shadowed and deleted bytes, and with `--ci` dive's
//! three CI rules. The human output may change between releases; `--json` is the contract.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use strata::entries::{read_in_order, read_layer};
use strata::explore::dive_ci::{self, Figures, FileSettings, RuleResult, Settings, Status};
use strata::explore::waste::go_fmt::humanize_bytes;
use strata::explore::waste::{DiveEntry, OwnEntry, Report, Waste, WasteEntry};
use strata::extract::rules::EntryKind;
use strata::image::Image;
use strata::render::{display_width, escape_for_message};
use strata::targuard::SparseBudget;

use crate::cli::WasteArgs;

/// dive's CI file, looked for in the current directory when `--ci-config` is not given.
const DEFAULT_CI_CONFIG: &str = ".dive-ci";
const WIDTH: usize = 80;

pub fn run(args: WasteArgs, out: &mut impl Write) -> Result<ExitCode> {
    // A bad CI setting is found before the image is read.
    let settings = if args.ci {
        Some(ci_settings(&args)?)
    } else {
        None
    };
    let limits = super::limits_of(&args.limits, false);
    let (image, top) = super::open_layered(&args.select, None, "measure", &limits)?;
    let (report, dive_empty) = measure(&image, top, &limits)?;
    for w in warnings(&image, &report, &dive_empty) {
        super::warn(&w);
    }
    let verdict = settings.as_ref().map(|s| {
        dive_ci::evaluate(
            s,
            &Figures {
                efficiency: report.efficiency,
                wasted_bytes: report.wasted_bytes,
                user_wasted_percent: report.user_wasted_percent,
            },
        )
    });
    if args.json {
        write_json(&image, &report, &dive_empty, verdict.as_ref(), out)?;
    } else {
        write_text(&report, args.top, out)?;
        if let Some((rules, misconfigured)) = &verdict {
            write_rules(rules, *misconfigured, out)?;
        }
    }
    Ok(match verdict {
        Some((_, true)) => ExitCode::from(super::EXIT_ERROR),
        Some((rules, false)) if rules.iter().any(|r| r.status == Status::Fail) => {
            ExitCode::from(super::EXIT_MISMATCH)
        }
        _ => ExitCode::SUCCESS,
    })
}

/// Defaults, then the CI file, then the flags.
fn ci_settings(args: &WasteArgs) -> Result<Settings> {
    let (path, must_exist) = match &args.ci_config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CI_CONFIG), false),
    };
    let file = match std::fs::read(&path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
            dive_ci::parse_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            FileSettings::default()
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let flags = FileSettings {
        lowest_efficiency: args.lowest_efficiency.clone(),
        highest_wasted_bytes: args.highest_wasted_bytes.clone(),
        highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
    };
    Ok(Settings::layered(&file, &flags))
}

/// Reads every layer once (see [`read_in_order`]) and measures them in order. Returns the
/// report and the layers dive reads as empty.
fn measure(
    image: &Image,
    top: usize,
    limits: &strata::extract::limits::Limits,
) -> Result<(Report, Vec<usize>)> {
    let sparse = SparseBudget::default();
    let mut waste = Waste::new();
    let mut dive_empty = Vec::new();
    // dive reads a docker-save layer stored as a link to another as an empty one.
    let docker = !matches!(image.format, strata::archive::Format::OciLayout);
    // Layers are read ahead, in parallel, and measured in order.
    let read = |layer| -> Result<_, strata::ArchiveError> {
        let mut entries = Vec::new();
        read_layer(image, layer, limits, &sparse, |_, kind, entry, _| {
            if let Some(e) = waste_entry(kind, entry) {
                entries.push(e);
            }
            Ok(())
        })?;
        Ok(entries)
    };
    read_in_order(&image.layers[..=top], read, |layer, entries| {
        let entries = entries?;
        if docker && image.container.is_link(&layer.path) {
            dive_empty.push(layer.index);
            waste.add_layer_dive_sees_empty(entries);
        } else {
            waste.add_layer(entries);
        }
        Ok(())
    })?;
    Ok((waste.finish(), dive_empty))
}

/// What both accounts need of one entry; `None` for a pax global header (metadata of the tar,
/// not of a file).
fn waste_entry(kind: EntryKind, entry: &mut strata::entries::TarEntry<'_>) -> Option<WasteEntry> {
    use tar::EntryType;
    let header = entry.header();
    let flag = header.entry_type();
    if flag == EntryType::XGlobalHeader {
        return None;
    }
    let raw = strata::rawname::from_bytes(&entry.path_bytes()).into_owned();
    let sparse_size = || header.as_gnu().and_then(|g| g.real_size().ok());
    let size = match flag {
        EntryType::GNUSparse => sparse_size().unwrap_or_else(|| entry.size()),
        _ => entry.size(),
    };
    // Go's tar reader: a directory by type flag, by the mode's type bits, or (old tars) by a
    // trailing slash on a type-0 entry.
    let mode_type = header.mode().unwrap_or(0) & !0o7777;
    let dive_dir = flag == EntryType::Directory
        || mode_type == 0o040000
        || (header.as_old().linkflag[0] == 0 && raw.ends_with('/'));
    let components: Vec<String> = raw
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect();
    // Go's path.Clean makes `./` and `` into `.`, which dive skips; `/` stays.
    let dive = (!components.is_empty() || raw.starts_with('/')).then_some(DiveEntry {
        components,
        size: size as i64,
        is_dir: dive_dir,
    });
    let is_file = matches!(
        flag,
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse
    );
    Some(WasteEntry {
        dive,
        own: OwnEntry {
            kind,
            is_dir: flag == EntryType::Directory,
            bytes: if is_file { size } else { 0 },
        },
    })
}

fn warnings(image: &Image, report: &Report, dive_empty: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    for layer in dive_empty {
        out.push(format!(
            "{}: layer {layer} is stored as a link to another layer, which dive 0.13.1 reads as an empty layer; its figures here do the same (the breakdown counts its files)",
            image.source_path
        ));
    }
    for (layer, path) in &report.cut_short {
        out.push(format!(
            "layer {layer}: the whiteout of `{}` deletes nothing below it, so dive 0.13.1 stops counting the rest of that layer; its figures here do the same",
            escape_for_message(path, 200)
        ));
    }
    out
}

/// Go's `%2.4f` of a ratio times 100, as dive prints its percentages.
fn percent(ratio: f64) -> String {
    let v = ratio * 100.0;
    match v {
        v if v.is_nan() => "NaN".into(),
        v if v.is_infinite() => if v > 0.0 { "+Inf" } else { "-Inf" }.into(),
        v => format!("{v:.4}"),
    }
}

/// The path's end when it is too wide: "…/share/doc/pkg/changelog.gz".
fn path_tail(path: &str, width: usize) -> String {
    let path = escape_for_message(path, 4096);
    if display_width(&path) <= width {
        return path;
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 1;
    for c in path.chars().rev() {
        let w = display_width(&c.to_string());
        if used + w > width {
            break;
        }
        used += w;
        tail.push(c);
    }
    std::iter::once('…').chain(tail.into_iter().rev()).collect()
}

fn write_text(r: &Report, top: usize, out: &mut impl Write) -> Result<()> {
    // dive's own three lines, so that logs read the same.
    writeln!(out, "  efficiency: {} %", percent(r.efficiency))?;
    writeln!(
        out,
        "  wastedBytes: {} bytes ({})",
        r.wasted_bytes,
        humanize_bytes(r.wasted_bytes)
    )?;
    writeln!(
        out,
        "  userWastedPercent: {} %",
        percent(r.user_wasted_percent)
    )?;
    writeln!(
        out,
        "  imageSize: {} bytes ({}), {} above the first layer",
        r.image_size,
        humanize_bytes(r.image_size),
        humanize_bytes(r.user_size)
    )?;
    writeln!(out, "Inefficient Files:")?;
    writeln!(out, "{:>5}  {:>12}  File Path", "Count", "Wasted Space")?;
    if r.files.is_empty() {
        writeln!(out, "None")?;
    }
    for f in &r.files {
        writeln!(
            out,
            "{:>5}  {:>12}  {}",
            f.count,
            humanize_bytes(f.wasted_bytes),
            path_tail(&f.path, WIDTH - 21)
        )?;
    }
    writeln!(out, "Hidden by later layers, per layer:")?;
    writeln!(
        out,
        "{:>5}  {:>9}  {:>9}  {:>7}  {:>9}  {:>7}",
        "Layer", "Size", "Shadowed", "Files", "Deleted", "Files"
    )?;
    for l in &r.layers {
        writeln!(
            out,
            "{:>5}  {:>9}  {:>9}  {:>7}  {:>9}  {:>7}",
            l.index,
            humanize_bytes(l.size),
            humanize_bytes(l.loss.shadowed_bytes),
            l.loss.shadowed_files,
            humanize_bytes(l.loss.deleted_bytes),
            l.loss.deleted_files
        )?;
    }
    if top > 0 && !r.hidden.is_empty() {
        writeln!(out, "Largest hidden files:")?;
        writeln!(
            out,
            "{:>9}  {:>5}  {:>5}  {:<8}  Path",
            "Size", "Layer", "By", "How"
        )?;
        for h in r.hidden.iter().take(top) {
            let how = serde_json::to_value(h.how)?;
            writeln!(
                out,
                "{:>9}  {:>5}  {:>5}  {:<8}  {}",
                humanize_bytes(h.bytes),
                h.layer,
                h.by_layer,
                how.as_str().unwrap_or(""),
                path_tail(&h.path, WIDTH - 38)
            )?;
        }
    }
    Ok(())
}

fn write_rules(rules: &[RuleResult], misconfigured: bool, out: &mut impl Write) -> Result<()> {
    writeln!(out, "Results:")?;
    for r in rules {
        if r.message.is_empty() {
            writeln!(out, "  {}: {}", r.status.label(), r.rule)?;
        } else {
            writeln!(out, "  {}: {}: {}", r.status.label(), r.rule, r.message)?;
        }
    }
    if misconfigured {
        writeln!(out, "CI Misconfigured")?;
        return Ok(());
    }
    let count = |s: Status| rules.iter().filter(|r| r.status == s).count();
    let failed = count(Status::Fail);
    writeln!(
        out,
        "Result:{} [Total:{}] [Passed:{}] [Failed:{failed}] [Warn:0] [Skipped:{}]",
        if failed > 0 { "FAIL" } else { "PASS" },
        rules.len(),
        count(Status::Pass),
        count(Status::Skip)
    )?;
    Ok(())
}

fn write_json(
    image: &Image,
    r: &Report,
    dive_empty: &[usize],
    verdict: Option<&(Vec<RuleResult>, bool)>,
    out: &mut impl Write,
) -> Result<()> {
    let layers: Vec<serde_json::Value> = r
        .layers
        .iter()
        .map(|l| {
            let mut v = serde_json::to_value(l).expect("plain data");
            let layer = &image.layers[l.index];
            v["diff_id"] = serde_json::json!(layer.config_diff_id.as_ref().map(|d| d.to_string()));
            v["dive_reads_empty"] = serde_json::json!(dive_empty.contains(&l.index));
            v
        })
        .collect();
    let mut value = serde_json::json!({
        "source": image.source_path,
        "efficiency": r.efficiency,
        "wasted_bytes": r.wasted_bytes,
        "user_wasted_percent": r.user_wasted_percent,
        "image_size": r.image_size,
        "user_size": r.user_size,
        "files": r.files,
        "layers": layers,
        "hidden": r.hidden,
        "dive_cut_short": r.cut_short.iter().map(|(layer, path)| serde_json::json!({"layer": layer, "whiteout": path})).collect::<Vec<_>>(),
    });
    if let Some((rules, misconfigured)) = verdict {
        value["rules"] = serde_json::to_value(rules)?;
        let failed = rules.iter().any(|r| r.status == Status::Fail);
        value["result"] = serde_json::json!(match (misconfigured, failed) {
            (true, _) => "misconfigured",
            (false, true) => "fail",
            (false, false) => "pass",
        });
    }
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)?;
    Ok(())
}
