//! `strata images`: the images an archive holds, one row each.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::archive::listing::{summarize, ImageSummary};
use strata::archive::Archive;
use strata::digest::Digest;
use strata::render::{aligned_table, human_size};

use crate::cli::ImagesArgs;

pub fn run(args: ImagesArgs, out: &mut impl Write) -> Result<ExitCode> {
    let archive = Archive::open(&args.archive)?;
    let images = summarize(&archive);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &images)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let digest = |d: &Option<Digest>| match d {
        None => "-".to_string(),
        Some(d) if args.no_trunc => d.to_string(),
        Some(d) => d.short().to_string(),
    };
    let mut rows = vec![[
        "#", "TAGS", "PLATFORM", "IMAGE ID", "MANIFEST", "LAYERS", "SIZE",
    ]
    .map(String::from)
    .to_vec()];
    for i in &images {
        rows.push(vec![
            format!("#{}", i.number),
            tags(i),
            i.platform.clone().unwrap_or_else(|| "-".into()),
            digest(&i.config_digest),
            digest(&i.manifest_digest),
            i.layers.map_or("-".into(), |n| n.to_string()),
            match (&i.error, i.stored_size) {
                (Some(e), _) => {
                    format!("unreadable: {}", strata::render::escape_for_message(e, 120))
                }
                (None, Some(n)) => human_size(n),
                (None, None) => "-".into(),
            },
        ]);
    }
    out.write_all(aligned_table(&rows).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn tags(i: &ImageSummary) -> String {
    if i.tags.is_empty() {
        "<none>".into()
    } else {
        strata::render::escape_for_message(&i.tags.join(", "), 200)
    }
}
