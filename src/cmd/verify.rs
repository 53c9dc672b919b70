//! `strata verify`: recompute every digest, size and diffID from the bytes and compare them with
//! what the manifest and config claim. Exit 0 if all hold, 1 on any mismatch.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::digest::{chain_ids, Digest};
use strata::error::ArchiveError;
use strata::image::{Check, Image};

use crate::cli::VerifyArgs;

pub fn run(args: VerifyArgs, out: &mut impl Write) -> Result<ExitCode> {
    let expect_chain = args
        .expect_chainid
        .as_deref()
        .map(Digest::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--expect-chainid: {e}"))?;
    let image = super::open_image(&args.select)?;
    if image.format == strata::archive::Format::DockerSaveV1 {
        // Its config is made from the layers (as docker makes it), so the diffIDs agree by
        // construction: what verify shows is that every layer reads to its end.
        super::warn(&format!(
            "{}: a pre-1.10 docker save names no digests; its layers can be read, not checked against anything",
            image.source_path
        ));
    }
    let mut checks: Vec<Check> = image.checks.clone();
    let (layer_checks, diff_ids, stopped) = check_layers(&image);
    checks.extend(layer_checks);
    if let Some(expected) = expect_chain {
        checks.push(chain_check(&image, &diff_ids, &expected));
    }
    let ok = checks.iter().all(|c| c.ok);
    write(&args, &image, &checks, ok, out)?;
    if let Some(e) = stopped {
        return Err(e.into());
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_MISMATCH)
    })
}

/// Reads every layer and checks it: the checks, the diffIDs of the layers read, and the error
/// that stops the verdict. A layer that could not be read stops it (exit 2) unless its blob is
/// simply not the one the manifest names: then the mismatch explains it (exit 1).
fn check_layers(image: &Image) -> (Vec<Check>, Vec<Digest>, Option<ArchiveError>) {
    let mut checks = Vec::new();
    let mut diff_ids = Vec::new();
    let mut stopped = None;
    for (layer, result) in image.layers.iter().zip(image.scan_each()) {
        match result {
            Ok(stats) => {
                checks.extend(Check::of_layer(layer, &stats.measured, ""));
                diff_ids.push(stats.diff_id().clone());
            }
            Err(e) => {
                let layer_checks = Check::of_failed_layer(layer, &e);
                // A data root's file that differs from its record is a finding too.
                let changed_on_disk =
                    matches!(&e.problem, strata::error::Problem::DataRoot(f) if f.changed);
                let explained = changed_on_disk
                    || layer_checks.iter().any(|c| {
                        c.what == "blob_digest" && !c.ok && c.found.starts_with("sha256:")
                    });
                checks.extend(layer_checks);
                if explained || stopped.is_some() {
                    super::warn(&e.to_string());
                } else {
                    stopped = Some(e);
                }
            }
        }
    }
    (checks, diff_ids, stopped)
}

/// `--expect-chainid` against the top layer's chainID.
fn chain_check(image: &Image, diff_ids: &[Digest], expected: &Digest) -> Check {
    let found = if diff_ids.len() == image.layers.len() {
        chain_ids(diff_ids)
            .last()
            .map_or("(no layers)".to_string(), |c| c.to_string())
    } else {
        "unknown (a layer could not be read)".to_string()
    };
    Check {
        ok: expected.as_str() == found,
        what: "chain_id",
        layer_index: image.layers.len().checked_sub(1),
        expected: expected.to_string(),
        found,
        entry: "top layer".into(),
    }
}

fn write(
    args: &VerifyArgs,
    image: &Image,
    checks: &[Check],
    ok: bool,
    out: &mut impl Write,
) -> Result<()> {
    if let Some(text) = &args.format {
        let template = strata::render::template::Template::parse(text)
            .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
        for c in checks {
            writeln!(out, "{}", template.render(&serde_json::to_value(c)?))?;
        }
    } else if args.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"ok": ok, "checks": checks}))?;
        writeln!(out)?;
    } else {
        let width = (!args.no_trunc)
            .then(|| strata::render::fit::Target::stdout().width)
            .flatten();
        for c in checks {
            writeln!(out, "{}", fitted_line(c, width))?;
        }
        let failed = checks.iter().filter(|c| !c.ok).count();
        if failed == 0 {
            writeln!(
                out,
                "verified {}: {}, all ok",
                image.source_path,
                strata::render::count(checks.len() as u64, "check", "checks")
            )?;
        } else {
            writeln!(
                out,
                "{}: {failed} of {} checks FAILED",
                image.source_path,
                checks.len()
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The check's line, shortened to `width` columns when it is longer: digests to their first 12
/// hex digits first, then the entry name cut with `…`.
fn fitted_line(c: &Check, width: Option<usize>) -> String {
    let full = line(c);
    let Some(max) = width else { return full };
    let visible = |s: &str| strata::render::display_width(&strip_colour(s));
    if visible(&full) <= max {
        return full;
    }
    let short = |v: &str| match Digest::parse(v) {
        Ok(d) => d.short().to_string(),
        Err(_) => v.to_string(),
    };
    let mut c = c.clone();
    c.expected = short(&c.expected);
    c.found = short(&c.found);
    let without_entry = visible(&line(&Check {
        entry: String::new(),
        ..c.clone()
    }));
    let room = max.saturating_sub(without_entry).max(8);
    c.entry = strata::render::ellipsis(&c.entry, room);
    line(&c)
}

/// `text` without the `ESC[…m` sequences [`line`] may colour it with.
fn strip_colour(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn line(c: &Check) -> String {
    let subject = match c.layer_index {
        Some(i) => format!("layer {i} {}", c.what),
        None => c.what.to_string(),
    };
    use strata::render::color::{paint, Paint, Stream};
    if c.ok {
        let ok = paint(Stream::Stdout, Paint::Good, "ok");
        format!("{ok}        {subject:<22} {}  ({})", c.found, c.entry)
    } else {
        let bad = paint(Stream::Stdout, Paint::Bad, "MISMATCH");
        format!(
            "{bad}  {subject:<22} expected {}, found {}  ({})",
            c.expected, c.found, c.entry
        )
    }
}
