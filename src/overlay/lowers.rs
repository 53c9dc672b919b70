//! The unpacked layers below one layer of the store, nearest first, opened when needed: a
//! layer completed above 500 others holds a bounded number of descriptors, not one per layer.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::extract::fs::Root;

/// How many of the nearest layers stay open once opened; the rest are opened for each use.
/// Lookups scan the layers nearest first, so keeping the first ones serves most of them.
const KEEP_OPEN: usize = 64;

#[derive(Default)]
pub struct Lowers {
    source: Source,
    kept: Vec<Option<Arc<Root>>>,
}

enum Source {
    Open(Vec<Arc<Root>>),
    Paths(Vec<PathBuf>),
    /// Directories below `base` (the layer store's), opened with no symlink anywhere.
    Beneath {
        base: std::os::fd::OwnedFd,
        rels: Vec<String>,
    },
}

impl Default for Source {
    fn default() -> Source {
        Source::Open(Vec::new())
    }
}

impl From<Vec<Root>> for Lowers {
    fn from(roots: Vec<Root>) -> Lowers {
        Lowers {
            source: Source::Open(roots.into_iter().map(Arc::new).collect()),
            kept: Vec::new(),
        }
    }
}

impl Lowers {
    /// Layer directories (nearest first), each opened without following a symlink when used.
    pub fn on_demand(paths: Vec<PathBuf>) -> Lowers {
        Lowers {
            source: Source::Paths(paths),
            kept: Vec::new(),
        }
    }

    /// Directories `rels` (nearest first) below `base`, each opened when used, refusing any
    /// symlink on the way (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`).
    pub fn beneath(base: std::os::fd::OwnedFd, rels: Vec<String>) -> Lowers {
        Lowers {
            source: Source::Beneath { base, rels },
            kept: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        match &self.source {
            Source::Open(roots) => roots.len(),
            Source::Paths(paths) => paths.len(),
            Source::Beneath { rels, .. } => rels.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Layer `i` (0 is the nearest).
    pub fn get(&mut self, i: usize) -> io::Result<Arc<Root>> {
        if let Source::Open(roots) = &self.source {
            return Ok(roots[i].clone());
        }
        if let Some(Some(root)) = self.kept.get(i) {
            return Ok(root.clone());
        }
        let root = Arc::new(self.open(i)?);
        if i < KEEP_OPEN {
            if self.kept.len() <= i {
                self.kept.resize(i + 1, None);
            }
            self.kept[i] = Some(root.clone());
        }
        Ok(root)
    }

    fn open(&self, i: usize) -> io::Result<Root> {
        let named = |e: io::Error, what: &dyn std::fmt::Display| {
            io::Error::new(e.kind(), format!("opening the layer {what}: {e}"))
        };
        match &self.source {
            Source::Open(roots) => Ok(Root::from_fd(roots[i].fd().try_clone()?)),
            Source::Paths(paths) => {
                Root::open(&paths[i]).map_err(|e| named(e, &paths[i].display()))
            }
            Source::Beneath { base, rels } => {
                use rustix::fs::{Mode, OFlags, ResolveFlags};
                rustix::fs::openat2(
                    base,
                    rels[i].as_str(),
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                    Mode::empty(),
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
                )
                .map(Root::from_fd)
                .map_err(|e| named(e.into(), &rels[i]))
            }
        }
    }

    /// Closes whatever is kept open.
    pub fn release(&mut self) {
        self.kept.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: every lower layer was opened for the whole completion (EMFILE with 500
    /// layers under `ulimit -n 1024`); now only the nearest few stay open.
    #[test]
    fn far_layers_are_not_kept_open() {
        let tmp = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..KEEP_OPEN + 40)
            .map(|i| {
                let p = tmp.path().join(format!("l{i}"));
                std::fs::create_dir(&p).unwrap();
                p
            })
            .collect();
        let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let before = count();
        let mut lowers = Lowers::on_demand(paths);
        for i in 0..lowers.len() {
            lowers.get(i).unwrap();
        }
        // Other tests run in parallel threads: allow some slack, far below one per layer.
        assert!(
            count() <= before + KEEP_OPEN + 8,
            "{} open",
            count() - before
        );
        lowers.release();
    }

    #[test]
    fn a_symlinked_layer_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/", tmp.path().join("l0")).unwrap();
        let mut lowers = Lowers::on_demand(vec![tmp.path().join("l0")]);
        assert!(lowers.get(0).is_err());
    }
}
