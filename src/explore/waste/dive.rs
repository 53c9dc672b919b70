//! dive 0.13.1's efficiency score and inefficient-file list, reproduced rule for rule so that
//! a threshold set against dive gives the same verdict here.
//!
//! dive builds one name tree per layer from the tar entries (implied parent directories get an
//! empty payload: size 0, not a directory; `.wh..wh.*` names are never added), then visits
//! every layer's leaves depth-first, children in byte order, charging each path with the size
//! of every entry it had. A whiteout is charged with the size of what it deletes, but only when
//! the deleted path was a directory *in the payload dive kept for it* (a file deleted costs 0);
//! what it deletes is looked up in the layers below stacked dive's way. A whiteout of a path
//! missing below ends the visit of the rest of its layer. The score is the sum of each path's
//! smallest charge over the sum of all charges; a path charged twice or more is inefficient,
//! and all its charges count as wasted bytes.

use std::collections::{BTreeMap, HashMap};

const WHITEOUT_PREFIX: &str = ".wh.";
const DOUBLE_WHITEOUT_PREFIX: &str = ".wh..wh..";

/// One tar entry as dive's reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiveEntry {
    /// The name's components after Go's `path.Clean` (empty for `/`).
    pub components: Vec<String>,
    /// The header's size (PAX `size` included, a sparse file's real size).
    pub size: i64,
    /// A directory by type flag or by the mode's type bits.
    pub is_dir: bool,
}

impl DiveEntry {
    pub fn new(path: &str, size: i64, is_dir: bool) -> DiveEntry {
        DiveEntry {
            components: path
                .split('/')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            size,
            is_dir,
        }
    }
}

/// A path dive lists as inefficient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InefficientFile {
    pub path: String,
    pub count: usize,
    pub wasted_bytes: u64,
}

/// What dive's efficiency pass found.
#[derive(Debug, Clone, PartialEq)]
pub struct DiveEfficiency {
    pub score: f64,
    pub wasted_bytes: u64,
    /// Largest first, ties in dive's order.
    pub files: Vec<InefficientFile>,
    /// Layers whose visit dive cut short: (layer, path of the whiteout of a missing path).
    pub cut_short: Vec<(usize, String)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Payload {
    size: i64,
    is_dir: bool,
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    parent: usize,
    children: BTreeMap<String, usize>,
    payload: Payload,
}

/// dive's name tree: node 0 is the root; removed nodes stay in the arena, unreachable.
#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            nodes: vec![Node {
                name: String::new(),
                parent: 0,
                children: BTreeMap::new(),
                payload: Payload::default(),
            }],
        }
    }

    /// Adds the path, creating missing parents with an empty payload; a missing component
    /// named `.wh..wh..*` ends the walk without adding anything further.
    fn add_path<S: AsRef<str>>(&mut self, components: &[S], payload: Payload) {
        let mut node = 0;
        for (i, name) in components.iter().enumerate() {
            let name = name.as_ref();
            node = match self.nodes[node].children.get(name) {
                Some(&child) => child,
                None => {
                    if name.starts_with(DOUBLE_WHITEOUT_PREFIX) {
                        return;
                    }
                    let child = self.nodes.len();
                    self.nodes.push(Node {
                        name: name.to_string(),
                        parent: node,
                        children: BTreeMap::new(),
                        payload: Payload::default(),
                    });
                    self.nodes[node].children.insert(name.to_string(), child);
                    child
                }
            };
            if i + 1 == components.len() {
                self.nodes[node].payload = payload;
            }
        }
    }

    fn get<S: AsRef<str>>(&self, components: &[S]) -> Option<usize> {
        let mut node = 0;
        for name in components {
            node = *self.nodes[node].children.get(name.as_ref())?;
        }
        Some(node)
    }

    fn remove<S: AsRef<str>>(&mut self, components: &[S]) {
        if let Some((last, parents)) = components.split_last() {
            if let Some(parent) = self.get(parents) {
                self.nodes[parent].children.remove(last.as_ref());
            }
        }
    }

    /// The sizes of a node and everything below it.
    fn subtree_size(&self, node: usize) -> i64 {
        let mut total = 0;
        let mut todo = vec![node];
        while let Some(n) = todo.pop() {
            total += self.nodes[n].payload.size;
            todo.extend(self.nodes[n].children.values());
        }
        total
    }

    /// Every node but the root, children before their parent and siblings in byte order
    /// (dive's `VisitDepthChildFirst`).
    fn child_first(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        // (node, its children in order, next child to descend into)
        let mut stack: Vec<(usize, Vec<usize>, usize)> =
            vec![(0, self.nodes[0].children.values().copied().collect(), 0)];
        while let Some((node, children, next)) = stack.last_mut() {
            if let Some(&child) = children.get(*next) {
                *next += 1;
                let grandchildren = self.nodes[child].children.values().copied().collect();
                stack.push((child, grandchildren, 0));
            } else {
                if *node != 0 {
                    out.push(*node);
                }
                stack.pop();
            }
        }
        out
    }

    fn is_leaf(&self, node: usize) -> bool {
        self.nodes[node].children.is_empty()
    }

    /// The node's path as dive's `Path()` gives it: the last component loses one `.wh.`.
    fn components_of(&self, node: usize) -> Vec<&str> {
        let mut names = Vec::new();
        let mut at = node;
        while at != 0 {
            names.push(self.nodes[at].name.as_str());
            at = self.nodes[at].parent;
        }
        names.reverse();
        if let Some(last) = names.last_mut() {
            *last = last.strip_prefix(WHITEOUT_PREFIX).unwrap_or(last);
        }
        names
    }

    /// Lays `upper` over this tree as dive's `Stack` does: every node of `upper`, child first,
    /// is added with its payload (an implied directory's empty one included), a whiteout
    /// removes its target (a missing one is ignored).
    fn stack(&mut self, upper: &Tree) {
        for node in upper.child_first() {
            let components = upper.components_of(node);
            if upper.nodes[node].name.starts_with(WHITEOUT_PREFIX) {
                self.remove(&components);
            } else {
                self.add_path(&components, upper.nodes[node].payload);
            }
        }
    }
}

/// The tree of one layer as dive builds it, and the layer's size (every entry's header size).
fn layer_tree(entries: &[DiveEntry]) -> (Tree, i64) {
    let mut tree = Tree::new();
    let mut size = 0i64;
    for e in entries {
        size = size.wrapping_add(e.size);
        tree.add_path(
            &e.components,
            Payload {
                size: e.size,
                is_dir: e.is_dir,
            },
        );
    }
    (tree, size)
}

#[derive(Debug, Clone)]
struct PathData {
    nodes: usize,
    cumulative: i64,
    /// -1 until a first charge (a cut-short whiteout leaves it there, and it is summed so).
    min: i64,
}

/// Feeds dive's efficiency pass one layer at a time, in manifest order.
#[derive(Debug, Default)]
pub struct Efficiency {
    layers: usize,
    layer_sizes: Vec<u64>,
    /// The layers below the next one, stacked dive's way.
    stacked: Option<Tree>,
    /// The last layer fed: the next one's view of what is below is `stacked` with it laid on.
    previous: Option<Tree>,
    paths: HashMap<String, PathData>,
    /// In the order paths got their second charge.
    inefficient: Vec<String>,
    cut_short: Vec<(usize, String)>,
}

impl Efficiency {
    pub fn new() -> Efficiency {
        Efficiency::default()
    }

    /// dive's size of every layer fed so far (the sum of its entries' header sizes).
    pub fn layer_sizes(&self) -> &[u64] {
        &self.layer_sizes
    }

    pub fn add_layer(&mut self, entries: &[DiveEntry]) {
        let index = self.layers;
        self.layers += 1;
        let (tree, size) = layer_tree(entries);
        self.layer_sizes.push(size as u64);
        // dive looks a whiteout's target up in layers 0..index-1 stacked on a copy of layer
        // 0 (so layer 0 is laid twice, and layer 0's own whiteouts look in layer 0 alone).
        let below = match (self.stacked.take(), self.previous.take()) {
            (Some(mut below), Some(previous)) => {
                below.stack(&previous);
                below
            }
            _ => tree.clone(),
        };
        self.visit(index, &tree, &below);
        self.stacked = Some(below);
        self.previous = Some(tree);
    }

    /// dive's visit of one layer's leaves; a whiteout of a path missing below ends it.
    fn visit(&mut self, index: usize, tree: &Tree, below: &Tree) {
        for node in tree.child_first() {
            if !tree.is_leaf(node) {
                continue;
            }
            let components = tree.components_of(node);
            let mut key = String::with_capacity(components.iter().map(|c| c.len() + 1).sum());
            for c in &components {
                key.push('/');
                key.push_str(c);
            }
            if components.is_empty() {
                key.push('/');
            }
            let size = if tree.nodes[node].name.starts_with(WHITEOUT_PREFIX) {
                match below.get(&components) {
                    None => {
                        // The path is known (never charged) all the same.
                        self.paths.entry(key.clone()).or_insert(PathData {
                            nodes: 0,
                            cumulative: 0,
                            min: -1,
                        });
                        self.cut_short.push((index, key));
                        return;
                    }
                    Some(gone) if below.nodes[gone].payload.is_dir => below.subtree_size(gone),
                    Some(_) => 0,
                }
            } else {
                tree.nodes[node].payload.size
            };
            // One lookup; a new path's key is moved in, its first charge is its minimum.
            match self.paths.get_mut(&key) {
                Some(data) => {
                    data.cumulative += size;
                    if data.min < 0 || size < data.min {
                        data.min = size;
                    }
                    data.nodes += 1;
                    if data.nodes == 2 {
                        self.inefficient.push(key);
                    }
                }
                None => {
                    let first = PathData {
                        nodes: 1,
                        cumulative: size,
                        min: size,
                    };
                    self.paths.insert(key, first);
                }
            }
        }
    }

    pub fn finish(self) -> DiveEfficiency {
        let (mut minimum, mut discovered) = (0i64, 0i64);
        for data in self.paths.values() {
            minimum += data.min;
            discovered += data.cumulative;
        }
        let score = if discovered == 0 {
            1.0
        } else {
            minimum as f64 / discovered as f64
        };
        let mut files: Vec<InefficientFile> = self
            .inefficient
            .into_iter()
            .map(|path| {
                let data = &self.paths[&path];
                InefficientFile {
                    count: data.nodes,
                    wasted_bytes: data.cumulative as u64,
                    path,
                }
            })
            .collect();
        super::go_sort::sort_ascending_by_key(&mut files, |f| f.wasted_bytes as i64);
        files.reverse();
        let wasted_bytes = files.iter().map(|f| f.wasted_bytes).sum();
        DiveEfficiency {
            score,
            wasted_bytes,
            files,
            cut_short: self.cut_short,
        }
    }
}
