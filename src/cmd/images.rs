//! `strata images`: the images an archive holds, one row each.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::archive::listing::{summarize, ImageSummary};
use strata::archive::Archive;
use strata::digest::Digest;
use strata::render::{
    aligned_table, human_duration, human_size, podman_size, podman_tabwriter, tabwriter,
};
use strata::storage::images::{list_containers_storage_images, list_images};

use crate::cli::ImagesArgs;

pub fn run(args: ImagesArgs, out: &mut impl Write) -> Result<ExitCode> {
    if let Some(source) = args
        .archive
        .to_str()
        .filter(|s| s.starts_with("docker-root:") || s.starts_with("containers-storage:"))
    {
        return data_root(source, &args, out);
    }
    if args.storage_root.is_some() {
        anyhow::bail!(
            "--storage-root: applies to the `containers-storage:` source, and {} is not one",
            args.archive.display()
        );
    }
    if args.docker_root.is_some() {
        anyhow::bail!(
            "--docker-root: applies to the `docker-root:` source, and {} is not one",
            args.archive.display()
        );
    }
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
                    format!(
                        "unreadable: {}",
                        strata::rawname::escape_for_message(e, 120)
                    )
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
        strata::rawname::escape_for_message(&i.tags.join(", "), 200)
    }
}

/// `docker images` of a data root: REPOSITORY, TAG, IMAGE ID, CREATED, SIZE, aligned as docker
/// aligns them (a containers-storage root in the same table, with podman's sizes).
fn data_root(source: &str, args: &ImagesArgs, out: &mut impl Write) -> Result<ExitCode> {
    let rows = if source.starts_with("docker-root:") {
        if args.storage_root.is_some() {
            anyhow::bail!("--storage-root: applies to `containers-storage:`; use --docker-root");
        }
        let root = super::storage::open_docker_root(source, args.docker_root.as_deref())?;
        list_images(&root)?
    } else {
        if args.docker_root.is_some() {
            anyhow::bail!("--docker-root: applies to `docker-root:`; use --storage-root");
        }
        let root = super::storage::open_containers_storage(source, args.storage_root.as_deref())?;
        list_containers_storage_images(&root)?
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    // podman's table for its own storage: its widths, and a space before the size unit.
    let podman = source.starts_with("containers-storage:");
    let mut text = String::from("REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n");
    let now = chrono::Utc::now();
    for r in &rows {
        let id = if args.no_trunc {
            r.id.to_string()
        } else {
            r.id.short().to_string()
        };
        let created = match r.created_time() {
            None => "N/A".to_string(),
            Some(t) => {
                // docker counts from whole seconds.
                let secs = now.timestamp() - t.timestamp();
                let age = std::time::Duration::from_secs(secs.max(0) as u64);
                format!("{} ago", human_duration(age))
            }
        };
        let size = if podman {
            podman_size(r.size)
        } else {
            human_size(r.size)
        };
        text.push_str(&format!(
            "{}\t{}\t{id}\t{created}\t{size}\n",
            r.repository, r.tag,
        ));
    }
    let table = if podman {
        podman_tabwriter(&text)
    } else {
        tabwriter(&text)
    };
    out.write_all(table.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
