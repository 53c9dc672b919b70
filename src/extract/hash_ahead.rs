//! Hashing plain layers ahead of their writing, so that one layer's hash overlaps another's
//! writes.
//!
//! A plain layer's only expensive check is its SHA-256, and a layer cannot be hashed before
//! it is written without holding its bytes. So where an archive file is held by a read lease
//! (see [`crate::archive::lease`]), a plain layer is read twice: a thread hashes the layers in
//! the order `extract` will write them, as far ahead as [`AHEAD`], while the writing thread
//! reads each layer itself, as `tar -x` does. The lease keeps the file unchanged between the
//! two reads; it is checked when a layer has been read to its end, before the layer's digests
//! are given out, so a layer whose file was opened for writing in between fails like one whose
//! digest is wrong.

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::archive::lease::{LeasedBlob, ReadLease};
use crate::archive::Section;
use crate::digest::Digest;
use crate::layer::{self, Compression, Measured, Sniffed};

/// How far the hashing may run ahead of the writing: the second read must still find the
/// bytes in the page cache.
const AHEAD: u64 = 256 << 20;

const CHUNK: usize = 256 * 1024;

/// The hashing thread, and the layers it hashes, by layer index.
pub struct HashAhead {
    tickets: HashMap<usize, Ticket>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer and the hashing thread share: how far the writer has read, and whether
/// the merge has stopped.
struct Shared {
    consumed: Mutex<u64>,
    moved: Condvar,
    stopped: AtomicBool,
    /// Bytes hashed so far, all layers together.
    hashed: AtomicU64,
    /// How far past `consumed` the hashing may go.
    ahead: u64,
}

type Hashed = io::Result<(Digest, u64)>;

/// One plain layer, read by the writer where it lies: its bytes, and its hash to come.
pub struct Ticket {
    section: Section,
    lease: Arc<ReadLease>,
    hashed: Receiver<Hashed>,
    shared: Arc<Shared>,
    /// Reads small enough to stay in the cache between read and write.
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    /// Bytes read so far.
    read: u64,
    finished: bool,
    digests: Option<Measured>,
}

impl HashAhead {
    /// Starts hashing the plain ones of `blobs` (layer index and blob, in the order they will
    /// be read). Compressed blobs are left to the usual pipeline.
    pub fn start(blobs: Vec<(usize, LeasedBlob)>) -> HashAhead {
        HashAhead::start_within(blobs, AHEAD)
    }

    fn start_within(blobs: Vec<(usize, LeasedBlob)>, ahead: u64) -> HashAhead {
        let shared = Arc::new(Shared {
            consumed: Mutex::new(0),
            moved: Condvar::new(),
            stopped: AtomicBool::new(false),
            hashed: AtomicU64::new(0),
            ahead,
        });
        let mut tickets = HashMap::new();
        let mut work = Vec::new();
        for (index, blob) in blobs {
            if !is_plain(&blob.section) {
                continue;
            }
            let (tx, rx) = channel();
            work.push((copy_of(&blob.section), tx));
            let ticket = Ticket {
                section: blob.section,
                lease: blob.lease,
                hashed: rx,
                shared: shared.clone(),
                buf: Vec::new(),
                len: 0,
                pos: 0,
                read: 0,
                finished: false,
                digests: None,
            };
            tickets.insert(index, ticket);
        }
        let thread = (!work.is_empty()).then(|| {
            let shared = shared.clone();
            std::thread::spawn(move || hash_in_turn(work, &shared))
        });
        HashAhead {
            tickets,
            shared,
            thread,
        }
    }

    /// The ticket of layer `index`, if it is a plain layer being hashed ahead.
    pub fn take(&mut self, index: usize) -> Option<Ticket> {
        self.tickets.remove(&index)
    }
}

impl Drop for HashAhead {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Relaxed);
        self.shared.moved.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Ticket {
    /// The rest of the current read, the next once it is spent (empty at the end, where the
    /// digests are settled or the error returned).
    pub fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len && !self.finished {
            if self.buf.is_empty() {
                self.buf = vec![0; CHUNK];
            }
            match self.section.read(&mut self.buf) {
                Ok(0) => {
                    self.finished = true;
                    self.digests = Some(self.finish()?);
                }
                Ok(n) => {
                    self.read += n as u64;
                    (self.pos, self.len) = (0, n);
                    let mut consumed = self
                        .shared
                        .consumed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    *consumed += n as u64;
                    self.shared.moved.notify_all();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.finished = true;
                    return Err(e);
                }
            }
        }
        Ok(&self.buf[self.pos..self.len])
    }

    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }

    /// The layer's digests, once it has been read to its end.
    pub fn digests(&self) -> Option<Measured> {
        self.digests.clone()
    }

    /// The hash of the first read, given out only if the second read was as long and the lease
    /// shows the file unchanged since the first.
    fn finish(&self) -> io::Result<Measured> {
        let read = self.read;
        let (digest, hashed) = self.hashed.recv().map_err(|_| {
            io::Error::other("internal error: the hashing thread stopped before this layer")
        })??;
        if hashed != read {
            return Err(io::Error::other(format!(
                "the layer read {read} bytes the second time and {hashed} the first"
            )));
        }
        if !self.lease.intact() {
            return Err(io::Error::other(
                "the archive was opened for writing while it was being read: the layer's \
                 bytes cannot be vouched for",
            ));
        }
        Ok(Measured {
            digest: Some(digest.clone()),
            compressed_size: Some(read),
            diff_id: Some(digest),
        })
    }
}

fn copy_of(section: &Section) -> Section {
    Section {
        file: section.file.clone(),
        pos: section.pos,
        end: section.end,
    }
}

/// Whether the blob starts as an uncompressed tar does (the rest of it is the tar reader's
/// business).
fn is_plain(section: &Section) -> bool {
    let mut head = [0u8; 8];
    let want = head.len().min((section.end - section.pos) as usize);
    match section.file.read_at(&mut head[..want], section.pos) {
        Ok(n) => layer::sniff(&head[..n]) == Sniffed::Known(Compression::None),
        Err(_) => false,
    }
}

fn hash_in_turn(work: Vec<(Section, Sender<Hashed>)>, shared: &Shared) {
    let mut buf = vec![0u8; CHUNK];
    for (mut section, tx) in work {
        let result = hash_one(&mut section, &mut buf, shared);
        if shared.stopped.load(Ordering::Relaxed) || tx.send(result).is_err() {
            return;
        }
    }
}

fn hash_one(section: &mut Section, buf: &mut [u8], shared: &Shared) -> Hashed {
    let mut hash = Sha256::new();
    let mut size = 0u64;
    loop {
        wait_for_writer(shared);
        if shared.stopped.load(Ordering::Relaxed) {
            return Err(io::Error::other("stopped"));
        }
        let n = match section.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hash.update(&buf[..n]);
        size += n as u64;
        shared.hashed.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok((Digest::from_sha256(hash.finalize().into()), size))
}

/// Waits while the hashing is more than `shared.ahead` past the writer.
fn wait_for_writer(shared: &Shared) {
    let hashed = shared.hashed.load(Ordering::Relaxed);
    let mut consumed = shared.consumed.lock().unwrap_or_else(|p| p.into_inner());
    while hashed > *consumed + shared.ahead && !shared.stopped.load(Ordering::Relaxed) {
        consumed = match shared
            .moved
            .wait_timeout(consumed, Duration::from_millis(100))
        {
            Ok((guard, _)) => guard,
            Err(p) => p.into_inner().0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::pipe::Pipelined;
    use std::fs::File;
    use std::io::Read;

    /// `bytes` in a file of ours on tmpfs, where Linux grants read leases.
    fn leased(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, LeasedBlob) {
        let dir = tempfile::tempdir_in("/dev/shm").expect("a tmpfs at /dev/shm");
        let path = dir.path().join("layer.tar");
        std::fs::write(&path, bytes).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        let lease = ReadLease::take(file.clone()).expect("a read lease on tmpfs");
        let section = Section {
            file,
            pos: 0,
            end: bytes.len() as u64,
        };
        let blob = LeasedBlob {
            section,
            lease: Arc::new(lease),
        };
        (dir, path, blob)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_leased_layer_reads_and_hashes_as_the_pipeline_does() {
        let bytes = pattern(3 << 20);
        let (_dir, path, blob) = leased(&bytes);
        let mut ahead = HashAhead::start(vec![(4, blob)]);
        assert!(ahead.take(3).is_none());
        let mut leased = Pipelined::leased(ahead.take(4).expect("a plain layer is hashed ahead"));
        let mut read = Vec::new();
        leased.read_to_end(&mut read).unwrap();
        assert!(read == bytes);
        let mut piped = Pipelined::start(Box::new(File::open(&path).unwrap()), true);
        io::copy(&mut piped, &mut io::sink()).unwrap();
        let expected = piped.digests().unwrap();
        assert!(expected.diff_id.is_some());
        assert_eq!(leased.digests(), Some(expected));
    }

    #[test]
    fn a_layer_whose_file_is_opened_for_writing_meanwhile_fails_at_its_end() {
        let bytes = pattern(1 << 20);
        let (_dir, path, blob) = leased(&bytes);
        let mut ahead = HashAhead::start(vec![(0, blob)]);
        let mut layer = Pipelined::leased(ahead.take(0).unwrap());
        let mut half = vec![0; 1 << 19];
        layer.read_exact(&mut half).unwrap();
        crate::archive::lease::start_writing(&path);
        let err = io::copy(&mut layer, &mut io::sink()).unwrap_err();
        assert!(err.to_string().contains("opened for writing"), "{err}");
        assert_eq!(layer.digests(), None);
    }

    /// Linux empties a file opened `O_RDONLY|O_TRUNC` without breaking a read lease: the
    /// second read then ends early, and the layer fails.
    #[test]
    fn a_layer_whose_file_is_emptied_meanwhile_fails() {
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = pattern(1 << 20);
        let (_dir, path, blob) = leased(&bytes);
        let mut ahead = HashAhead::start(vec![(0, blob)]);
        let mut layer = Pipelined::leased(ahead.take(0).unwrap());
        let mut half = vec![0; 1 << 19];
        layer.read_exact(&mut half).unwrap();
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_TRUNC)
            .open(&path)
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let err = io::copy(&mut layer, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        assert_eq!(layer.digests(), None);
    }

    #[test]
    fn a_compressed_layer_is_left_to_the_pipeline() {
        let (_dir, _path, blob) = leased(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        assert!(HashAhead::start(vec![(0, blob)]).take(0).is_none());
    }

    #[test]
    fn the_hashing_stays_within_its_lead_of_the_writer() {
        let bytes = pattern(8 << 20);
        let (_dir, _path, blob) = leased(&bytes);
        let lead = 1 << 20;
        let mut ahead = HashAhead::start_within(vec![(0, blob)], lead);
        let shared = ahead.shared.clone();
        std::thread::sleep(Duration::from_millis(300));
        let hashed = shared.hashed.load(Ordering::Relaxed);
        assert!(
            hashed > 0 && hashed <= lead + CHUNK as u64,
            "hashed {hashed}"
        );
        let mut layer = Pipelined::leased(ahead.take(0).unwrap());
        io::copy(&mut layer, &mut io::sink()).unwrap();
        assert_eq!(shared.hashed.load(Ordering::Relaxed), bytes.len() as u64);
        assert!(layer.digests().is_some());
    }
}
