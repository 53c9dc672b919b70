//! What a layer takes on disk once unpacked, counted the way Docker's containerd image store
//! reports it in `docker history`: containerd sums `st_blocks` × 512 over every inode of the
//! unpacked snapshot (each inode once). That depends on the filesystem; this is the figure for
//! ext4 with 4 KiB blocks, the usual case: every directory (the layer's root and the parents a
//! tar leaves implicit included) one block while its entries fit in one, a regular file its size
//! rounded up to whole blocks, a symlink one block when its target is too long to live in the
//! inode (60 bytes or more), and nothing for hardlinks (their inode is counted once), empty
//! files, devices, fifos and whiteouts.
//!
//! A directory whose entries (each 8 bytes plus its name, rounded up to 4) outgrow one block
//! becomes an indexed one: an index block and leaf blocks, which ext4 splits in halves as they
//! fill, so they are about three quarters full. Which names share a leaf depends on a hash
//! seeded per filesystem, so past one block the count is an estimate (a 394-entry busybox
//! `/bin` takes the 3 blocks Docker shows).

use std::collections::{HashMap, HashSet};

pub const BLOCK: u64 = 4096;

/// Longest symlink target ext4 keeps inside the inode itself.
const FAST_SYMLINK_MAX: usize = 59;

#[derive(Debug, Default)]
pub struct DiskUsage {
    dirs: HashSet<Vec<u8>>,
    /// Bytes of directory entries, by directory (only the ones with entries).
    entries: HashMap<Vec<u8>, u64>,
    files: u64,
}

/// Bytes an ext4 directory entry for `name` takes.
fn entry_len(name: &[u8]) -> u64 {
    (8 + name.len() as u64).div_ceil(4) * 4
}

/// Blocks of a directory whose entries take `bytes` (`.` and `..` aside).
fn dir_blocks(bytes: u64) -> u64 {
    // `.` and `..` take 12 bytes each in the first block.
    if bytes + 24 <= BLOCK {
        return 1;
    }
    1 + (bytes * 4).div_ceil(BLOCK * 3).max(2)
}

impl DiskUsage {
    /// Counts one tar entry: its path (as in the tar), type and content size, and for a
    /// symlink the target's length.
    pub fn add(&mut self, path: &[u8], kind: tar::EntryType, size: u64, link_len: usize) {
        let path = trim(path);
        self.add_parents(path);
        use tar::EntryType::*;
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(slash) => (&path[..slash], &path[slash + 1..]),
            None => (&b""[..], path),
        };
        // A whiteout is a device of its own name on overlayfs; an opaque marker is an xattr.
        let shown = name.strip_prefix(b".wh.").unwrap_or(name);
        let named = !path.is_empty() && shown != b".wh..opq";
        match kind {
            Directory if !path.is_empty() && self.dirs.insert(path.to_vec()) => {
                self.add_entry(dir, name);
            }
            Directory => {}
            _ if named => self.add_entry(dir, shown),
            _ => {}
        }
        match kind {
            Directory => {}
            Regular | Continuous | GNUSparse => self.files += size.div_ceil(BLOCK) * BLOCK,
            Symlink if link_len > FAST_SYMLINK_MAX => self.files += BLOCK,
            _ => {}
        }
    }

    fn add_entry(&mut self, dir: &[u8], name: &[u8]) {
        *self.entries.entry(dir.to_vec()).or_default() += entry_len(name);
    }

    fn add_parents(&mut self, path: &[u8]) {
        let mut end = path.len();
        while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
            let parent = &path[..slash];
            if !self.dirs.insert(parent.to_vec()) {
                break;
            }
            let (above, name) = match parent.iter().rposition(|&b| b == b'/') {
                Some(s) => (&parent[..s], &parent[s + 1..]),
                None => (&b""[..], parent),
            };
            self.add_entry(above, name);
            end = slash;
        }
    }

    /// Bytes on disk, the layer's root directory included.
    pub fn total(&self) -> u64 {
        let dirs = self.dirs.len() as u64 + 1;
        let extra: u64 = self.entries.values().map(|&b| dir_blocks(b) - 1).sum();
        (dirs + extra) * BLOCK + self.files
    }
}

/// `./a/b/` → `a/b`.
fn trim(mut path: &[u8]) -> &[u8] {
    while let Some(rest) = path.strip_prefix(b"./") {
        path = rest;
    }
    while let Some(rest) = path.strip_suffix(b"/") {
        path = rest;
    }
    if path == b"." {
        return b"";
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::EntryType::*;

    #[test]
    fn blocks_of_a_small_layer() {
        let mut u = DiskUsage::default();
        u.add(b"./", Directory, 0, 0);
        u.add(b"etc/", Directory, 0, 0);
        u.add(b"etc/a", Regular, 1, 0); // one block
        u.add(b"etc/b", Regular, 4097, 0); // two
        u.add(b"etc/empty", Regular, 0, 0); // none
        u.add(b"etc/again", Link, 0, 0); // the inode of etc/a
        u.add(b"usr/lib/x/short", Symlink, 0, 10); // usr, usr/lib, usr/lib/x implied
        u.add(b"usr/long", Symlink, 0, 80); // one block
        u.add(b"usr/.wh.gone", Regular, 0, 0);
        // root + etc + usr + usr/lib + usr/lib/x = 5 directories; files 1 + 2 + 1 blocks.
        assert_eq!(u.total(), (5 + 4) * BLOCK);
    }

    #[test]
    fn a_directory_past_one_block_is_indexed() {
        let mut u = DiskUsage::default();
        // 394 names of 4 bytes: 12 bytes each, 4728 in all → index block + 2 leaves.
        for i in 0..394 {
            u.add(format!("bin/x{i:03}").as_bytes(), Link, 0, 0);
        }
        assert_eq!(u.total(), (1 + 3) * BLOCK);
        // Still one block at 254 entries of 16 bytes (4064, and 24 for `.` and `..`).
        let mut u = DiskUsage::default();
        for i in 0..254 {
            u.add(format!("bin/x{i:04}").as_bytes(), Link, 0, 0);
        }
        assert_eq!(u.total(), 2 * BLOCK);
        assert_eq!(dir_blocks(20_000), 1 + 7);
    }

    #[test]
    fn an_empty_layer_is_its_root_directory() {
        assert_eq!(DiskUsage::default().total(), BLOCK);
    }
}
