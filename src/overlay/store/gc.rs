//! What dead runs and removed layers leave behind: staging and trash in `tmp/`, lock files of
//! no layer, `l/` links that lead nowhere.

use rustix::fs::{self as rfs, AtFlags};

use super::publish::short_link_of_hex;
use super::{is_hex64, LayerState, LockMode, Store, TRUSTED_LAYERS, USER_LAYERS};
use crate::digest::Digest;
use crate::proc::Stamp;

impl Store {
    /// Removes `tmp/` entries whose process is gone (staging of a killed unpack, a killed
    /// removal's trash); says what it removed.
    pub fn remove_dead_leftovers(&self) -> Vec<String> {
        let mut removed = Vec::new();
        let Ok(tmp) = self.open_dir("tmp") else {
            return removed;
        };
        for name in crate::extract::fs::Root::list(&tmp).unwrap_or_default() {
            let mut parts = name.rsplitn(4, '.');
            let (Some(start), Some(pid), Some(kind)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Some(owner) = Stamp::parse_tag(&format!("{pid}.{start}")) else {
                continue;
            };
            if !matches!(kind, "stage" | "trash") || owner.is_alive() {
                continue;
            }
            if crate::extract::fs::Root::remove(&tmp, &name).is_ok() {
                removed.push(format!("tmp/{name}"));
            }
        }
        removed
    }

    /// Lock files of layers that are not in the store, removed while held exclusively.
    pub fn remove_unused_locks(&self) -> usize {
        let Ok(locks) = self.open_dir("locks") else {
            return 0;
        };
        let mut removed = 0;
        for name in crate::extract::fs::Root::list(&locks).unwrap_or_default() {
            let Some(stem) = name.strip_suffix(".lock") else {
                continue;
            };
            let (rootless, hex) = match stem.strip_prefix("u-") {
                Some(h) => (true, h),
                None => (false, stem),
            };
            let Ok(id) = Digest::parse(&format!("sha256:{hex}")) else {
                continue;
            };
            let rel = if rootless {
                USER_LAYERS
            } else {
                TRUSTED_LAYERS
            };
            let missing = || self.state_in(rel, id.hex()).ok() == Some(LayerState::Missing);
            if !missing() {
                continue;
            }
            if let Ok(Some(lock)) = self.lock_named(&name, LockMode::Exclusive, false) {
                if missing() {
                    self.forget_lock(lock);
                    removed += 1;
                }
            }
        }
        removed
    }

    /// `l/` entries that do not lead to a complete layer's `diff/`, removed.
    pub fn remove_dangling_links(&self) -> usize {
        let Ok(l) = self.open_dir("l") else { return 0 };
        let mut removed = 0;
        for name in crate::extract::fs::Root::list(&l).unwrap_or_default() {
            let Ok(target) = rfs::readlinkat(&l, name.as_str(), Vec::new()) else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            let hex = target
                .strip_prefix("../layers/sha256/")
                .and_then(|t| t.strip_suffix("/diff"));
            let live = hex.is_some_and(|h| {
                is_hex64(h)
                    && short_link_of_hex(h) == name
                    && self.state_of(h).ok() == Some(LayerState::Complete)
            });
            if !live && rfs::unlinkat(&l, name.as_str(), AtFlags::empty()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}
