//! A plain layer read once, by whichever of two threads is free.
//!
//! A plain layer's bytes go two ways: to SHA-256 (its digest and diffID) and to the writer.
//! When many small files make the writer the slower thread (the hash keeps up with it), the
//! hashing thread reads the writer's next chunks before hashing, as [`super::pipe`] does, so
//! that the writer's time goes to writing. When large files make the hash the slower one, the
//! writer, instead of waiting, reads the next chunk itself and passes it back to be hashed: the
//! hashing thread is left with the hash alone, and the writer copies from a chunk still in its
//! own cache. Each byte is read once, into a buffer of this process, and the same buffer is
//! hashed and written.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use sha2::{Digest as _, Sha256};

use crate::archive::Section;
use crate::digest::Digest;
use crate::layer::Measured;

const CHUNK: usize = 256 * 1024;

/// Chunks read ahead of the writer, and chunks the writer may read ahead of the hash.
const AHEAD: u64 = 8;

/// How far the hash may trail the writer and still count as keeping up with it: then the
/// writer is the slower side, and the hashing thread reads the writer's next chunks before
/// hashing, so that the writer's time goes to writing.
const KEEPING_UP: u64 = 2;

type Chunk = Arc<(Vec<u8>, usize)>;

#[derive(Default)]
struct State {
    /// The first chunk nobody has claimed to read.
    next_claim: u64,
    /// The next chunk the writer takes, and the next the hash takes.
    write_next: u64,
    hash_next: u64,
    /// Chunks read by the hashing thread, for the writer.
    for_writer: BTreeMap<u64, Chunk>,
    /// Chunks read by the writer, for the hash.
    for_hash: BTreeMap<u64, Chunk>,
    /// The number of chunks, once a read has found the end.
    end: Option<u64>,
    failed: Option<(io::ErrorKind, String)>,
    digests: Option<Measured>,
    writer_gone: bool,
    /// Threads waiting on the condition variable: a wake-up is a syscall, made only for them.
    waiting: u32,
    /// Chunks the writer read, for the tests.
    read_by_writer: u64,
    /// The most chunks ever waiting in `for_writer` and `for_hash` together, for the tests.
    most_filed: usize,
    /// The chunk at which the hashing thread panics, for the tests.
    #[cfg(test)]
    panic_at: Option<u64>,
    /// Buffers to read into again.
    spare: Vec<Vec<u8>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    section: Section,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, mut guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        guard.waiting += 1;
        let mut guard = self.changed.wait(guard).unwrap_or_else(|p| p.into_inner());
        guard.waiting -= 1;
        guard
    }

    fn wake(&self, state: &State) {
        if state.waiting > 0 {
            self.changed.notify_all();
        }
    }

    /// Reads chunk `index` (outside the lock) into a spare buffer, grown only as far as the
    /// chunk needs (a small layer does not zero a whole chunk).
    fn read(&self, index: u64, buf: Vec<u8>) -> io::Result<Chunk> {
        let mut buf = buf;
        let start = self.section.pos + index * CHUNK as u64;
        let want = self.section.end.saturating_sub(start).min(CHUNK as u64) as usize;
        if buf.len() < want {
            buf.resize(want, 0);
        }
        let mut filled = 0;
        while filled < want {
            match self
                .section
                .file
                .read_at(&mut buf[filled..want], start + filled as u64)
            {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "archive ends inside this entry",
                    ))
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Arc::new((buf, filled)))
    }

    /// Claims chunk `index` (the next unclaimed one), reads it outside the lock and files it
    /// for whoever `by` says; a failed read fails both threads.
    fn claim<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        index: u64,
        by: Claim,
    ) -> (MutexGuard<'a, State>, io::Result<Chunk>) {
        state.next_claim += 1;
        state.read_by_writer += u64::from(by == Claim::Writer);
        let buf = state.spare.pop().unwrap_or_default();
        drop(state);
        let read = self.read(index, buf);
        let mut state = self.lock();
        match &read {
            Ok(chunk) => self.file(&mut state, index, chunk, by),
            Err(e) => self.fail(&mut state, e),
        }
        (state, read)
    }

    /// Files a chunk read by either thread; a short one marks the end.
    fn file(&self, state: &mut State, index: u64, chunk: &Chunk, by: Claim) {
        if chunk.1 < CHUNK {
            let end = index + u64::from(chunk.1 > 0);
            state.end = Some(state.end.map_or(end, |e| e.min(end)));
        }
        if by != Claim::Writer {
            state.for_writer.insert(index, chunk.clone());
        }
        if by != Claim::Hash {
            state.for_hash.insert(index, chunk.clone());
        }
        state.most_filed = state
            .most_filed
            .max(state.for_writer.len() + state.for_hash.len());
        self.wake(state);
    }

    fn fail(&self, state: &mut State, e: &io::Error) {
        if state.failed.is_none() {
            state.failed = Some((e.kind(), e.to_string()));
        }
        self.wake(state);
    }
}

/// Who reads a chunk, and so who is handed it: the writer reads for itself and the hash; the
/// hashing thread reads the chunk it hashes next, for itself and the writer, or reads ahead
/// for the writer and files the chunk for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Writer,
    Hash,
    AheadForWriter,
}

fn error_of(failed: &(io::ErrorKind, String)) -> io::Error {
    io::Error::new(failed.0, failed.1.clone())
}

/// Gives a buffer back once neither thread holds it.
fn recycle(state: &mut State, chunk: Chunk) {
    if let Ok((buf, _)) = Arc::try_unwrap(chunk) {
        if state.spare.len() < 2 * AHEAD as usize {
            state.spare.push(buf);
        }
    }
}

/// The writer's side: a plain layer's bytes in order, its digests at the end.
pub struct SharedRead {
    shared: Arc<Shared>,
    current: Option<Chunk>,
    pos: usize,
    finished: bool,
    digests: Option<Measured>,
}

impl SharedRead {
    /// Starts hashing `section`, a plain layer, on a thread of its own.
    pub fn start(section: Section) -> SharedRead {
        SharedRead::start_with(section, State::default())
    }

    fn start_with(section: Section, state: State) -> SharedRead {
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            changed: Condvar::new(),
            section,
        });
        let hashing = shared.clone();
        std::thread::spawn(move || hash(&hashing));
        SharedRead {
            shared,
            current: None,
            pos: 0,
            finished: false,
            digests: None,
        }
    }

    pub fn digests(&self) -> Option<Measured> {
        self.digests.clone()
    }

    pub fn consume(&mut self, n: usize) {
        let len = self.current.as_ref().map_or(0, |c| c.1);
        self.pos = (self.pos + n).min(len);
    }

    pub fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let spent = self.current.as_ref().map_or(true, |c| self.pos == c.1);
        if spent && !self.finished {
            self.next_chunk()?;
        } else if spent {
            // A failed layer stays failed: a caller that passed over the first error must
            // not see a clean end next.
            if let Some(failed) = &self.shared.lock().failed {
                return Err(error_of(failed));
            }
        }
        Ok(match &self.current {
            Some(c) => &c.0[self.pos..c.1],
            None => &[],
        })
    }

    /// Takes the next chunk: read by the hashing thread, or read here when nobody has.
    fn next_chunk(&mut self) -> io::Result<()> {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        if let Some(old) = self.current.take() {
            recycle(&mut state, old);
        }
        loop {
            if let Some(failed) = &state.failed {
                self.finished = true;
                return Err(error_of(failed));
            }
            let index = state.write_next;
            if let Some(chunk) = state.for_writer.remove(&index) {
                state.write_next += 1;
                shared.wake(&state);
                if chunk.1 == 0 {
                    // The empty read that found the end: not a chunk to hand out.
                    recycle(&mut state, chunk);
                    continue;
                }
                return self.take(chunk);
            }
            if state.end.is_some_and(|end| index >= end) {
                if let Some(digests) = state.digests.clone() {
                    self.finished = true;
                    self.digests = Some(digests);
                    return Ok(());
                }
            } else if state.next_claim == index && (state.for_hash.len() as u64) < AHEAD {
                let read;
                (state, read) = shared.claim(state, index, Claim::Writer);
                if let Ok(chunk) = read {
                    state.write_next += 1;
                    if chunk.1 > 0 {
                        return self.take(chunk);
                    }
                }
                continue;
            }
            state = shared.wait(state);
        }
    }

    fn take(&mut self, chunk: Chunk) -> io::Result<()> {
        self.pos = 0;
        self.current = Some(chunk);
        Ok(())
    }

    /// Whether `section` holds a plain tar (compressed layers go through [`super::pipe`]).
    pub fn is_plain(section: &Section) -> bool {
        let mut head = [0u8; 8];
        let want = head
            .len()
            .min(section.end.saturating_sub(section.pos) as usize);
        match section.file.read_at(&mut head[..want], section.pos) {
            Ok(n) => {
                crate::layer::sniff(&head[..n])
                    == crate::layer::Sniffed::Known(crate::layer::Compression::None)
            }
            Err(_) => false,
        }
    }
}

impl Drop for SharedRead {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.writer_gone = true;
        self.shared.wake(&state);
    }
}

/// The hashing thread: hashes the chunks in order, reading ahead of the writer those that
/// nobody has read yet.
fn hash(shared: &Shared) {
    /// Should this thread end without digests (a panic), the writer is told instead of
    /// waiting for ever.
    struct Ended<'a>(&'a Shared);
    impl Drop for Ended<'_> {
        fn drop(&mut self) {
            let mut state = self.0.lock();
            if state.digests.is_none() && state.failed.is_none() {
                state.failed = Some((
                    io::ErrorKind::Other,
                    "internal error: the layer's hashing thread stopped".into(),
                ));
            }
            self.0.wake(&state);
        }
    }
    let _ended = Ended(shared);
    let mut sha = Sha256::new();
    let mut size = 0u64;
    let mut state = shared.lock();
    loop {
        if state.writer_gone || state.failed.is_some() {
            return;
        }
        let index = state.hash_next;
        #[cfg(test)]
        if state.panic_at == Some(index) {
            drop(state);
            panic!("the hashing thread fails at chunk {index}, as the test asks");
        }
        let ahead = state.next_claim;
        if ahead < state.write_next + AHEAD
            && index + KEEPING_UP >= state.write_next
            && state.end.map_or(true, |end| ahead < end)
        {
            // The writer is the slower side: its next chunk read here, before this thread
            // goes on hashing, spares it the read.
            let read;
            (state, read) = shared.claim(state, ahead, Claim::AheadForWriter);
            if read.is_err() {
                return;
            }
            continue;
        }
        let chunk = if let Some(chunk) = state.for_hash.remove(&index) {
            shared.wake(&state);
            chunk
        } else if state.end.is_some_and(|end| index >= end) {
            // A plain tar is its own diffID.
            let digest = Digest::from_sha256(sha.finalize().into());
            state.digests = Some(Measured {
                digest: Some(digest.clone()),
                compressed_size: Some(size),
                diff_id: Some(digest),
            });
            shared.wake(&state);
            return;
        } else if state.next_claim == index && index < state.write_next + AHEAD {
            let read;
            (state, read) = shared.claim(state, index, Claim::Hash);
            match read {
                Ok(chunk) => chunk,
                Err(_) => return,
            }
        } else {
            state = shared.wait(state);
            continue;
        };
        drop(state);
        sha.update(&chunk.0[..chunk.1]);
        size += chunk.1 as u64;
        state = shared.lock();
        state.hash_next += 1;
        recycle(&mut state, chunk);
        shared.wake(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::pipe::Pipelined;
    use std::fs::File;
    use std::io::Read;
    use std::time::{Duration, Instant};

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// `bytes` at offset 3 of a file (a section need not start at 0), its section claiming
    /// `claimed` bytes.
    fn section_of(bytes: &[u8], claimed: u64) -> (tempfile::NamedTempFile, Section) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, b"abc").unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        let section = Section {
            file: Arc::new(File::open(file.path()).unwrap()),
            pos: 3,
            end: 3 + claimed,
        };
        (file, section)
    }

    #[test]
    fn bytes_and_digests_are_the_sections_at_every_size() {
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK,
            20 * CHUNK + 17,
        ] {
            let bytes = pattern(len);
            let (_file, section) = section_of(&bytes, len as u64);
            let mut layer = Pipelined::shared(section);
            let mut read = Vec::new();
            layer.read_to_end(&mut read).unwrap();
            assert!(read == bytes, "bytes of a {len}-byte section");
            let digest = Digest::of_bytes(&bytes);
            let expected = Measured {
                digest: Some(digest.clone()),
                compressed_size: Some(len as u64),
                diff_id: Some(digest),
            };
            assert_eq!(layer.digests(), Some(expected), "digests of {len} bytes");
        }
    }

    /// Reads `section` to its end, `pause` after each chunk taken; how many chunks the
    /// writer read itself. Whatever the pace, the chunks held stay within their bound.
    fn read_with_pauses(section: Section, pause: Duration) -> u64 {
        let mut reader = SharedRead::start(section);
        loop {
            let n = reader.fill_buf().unwrap().len();
            if n == 0 {
                break;
            }
            reader.consume(n);
            std::thread::sleep(pause);
        }
        assert!(reader.digests().is_some());
        let state = reader.shared.lock();
        let bound = 2 * AHEAD as usize + KEEPING_UP as usize;
        assert!(
            state.most_filed <= bound,
            "{} chunks held at once",
            state.most_filed
        );
        state.read_by_writer
    }

    #[test]
    fn a_slow_writer_leaves_the_reads_to_the_hashing_thread() {
        let bytes = pattern(40 * CHUNK);
        let (_file, section) = section_of(&bytes, bytes.len() as u64);
        let by_writer = read_with_pauses(section, Duration::from_millis(3));
        assert!(by_writer <= 2, "the writer read {by_writer} of 40 chunks");
    }

    #[test]
    fn a_writer_waiting_on_the_hash_reads_for_itself() {
        // 64 MiB: the hash takes tens of milliseconds, taking a chunk microseconds.
        let bytes = pattern(256 * CHUNK);
        let (_file, section) = section_of(&bytes, bytes.len() as u64);
        let by_writer = read_with_pauses(section, Duration::ZERO);
        assert!(
            by_writer >= 64,
            "the writer read only {by_writer} of 256 chunks"
        );
    }

    #[test]
    fn a_file_shorter_than_its_section_fails_the_read() {
        let bytes = pattern(2 * CHUNK + 5);
        let (_file, section) = section_of(&bytes, bytes.len() as u64 + 100);
        let mut layer = Pipelined::shared(section);
        let err = std::io::copy(&mut layer, &mut std::io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        assert_eq!(layer.digests(), None);
    }

    #[test]
    fn a_failed_layer_keeps_failing() {
        let bytes = pattern(CHUNK + 5);
        let (_file, section) = section_of(&bytes, bytes.len() as u64 + 1);
        let mut layer = Pipelined::shared(section);
        let err = std::io::copy(&mut layer, &mut std::io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
        let again = layer.read(&mut [0; 16]).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::UnexpectedEof, "{again}");
    }

    #[test]
    fn a_hashing_thread_that_dies_fails_the_layer_instead_of_hanging() {
        let bytes = pattern(6 * CHUNK);
        let (_file, section) = section_of(&bytes, bytes.len() as u64);
        let state = State {
            panic_at: Some(2),
            ..State::default()
        };
        let mut reader = SharedRead::start_with(section, state);
        let err = loop {
            match reader.fill_buf() {
                Ok([]) => panic!("a clean end without the hash of every chunk"),
                Ok(chunk) => {
                    let n = chunk.len();
                    reader.consume(n);
                }
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("hashing thread stopped"), "{err}");
        assert_eq!(reader.digests(), None);
    }

    #[test]
    fn dropping_the_reader_midway_ends_the_hashing_thread() {
        let bytes = pattern(64 * CHUNK);
        let (_file, section) = section_of(&bytes, bytes.len() as u64);
        let file = section.file.clone();
        let mut layer = Pipelined::shared(section);
        let mut some = vec![0; CHUNK];
        layer.read_exact(&mut some).unwrap();
        drop(layer);
        let start = Instant::now();
        while Arc::strong_count(&file) > 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the thread still runs"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
