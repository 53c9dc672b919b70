//! `strata cat`: one file's bytes as of a layer, streamed from the layer that holds them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use strata::entries::read_layer;
use strata::error::{ArchiveError, Problem};
use strata::explore::node::NodeType;
use strata::explore::scan::{build, ScanOptions};
use strata::targuard::SparseBudget;

use crate::cli::CatArgs;

pub fn run(args: CatArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let limits = super::limits_of(&args.limits, false);
    let (image, top) = super::open_layered(&args.select, args.layer, "read", &limits)?;
    let tree = build(&image, top, &limits, ScanOptions::default(), |_, _| Ok(()))?;
    let wanted = strata::rawname::from_bytes(args.path.as_bytes()).into_owned();
    let shown = &args.path;
    let real = tree
        .resolve(&wanted, true)
        .map_err(|e| anyhow::anyhow!("{shown}: {e} in the image as of layer {top}"))?;
    let Some(node) = tree.get(&real) else {
        bail!("{shown}: no such file in the image as of layer {top}");
    };
    let data = match (node.kind, node.data) {
        (NodeType::File | NodeType::Hardlink, Some(d)) => d,
        (NodeType::Dir, _) => bail!("{shown}: is a directory (list it with `strata ls`)"),
        (kind, _) => bail!("{shown}: is a {}, not a regular file", kind_text(kind)),
    };
    // The layers were verified by the scan; this second read checks the holder's digests again.
    // The whole image was within the limits: its counts start over for the one layer read again.
    limits.restart();
    let layer = &image.layers[data.layer as usize];
    let mut found = false;
    read_layer(
        &image,
        layer,
        &limits,
        &SparseBudget::default(),
        |position, _, entry, _| {
            if position != data.position as usize {
                return Ok(());
            }
            found = true;
            std::io::copy(entry, out).map(|_| ()).map_err(|e| {
                ArchiveError::new(
                    &image.source_path,
                    Some(shown.to_string()),
                    Problem::Write(e),
                )
            })
        },
    )?;
    if !found {
        bail!(
            "{}: layer {} ended before entry {} of `{shown}`",
            image.source_path,
            data.layer,
            data.position
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn kind_text(kind: NodeType) -> &'static str {
    match kind {
        NodeType::Symlink => "symlink",
        NodeType::Char => "character device",
        NodeType::Block => "block device",
        NodeType::Fifo => "fifo",
        _ => "special file",
    }
}
