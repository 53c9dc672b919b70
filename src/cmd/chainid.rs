//! `strata chainid`: chainIDs from diffIDs given as arguments, on stdin, or in an image's config.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::digest::{chain_ids, Digest};

use crate::cli::ChainidArgs;

pub fn run(args: ChainidArgs, out: &mut impl Write) -> Result<ExitCode> {
    let diff_ids = if let Some(path) = &args.archive {
        let image = super::open_source(
            path,
            args.image_ref.as_deref(),
            args.platform.as_deref(),
            super::Roots {
                docker: args.docker_root.as_deref(),
                storage: None,
            },
            false,
        )?;
        image.diff_ids_from_config()?
    } else if !args.diff_ids.is_empty() {
        parse_all(
            args.diff_ids
                .iter()
                .map(|s| (s.clone(), "argument".to_string())),
        )?
    } else {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            bail!("give diffIDs as arguments, one per line on stdin, or an image archive with --archive");
        }
        let mut lines = Vec::new();
        for (n, line) in stdin.lock().lines().enumerate() {
            let line = line.context("reading diffIDs from stdin")?;
            let line = line.trim();
            if !line.is_empty() {
                lines.push((line.to_string(), format!("stdin line {}", n + 1)));
            }
        }
        if lines.is_empty() {
            bail!("no diffIDs on stdin");
        }
        parse_all(lines.into_iter())?
    };
    let chain = chain_ids(&diff_ids);
    if args.json {
        let rows: Vec<serde_json::Value> = diff_ids
            .iter()
            .zip(&chain)
            .enumerate()
            .map(|(index, (d, c))| serde_json::json!({"index": index, "diff_id": d, "chain_id": c}))
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
    } else {
        for c in chain {
            writeln!(out, "{c}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_all(items: impl Iterator<Item = (String, String)>) -> Result<Vec<Digest>> {
    items
        .map(|(text, place)| {
            Digest::parse(&text).with_context(|| {
                // An archive given where diffIDs go: say where it goes.
                let is_path = !text.starts_with("sha256:") && std::path::Path::new(&text).exists();
                if is_path {
                    format!(
                        "{place}: invalid diffID (`{}` is a file: to read an archive's chain, use --archive {})",
                        strata::rawname::escape_for_message(&text, 200),
                        strata::rawname::escape_for_message(&text, 200)
                    )
                } else {
                    format!("{place}: invalid diffID")
                }
            })
        })
        .collect()
}
