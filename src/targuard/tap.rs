//! The pax records of the entry a tar reader was last handed, as the guard kept them. The tar
//! crate splits pax data at newlines, so it cannot read a record whose value holds one (binary
//! xattr values such as `security.capability` can); Go's archive/tar, Docker's reader, reads
//! records by their length prefix. The guard has checked that the two readings agree on every
//! record the tar crate acts on, so the rest is read from here, Go's way.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use super::pax::by_length;

/// A handle on the pax records of the current entry (see [`super::TarGuard::pax_tap`]).
#[derive(Clone, Default)]
pub struct PaxTap(Arc<Mutex<Tapped>>);

/// Where the header of the entry the guard parsed last begins, and the pax data for it.
#[derive(Default)]
struct Tapped {
    header_at: Option<u64>,
    data: Option<Vec<u8>>,
}

/// One pax record: its key and value, as bytes.
pub type PaxRecord = (Vec<u8>, Vec<u8>);

impl PaxTap {
    /// The records of the entry whose header begins at byte `header_at` of the stream (the tar
    /// crate's `raw_header_position`); none when it had no pax header. Refused unless that is
    /// the entry the guard parsed last: its records would be another entry's.
    pub fn records(&self, header_at: u64) -> io::Result<Vec<PaxRecord>> {
        let tapped = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if tapped.header_at != Some(header_at) {
            return Err(io::Error::other(format!(
                "internal error: pax records asked for the entry at byte {header_at}, the guard is at the one at {:?}",
                tapped.header_at
            )));
        }
        let Some(data) = tapped.data.as_deref() else {
            return Ok(Vec::new());
        };
        Ok(by_length(data)?
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect())
    }

    /// The guard parsed the header, at byte `header_at`, of an entry whose pax data is `data`.
    pub(super) fn set(&self, header_at: u64, data: Option<Vec<u8>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Tapped {
            header_at: Some(header_at),
            data,
        };
    }
}
