//! Reads a layer blob on a second thread — hashing the stored bytes, decompressing, hashing the
//! decompressed bytes to their very end — and hands the decompressed stream to the writer a few
//! chunks ahead, so decompression, hashing and writing overlap.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::layer::{self, Compression};

#[derive(Debug, Clone)]
pub struct LayerDigests {
    pub stored: Digest,
    pub stored_size: u64,
    pub diff_id: Digest,
}

enum Message {
    Data(Vec<u8>),
    Failed(io::Error),
    Done(LayerDigests),
}

pub struct Pipelined {
    chunks: Receiver<Message>,
    current: Vec<u8>,
    pos: usize,
    finished: bool,
    digests: Option<LayerDigests>,
}

const CHUNK: usize = 256 * 1024;

/// sha256 and byte count of what passes through, readable after the reader is moved away.
#[derive(Clone, Default)]
struct Tally(Arc<Mutex<(Sha256, u64)>>);

struct Hashing<R> {
    inner: R,
    tally: Tally,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut t = self.tally.0.lock().unwrap_or_else(|p| p.into_inner());
        t.0.update(&buf[..n]);
        t.1 += n as u64;
        Ok(n)
    }
}

impl Tally {
    fn finish(&self) -> (Digest, u64) {
        let t = self.tally();
        (Digest::from_sha256(t.0.into()), t.1)
    }

    fn tally(&self) -> (sha2::digest::Output<Sha256>, u64) {
        let t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (t.0.clone().finalize(), t.1)
    }
}

impl Pipelined {
    pub fn start(blob: Box<dyn Read + Send>) -> Pipelined {
        let (tx, rx) = sync_channel(4);
        std::thread::spawn(move || {
            let stored = Tally::default();
            let decompressed = Tally::default();
            let hashing = Hashing {
                inner: blob,
                tally: stored.clone(),
            };
            let (compression, stream) = match layer::decompressed(hashing) {
                Ok(x) => x,
                Err(e) => {
                    let _ = tx.send(Message::Failed(io::Error::other(e.to_string())));
                    return;
                }
            };
            // A plain tar is its own diffID: hash it once.
            let mut source: Box<dyn Read + Send> = if compression == Compression::None {
                stream
            } else {
                Box::new(Hashing {
                    inner: stream,
                    tally: decompressed.clone(),
                })
            };
            loop {
                let mut buf = vec![0u8; CHUNK];
                match source.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Message::Data(buf)).is_err() {
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
            drop(source);
            let (stored_digest, stored_size) = stored.finish();
            let diff_id = if compression == Compression::None {
                stored_digest.clone()
            } else {
                decompressed.finish().0
            };
            let _ = tx.send(Message::Done(LayerDigests {
                stored: stored_digest,
                stored_size,
                diff_id,
            }));
        });
        Pipelined {
            chunks: rx,
            current: Vec::new(),
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
        while self.pos == self.current.len() {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Message::Data(chunk)) => {
                    self.current = chunk;
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
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
