//! Keys of paths (two keyed 64-bit hashes), so that telling whether a path lies below one of
//! the layer's whiteouts costs 16 bytes per whiteout, not its path.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

#[derive(Default)]
pub(super) struct PathKeys {
    a: std::collections::hash_map::RandomState,
    b: std::collections::hash_map::RandomState,
}

impl PathKeys {
    pub(super) fn key(&self, path: &str) -> u128 {
        let (mut x, mut y) = (self.a.build_hasher(), self.b.build_hasher());
        x.write(path.as_bytes());
        y.write(path.as_bytes());
        combine(&x, &y)
    }

    /// Is the root or a directory above `path` (not `path` itself) in `set`? One pass over
    /// the path, whatever its depth.
    pub(super) fn any_ancestor_in(&self, path: &str, set: &HashSet<u128>) -> bool {
        if set.is_empty() {
            return false;
        }
        let (mut x, mut y) = (self.a.build_hasher(), self.b.build_hasher());
        if set.contains(&combine(&x, &y)) {
            return true;
        }
        let bytes = path.as_bytes();
        let mut done = 0;
        for (i, &c) in bytes.iter().enumerate() {
            if c == b'/' {
                x.write(&bytes[done..i]);
                y.write(&bytes[done..i]);
                done = i;
                if set.contains(&combine(&x, &y)) {
                    return true;
                }
            }
        }
        false
    }
}

fn combine(x: &impl Hasher, y: &impl Hasher) -> u128 {
    (u128::from(x.finish()) << 64) | u128::from(y.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_are_found_by_key_at_any_depth() {
        let keys = PathKeys::default();
        let set: HashSet<u128> = ["a/b", "x"].iter().map(|p| keys.key(p)).collect();
        assert!(keys.any_ancestor_in("a/b/c", &set));
        assert!(keys.any_ancestor_in("a/b/c/d/e", &set));
        assert!(keys.any_ancestor_in("x/y", &set));
        assert!(!keys.any_ancestor_in("a/b", &set), "not the path itself");
        assert!(!keys.any_ancestor_in("a/bc/d", &set));
        assert!(!keys.any_ancestor_in("a", &set));
        let root: HashSet<u128> = [keys.key("")].into_iter().collect();
        assert!(keys.any_ancestor_in("anything", &root));
    }
}
