//! `strata store ls|rm|prune`: the layer store's layers, and which mounts use them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::digest::Digest;
use strata::overlay::store::Store;
use strata::overlay::{read_mount_info, remove_all};
use strata::render::aligned_table;

use crate::cli::{StoreAction, StoreArgs};

pub fn run(args: StoreArgs, out: &mut impl Write) -> Result<ExitCode> {
    let store = Store::open(Store::locate(args.store.as_deref()), false)
        .context("opening the layer store")?;
    let users = layer_users(&store)?;
    match args.action {
        StoreAction::Ls { json } => {
            let layers = store.layers()?;
            if json {
                let rows: Vec<_> = layers
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "chain_id": l.chain_id, "diff_id": l.diff_id, "parent": l.parent,
                            "size": l.size, "link": l.link,
                            "used_by": users.get(&l.chain_id).cloned().unwrap_or_default(),
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut *out, &rows)?;
                writeln!(out)?;
            } else {
                let mut rows = vec![vec![
                    "CHAIN ID".into(),
                    "DIFF ID".into(),
                    "SIZE".into(),
                    "USED BY".into(),
                ]];
                for l in &layers {
                    rows.push(vec![
                        l.chain_id.clone(),
                        l.diff_id.clone(),
                        strata::render::human_size(l.size),
                        users
                            .get(&l.chain_id)
                            .map(|u| u.join(", "))
                            .unwrap_or_default(),
                    ]);
                }
                out.write_all(aligned_table(&rows).as_bytes())?;
            }
        }
        StoreAction::Rm { chain_ids } => {
            for text in chain_ids {
                let id = Digest::parse(&text).with_context(|| format!("store rm {text}"))?;
                if let Some(u) = users.get(id.as_str()) {
                    bail!("layer {id} is in use by {}", u.join(", "));
                }
                if !store.has_layer(&id) {
                    bail!("layer {id} is not in the store {}", store.root.display());
                }
                remove_layer(&store, &id)?;
                writeln!(out, "removed {id}")?;
            }
        }
        StoreAction::Prune => {
            let mut removed = 0;
            for l in store.layers()? {
                if users.contains_key(&l.chain_id) {
                    continue;
                }
                remove_layer(&store, &Digest::parse(&l.chain_id)?)?;
                removed += 1;
            }
            writeln!(out, "removed {removed} unused layer(s)")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove_layer(store: &Store, id: &Digest) -> Result<()> {
    let _lock = store.lock(id)?;
    if let Some(l) = store.read_layer(id.hex()) {
        let _ = fs::remove_file(store.root.join("l").join(l.link));
    }
    remove_all(&store.layer_dir(id)).with_context(|| format!("removing layer {id}"))
}

/// chainID -> the mountpoints whose mounts use that layer.
fn layer_users(store: &Store) -> Result<BTreeMap<String, Vec<String>>> {
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in fs::read_dir(store.root.join("mounts"))? {
        let Some(info) = read_mount_info(&entry?.path()) else {
            continue;
        };
        let mountpoint = info["mountpoint"].as_str().unwrap_or("?").to_string();
        for layer in info["layers"].as_array().into_iter().flatten() {
            if let Some(id) = layer.as_str() {
                users
                    .entry(id.to_string())
                    .or_default()
                    .push(mountpoint.clone());
            }
        }
    }
    Ok(users)
}
