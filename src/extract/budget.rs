//! Bounds on what a merge keeps in memory until the end (directory metadata, hardlinks waiting
//! for their target, whiteout and path bookkeeping). Real images stay far below them; a hostile
//! one that claims millions of directories with 64 KiB xattrs each is refused with a clear
//! error instead of exhausting memory.

use std::io;

/// Bytes of directory metadata, link and whiteout paths kept for the end of a merge.
pub const MAX_KEPT_BYTES: u64 = 256 << 20;
/// Paths the top-down merge remembers (a few dozen bytes each).
pub const MAX_TRACKED_PATHS: usize = 4_000_000;

#[derive(Debug, Clone, thiserror::Error)]
#[error("refused: more than {limit} {what} to keep in memory (no real image comes near that)")]
pub struct OverLimit {
    pub what: &'static str,
    /// With its unit: `256 MiB of`, `4000000`.
    pub limit: String,
}

impl OverLimit {
    pub fn find(e: &io::Error) -> Option<&OverLimit> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<OverLimit>())
    }
}

/// A running total of bytes kept, checked against [`MAX_KEPT_BYTES`].
#[derive(Debug, Default)]
pub struct Budget {
    used: u64,
}

impl Budget {
    /// Accounts for `bytes` more (plus a fixed overhead per item).
    pub fn take(&mut self, bytes: usize, what: &'static str) -> io::Result<()> {
        self.used += bytes as u64 + 64;
        if self.used > MAX_KEPT_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                OverLimit {
                    what,
                    limit: format!("{} MiB of", MAX_KEPT_BYTES >> 20),
                },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_refuses_past_the_limit_and_names_what() {
        let mut b = Budget::default();
        b.take(1 << 20, "directory metadata").unwrap();
        let err = (0..300)
            .find_map(|_| b.take(1 << 20, "directory metadata").err())
            .expect("refused before 300 MiB");
        let over = OverLimit::find(&err).expect("typed");
        assert_eq!(over.what, "directory metadata");
        assert!(
            err.to_string().contains("256 MiB of directory metadata"),
            "{err}"
        );
    }
}
