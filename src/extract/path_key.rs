//! Paths remembered by a 128-bit keyed hash instead of their text, so that an image with
//! millions of entries costs 16 bytes a path; and maps keyed by those hashes that do not hash
//! them again.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Two randomly keyed SipHashes of a path, as one 128-bit key. An image cannot aim collisions
/// at keys it cannot compute.
#[derive(Debug, Default)]
pub struct PathKeys(RandomState, RandomState);

impl PathKeys {
    pub fn key(&self, path: &str) -> u128 {
        (u128::from(self.0.hash_one(path)) << 64) | u128::from(self.1.hash_one(path))
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
}
