//! `strata diff`: what each layer did to the tree below it (added, modified, deleted), or two
//! images' merged trees compared by content.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use strata::explore::apply::{Change, ChangeKind, Side};
use strata::explore::node::{Node, NodeType};
use strata::explore::scan::{build, ScanOptions};
use strata::explore::tree::Tree;
use strata::extract::limits::Limits;
use strata::image::Image;
use strata::render::{ellipsis, escape_for_message, human_size};

use super::ls::{shown, shown_path};
use crate::cli::{DiffArgs, ImageSelect};

pub fn run(args: DiffArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let limits = super::limits_of(&args.limits, false);
    let sizes = Sizes { bytes: args.bytes };
    if args.other.is_some() || args.other_image.is_some() {
        return two_images(&args, &limits, &sizes, out);
    }
    if args.other_platform.is_some() {
        bail!("--other-platform needs a second image (OTHER or --other-image)");
    }
    let (image, top) = super::open_layered(&args.select, args.layer, "compare", &limits)?;
    let options = ScanOptions {
        changes: true,
        ..ScanOptions::default()
    };
    let steps = created_by(&image);
    let mut first = true;
    if args.json {
        write!(out, "[")?;
    }
    // Each layer's changes are printed as soon as the layer is applied.
    build(&image, top, &limits, options, |index, changes| {
        if args.layer.is_some_and(|n| n != index) {
            return Ok(());
        }
        let written = if args.json {
            let sep = if first { "\n" } else { ",\n" };
            write_layer_json(out, sep, index, &changes)
        } else {
            write_layer(out, &image, index, steps.get(index), &changes, &sizes)
        };
        first = false;
        written.map_err(|e| {
            strata::ArchiveError::new(&image.source_path, None, strata::Problem::Write(e))
        })
    })?;
    if args.json {
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The history step that made each layer, by layer index.
fn created_by(image: &Image) -> Vec<String> {
    let zeros = vec![0; image.layers.len()];
    let history = image.config.history().as_deref().unwrap_or_default();
    let ids = [image.config_digest.clone()];
    let aligned = strata::history::align(history, &zeros, &ids, false);
    let mut steps = vec![String::new(); image.layers.len()];
    for row in aligned.rows {
        if let Some(i) = row.layer_index {
            steps[i] = row.created_by;
        }
    }
    steps
}

struct Sizes {
    bytes: bool,
}

impl Sizes {
    /// A regular file's size; `-` for anything else or nothing.
    fn of(&self, side: Option<Side>) -> String {
        let w = if self.bytes { 12 } else { 8 };
        match side {
            Some(s) if s.kind == NodeType::File => {
                let text = if self.bytes {
                    s.size.to_string()
                } else {
                    human_size(s.size)
                };
                format!("{text:>w$}")
            }
            _ => format!("{:>w$}", "-"),
        }
    }
}

fn letter(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::Added => 'A',
        ChangeKind::Modified => 'M',
        ChangeKind::Deleted => 'D',
    }
}

/// The kind a change's row shows: what the layer left, or what it deleted.
fn shown_kind(c: &Change) -> NodeType {
    c.after.or(c.before).map_or(NodeType::File, |s| s.kind)
}

fn write_layer(
    out: &mut dyn Write,
    image: &Image,
    index: usize,
    step: Option<&String>,
    changes: &[Change],
    sizes: &Sizes,
) -> std::io::Result<()> {
    let diff_id = image.layers[index]
        .config_diff_id
        .as_ref()
        .map(|d| format!("  {}", d.short()))
        .unwrap_or_default();
    let step = step
        .filter(|s| !s.is_empty())
        .map(|s| format!("  {}", ellipsis(&escape_for_message(s, 400), 60)))
        .unwrap_or_default();
    writeln!(out, "layer {index}{diff_id}{step}")?;
    let mut counts = [0usize; 3];
    for c in changes {
        counts[c.kind as usize] += 1;
        writeln!(
            out,
            "  {}  {}  {}  {}",
            letter(c.kind),
            sizes.of(c.before),
            sizes.of(c.after),
            shown_path(&c.path, shown_kind(c) == NodeType::Dir)
        )?;
    }
    writeln!(
        out,
        "  {} added, {} modified, {} deleted\n",
        counts[0], counts[1], counts[2]
    )
}

fn write_layer_json(
    out: &mut dyn Write,
    separator: &str,
    index: usize,
    changes: &[Change],
) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        path: std::borrow::Cow<'a, str>,
        change: ChangeKind,
        #[serde(rename = "type")]
        kind: &'a str,
        size: u64,
        size_before: u64,
    }
    // Written as serde_json writes `{"layer": N, "changes": [rows]}` compactly, a row at a
    // time into a buffer handed to `out` in large writes (serde_json's many small writes would
    // each go through `dyn Write`, and a layer's rows need not all be built first).
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    write!(buf, "{separator}{{\"layer\":{index},\"changes\":[")?;
    for (i, c) in changes.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let row = Row {
            path: strata::rawname::display(&c.path),
            change: c.kind,
            kind: shown_kind(c).name(),
            size: c.after.map_or(0, |s| s.size),
            size_before: c.before.map_or(0, |s| s.size),
        };
        serde_json::to_writer(&mut buf, &row)?;
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.extend_from_slice(b"]}");
    out.write_all(&buf)
}

/// How much serialized JSON is gathered before it is written out.
const FLUSH_AT: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Two images.

fn two_images(
    args: &DiffArgs,
    limits: &Limits,
    sizes: &Sizes,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let other = ImageSelect {
        archive: args
            .other
            .clone()
            .unwrap_or_else(|| args.select.archive.clone()),
        image: args.other_image.clone(),
        platform: args.other_platform.clone(),
        docker_root: None,
        storage_root: None,
    };
    // The data root is shared when the other image is one of it too.
    let other = ImageSelect {
        docker_root: args
            .select
            .docker_root
            .clone()
            .filter(|_| other.archive.to_string_lossy().starts_with("docker-root:")),
        storage_root: args.select.storage_root.clone().filter(|_| {
            other
                .archive
                .to_string_lossy()
                .starts_with("containers-storage:")
        }),
        ..other
    };
    if args.other.is_none() && args.select.archive.as_os_str() == "-" {
        bail!("--other-image: standard input can be read only once; save it to a file first");
    }
    let hashing = ScanOptions {
        hash_files: true,
        ..ScanOptions::default()
    };
    let tree_of = |select: &ImageSelect| -> Result<Tree> {
        let (image, top) = super::open_layered(select, None, "compare", limits)?;
        Ok(build(&image, top, limits, hashing, |_, _| Ok(()))?)
    };
    let a = tree_of(&args.select)?;
    let b = tree_of(&other)?;
    let compared = compare(&a, &b);
    if args.json {
        write_compared_json(out, &compared)?;
    } else {
        let side = |n: &Node| {
            Some(Side {
                kind: n.kind,
                size: n.size(),
            })
        };
        for (path, node) in &compared.added {
            writeln!(out, "A  {}  {}", sizes.of(side(node)), shown(path, node))?;
        }
        for (path, node) in &compared.removed {
            writeln!(out, "D  {}  {}", sizes.of(side(node)), shown(path, node))?;
        }
        for c in &compared.changed {
            writeln!(
                out,
                "C  {}  {}  {}  ({})",
                sizes.of(side(c.before)),
                sizes.of(side(c.after)),
                shown(c.path, c.after),
                c.what.join(", ")
            )?;
        }
        writeln!(
            out,
            "{} added, {} removed, {} changed",
            compared.added.len(),
            compared.removed.len(),
            compared.changed.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Compared<'t> {
    added: Vec<(&'t String, &'t Node)>,
    removed: Vec<(&'t String, &'t Node)>,
    changed: Vec<Changed<'t>>,
}

struct Changed<'t> {
    path: &'t String,
    before: &'t Node,
    after: &'t Node,
    what: Vec<String>,
}

/// Two merged trees compared path by path: type, content (sha256), link target, mode, owner
/// and device numbers. Times are left out: rebuilding an image changes them all.
fn compare<'t>(a: &'t Tree, b: &'t Tree) -> Compared<'t> {
    let mut compared = Compared {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    let mut left = a.iter().filter(|(p, _)| !p.is_empty()).peekable();
    let mut right = b.iter().filter(|(p, _)| !p.is_empty()).peekable();
    loop {
        let order = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((pa, _)), Some((pb, _))) => pa.cmp(pb),
        };
        match order {
            std::cmp::Ordering::Less => compared.removed.extend(left.next()),
            std::cmp::Ordering::Greater => compared.added.extend(right.next()),
            std::cmp::Ordering::Equal => {
                let (path, before) = left.next().expect("peeked");
                let (_, after) = right.next().expect("peeked");
                let what = differences(before, a, after, b);
                if !what.is_empty() {
                    compared.changed.push(Changed {
                        path,
                        before,
                        after,
                        what,
                    });
                }
            }
        }
    }
    compared
}

fn differences(a: &Node, ta: &Tree, b: &Node, tb: &Tree) -> Vec<String> {
    let mut what = Vec::new();
    // A hardlink is what it names: a file with the same bytes as a file is the same.
    if a.file_kind() != b.file_kind() {
        what.push(format!(
            "type {} → {}",
            a.file_kind().name(),
            b.file_kind().name()
        ));
        return what;
    }
    let sha = |n: &Node, t: &Tree| n.data.and_then(|d| t.hashes.get(&d).copied());
    if a.file_kind() == NodeType::File && sha(a, ta) != sha(b, tb) {
        what.push("content".to_string());
    }
    if a.kind == NodeType::Symlink && b.kind == NodeType::Symlink && a.link != b.link {
        what.push("target".to_string());
    }
    if a.device != b.device {
        what.push("device".to_string());
    }
    if a.mode != b.mode {
        what.push(format!("mode {:04o} → {:04o}", a.mode, b.mode));
    }
    if (a.uid, a.gid) != (b.uid, b.gid) {
        what.push(format!("owner {}:{} → {}:{}", a.uid, a.gid, b.uid, b.gid));
    }
    what
}

fn write_compared_json<'a>(out: &mut dyn Write, c: &'a Compared<'a>) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        path: String,
        #[serde(rename = "type")]
        kind: &'a str,
        size: u64,
        mode: u32,
        uid: u64,
        gid: u64,
        link: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size_before: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        changes: Option<&'a [String]>,
    }
    let entry = |path: &str, n: &'a Node| Entry {
        path: strata::rawname::display(path).into_owned(),
        kind: n.kind.name(),
        size: n.size(),
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        link: n
            .link
            .as_deref()
            .map(|l| strata::rawname::display(l).into_owned()),
        size_before: None,
        changes: None,
    };
    let value = serde_json::json!({
        "added": c.added.iter().map(|(p, n)| entry(p, n)).collect::<Vec<_>>(),
        "removed": c.removed.iter().map(|(p, n)| entry(p, n)).collect::<Vec<_>>(),
        "changed": c.changed.iter().map(|ch| Entry {
            size_before: Some(ch.before.size()),
            changes: Some(&ch.what),
            ..entry(ch.path, ch.after)
        }).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)?;
    Ok(())
}
