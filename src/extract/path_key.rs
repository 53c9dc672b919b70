//! Paths remembered by a 128-bit keyed hash instead of their text, so that an image with
//! millions of entries costs 16 bytes a path; and maps keyed by those hashes that do not hash
//! them again.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Two randomly keyed SipHashes of a path, as one 128-bit key. An image cannot aim collisions
/// at keys it cannot compute.
#[derive(Debug, Default)]
pub struct PathKeys(RandomState, RandomState);

/// The two hashers part way through a path.
struct Pair(DefaultHasher, DefaultHasher);

impl Pair {
    fn write(&mut self, piece: &[u8]) {
        self.0.write(piece);
        self.1.write(piece);
    }

    fn key(&self) -> u128 {
        (u128::from(self.0.finish()) << 64) | u128::from(self.1.finish())
    }
}

impl PathKeys {
    /// Feeds `path` to the hashers the one way every key is made: a piece per component, each
    /// after the first with its leading `/`, so that the state after a proper prefix (the root
    /// first) is that prefix's key. `at_ancestor` sees each such state; it returning true stops
    /// the walk (`None`). A hasher's result may depend on how its input is split into writes:
    /// splitting the same way everywhere keeps a path's key one value.
    fn feed(&self, path: &str, mut at_ancestor: impl FnMut(&Pair) -> bool) -> Option<Pair> {
        let mut pair = Pair(self.0.build_hasher(), self.1.build_hasher());
        if at_ancestor(&pair) {
            return None;
        }
        let bytes = path.as_bytes();
        let mut done = 0;
        for (i, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b'/') {
            pair.write(&bytes[done..i]);
            done = i;
            if at_ancestor(&pair) {
                return None;
            }
        }
        if done < bytes.len() {
            pair.write(&bytes[done..]);
        }
        Some(pair)
    }

    pub fn key(&self, path: &str) -> u128 {
        self.feed(path, |_| false).map_or(0, |pair| pair.key())
    }

    /// The keys of the root, of each directory above (clean) `path`, top down, and last of
    /// `path` itself (once, for the root): one pass over the path, whatever its depth.
    pub fn chain(&self, path: &str, keys: &mut Vec<u128>) {
        keys.clear();
        if let Some(pair) = self.feed(path, |pair| {
            keys.push(pair.key());
            false
        }) {
            if !path.is_empty() {
                keys.push(pair.key());
            }
        }
    }

    /// Is the root or a directory above `path` (not `path` itself) in `set`?
    pub fn any_ancestor_in<S: BuildHasher>(&self, path: &str, set: &HashSet<u128, S>) -> bool {
        !set.is_empty() && self.feed(path, |pair| set.contains(&pair.key())).is_none()
    }
}

/// The map hasher for keys that are already keyed hashes: hashing them a second time would
/// cost a SipHash per lookup (the top-down merge looks up every ancestor of every entry) and
/// add nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u128(&mut self, key: u128) {
        self.0 ^= (key as u64) ^ ((key >> 64) as u64);
    }

    /// Only `u128` keys come here; anything else is folded in, still correct if slower.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

pub type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<PreHashed>>;
pub type KeySet = HashSet<u128, BuildHasherDefault<PreHashed>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tell_paths_apart_and_maps_find_them() {
        let keys = PathKeys::default();
        let mut map: KeyMap<usize> = KeyMap::default();
        for i in 0..10_000 {
            map.insert(keys.key(&format!("usr/lib/f{i}")), i);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&keys.key("usr/lib/f1234")), Some(&1234));
        assert_eq!(map.get(&keys.key("usr/lib/f10000")), None);
        assert_ne!(keys.key("a"), PathKeys::default().key("a"), "keyed per run");
    }

    #[test]
    fn a_chain_holds_the_keys_of_the_root_the_ancestors_and_the_path() {
        let keys = PathKeys::default();
        let mut chain = Vec::new();
        keys.chain("usr/lib/x", &mut chain);
        let each: Vec<u128> = ["", "usr", "usr/lib", "usr/lib/x"]
            .iter()
            .map(|p| keys.key(p))
            .collect();
        assert_eq!(chain, each);
        keys.chain("", &mut chain);
        assert_eq!(chain, vec![keys.key("")]);
        keys.chain("top", &mut chain);
        assert_eq!(chain, vec![keys.key(""), keys.key("top")]);
        let distinct: HashSet<u128> = ["", "a", "a/", "a/b", "ab", "a/b/"]
            .iter()
            .map(|p| keys.key(p))
            .collect();
        assert_eq!(distinct.len(), 6, "different paths, different keys");
    }

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
        assert!(!keys.any_ancestor_in("anything", &HashSet::<u128>::new()));
    }
}
