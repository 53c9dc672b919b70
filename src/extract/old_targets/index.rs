//! Where to look, while reading a layer again, for the targets of the pending hardlinks: the
//! links by target and by every directory above it, and the links the main pass made.

use std::collections::HashMap;

use crate::extract::engine::{MadeLink, PendingLink};

/// The links one layer may hold the target of, by target and by every directory above their
/// target, so that each entry costs a lookup, not a pass over all links.
pub(super) struct Index<'l> {
    pub(super) links: &'l [PendingLink],
    layer: usize,
    wanted: Vec<usize>,
    pub(super) by_target: HashMap<&'l str, Vec<usize>>,
    by_dir: HashMap<&'l str, Vec<usize>>,
}

impl<'l> Index<'l> {
    /// `None` when no link looks at layer `layer` or below.
    pub(super) fn of(links: &'l [PendingLink], layer: usize) -> Option<Index<'l>> {
        let wanted: Vec<usize> = (0..links.len())
            .filter(|&i| links[i].layer >= layer)
            .collect();
        if wanted.is_empty() {
            return None;
        }
        let mut by_target: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_dir: HashMap<&str, Vec<usize>> = HashMap::new();
        for &i in &wanted {
            let target = links[i].target.as_str();
            by_target.entry(target).or_default().push(i);
            let mut dir = crate::extract::rules::parent(target);
            while !dir.is_empty() {
                by_dir.entry(dir).or_default().push(i);
                dir = crate::extract::rules::parent(dir);
            }
        }
        Some(Index {
            links,
            layer,
            wanted,
            by_target,
            by_dir,
        })
    }

    /// In the link's own layer, what comes after the link does not concern it.
    fn concerned(&self, i: usize, position: usize) -> bool {
        self.links[i].layer > self.layer || position < self.links[i].position
    }

    /// The links concerned by the entry at `position` whose target is `path`.
    pub(super) fn at_target<'a>(
        &'a self,
        path: &str,
        position: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        let all = self.by_target.get(path).map_or(&[][..], Vec::as_slice);
        all.iter()
            .copied()
            .filter(move |&i| self.concerned(i, position))
    }

    /// The links concerned by the entry at `position` whose target lies below `dir`.
    pub(super) fn below<'a>(
        &'a self,
        dir: &str,
        position: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        let all = if dir.is_empty() {
            &self.wanted[..]
        } else {
            self.by_dir.get(dir).map_or(&[][..], Vec::as_slice)
        };
        all.iter()
            .copied()
            .filter(move |&i| self.concerned(i, position))
    }
}

/// The links the main pass made on the spot in one layer, by target, to tell which entry each
/// is a second name of.
pub(super) struct MadeIndex<'m> {
    pub(super) made: &'m [MadeLink],
    pub(super) by_target: HashMap<&'m str, Vec<usize>>,
}

impl<'m> MadeIndex<'m> {
    pub(super) fn of(made: &'m [MadeLink], layer: usize) -> MadeIndex<'m> {
        let mut by_target: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, link) in made.iter().enumerate().filter(|(_, l)| l.layer == layer) {
            by_target.entry(link.target.as_str()).or_default().push(i);
        }
        MadeIndex { made, by_target }
    }
}
