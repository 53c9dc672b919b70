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
use strata::overlay::store::{LayerState, LockMode, Store, StoredLayer};
use strata::overlay::{mount_records, remove_mount_dir};

use crate::cli::{StoreAction, StoreArgs};

pub fn run(args: StoreArgs, out: &mut impl Write) -> Result<ExitCode> {
    // An ordinary user's store holds rootless layers (user.overlay.opaque).
    let rootless = !rustix::process::geteuid().is_root();
    let store = super::open_store(args.store.as_deref(), rootless)?;
    match args.action {
        StoreAction::Ls {
            json,
            no_trunc,
            format,
        } => ls(&store, json, no_trunc, format.as_deref(), out)?,
        StoreAction::Rm { chain_ids } => {
            for text in chain_ids {
                if let Some(name) = text.strip_prefix("kept/") {
                    remove_kept(&store, name, out)?;
                    continue;
                }
                let id = resolve_layer(&store, &text)?;
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

fn ls(
    store: &Store,
    json: bool,
    no_trunc: bool,
    format: Option<&str>,
    out: &mut impl Write,
) -> Result<()> {
    let template = format
        .map(strata::render::template::Template::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--format: {e}"))?;
    let users = layer_users(store);
    let layers = store.layers()?;
    let kept = kept_uppers(store);
    if json || template.is_some() {
        let rows = ls_rows(&layers, &kept, &users);
        if let Some(t) = &template {
            for row in &rows {
                writeln!(out, "{}", t.render(row))?;
            }
            return Ok(());
        }
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    ls_tables(&layers, &kept, &users, no_trunc, out)
}

/// `store ls --json` (and `--format`): a row per layer, then one per kept upper dir.
fn ls_rows(
    layers: &[StoredLayer],
    kept: &[Kept],
    users: &BTreeMap<String, Vec<String>>,
) -> Vec<serde_json::Value> {
    let mut rows: Vec<_> = layers
        .iter()
        .map(|l| {
            serde_json::json!({
                "kind": "layer",
                "chain_id": l.chain_id, "diff_id": l.diff_id, "parent": l.parent,
                "size": l.size, "link": l.link,
                "used_by": users.get(&l.chain_id).cloned().unwrap_or_default(),
            })
        })
        .collect();
    rows.extend(kept.iter().map(|k| {
        serde_json::json!({
            "kind": "kept", "name": format!("kept/{}", k.name),
            "path": k.path.join("upper"), "size": k.bytes,
        })
    }));
    rows
}

/// `store ls` as tables: the layers, then the kept upper dirs if there are any.
fn ls_tables(
    layers: &[StoredLayer],
    kept: &[Kept],
    users: &BTreeMap<String, Vec<String>>,
    no_trunc: bool,
    out: &mut impl Write,
) -> Result<()> {
    let id = |text: &str| match Digest::parse(text) {
        Ok(d) if !no_trunc => d.short().to_string(),
        _ => text.to_string(),
    };
    use strata::render::fit::{render, Column, Target};
    let col = |header, right, cut_to, drop_rank| Column {
        header,
        right,
        cut_to,
        drop_rank,
    };
    // On a narrow terminal the mounts using a layer are cut first, then the diffID goes (the
    // chainID names the layer).
    let columns = [
        col("CHAIN ID", false, None, None),
        col("DIFF ID", false, None, Some(1)),
        col("FILE BYTES", true, None, None),
        col("USED BY", false, Some(12), None),
    ];
    let target = Target::stdout();
    let mut rows = Vec::new();
    for l in layers {
        rows.push(vec![
            id(&l.chain_id),
            id(&l.diff_id),
            strata::render::human_size(l.size),
            users
                .get(&l.chain_id)
                .map(|u| u.join(", "))
                .unwrap_or_default(),
        ]);
    }
    out.write_all(render(&columns, &rows, target, no_trunc).as_bytes())?;
    if !kept.is_empty() {
        writeln!(out)?;
        let columns = [
            col("KEPT UPPER DIR", false, None, None),
            col("FILE BYTES", true, None, None),
            col("PATH", false, Some(12), None),
        ];
        let mut rows = Vec::new();
        for k in kept {
            rows.push(vec![
                format!("kept/{}", k.name),
                strata::render::human_size(k.bytes),
                k.path.join("upper").display().to_string(),
            ]);
        }
        out.write_all(render(&columns, &rows, target, no_trunc).as_bytes())?;
    }
    Ok(())
}

/// An upper dir `umount --keep-upper` moved to `kept/`.
struct Kept {
    name: String,
    path: std::path::PathBuf,
    /// Regular-file bytes under it.
    bytes: u64,
}

fn kept_uppers(store: &Store) -> Vec<Kept> {
    let dir = store.root.join("kept");
    let mut out: Vec<Kept> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| Kept {
            name: e.file_name().to_string_lossy().into_owned(),
            bytes: file_bytes(&e.path()),
            path: e.path(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Regular-file bytes under `dir`, not following symlinks.
fn file_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

fn remove_kept(store: &Store, name: &str, out: &mut impl Write) -> Result<()> {
    let valid = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
    let path = store.root.join("kept").join(name);
    if !valid || !path.is_dir() {
        bail!(
            "no kept upper dir kept/{} in the store {} (`strata store ls` lists them)",
            strata::rawname::escape_for_message(name, 100),
            store.root.display()
        );
    }
    strata::overlay::remove_all(&path).with_context(|| format!("removing {}", path.display()))?;
    writeln!(out, "removed kept/{name}")?;
    Ok(())
}

/// A chainID in full, or a hex prefix (with or without `sha256:`) that one layer alone has.
fn resolve_layer(store: &Store, text: &str) -> Result<Digest> {
    if let Ok(id) = Digest::parse(text) {
        return Ok(id);
    }
    let hex = text
        .strip_prefix("sha256:")
        .unwrap_or(text)
        .to_ascii_lowercase();
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "store rm {}: not a chainID (sha256:<64 hex>, or a prefix of one as `store ls` shows it)",
            strata::rawname::escape_for_message(text, 100)
        );
    }
    let matching: Vec<String> = store
        .layers()?
        .into_iter()
        .map(|l| l.chain_id)
        .filter(|c| c.strip_prefix("sha256:").unwrap_or(c).starts_with(&hex))
        .collect();
    match matching.as_slice() {
        [one] => Ok(Digest::parse(one)?),
        [] => bail!(
            "no layer in the store {} has a chainID starting with {hex}",
            store.root.display()
        ),
        many => bail!(
            "{hex} is the start of {} chainIDs in the store; give more of it:\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
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
    let noun = if removed == 1 { "layer" } else { "layers" };
    write!(out, "removed {removed} unused {noun}")?;
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
