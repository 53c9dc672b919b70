//! `strata store ls|rm|prune`: the layer store's layers, and which mounts use them.
//!
//! Removal takes the layer's lock exclusively without waiting (a layer a running strata uses
//! is in use), reads the mount records only then (a mount records its layers before it lets
//! go of their locks), and unpublishes the layer by one rename before deleting it.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use strata::digest::Digest;
use strata::overlay::mountinfo;
use strata::overlay::store::{LayerState, LockMode, Store};
use strata::overlay::{mount_records, remove_mount_dir};
use strata::render::aligned_table;

use crate::cli::{StoreAction, StoreArgs};

pub fn run(args: StoreArgs, out: &mut impl Write) -> Result<ExitCode> {
    // An ordinary user's store holds rootless layers (user.overlay.opaque).
    let rootless = !rustix::process::geteuid().is_root();
    let store = super::open_store(args.store.as_deref(), rootless)?;
    match args.action {
        StoreAction::Ls { json } => ls(&store, json, out)?,
        StoreAction::Rm { chain_ids } => {
            for text in chain_ids {
                let id = Digest::parse(&text).with_context(|| format!("store rm {text}"))?;
                if store.layer_state(&id)? == LayerState::Missing {
                    bail!("layer {id} is not in the store {}", store.root.display());
                }
                let Some(lock) = store.lock(&id, LockMode::Exclusive, false)? else {
                    bail!("layer {id} is in use by a running strata");
                };
                if let Some(u) = layer_users(&store).get(id.as_str()) {
                    bail!("layer {id} is in use by {}", u.join(", "));
                }
                store
                    .remove_layer(&id)
                    .with_context(|| format!("removing layer {id}"))?;
                store.forget_lock(lock);
                writeln!(out, "removed {id}")?;
            }
        }
        StoreAction::Prune => prune(&store, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn ls(store: &Store, json: bool, out: &mut impl Write) -> Result<()> {
    let users = layer_users(store);
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
        return Ok(());
    }
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
    Ok(())
}

/// Removes, in this order: what dead runs left in `tmp/`, records of mounts that are gone,
/// incomplete layers, layers no mount uses, then `l/` links and lock files of no layer.
fn prune(store: &Store, out: &mut impl Write) -> Result<()> {
    for left in store.remove_dead_leftovers() {
        writeln!(out, "removed {left} (left by a killed run)")?;
    }
    let table = mountinfo::read();
    for record in mount_records(store) {
        if record.is_live(store, &table) {
            continue;
        }
        remove_mount_dir(store, &record.id)
            .with_context(|| format!("removing {}", record.dir(store).display()))?;
        writeln!(
            out,
            "removed mounts/{} (its mount at {} is gone)",
            record.id,
            record.mountpoint().unwrap_or("?")
        )?;
    }
    let mut removed = 0;
    let mut busy = 0;
    for (hex, state) in store.layer_entries()? {
        let id = match &state {
            LayerState::Foreign(why) => {
                eprintln!(
                    "strata: left alone {}: {why}; strata did not make it",
                    store.layer_path(&hex).display()
                );
                continue;
            }
            LayerState::Missing => continue,
            _ => Digest::parse(&format!("sha256:{hex}"))?,
        };
        let Some(lock) = store.lock(&id, LockMode::Exclusive, false)? else {
            busy += 1;
            continue;
        };
        if layer_users(store).contains_key(id.as_str()) {
            continue;
        }
        store
            .remove_layer(&id)
            .with_context(|| format!("removing layer {id}"))?;
        store.forget_lock(lock);
        if state == LayerState::Incomplete {
            writeln!(out, "removed incomplete layer {id}")?;
        }
        removed += 1;
    }
    store.remove_dangling_links();
    store.remove_unused_locks();
    write!(out, "removed {removed} unused layer(s)")?;
    if busy > 0 {
        write!(out, "; {busy} in use by a running strata")?;
    }
    writeln!(out)?;
    Ok(())
}

/// chainID -> the mountpoints whose mounts use that layer.
fn layer_users(store: &Store) -> BTreeMap<String, Vec<String>> {
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in mount_records(store) {
        let mountpoint = record.mountpoint().unwrap_or("?").to_string();
        for id in record.layers() {
            users
                .entry(id.to_string())
                .or_default()
                .push(mountpoint.clone());
        }
    }
    users
}
