//! Reads a layer blob on a second thread — hashing the stored bytes, decompressing, hashing the
//! decompressed bytes to their very end — and hands the decompressed stream to the writer a few
//! chunks ahead, so decompression, hashing and writing overlap. A small blob is read the same
//! way on the caller's thread instead (see [`INLINE_BELOW`]); a plain layer lying in a file
//! is read by whichever thread is free (see [`super::shared_read`]).

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use super::shared_read::SharedRead;
use crate::archive::Section;
use crate::digest::{BackgroundHasher, Digest, Feeder, Stream};
use crate::layer::{self, Compression, Measured};

/// Blobs smaller than this are read on the caller's thread: for them two extra threads cost
/// more (spawns, hand-offs, chunk buffers faulted in afresh for every layer) than the overlap
/// of decompressing, hashing and consuming gains. 2 MiB of gzip inflates in a few ms.
pub const INLINE_BELOW: u64 = 2 << 20;

enum Message {
    /// A chunk buffer and how many of its bytes are data (buffers keep their full length, so
    /// that reusing one never zeroes it again).
    Data(Vec<u8>, usize),
    Failed(io::Error),
    Done(Measured),
}

pub struct Pipelined {
    source: Source,
}

enum Source {
    Threaded(Threaded),
    Inline(Inline),
    Shared(Box<SharedRead>),
}

struct Threaded {
    chunks: Receiver<Message>,
    /// Read chunks go back to the reader thread for reuse.
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    /// Data bytes in `current`.
    len: usize,
    pos: usize,
    finished: bool,
    digests: Option<Measured>,
}

const CHUNK: usize = 1024 * 1024;

/// Chunks the reader may be ahead of the consumer. Deeper queues (8 or 32 chunks) measured no
/// faster on the bench image's plain layers, and each chunk costs 1 MiB per layer stream (the
/// explore commands and the layer store read several streams at once).
const CHANNEL_DEPTH: usize = 2;

/// Feeds the stored bytes to the hasher as they are read, while `hashing` holds.
struct Counting<R> {
    inner: R,
    feeder: Feeder,
    hashing: Arc<AtomicBool>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hashing.load(Ordering::Relaxed) {
            self.feeder.feed(&buf[..n]);
        }
        Ok(n)
    }
}

/// Counts the stored bytes where the count survives the reader being moved into a decoder.
struct CountInto<R> {
    inner: R,
    total: Arc<Mutex<u64>>,
}

impl<R: Read> Read for CountInto<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.total.lock().unwrap_or_else(|p| p.into_inner()) += n as u64;
        Ok(n)
    }
}

impl Pipelined {
    /// Starts reading `blob`. With `blob_digest` false, a compressed blob's own digest is not
    /// computed (its diffID always is, and a plain tar's digest is its diffID): for the layer
    /// store, keyed by diffIDs, that hash would be spent for nothing.
    pub fn start(blob: Box<dyn Read + Send>, blob_digest: bool) -> Pipelined {
        Pipelined {
            source: Source::Threaded(Threaded::start(blob, blob_digest)),
        }
    }

    /// Like [`Pipelined::start`], but a blob known to be smaller than [`INLINE_BELOW`] is read
    /// on the caller's thread.
    pub fn start_sized(
        blob: Box<dyn Read + Send>,
        blob_digest: bool,
        stored_size: Option<u64>,
    ) -> Pipelined {
        match stored_size {
            Some(size) if size < INLINE_BELOW => Pipelined {
                source: Source::Inline(Inline::start(blob, blob_digest)),
            },
            _ => Pipelined::start(blob, blob_digest),
        }
    }

    /// Reads a plain layer lying in `section` by whichever thread is free (see
    /// [`super::shared_read`]).
    pub fn shared(section: Section) -> Pipelined {
        Pipelined {
            source: Source::Shared(Box::new(SharedRead::start(section))),
        }
    }

    /// The layer's digests, once the stream has been read to its end.
    pub fn digests(&self) -> Option<Measured> {
        match &self.source {
            Source::Shared(s) => s.digests(),
            Source::Threaded(t) => t.digests.clone(),
            Source::Inline(i) => i.digests.clone(),
        }
    }
}

impl Read for Pipelined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = io::BufRead::fill_buf(self)?;
        let n = buf.len().min(chunk.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl io::BufRead for Pipelined {
    /// The rest of the current chunk, the next one once it is spent (empty at the end).
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match &mut self.source {
            Source::Threaded(t) => t.fill_buf(),
            Source::Inline(i) => i.fill_buf(),
            Source::Shared(s) => s.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        let (pos, len) = match &mut self.source {
            Source::Threaded(t) => (&mut t.pos, t.len),
            Source::Inline(i) => (&mut i.pos, i.len),
            Source::Shared(s) => return s.consume(n),
        };
        *pos = (*pos + n).min(len);
    }
}

impl Threaded {
    fn start(blob: Box<dyn Read + Send>, blob_digest: bool) -> Threaded {
        let (tx, rx) = sync_channel(CHANNEL_DEPTH);
        let (spent, reuse) = sync_channel::<Vec<u8>>(CHANNEL_DEPTH);
        std::thread::spawn(move || {
            // Hashing runs on a third thread: the decompressor is the critical path.
            let hasher = BackgroundHasher::start();
            let hashing = Arc::new(AtomicBool::new(true));
            let stored = Counting {
                inner: blob,
                feeder: hasher.feeder(Stream::Stored),
                hashing: hashing.clone(),
            };
            let counted = Arc::new(Mutex::new(0u64));
            let (compression, mut stream) = match layer::decompressed(CountInto {
                inner: stored,
                total: counted.clone(),
            }) {
                Ok(x) => x,
                Err(e) => {
                    // Kept typed: readers tell an unsupported compression from a corrupt tar
                    // (see `entries::tar_problem`).
                    let _ = tx.send(Message::Failed(io::Error::other(e)));
                    return;
                }
            };
            let plain = compression == Compression::None;
            let stored_wanted = blob_digest || plain;
            // A plain tar is its own diffID, and its stream is the stored bytes (the sniffed
            // ones included): it is hashed once, here, on this thread, which has nothing else
            // to do but read; a third thread and a copy of every chunk for it cost more.
            hashing.store(stored_wanted && !plain, Ordering::Relaxed);
            let mut plain_hash = plain.then(Sha256::new);
            loop {
                let mut buf = reuse.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        match &mut plain_hash {
                            Some(hash) => hash.update(&buf[..n]),
                            None => hasher.feed(Stream::Decompressed, &buf[..n]),
                        }
                        if tx.send(Message::Data(buf, n)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Message::Failed(e));
                        return;
                    }
                }
            }
            drop(stream);
            let stored_size = *counted.lock().unwrap_or_else(|p| p.into_inner());
            let (mut stored_digest, mut diff_id) = hasher.finish();
            if let Some(hash) = plain_hash {
                diff_id = Digest::from_sha256(hash.finalize().into());
                stored_digest = diff_id.clone();
            }
            let _ = tx.send(Message::Done(Measured {
                digest: stored_wanted.then_some(stored_digest),
                compressed_size: Some(stored_size),
                diff_id: Some(diff_id),
            }));
        });
        Threaded {
            chunks: rx,
            spent,
            current: Vec::new(),
            len: 0,
            pos: 0,
            finished: false,
            digests: None,
        }
    }

    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len {
            if self.finished {
                return Ok(&[]);
            }
            match self.chunks.recv() {
                Ok(Message::Data(chunk, n)) => {
                    let spent = std::mem::replace(&mut self.current, chunk);
                    if spent.len() == CHUNK {
                        let _ = self.spent.try_send(spent);
                    }
                    self.len = n;
                    self.pos = 0;
                }
                Ok(Message::Done(d)) => {
                    self.digests = Some(d);
                    self.finished = true;
                }
                Ok(Message::Failed(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                Err(_) => {
                    self.finished = true;
                    return Err(io::Error::other("the layer reader stopped unexpectedly"));
                }
            }
        }
        Ok(&self.current[self.pos..self.len])
    }
}

/// The stored bytes' hash and count, kept where the reader moved into a decoder can reach them.
struct StoredTally {
    hash: Sha256,
    size: u64,
    hashing: bool,
}

struct TallyInto<R> {
    inner: R,
    tally: Arc<Mutex<StoredTally>>,
}

impl<R: Read> Read for TallyInto<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        tally.size += n as u64;
        if tally.hashing {
            tally.hash.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A small blob read on the caller's thread, with the same digests as [`Threaded`].
struct Inline {
    /// The decompressed stream, or why it could not be set up (reported by the first read).
    stream: Result<Box<dyn Read + Send>, Option<io::Error>>,
    tally: Arc<Mutex<StoredTally>>,
    /// The decompressed bytes' hash; `None` for a plain tar, which is its own diffID.
    decompressed: Option<Sha256>,
    stored_wanted: bool,
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    digests: Option<Measured>,
}

const INLINE_CHUNK: usize = 64 * 1024;

impl Inline {
    fn start(blob: Box<dyn Read + Send>, blob_digest: bool) -> Inline {
        let tally = Arc::new(Mutex::new(StoredTally {
            hash: Sha256::new(),
            size: 0,
            hashing: true,
        }));
        let tapped = TallyInto {
            inner: blob,
            tally: tally.clone(),
        };
        let (stream, decompressed, stored_wanted) = match layer::decompressed(tapped) {
            Ok((compression, stream)) => {
                let plain = compression == Compression::None;
                let wanted = blob_digest || plain;
                tally.lock().unwrap_or_else(|p| p.into_inner()).hashing = wanted;
                (Ok(stream), (!plain).then(Sha256::new), wanted)
            }
            // Kept typed, as the threaded reader keeps it (see `entries::tar_problem`).
            Err(e) => (Err(Some(io::Error::other(e))), None, false),
        };
        Inline {
            stream,
            tally,
            decompressed,
            stored_wanted,
            buf: vec![0; INLINE_CHUNK],
            len: 0,
            pos: 0,
            digests: None,
        }
    }

    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len {
            if self.digests.is_some() {
                return Ok(&[]);
            }
            let stream = match &mut self.stream {
                Ok(stream) => stream,
                Err(failed) => {
                    return Err(failed.take().unwrap_or_else(|| {
                        io::Error::other("the layer could not be read (reported before)")
                    }))
                }
            };
            let n = match stream.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stream = Err(None);
                    return Err(e);
                }
            };
            if n == 0 {
                self.finish();
                break;
            }
            if let Some(hash) = &mut self.decompressed {
                hash.update(&self.buf[..n]);
            }
            self.len = n;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.len])
    }

    fn finish(&mut self) {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        let stored = Digest::from_sha256(std::mem::take(&mut tally.hash).finalize().into());
        let diff_id = match self.decompressed.take() {
            Some(hash) => Digest::from_sha256(hash.finalize().into()),
            None => stored.clone(),
        };
        self.digests = Some(Measured {
            digest: self.stored_wanted.then_some(stored),
            compressed_size: Some(tally.size),
            diff_id: Some(diff_id),
        });
        self.len = 0;
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// Reads `blob` to its end both ways: (bytes, digests or the error's text).
    fn read_both(blob: &[u8], blob_digest: bool) -> [(Vec<u8>, String); 2] {
        let size = blob.len() as u64;
        assert!(
            size < INLINE_BELOW,
            "the test blob must be small enough to be read inline"
        );
        [None, Some(size)].map(|hint| {
            let mut reader =
                Pipelined::start_sized(Box::new(io::Cursor::new(blob.to_vec())), blob_digest, hint);
            let mut out = Vec::new();
            let end = match reader.read_to_end(&mut out) {
                Ok(_) => format!("{:?}", reader.digests()),
                Err(e) => format!("error: {e}"),
            };
            (out, end)
        })
    }

    #[test]
    fn inline_and_threaded_reads_agree() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let gz = gzip(&data);
        for (blob, digest) in [(&data[..], true), (&gz[..], true), (&gz[..], false)] {
            let [threaded, inline] = read_both(blob, digest);
            assert_eq!(
                threaded.0, data,
                "the threaded read gives the decompressed bytes"
            );
            assert_eq!(threaded, inline);
            assert!(
                threaded.1.contains(&Digest::of_bytes(&data).to_string()),
                "{}",
                threaded.1
            );
        }
    }

    #[test]
    fn inline_and_threaded_fail_alike() {
        let gz = gzip(&[9u8; 300_000]);
        let xz = [0xFD, b'7', b'z', b'X', b'Z', 0, 0, 0];
        for blob in [&gz[..gz.len() / 2], &xz[..]] {
            let [threaded, inline] = read_both(blob, true);
            assert!(threaded.1.starts_with("error: "), "{}", threaded.1);
            assert_eq!(threaded.1, inline.1);
        }
    }
}
