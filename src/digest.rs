//! Digests as they appear in image archives (`sha256:<64 lowercase hex>`), chainIDs, and a
//! sha256 hasher that runs on its own thread so that hashing overlaps decompression.

use std::fmt;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest as _, Sha256};

/// A validated `sha256:<64 lowercase hex>` digest. Built only through [`Digest::parse`] or from
/// hash output, so a digest can safely become part of a blob path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{shown}` is not a digest of the form sha256:<64 lowercase hex>")]
pub struct BadDigest {
    shown: String,
}

impl Digest {
    pub fn parse(text: &str) -> Result<Digest, BadDigest> {
        let hex = text.strip_prefix("sha256:");
        match hex {
            Some(h)
                if h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                Ok(Digest(text.to_string()))
            }
            _ => Err(BadDigest {
                shown: crate::rawname::escape_for_message(text, 80),
            }),
        }
    }

    pub fn from_sha256(hash: [u8; 32]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hash)))
    }

    pub fn of_bytes(bytes: &[u8]) -> Digest {
        Digest::from_sha256(Sha256::digest(bytes).into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// The first 12 hex characters, as docker shows short IDs.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
/// Returns the chainID after each layer.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::of_bytes(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// Which of the two streams of a layer pass a chunk belongs to.
#[derive(Clone, Copy)]
pub enum Stream {
    Stored,
    Decompressed,
}

/// Hashes the two byte streams of a layer pass (the stored blob and its decompressed form).
pub trait StreamHasher {
    fn feed(&self, which: Stream, bytes: &[u8]);
    /// (stored digest, decompressed digest)
    fn finish(self) -> (Digest, Digest);
}

/// Hashes both streams on the caller's thread: for a small blob a hashing thread costs more
/// (its spawn, the hand-offs, buffers faulted in) than it overlaps.
#[derive(Default)]
pub struct InlineHasher {
    stored: std::cell::RefCell<Sha256>,
    decompressed: std::cell::RefCell<Sha256>,
}

impl StreamHasher for InlineHasher {
    fn feed(&self, which: Stream, bytes: &[u8]) {
        match which {
            Stream::Stored => self.stored.borrow_mut().update(bytes),
            Stream::Decompressed => self.decompressed.borrow_mut().update(bytes),
        }
    }

    fn finish(self) -> (Digest, Digest) {
        (
            Digest::from_sha256(self.stored.into_inner().finalize().into()),
            Digest::from_sha256(self.decompressed.into_inner().finalize().into()),
        )
    }
}

impl StreamHasher for BackgroundHasher {
    fn feed(&self, which: Stream, bytes: &[u8]) {
        BackgroundHasher::feed(self, which, bytes)
    }

    fn finish(self) -> (Digest, Digest) {
        BackgroundHasher::finish(self)
    }
}

/// Hashes two byte streams (the stored blob and its decompressed form) on a background thread.
/// Chunks travel through a bounded channel and come back for reuse, so memory stays at
/// `DEPTH` buffers whatever the layer size.
pub struct BackgroundHasher {
    to_worker: Option<SyncSender<(Stream, Vec<u8>)>>,
    spare: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<(Digest, Digest)>>,
}

const DEPTH: usize = 3;

impl BackgroundHasher {
    pub fn start() -> BackgroundHasher {
        let (to_worker, from_main) = sync_channel::<(Stream, Vec<u8>)>(DEPTH);
        let (give_back, spare) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let worker = std::thread::spawn(move || {
            let mut stored = Sha256::new();
            let mut decompressed = Sha256::new();
            for (which, buf) in from_main {
                match which {
                    Stream::Stored => stored.update(&buf),
                    Stream::Decompressed => decompressed.update(&buf),
                }
                let _ = give_back.try_send(buf);
            }
            (
                Digest::from_sha256(stored.finalize().into()),
                Digest::from_sha256(decompressed.finalize().into()),
            )
        });
        BackgroundHasher {
            to_worker: Some(to_worker),
            spare,
            worker: Some(worker),
        }
    }

    pub fn feed(&self, which: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut buf = self.spare.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(bytes);
        if let Some(tx) = &self.to_worker {
            // The worker only stops when we drop the sender, so a send cannot fail here.
            let _ = tx.send((which, buf));
        }
    }

    /// A handle that feeds the stored stream from another owner (a reader moved into a
    /// decoder); it allocates its chunks rather than reusing them.
    pub fn feeder(&self, which: Stream) -> Feeder {
        Feeder {
            to_worker: self.to_worker.clone(),
            which,
        }
    }

    /// (stored digest, decompressed digest)
    pub fn finish(mut self) -> (Digest, Digest) {
        drop(self.to_worker.take());
        let worker = self.worker.take().expect("finish called once");
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

pub struct Feeder {
    to_worker: Option<SyncSender<(Stream, Vec<u8>)>>,
    which: Stream,
}

impl Feeder {
    pub fn feed(&self, bytes: &[u8]) {
        if let (false, Some(tx)) = (bytes.is_empty(), &self.to_worker) {
            let _ = tx.send((self.which, bytes.to_vec()));
        }
    }
}

impl Drop for BackgroundHasher {
    fn drop(&mut self) {
        drop(self.to_worker.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        Digest::parse(s).unwrap()
    }

    #[test]
    fn chain_id_known_vector() {
        let ids = [
            d("sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b"),
            d("sha256:b3cce2ce0405ffbb4971b872588c5b7fc840514b807f18047bf7d486af79884c"),
        ];
        let chain = chain_ids(&ids);
        assert_eq!(chain[0], ids[0]);
        assert_eq!(
            chain[1].as_str(),
            "sha256:6613b10b697b0a267c9573ee23e54c0373ccf72e7991cf4479bd0b66609a631c"
        );
    }

    #[test]
    fn chain_id_of_nothing_is_empty() {
        assert!(chain_ids(&[]).is_empty());
    }

    #[test]
    fn digest_parse_rejects_bad_forms() {
        let good = "sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b";
        assert!(Digest::parse(good).is_ok());
        for bad in [
            "",
            "sha256:",
            "9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b",
            "sha256:9F54EEF412758095C8079AC465D494A2872E02E90BF1FB5F12A1641C0D1BB78B",
            "sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78",
            "sha512:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b",
            "sha256:../../../../etc/passwd/9f54eef412758095c8079ac465d494a2872e02e9",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn background_hasher_matches_direct_hash() {
        let h = BackgroundHasher::start();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(7000) {
            h.feed(Stream::Stored, chunk);
            h.feed(Stream::Decompressed, &chunk[..10]);
        }
        let (stored, _) = h.finish();
        assert_eq!(stored, Digest::of_bytes(&data));
    }
}
