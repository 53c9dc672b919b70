//! The merged tree in memory: every path (relative, no leading `/`, `""` the root) with its
//! node, sorted, and path resolution inside the image — symlinks are followed within the tree,
//! never on the host, and `..` stops at the root, as the kernel's `RESOLVE_IN_ROOT` does.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::node::{Data, Node, NodeType};

/// Symlinks followed in one resolution before it is a loop (Linux's own limit).
pub const MAX_SYMLINKS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("too many levels of symbolic links")]
    Loop,
    #[error("`/{0}` is not a directory")]
    NotADir(String),
    #[error("`/{0}` does not exist")]
    Missing(String),
}

#[derive(Debug, Default, Clone)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    /// sha256 of each file's content by where it lies, when the tree was built with hashing.
    pub hashes: HashMap<Data, [u8; 32]>,
}

impl Tree {
    pub fn new() -> Tree {
        let mut nodes = BTreeMap::new();
        nodes.insert(String::new(), Node::implied_dir(0));
        Tree {
            nodes,
            hashes: HashMap::new(),
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// The path as the tree holds it, with its node.
    pub fn entry(&self, path: &str) -> Option<(&String, &Node)> {
        self.nodes.get_key_value(path)
    }

    /// `path`'s place in the tree, to look at and fill in one lookup.
    pub fn slot(&mut self, path: String) -> std::collections::btree_map::Entry<'_, String, Node> {
        self.nodes.entry(path)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.nodes.get_mut(path)
    }

    pub fn insert(&mut self, path: String, node: Node) -> Option<Node> {
        self.nodes.insert(path, node)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every path, sorted by its bytes (a directory before what it holds).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// The paths strictly below `dir`.
    pub fn below<'t>(&'t self, dir: &str) -> Box<dyn Iterator<Item = (&'t String, &'t Node)> + 't> {
        if dir.is_empty() {
            return Box::new(self.nodes.iter().skip(1));
        }
        // Everything that starts with `dir/` sorts between `dir/` and `dir0` ('0' follows '/').
        let from = format!("{dir}/");
        let to = format!("{dir}0");
        Box::new(self.nodes.range(from..to))
    }

    /// Removes the paths strictly below `dir`, handing each to `removed`.
    pub fn remove_below(&mut self, dir: &str, removed: &mut dyn FnMut(String, Node)) {
        let doomed: Vec<String> = self.below(dir).map(|(p, _)| p.clone()).collect();
        for p in doomed {
            if let Some(n) = self.nodes.remove(&p) {
                removed(p, n);
            }
        }
    }

    /// Removes `path` and everything below it (never the root itself).
    pub fn remove_subtree(&mut self, path: &str, removed: &mut dyn FnMut(String, Node)) {
        if path.is_empty() {
            self.remove_below(path, removed);
            return;
        }
        if let Some(n) = self.nodes.remove(path) {
            let dir = n.is_dir();
            removed(path.to_string(), n);
            if dir {
                self.remove_below(path, removed);
            }
        }
    }

    /// Resolves `path` inside the image: symlinks among its parents are followed (and its last
    /// component's too with `follow_last`), `..` never climbs above the root. Returns the real
    /// path, which may not exist; a missing or non-directory parent is an error naming it.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<String, ResolveError> {
        let mut rest: VecDeque<String> = components(path).collect();
        let mut real: Vec<String> = Vec::new();
        let mut followed = 0;
        while let Some(part) = rest.pop_front() {
            if part == ".." {
                real.pop();
                continue;
            }
            real.push(part);
            let here = real.join("/");
            let last = rest.is_empty();
            match self.nodes.get(&here) {
                None if last => {}
                None => return Err(ResolveError::Missing(here)),
                Some(n) if n.kind == NodeType::Symlink && (!last || follow_last) => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return Err(ResolveError::Loop);
                    }
                    let target = n.link.clone().unwrap_or_default();
                    real.pop();
                    if target.starts_with('/') {
                        real.clear();
                    }
                    for (i, p) in components(&target).enumerate() {
                        rest.insert(i, p);
                    }
                }
                Some(n) if !last && !n.is_dir() => return Err(ResolveError::NotADir(here)),
                Some(_) => {}
            }
        }
        Ok(real.join("/"))
    }
}

/// The non-empty components of `path` other than `.`.
fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(kind: NodeType, link: Option<&str>) -> Node {
        Node {
            kind,
            link: link.map(str::to_string),
            ..Node::implied_dir(0)
        }
    }

    fn tree(paths: &[(&str, NodeType, Option<&str>)]) -> Tree {
        let mut t = Tree::new();
        for (p, k, l) in paths {
            t.insert(p.to_string(), with(*k, *l));
        }
        t
    }

    #[test]
    fn symlinks_resolve_inside_the_image() {
        use NodeType::*;
        let t = tree(&[
            ("etc", Dir, None),
            ("etc/passwd", File, None),
            ("usr", Dir, None),
            ("usr/bin", Dir, None),
            ("usr/bin/env", File, None),
            ("bin", Symlink, Some("usr/bin")),
            ("abs", Symlink, Some("/etc")),
            ("up", Symlink, Some("../../../../etc/passwd")),
            ("loop", Symlink, Some("loop")),
            ("f", File, None),
        ]);
        assert_eq!(t.resolve("bin/env", true).unwrap(), "usr/bin/env");
        assert_eq!(t.resolve("/abs/passwd", true).unwrap(), "etc/passwd");
        assert_eq!(t.resolve("up", true).unwrap(), "etc/passwd");
        assert_eq!(t.resolve("up", false).unwrap(), "up");
        assert_eq!(
            t.resolve("usr/../../etc/./passwd", true).unwrap(),
            "etc/passwd"
        );
        assert_eq!(t.resolve("bin/new", true).unwrap(), "usr/bin/new");
        assert_eq!(t.resolve("loop", true), Err(ResolveError::Loop));
        assert_eq!(
            t.resolve("f/x", true),
            Err(ResolveError::NotADir("f".into()))
        );
        assert_eq!(
            t.resolve("nope/x", true),
            Err(ResolveError::Missing("nope".into()))
        );
    }

    #[test]
    fn below_is_exactly_the_subtree() {
        use NodeType::*;
        let mut t = tree(&[
            ("a", Dir, None),
            ("a/x", File, None),
            ("a-b", File, None),
            ("a0", File, None),
            ("a/y", Dir, None),
            ("a/y/z", File, None),
        ]);
        let below: Vec<&String> = t.below("a").map(|(p, _)| p).collect();
        assert_eq!(below, ["a/x", "a/y", "a/y/z"]);
        let mut gone = Vec::new();
        t.remove_subtree("a", &mut |p, _| gone.push(p));
        assert_eq!(gone, ["a", "a/x", "a/y", "a/y/z"]);
        let left: Vec<&String> = t.iter().map(|(p, _)| p).collect();
        assert_eq!(left, ["", "a-b", "a0"]);
    }
}
