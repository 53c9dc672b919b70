//! A minimal, read-only reader of bolt (bbolt) database files, as BuildKit keeps its records
//! under a Docker data root's `buildkit/`.
//!
//! The file is read whole into memory (no mmap, no `flock`: a running daemon holds bolt's
//! exclusive lock, and strata must neither wait for it nor touch the file). The newer of the two
//! meta pages whose checksum holds gives the root bucket; buckets are walked from there. Every
//! offset is checked against the file and the page it belongs to, pages are visited a bounded
//! number of times and the tree's depth is bounded, so a corrupt file is an error naming what
//! is wrong, never a panic or an endless walk.
//!
//! The layout (bbolt's `page.go`, `node.go`, `bucket.go`, `db.go`): a page starts with a
//! 16-byte header (id u64, flags u16, count u16, overflow u32) and spans `overflow + 1` pages;
//! a branch page holds `count` 16-byte elements (pos u32, ksize u32, child page u64), a leaf
//! page `count` 16-byte elements (flags u32, pos u32, ksize u32, vsize u32), `pos` counted from
//! the element itself; a leaf element with flag 1 is a bucket, its value a 16-byte header (root
//! page u64, sequence u64) followed, when the root is 0, by the bucket's own inline leaf page.
//! Integers are little-endian (the machines Docker runs on).

const HEADER: usize = 16;
const ELEMENT: usize = 16;
const MAGIC: u32 = 0xED0C_DAED;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const BUCKET_FLAG: u32 = 0x01;
/// Deeper than any real bolt tree gets (a tree of 4 KiB pages holding billions of keys is
/// shallower than 10).
const MAX_DEPTH: usize = 64;

pub struct Db {
    data: Vec<u8>,
    page_size: usize,
    /// Pages in use (the meta's high-water mark), bounded by the file's length.
    pages: u64,
    root: u64,
}

/// A key and its value, or a nested bucket.
pub enum Entry<'a> {
    Value(&'a [u8], &'a [u8]),
    Bucket(&'a [u8], Bucket<'a>),
}

#[derive(Clone, Copy)]
pub struct Bucket<'a> {
    db: &'a Db,
    root: Root<'a>,
}

#[derive(Clone, Copy)]
enum Root<'a> {
    Page(u64),
    Inline(&'a [u8]),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A meta page at `at`: (page size, root bucket page, high-water page, txid), if it is one
/// whose checksum holds.
fn meta_at(data: &[u8], at: usize) -> Option<(usize, u64, u64, u64)> {
    let m = at + HEADER;
    if u32_at(data, m)? != MAGIC || u32_at(data, m + 4)? != 2 {
        return None;
    }
    let sum = u64_at(data, m + 56)?;
    if fnv1a64(data.get(m..m + 56)?) != sum {
        return None;
    }
    let page_size = u32_at(data, m + 8)? as usize;
    if !(512..=1 << 20).contains(&page_size) || !page_size.is_power_of_two() {
        return None;
    }
    Some((
        page_size,
        u64_at(data, m + 16)?,
        u64_at(data, m + 40)?,
        u64_at(data, m + 48)?,
    ))
}

impl Db {
    /// Parses the file's bytes; the error says what is wrong.
    pub fn parse(data: Vec<u8>) -> Result<Db, String> {
        if data.len() < 2 * 512 {
            return Err(format!(
                "not a bolt database ({} bytes, shorter than its two meta pages)",
                data.len()
            ));
        }
        let first = meta_at(&data, 0);
        // The second meta page sits one page in: its size from the first, else the usual.
        let second = first
            .map(|m| m.0)
            .into_iter()
            .chain([4096, 8192, 16384, 65536])
            .find_map(|ps| meta_at(&data, ps).filter(|m| m.0 == ps));
        let (page_size, root, hwm, _) = match (first, second) {
            (Some(a), Some(b)) => {
                if b.3 > a.3 {
                    b
                } else {
                    a
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => {
                return Err(if u32_at(&data, HEADER) == Some(MAGIC) {
                    "a bolt database whose meta pages are both corrupt (checksum)".into()
                } else {
                    "not a bolt database (no meta page with bolt's magic)".into()
                })
            }
        };
        let pages = hwm.min((data.len() / page_size) as u64);
        Ok(Db {
            data,
            page_size,
            pages,
            root,
        })
    }

    /// The top-level bucket (it holds the named buckets).
    pub fn root(&self) -> Bucket<'_> {
        Bucket {
            db: self,
            root: Root::Page(self.root),
        }
    }

    /// The bytes of page `id`, with its overflow.
    fn page(&self, id: u64) -> Result<&[u8], String> {
        if id < 2 || id >= self.pages {
            return Err(format!(
                "page {id} is outside the database's {} pages",
                self.pages
            ));
        }
        let start = id as usize * self.page_size;
        let overflow = u32_at(&self.data, start + 12).ok_or("a page header is cut short")?;
        let len = (overflow as usize + 1).saturating_mul(self.page_size);
        let end = start.saturating_add(len);
        if end > self.data.len() {
            return Err(format!("page {id} runs past the end of the file"));
        }
        let page = &self.data[start..end];
        if u64_at(page, 0) != Some(id) {
            return Err(format!("page {id} says it is another page"));
        }
        Ok(page)
    }
}

impl<'a> Bucket<'a> {
    /// Every entry, in key order.
    pub fn entries(&self) -> Result<Vec<Entry<'a>>, String> {
        let mut out = Vec::new();
        // Each page is visited at most once: a page reached twice is a cycle.
        let mut seen = std::collections::HashSet::new();
        match self.root {
            Root::Inline(page) => self.leaf(page, &mut out)?,
            Root::Page(id) => self.walk(id, 0, &mut seen, &mut out)?,
        }
        Ok(out)
    }

    /// The nested bucket `name`, if there is one.
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Bucket<'a>>, String> {
        Ok(self.entries()?.into_iter().find_map(|e| match e {
            Entry::Bucket(k, b) if k == name => Some(b),
            _ => None,
        }))
    }

    /// The value under `key`, if there is one (a bucket is not a value).
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, String> {
        Ok(self.entries()?.into_iter().find_map(|e| match e {
            Entry::Value(k, v) if k == key => Some(v),
            _ => None,
        }))
    }

    fn walk(
        &self,
        id: u64,
        depth: usize,
        seen: &mut std::collections::HashSet<u64>,
        out: &mut Vec<Entry<'a>>,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("a B+tree deeper than any bolt writes (a cycle?)".into());
        }
        if !seen.insert(id) {
            return Err(format!("page {id} is reached twice (a cycle)"));
        }
        let db: &'a Db = self.db;
        let page = db.page(id)?;
        let flags = u16_at(page, 8).unwrap_or(0);
        if flags & LEAF != 0 {
            return self.leaf(page, out);
        }
        if flags & BRANCH == 0 {
            return Err(format!(
                "page {id} is neither a branch nor a leaf (flags {flags:#x})"
            ));
        }
        let count = u16_at(page, 10).unwrap_or(0) as usize;
        for i in 0..count {
            let at = HEADER + i * ELEMENT;
            let child = u64_at(page, at + 8)
                .ok_or_else(|| format!("page {id}: element {i} runs past the page"))?;
            self.walk(child, depth + 1, seen, out)?;
        }
        Ok(())
    }

    fn leaf(&self, page: &'a [u8], out: &mut Vec<Entry<'a>>) -> Result<(), String> {
        let db: &'a Db = self.db;
        let flags = u16_at(page, 8).ok_or("a leaf page is cut short")?;
        if flags & LEAF == 0 {
            return Err(format!(
                "an inline bucket's page is not a leaf (flags {flags:#x})"
            ));
        }
        let count = u16_at(page, 10).unwrap_or(0) as usize;
        for i in 0..count {
            let at = HEADER + i * ELEMENT;
            let cut = || format!("leaf element {i} runs past its page");
            let eflags = u32_at(page, at).ok_or_else(cut)?;
            let pos = u32_at(page, at + 4).ok_or_else(cut)? as usize;
            let ksize = u32_at(page, at + 8).ok_or_else(cut)? as usize;
            let vsize = u32_at(page, at + 12).ok_or_else(cut)? as usize;
            let k0 = at.checked_add(pos).ok_or_else(cut)?;
            let v0 = k0.checked_add(ksize).ok_or_else(cut)?;
            let v1 = v0.checked_add(vsize).ok_or_else(cut)?;
            let key = page.get(k0..v0).ok_or_else(cut)?;
            let value = page.get(v0..v1).ok_or_else(cut)?;
            if eflags & BUCKET_FLAG == 0 {
                out.push(Entry::Value(key, value));
                continue;
            }
            let root = u64_at(value, 0).ok_or("a bucket's header is cut short")?;
            let root = if root == 0 {
                Root::Inline(value.get(HEADER..).unwrap_or_default())
            } else {
                Root::Page(root)
            };
            out.push(Entry::Bucket(key, Bucket { db, root }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(ps: usize, id: u64, flags: u16, count: u16) -> Vec<u8> {
        let mut p = vec![0u8; ps.max(HEADER)];
        p[0..8].copy_from_slice(&id.to_le_bytes());
        p[8..10].copy_from_slice(&flags.to_le_bytes());
        p[10..12].copy_from_slice(&count.to_le_bytes());
        p
    }

    fn meta(ps: usize, id: u64, root: u64, hwm: u64, txid: u64) -> Vec<u8> {
        let mut p = page(ps, id, 0x04, 0);
        let m = HEADER;
        p[m..m + 4].copy_from_slice(&MAGIC.to_le_bytes());
        p[m + 4..m + 8].copy_from_slice(&2u32.to_le_bytes());
        p[m + 8..m + 12].copy_from_slice(&(ps as u32).to_le_bytes());
        p[m + 16..m + 24].copy_from_slice(&root.to_le_bytes());
        p[m + 40..m + 48].copy_from_slice(&hwm.to_le_bytes());
        p[m + 48..m + 56].copy_from_slice(&txid.to_le_bytes());
        let sum = fnv1a64(&p[m..m + 56]);
        p[m + 56..m + 64].copy_from_slice(&sum.to_le_bytes());
        p
    }

    /// A leaf page (or inline page when `id` is None) of (flags, key, value).
    fn leaf(ps: usize, id: u64, items: &[(u32, &[u8], Vec<u8>)]) -> Vec<u8> {
        let need = HEADER
            + items
                .iter()
                .map(|(_, k, v)| ELEMENT + k.len() + v.len())
                .sum::<usize>();
        let mut p = page(ps.max(need), id, LEAF, items.len() as u16);
        let mut data = HEADER + ELEMENT * items.len();
        for (i, (f, k, v)) in items.iter().enumerate() {
            let at = HEADER + i * ELEMENT;
            p[at..at + 4].copy_from_slice(&f.to_le_bytes());
            p[at + 4..at + 8].copy_from_slice(&((data - at) as u32).to_le_bytes());
            p[at + 8..at + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
            p[at + 12..at + 16].copy_from_slice(&(v.len() as u32).to_le_bytes());
            p[data..data + k.len()].copy_from_slice(k);
            data += k.len();
            p[data..data + v.len()].copy_from_slice(v);
            data += v.len();
        }
        p
    }

    fn sample() -> Vec<u8> {
        let ps = 4096;
        // An inline bucket holding a=1, b=2.
        let mut inline = vec![0u8; HEADER];
        inline.extend(leaf(
            0,
            0,
            &[(0, b"a", b"1".to_vec()), (0, b"b", b"2".to_vec())],
        ));
        let root = leaf(
            ps,
            3,
            &[(BUCKET_FLAG, b"_main", inline), (0, b"k", b"v".to_vec())],
        );
        let mut file = meta(ps, 0, 3, 4, 1);
        file.extend(meta(ps, 1, 3, 4, 0));
        file.extend(page(ps, 2, 0x10, 0));
        file.extend(root);
        file
    }

    #[test]
    fn reads_buckets_inline_buckets_and_values() {
        let db = Db::parse(sample()).unwrap();
        let root = db.root();
        assert_eq!(root.get(b"k").unwrap(), Some(&b"v"[..]));
        let main = root.bucket(b"_main").unwrap().unwrap();
        assert_eq!(main.get(b"b").unwrap(), Some(&b"2"[..]));
        assert_eq!(main.entries().unwrap().len(), 2);
    }

    #[test]
    fn a_corrupt_file_is_an_error_never_a_panic() {
        assert!(Db::parse(vec![0; 10]).is_err());
        assert!(Db::parse(vec![0; 8192])
            .err()
            .unwrap()
            .contains("not a bolt"));
        let good = sample();
        // Every byte of the root page and the metas flipped in turn: an answer or an error.
        for i in (0..good.len()).step_by(7) {
            let mut bad = good.clone();
            bad[i] ^= 0xff;
            if let Ok(db) = Db::parse(bad) {
                if let Ok(entries) = db.root().entries() {
                    for e in entries {
                        if let Entry::Bucket(_, b) = e {
                            let _ = b.entries();
                        }
                    }
                }
            }
        }
        // A page that names itself as its own child.
        let mut cyclic = good.clone();
        let at = 3 * 4096;
        cyclic[at + 8..at + 10].copy_from_slice(&BRANCH.to_le_bytes());
        cyclic[at + HEADER + 8..at + HEADER + 16].copy_from_slice(&3u64.to_le_bytes());
        let db = Db::parse(cyclic).unwrap();
        assert!(db.root().entries().err().unwrap().contains("cycle"));
    }
}
