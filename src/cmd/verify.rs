//! `strata verify`: recompute every digest, size and diffID from the bytes and compare them with
//! what the manifest and config claim. Exit 0 if all hold, 1 on any mismatch.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::digest::{chain_ids, Digest};
use strata::image::Check;

use crate::cli::VerifyArgs;

pub fn run(args: VerifyArgs, out: &mut impl Write) -> Result<ExitCode> {
    let expect_chain = args
        .expect_chainid
        .as_deref()
        .map(Digest::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--expect-chainid: {e}"))?;
    let image = super::open_image(&args.select)?;
    let mut checks: Vec<Check> = image.checks.clone();
    let mut diff_ids = Vec::new();
    // A layer that could not be read stops the verdict (exit 2) unless its blob is simply not
    // the one the manifest names: then the mismatch explains it (exit 1).
    let mut stopped = None;
    for (layer, result) in image.layers.iter().zip(image.scan_each()) {
        match result {
            Ok(stats) => {
                checks.extend(layer.checks(&stats));
                diff_ids.push(stats.diff_id);
            }
            Err(e) => {
                let layer_checks = layer.checks_failed(&e);
                // A data root's file that differs from its record is a finding too.
                let changed_on_disk =
                    matches!(&e.problem, strata::error::Problem::DataRoot(f) if f.changed);
                let explained = changed_on_disk
                    || layer_checks.iter().any(|c| {
                        c.what == "blob_digest" && !c.ok && c.found.starts_with("sha256:")
                    });
                checks.extend(layer_checks);
                if explained {
                    super::warn(&e.to_string());
                } else if stopped.is_none() {
                    stopped = Some(e);
                } else {
                    super::warn(&e.to_string());
                }
            }
        }
    }
    if let Some(expected) = expect_chain {
        let found = if diff_ids.len() == image.layers.len() {
            chain_ids(&diff_ids)
                .last()
                .map_or("(no layers)".to_string(), |c| c.to_string())
        } else {
            "unknown (a layer could not be read)".to_string()
        };
        checks.push(Check {
            ok: expected.as_str() == found,
            what: "chain_id",
            layer_index: image.layers.len().checked_sub(1),
            expected: expected.to_string(),
            found,
            entry: "top layer".into(),
        });
    }
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({"ok": ok, "checks": checks}))?;
        writeln!(out)?;
    } else {
        for c in &checks {
            writeln!(out, "{}", line(c))?;
        }
        let failed = checks.iter().filter(|c| !c.ok).count();
        if failed == 0 {
            writeln!(
                out,
                "verified {}: {} checks, all ok",
                image.source_path,
                checks.len()
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
    if let Some(e) = stopped {
        return Err(e.into());
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_MISMATCH)
    })
}

fn line(c: &Check) -> String {
    let subject = match c.layer_index {
        Some(i) => format!("layer {i} {}", c.what),
        None => c.what.to_string(),
    };
    if c.ok {
        format!("ok        {subject:<22} {}  ({})", c.found, c.entry)
    } else {
        format!(
            "MISMATCH  {subject:<22} expected {}, found {}  ({})",
            c.expected, c.found, c.entry
        )
    }
}
