//! A reader that follows the tar structure of the bytes passing through it and refuses headers
//! whose claims would make a parser hold unbounded data in memory: pax and GNU long-name records
//! larger than [`META_LIMIT`]. The `tar` crate reads such records whole, so without this a
//! hostile layer (or a gzip bomb behind it) could make it allocate gigabytes. Where entries are
//! read out ([`TarGuard::expanding`]), it also bounds what sparse entries may claim and refuses
//! PAX sparse files, whose map the `tar` crate would hand out as the file's content.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

/// Largest pax extended header or GNU long name/link record accepted.
pub const META_LIMIT: u64 = 1024 * 1024;
/// Most old-GNU sparse extension blocks one entry may have (21 map entries each): the `tar`
/// crate's handling of the map is quadratic in its length.
pub const SPARSE_BLOCK_LIMIT: u64 = 100;
/// Largest total size that the sparse entries of an image may expand to when extracted: a few
/// bytes of header can claim terabytes of holes, and reading them out takes time in proportion.
pub const SPARSE_SIZE_LIMIT: u64 = 16 << 30;

/// What the sparse entries of the layers read so far claim, shared by every layer of one
/// extraction (see [`TarGuard::expanding`]).
pub type SparseBudget = std::sync::Arc<std::sync::atomic::AtomicU64>;

const BLOCK: u64 = 512;

pub struct TarGuard<R> {
    inner: R,
    watch: Watch,
    /// Bytes passed through so far (the stream position the tar crate keeps in step with).
    pos: u64,
}

/// What the guard knows of the tar structure so far.
struct Watch {
    state: State,
    header: Box<[u8; 512]>,
    filled: usize,
    /// A pax `size` record overrides the next entry's header size.
    next_size: Option<u64>,
    /// Data size of an old-GNU sparse entry whose extension blocks are being read.
    pending_size: u64,
    /// Extension blocks of that entry so far.
    sparse_blocks: u64,
    /// Real sizes of the sparse entries seen so far, when their data will be expanded.
    sparse_total: Option<SparseBudget>,
    /// What this guard's sparse entries added to `sparse_total`.
    sparse_claimed: u64,
    /// Bytes observed so far, and where the last header the guard parsed began: a reader of
    /// the same stream must find each entry's header exactly there (see
    /// [`TarGuard::last_header_at`]).
    seen: u64,
    last_header: Option<u64>,
    /// Length of the pax records being kept (the data without its padding).
    pax_len: u64,
    /// The type of the `x`, `L` or `K` header whose data is being kept.
    meta_kind: u8,
    /// A long name or pax `path` for the next entry ends in `/`.
    pending_slash: bool,
    /// The pax data for the next entry, kept while someone taps it.
    pending_pax: Option<Vec<u8>>,
    tap: Option<PaxTap>,
}

enum State {
    /// Collecting the next 512-byte header.
    Header,
    /// Old GNU sparse extension blocks follow the header.
    SparseExtension,
    /// Skipping `remaining` bytes of entry data (with padding); pax data is kept to read `size`.
    Data {
        remaining: u64,
        pax: Option<Vec<u8>>,
    },
    /// Past the end-of-archive marker: whatever follows is not tar structure.
    Done,
}

impl<R: Read> TarGuard<R> {
    pub fn new(inner: R) -> TarGuard<R> {
        TarGuard {
            inner,
            watch: Watch {
                state: State::Header,
                header: Box::new([0; 512]),
                filled: 0,
                next_size: None,
                pending_size: 0,
                sparse_blocks: 0,
                sparse_total: None,
                sparse_claimed: 0,
                seen: 0,
                last_header: None,
                pax_len: 0,
                meta_kind: 0,
                pending_slash: false,
                pending_pax: None,
                tap: None,
            },
            pos: 0,
        }
    }

    /// A guard for a layer whose entries will be read out: sparse entries count against
    /// `budget`, shared by the image's layers.
    pub fn expanding(inner: R, budget: SparseBudget) -> TarGuard<R> {
        let mut guard = TarGuard::new(inner);
        guard.watch.sparse_total = Some(budget);
        guard
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes passed through so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where the last header the guard parsed began (not an old-GNU sparse extension block).
    /// Right after a tar reader handed out an entry read through the guard, that is the
    /// entry's own header: anything else means the two walk different structures.
    pub fn last_header_at(&self) -> Option<u64> {
        self.watch.last_header
    }

    /// A handle on the pax records of each entry, as the guard read them, for a reader of the
    /// entries' metadata (see [`PaxTap`]).
    pub fn pax_tap(&mut self) -> PaxTap {
        self.watch.tap.get_or_insert_with(PaxTap::default).clone()
    }

    /// What this layer's sparse entries claimed of the shared budget so far.
    pub fn sparse_claimed(&self) -> u64 {
        self.watch.sparse_claimed
    }
}

impl Watch {
    fn observe(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Data { remaining, pax } => {
                    let take = (*remaining).min(bytes.len() as u64) as usize;
                    if let Some(p) = pax {
                        p.extend_from_slice(&bytes[..take]);
                    }
                    *remaining -= take as u64;
                    self.seen += take as u64;
                    bytes = &bytes[take..];
                    if *remaining == 0 {
                        if let State::Data {
                            pax: Some(mut p), ..
                        } = std::mem::replace(&mut self.state, State::Header)
                        {
                            // The data, without the padding to the block.
                            p.truncate(usize::try_from(self.pax_len).unwrap_or(usize::MAX));
                            self.meta_done(p)?;
                        }
                    }
                }
                State::Header | State::SparseExtension => {
                    let take = (512 - self.filled).min(bytes.len());
                    self.header[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
                    self.filled += take;
                    self.seen += take as u64;
                    bytes = &bytes[take..];
                    if self.filled == 512 {
                        self.filled = 0;
                        self.block_done()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn block_done(&mut self) -> io::Result<()> {
        let h = &self.header;
        if let State::SparseExtension = self.state {
            // Each extension block ends with its own "more follow" flag.
            self.sparse_blocks += 1;
            if self.sparse_blocks > SPARSE_BLOCK_LIMIT {
                return Err(invalid(&format!(
                    "a GNU sparse entry has more than {SPARSE_BLOCK_LIMIT} map extension blocks"
                )));
            }
            if h[504] != 1 {
                let size = self.pending_size;
                self.start_data(size, false)?;
            }
            return Ok(());
        }
        if h.iter().all(|b| *b == 0) {
            self.state = State::Done;
            return Ok(());
        }
        self.last_header = Some(self.seen - BLOCK);
        let kind = h[156];
        let size = parse_size(&h[124..136])
            .ok_or_else(|| invalid("a tar header has an unreadable size field"))?;
        // The tar crate's rules, exactly, so that the guard walks the structure it walks: only
        // ustar (`ustar\0` `00`) or GNU (`ustar ` ` \0`) headers of these types are metadata it
        // reads whole; pending pax records apply to no `L`, `K`, `x` or `g` header, and are
        // dropped with the next header handed out as an entry (`g` included).
        let magic = (&h[257..263], &h[263..265]);
        let recognised =
            magic == (&b"ustar\0"[..], &b"00"[..]) || magic == (&b"ustar "[..], &b" \0"[..]);
        let extension = matches!(kind, b'x' | b'g' | b'L' | b'K');
        let is_meta = recognised && matches!(kind, b'x' | b'L' | b'K');
        if !recognised && matches!(kind, b'x' | b'L' | b'K') {
            // Go's archive/tar (Docker's reader) takes these for extension headers whatever
            // the magic; the tar crate takes them for entries: the layer reads two ways.
            return Err(invalid(&format!(
                "a tar `{}` header without a ustar or GNU magic: readers disagree on what it is",
                kind as char
            )));
        }
        if is_meta && size > META_LIMIT {
            return Err(invalid(&format!(
                "a tar {} header claims {size} bytes (the limit is {META_LIMIT})",
                match kind {
                    b'L' | b'K' => "GNU long-name",
                    _ => "pax",
                }
            )));
        }
        let size = if extension {
            size
        } else {
            self.next_size.unwrap_or(size)
        };
        if !is_meta {
            self.next_size = None;
            if let Some(tap) = &self.tap {
                // Go drops a pax header's records at a global (`g`) header, whose own records
                // Docker ignores: that entry gets none.
                let records = self.pending_pax.take().filter(|_| kind != b'g');
                tap.set(self.seen - BLOCK, records);
            }
        }
        let slash = std::mem::take(&mut self.pending_slash);
        if !is_meta {
            names::check_header(h, kind, slash)?;
        } else {
            self.pending_slash = slash;
        }
        if (b'1'..=b'6').contains(&kind) && size > 0 {
            // Go's archive/tar reads no data for these types whatever the size says; the tar
            // crate skips `size` bytes: what follows would be two different layers.
            return Err(invalid(&format!(
                "a tar {} entry claims {size} bytes of data: readers disagree on where the next header is",
                header_only_name(kind)
            )));
        }
        if kind == b'S' {
            let real = parse_size(&h[483..495])
                .ok_or_else(|| invalid("a GNU sparse header has an unreadable real size"))?;
            if let Some(total) = &self.sparse_total {
                use std::sync::atomic::Ordering;
                let add = |t: u64| Some(t.saturating_add(real));
                let before = total
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, add)
                    .unwrap_or(u64::MAX);
                self.sparse_claimed = self.sparse_claimed.saturating_add(real);
                if before.saturating_add(real) > SPARSE_SIZE_LIMIT {
                    return Err(invalid(&format!(
                        "GNU sparse entries claim more than {} GiB of file size in this image",
                        SPARSE_SIZE_LIMIT >> 30
                    )));
                }
            }
        }
        if kind == b'S' && h[482] == 1 {
            self.sparse_blocks = 0;
            self.pending_size = size;
            self.state = State::SparseExtension;
            return Ok(());
        }
        if is_meta {
            self.meta_kind = kind;
        }
        self.start_data(size, is_meta)
    }

    fn start_data(&mut self, size: u64, keep: bool) -> io::Result<()> {
        self.pax_len = size;
        let padded = size.div_ceil(BLOCK).saturating_mul(BLOCK);
        if padded == 0 {
            self.state = State::Header;
            if keep {
                self.meta_done(Vec::new())?;
            }
        } else {
            self.state = State::Data {
                remaining: padded,
                pax: keep.then(Vec::new),
            };
        }
        Ok(())
    }

    /// The whole data of a pax (`x`) or GNU long-name (`L`) / long-link (`K`) header, read as
    /// the tar crate will read it, refused where Go's archive/tar reads it otherwise.
    fn meta_done(&mut self, data: Vec<u8>) -> io::Result<()> {
        match self.meta_kind {
            b'x' => {
                let facts = pax::check_records(&data)?;
                if self.sparse_total.is_some() && pax_is_sparse(&data) {
                    return Err(invalid(PAX_SPARSE_REFUSAL));
                }
                self.next_size = pax_size(&data);
                self.pending_slash |= facts.path_ends_in_slash;
                if self.tap.is_some() {
                    self.pending_pax = Some(data);
                }
            }
            kind => {
                // The tar crate drops one trailing NUL, Go cuts at the first and ignores an
                // empty name: they agree only on a name with no other NUL.
                let name = data.strip_suffix(&[0]).unwrap_or(&data);
                if name.is_empty() || name.contains(&0) {
                    return Err(invalid(&format!(
                        "a GNU long-{} record that is empty or holds a NUL: readers disagree on the name",
                        if kind == b'K' { "link" } else { "name" }
                    )));
                }
                if kind == b'L' {
                    self.pending_slash |= name.ends_with(b"/");
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for TarGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.watch.observe(&buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> TarGuard<R> {
    /// Hands the next `size` bytes to `out` straight from the inner reader's buffer, observed
    /// exactly as a read would observe them; how many there were (fewer at the stream's end).
    /// A chunk `out` fails on is consumed all the same.
    pub fn pass(
        &mut self,
        size: u64,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<u64> {
        let mut left = size;
        while left > 0 {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.watch.observe(&chunk[..n])?;
            // Observed is consumed, whatever `out` makes of it: the guard's state has moved on.
            let taken = out(&chunk[..n]);
            self.inner.consume(n);
            self.pos += n as u64;
            left -= n as u64;
            taken?;
        }
        Ok(size - left)
    }
}

/// Forward seeks only, relative to the current position: the bytes passed over are read from
/// the inner reader's buffer and observed exactly as a read would observe them, without being
/// copied out. This is what lets the tar crate skip entry data (`Archive::entries_with_seek`)
/// without its zeroed bounce buffer.
impl<R: BufRead> Seek for TarGuard<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Current(delta) = to else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a layer stream only seeks forward from where it is",
            ));
        };
        let skip = u64::try_from(delta).map_err(|_| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "a layer stream cannot seek backward",
            )
        })?;
        if self.pass(skip, &mut |_| Ok(()))? < skip {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "unexpected EOF during skip",
            ));
        }
        Ok(self.pos)
    }
}

/// The guard's refusal, distinguishable from decoder errors inside an `io::Error`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

pub fn is_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Refused>())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, Refused(message.to_string()))
}

/// What a header-only entry type is, for messages.
fn header_only_name(kind: u8) -> &'static str {
    match kind {
        b'1' => "hardlink",
        b'2' => "symlink",
        b'3' => "character device",
        b'4' => "block device",
        b'5' => "directory",
        _ => "fifo",
    }
}

/// Octal (NUL/space padded) or GNU base-256 size field.
fn parse_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = 0;
        for (i, b) in field.iter().enumerate() {
            let b = if i == 0 { b & 0x7f } else { *b };
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Why PAX sparse entries are refused where entries are read out.
const PAX_SPARSE_REFUSAL: &str = "a PAX sparse file (GNU.sparse.* records) is not supported: its map and data would come out as the file's content; re-create the layer without --sparse";

mod names;
mod pax;
mod tap;
use pax::{pax_is_sparse, pax_size};
pub use tap::{PaxRecord, PaxTap};

#[cfg(test)]
mod tests;
