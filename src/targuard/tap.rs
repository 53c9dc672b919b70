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
pub struct PaxTap(Arc<Mutex<Option<Vec<u8>>>>);

/// One pax record: its key and value, as bytes.
pub type PaxRecord = (Vec<u8>, Vec<u8>);

impl PaxTap {
    /// The records of the entry the tar reader handed out last; none when it had no pax header.
    pub fn records(&self) -> io::Result<Vec<PaxRecord>> {
        let data = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(data) = data.as_deref() else {
            return Ok(Vec::new());
        };
        Ok(by_length(data)?
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect())
    }

    /// The guard handed out an entry whose pax data is `data`.
    pub(super) fn set(&self, data: Option<Vec<u8>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = data;
    }
}
