//! Reads a layer blob on a second thread — hashing the stored bytes, decompressing, hashing the
//! decompressed bytes to their very end — and hands the decompressed stream to the writer a few
//! chunks ahead, so decompression, hashing and writing overlap.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use crate::digest::{BackgroundHasher, Digest, Feeder, Stream};
use crate::layer::{self, Compression};

#[derive(Debug, Clone)]
pub struct LayerDigests {
    /// The blob's digest, unless the caller did not ask for it (see [`Pipelined::start`]).
    pub stored: Option<Digest>,
    pub stored_size: u64,
    pub diff_id: Digest,
}

enum Message {
    /// A chunk buffer and how many of its bytes are data (buffers keep their full length, so
    /// that reusing one never zeroes it again).
    Data(Vec<u8>, usize),
    Failed(io::Error),
    Done(LayerDigests),
}

pub struct Pipelined {
    chunks: Receiver<Message>,
    /// Read chunks go back to the reader thread for reuse.
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    /// Data bytes in `current`.
    len: usize,
    pos: usize,
    finished: bool,
    digests: Option<LayerDigests>,
}

const CHUNK: usize = 256 * 1024;

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
        let (tx, rx) = sync_channel(4);
        let (spent, reuse) = sync_channel::<Vec<u8>>(4);
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
            let stored_wanted = blob_digest || compression == Compression::None;
            hashing.store(stored_wanted, Ordering::Relaxed);
            loop {
                let mut buf = reuse.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        // A plain tar is its own diffID: it is hashed once, as stored.
                        if compression != Compression::None {
                            hasher.feed(Stream::Decompressed, &buf[..n]);
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
            let (stored_digest, decompressed_digest) = hasher.finish();
            let diff_id = if compression == Compression::None {
                stored_digest.clone()
            } else {
                decompressed_digest
            };
            let _ = tx.send(Message::Done(LayerDigests {
                stored: stored_wanted.then_some(stored_digest),
                stored_size,
                diff_id,
            }));
        });
        Pipelined {
            chunks: rx,
            spent,
            current: Vec::new(),
            len: 0,
            pos: 0,
            finished: false,
            digests: None,
        }
    }

    /// The layer's digests, once the stream has been read to its end.
    pub fn digests(&self) -> Option<LayerDigests> {
        self.digests.clone()
    }
}

impl Read for Pipelined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = io::BufRead::fill_buf(self)?;
        let n = buf.len().min(chunk.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl io::BufRead for Pipelined {
    /// The rest of the current chunk, the next one once it is spent (empty at the end).
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

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}
