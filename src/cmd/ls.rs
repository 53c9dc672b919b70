//! `strata ls`: the merged tree as of a layer, each path with the layer its entry comes from;
//! flat, long, as a drawn hierarchy with directory totals, or as JSON.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use strata::explore::node::{Node, NodeType};
use strata::explore::scan::{build, ScanOptions};
use strata::explore::tree::Tree;
use strata::extract::rules::{file_name, parent};
use strata::render::{escape_for_message, human_size};

use crate::cli::{LsArgs, SortBy};

pub fn run(args: LsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let limits = super::limits_of(&args.limits, false);
    let (image, top) = super::open_layered(&args.select, args.layer, "list", &limits)?;
    let tree = build(&image, top, &limits, ScanOptions::default(), |_, _| Ok(()))?;
    let roots = selected(&tree, &args.paths, top)?;
    let totals = (args.tree || args.sort == SortBy::Size).then(|| dir_totals(&tree));
    let style = Style {
        long: args.long,
        human: args.human,
        sizes: args.tree,
        layer_width: format!("L{top}").len(),
    };
    if args.json {
        write_json(out, &tree, &roots)?;
    } else if args.tree {
        let totals = totals.as_ref().expect("computed for --tree");
        for root in &roots {
            write_tree(out, &tree, root, totals, &style, args.depth, args.sort)?;
        }
    } else {
        for root in &roots {
            let mut rows = rows_of(&tree, root);
            if let Some(t) = &totals {
                rows.sort_by_key(|(p, n)| std::cmp::Reverse(size_of(p, n, t)));
            }
            for (path, node) in rows {
                let size = match &totals {
                    Some(t) => Some(size_of(path, node, t)),
                    None => (!node.is_dir()).then(|| node.size()),
                };
                writeln!(out, "{}", style.line(node, size, &shown(path, node)))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The real paths the PATH arguments name (the whole tree without any).
fn selected(tree: &Tree, paths: &[String], top: usize) -> Result<Vec<String>> {
    if paths.is_empty() {
        return Ok(vec![String::new()]);
    }
    paths
        .iter()
        .map(|p| {
            let raw = strata::rawname::from_bytes(p.as_bytes()).into_owned();
            let real = tree
                .resolve(&raw, raw.ends_with('/'))
                .map_err(|e| anyhow::anyhow!("{p}: {e} in the image as of layer {top}"))?;
            if tree.get(&real).is_none() {
                anyhow::bail!("{p}: no such path in the image as of layer {top}");
            }
            Ok(real)
        })
        .collect()
}

/// `root` and what lies below it, in path order; the image's root itself is left out.
fn rows_of<'t>(tree: &'t Tree, root: &str) -> Vec<(&'t String, &'t Node)> {
    let mut rows = Vec::new();
    if !root.is_empty() {
        rows.extend(tree.entry(root));
    }
    if tree.get(root).is_some_and(Node::is_dir) {
        rows.extend(tree.below(root));
    }
    rows
}

/// Regular-file bytes below each directory.
fn dir_totals(tree: &Tree) -> HashMap<String, u64> {
    let mut totals: HashMap<String, u64> = HashMap::new();
    for (path, node) in tree.iter() {
        let size = node.size();
        if node.is_dir() {
            totals.entry(path.clone()).or_default();
        }
        if size == 0 || path.is_empty() {
            continue;
        }
        let mut dir = parent(path);
        loop {
            *totals.entry(dir.to_string()).or_default() += size;
            if dir.is_empty() {
                break;
            }
            dir = parent(dir);
        }
    }
    totals
}

fn size_of(path: &str, node: &Node, totals: &HashMap<String, u64>) -> u64 {
    if node.is_dir() {
        totals.get(path).copied().unwrap_or(0)
    } else {
        node.size()
    }
}

/// How a path is printed: `/` first, `/` after a directory, escaped.
pub fn shown(path: &str, node: &Node) -> String {
    shown_path(path, node.is_dir())
}

pub fn shown_path(path: &str, is_dir: bool) -> String {
    let mut s = format!("/{}", escape_for_message(path, usize::MAX));
    if is_dir && !path.is_empty() {
        s.push('/');
    }
    s
}

/// ` -> target` for a symlink, ` link to /target` for a hardlink.
fn link_suffix(node: &Node) -> String {
    match (node.kind, &node.link) {
        (NodeType::Symlink, Some(t)) => format!(" -> {}", escape_for_message(t, usize::MAX)),
        (NodeType::Hardlink, Some(t)) => {
            format!(" link to /{}", escape_for_message(t, usize::MAX))
        }
        _ => String::new(),
    }
}

struct Style {
    long: bool,
    human: bool,
    /// Show a size column even without `long` (the drawn tree).
    sizes: bool,
    layer_width: usize,
}

impl Style {
    /// A regular file's bytes, a directory's total when known; `-` for anything else.
    fn size(&self, node: &Node, size: Option<u64>) -> String {
        let text = match (node.kind, size) {
            (NodeType::File | NodeType::Dir, Some(bytes)) if self.human => human_size(bytes),
            (NodeType::File | NodeType::Dir, Some(bytes)) => bytes.to_string(),
            _ => "-".to_string(),
        };
        let w = if self.human { 8 } else { 12 };
        format!("{text:>w$}")
    }

    /// One row: `L2  /etc/passwd`, or with `-l` `-rw-r--r--  0:0  1234  L2  /etc/passwd`.
    fn line(&self, node: &Node, size: Option<u64>, name: &str) -> String {
        let layer = format!("{:<w$}", format!("L{}", node.layer), w = self.layer_width);
        let suffix = link_suffix(node);
        let size = match node.device {
            Some((ma, mi)) => format!(
                "{:>w$}",
                format!("{ma}, {mi}"),
                w = if self.human { 8 } else { 12 }
            ),
            None => self.size(node, size),
        };
        match (self.long, self.sizes) {
            (false, false) => format!("{layer}  {name}{suffix}"),
            (false, true) => format!("{size}  {layer}  {name}{suffix}"),
            (true, _) => {
                let owner = format!("{}:{}", node.uid, node.gid);
                format!(
                    "{}  {owner:<11}  {size}  {layer}  {name}{suffix}",
                    node.mode_string()
                )
            }
        }
    }
}

fn write_json(out: &mut dyn Write, tree: &Tree, roots: &[String]) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        path: Cow<'a, str>,
        #[serde(rename = "type")]
        kind: &'a str,
        size: u64,
        mode: u32,
        uid: u64,
        gid: u64,
        link: Option<Cow<'a, str>>,
        layer: usize,
    }
    // Rows are serialized into a buffer handed to `out` in large writes: serde_json's many
    // small writes would each go through `dyn Write`.
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 4096);
    buf.push(b'[');
    let mut first = true;
    for root in roots {
        for (path, node) in rows_of(tree, root) {
            if path.is_empty() {
                continue;
            }
            let row = Row {
                path: strata::rawname::display(path),
                kind: node.kind.name(),
                size: node.size(),
                mode: node.mode,
                uid: node.uid,
                gid: node.gid,
                link: node.link.as_deref().map(strata::rawname::display),
                layer: node.layer,
            };
            buf.extend_from_slice(if first { b"\n  " } else { b",\n  " });
            first = false;
            serde_json::to_writer(&mut buf, &row)?;
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    out.write_all(&buf)?;
    writeln!(out, "{}]", if first { "" } else { "\n" })?;
    Ok(())
}

/// How much serialized JSON is gathered before it is written out.
const FLUSH_AT: usize = 64 * 1024;

/// The hierarchy below `root`, drawn with `├──`/`└──`, sizes and layers in front.
fn write_tree(
    out: &mut dyn Write,
    tree: &Tree,
    root: &str,
    totals: &HashMap<String, u64>,
    style: &Style,
    depth: Option<usize>,
    sort: SortBy,
) -> Result<()> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    let below: Vec<&String> = if tree.get(root).is_some_and(Node::is_dir) {
        tree.below(root).map(|(p, _)| p).collect()
    } else {
        Vec::new()
    };
    let root_depth = components(root);
    for p in &below {
        if depth.is_some_and(|d| components(p) - root_depth > d) {
            continue;
        }
        children.entry(parent(p)).or_default().push(p.as_str());
    }
    let node_of = |p: &str| tree.get(p).expect("listed paths are in the tree");
    for list in children.values_mut() {
        if sort == SortBy::Size {
            list.sort_by_key(|p| std::cmp::Reverse(size_of(p, node_of(p), totals)));
        }
    }
    let root_node = node_of(root);
    let root_name = shown(root, root_node);
    let size = size_of(root, root_node, totals);
    writeln!(out, "{}", style.line(root_node, Some(size), &root_name))?;
    // (path, the drawing in front of its children, is it its parent's last child)
    let mut stack: Vec<(&str, String, bool)> = Vec::new();
    fn push_children<'t>(
        stack: &mut Vec<(&'t str, String, bool)>,
        children: &HashMap<&str, Vec<&'t str>>,
        dir: &str,
        prefix: &str,
    ) {
        if let Some(list) = children.get(dir) {
            for (i, p) in list.iter().enumerate().rev() {
                stack.push((p, prefix.to_string(), i + 1 == list.len()));
            }
        }
    }
    push_children(&mut stack, &children, root, "");
    while let Some((path, prefix, last)) = stack.pop() {
        let node = node_of(path);
        let name = format!(
            "{prefix}{}{}",
            if last { "└── " } else { "├── " },
            shown(file_name(path), node).trim_start_matches('/')
        );
        let size = size_of(path, node, totals);
        writeln!(out, "{}", style.line(node, Some(size), &name))?;
        let inner = format!("{prefix}{}", if last { "    " } else { "│   " });
        push_children(&mut stack, &children, path, &inner);
    }
    Ok(())
}

fn components(path: &str) -> usize {
    if path.is_empty() {
        0
    } else {
        path.matches('/').count() + 1
    }
}
