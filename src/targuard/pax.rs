//! Pax extended header records, read the way each reader of a layer reads them. Go's
//! archive/tar (Docker's reader) takes records by their length prefix and the last of a key;
//! the tar crate splits the data at newlines, stops at an empty piece and takes the first of a
//! key. Records both read the same are accepted; anything else would make one layer two.

use std::collections::HashSet;
use std::io;

use super::invalid;

/// Keys GNU's 0.0 sparse format repeats in one header (its map, pair by pair).
const REPEATED: &[&[u8]] = &[b"GNU.sparse.offset", b"GNU.sparse.numbytes"];

/// Keys the tar crate or strata act on, which must reach them as Go reads them.
const ACTED_ON: &[&[u8]] = &[
    b"path",
    b"linkpath",
    b"size",
    b"uid",
    b"gid",
    b"mtime",
    b"uname",
    b"gname",
];

/// Refuses pax data that the two readings disagree on: a record Go cannot read (it refuses the
/// layer), a key given twice, a record only the newline split sees (smuggled inside another's
/// value), or one the newline split cannot reach. A value may hold a newline only in an xattr
/// (binary values such as `security.capability` can), and no acted-on key may follow one.
pub(super) fn check_records(data: &[u8]) -> io::Result<Facts> {
    let records = by_length(data)?;
    // Sets, not lists: a 1 MiB header holds over 100,000 records, and every entry may have one.
    let mut seen: HashSet<&[u8]> = HashSet::new();
    let mut after_newline = false;
    let mut facts = Facts::default();
    for (key, value) in &records {
        check_value(key, value)?;
        if *key == b"path" {
            facts.path_ends_in_slash = value.ends_with(b"/");
        }
        if !seen.insert(key) && !REPEATED.contains(key) {
            return Err(invalid(&format!(
                "a pax header gives `{}` twice: readers disagree on which counts",
                String::from_utf8_lossy(key)
            )));
        }
        if after_newline && ACTED_ON.contains(key) {
            return Err(disagree());
        }
        if value.contains(&b'\n') {
            if !key.starts_with(b"SCHILY.xattr.") {
                return Err(disagree());
            }
            after_newline = true;
        }
    }
    let records: HashSet<(&[u8], &[u8])> = records.into_iter().collect();
    for line in data.split(|b| *b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(record) = line_record(line) {
            if !records.contains(&record) {
                return Err(disagree());
            }
        }
    }
    Ok(facts)
}

/// What the records tell the guard about the entry they describe.
#[derive(Debug, Default)]
pub(super) struct Facts {
    pub(super) path_ends_in_slash: bool,
}

/// Go refuses an empty key, a NUL in a key or in a name's value, and a number that is not one;
/// it keeps the header's name where `path` or `linkpath` is empty, which the tar crate takes
/// for the name "" (the root).
fn check_value(key: &[u8], value: &[u8]) -> io::Result<()> {
    let shown = String::from_utf8_lossy(key);
    if key.is_empty() || key.contains(&0) {
        return Err(invalid(
            "a pax record with an empty key or a NUL in its key (Docker's reader refuses it)",
        ));
    }
    let names = [&b"path"[..], b"linkpath", b"uname", b"gname"];
    if names.contains(&key) && value.contains(&0) {
        return Err(invalid(&format!(
            "a pax `{shown}` with a NUL in it (Docker's reader refuses it)"
        )));
    }
    if (key == b"path" || key == b"linkpath") && value.is_empty() {
        return Err(invalid(&format!(
            "an empty pax `{shown}`: Docker's reader keeps the header's name, the tar crate takes the root"
        )));
    }
    let digits = |v: &[u8]| !v.is_empty() && v.iter().all(u8::is_ascii_digit);
    let number = match key {
        b"uid" | b"gid" | b"size" => digits(value),
        b"mtime" => match value.iter().position(|b| *b == b'.') {
            Some(dot) => digits(&value[..dot]) && digits(&value[dot + 1..]),
            None => digits(value),
        },
        _ => true,
    };
    if !number && !value.is_empty() {
        return Err(invalid(&format!(
            "a pax `{shown}` that is not a plain number: readers disagree on its value"
        )));
    }
    Ok(())
}

fn disagree() -> io::Error {
    invalid("a pax header whose records Go's archive/tar and the tar crate read differently (a newline inside a value)")
}

/// The records as Go reads them: `LEN key=value\n`, LEN counting the whole record.
pub(super) fn by_length(mut data: &[u8]) -> io::Result<Vec<(&[u8], &[u8])>> {
    let malformed = || invalid("a pax header has a malformed record (Docker's reader refuses it)");
    let mut records = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|b| *b == b' ').ok_or_else(malformed)?;
        let len = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|n| *n > space + 1 && *n <= data.len() && data[*n - 1] == b'\n')
            .ok_or_else(malformed)?;
        let record = &data[space + 1..len - 1];
        let equals = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or_else(malformed)?;
        records.push((&record[..equals], &record[equals + 1..]));
        data = &data[len..];
    }
    Ok(records)
}

/// A line of the newline split that the tar crate takes for a record.
fn line_record(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = line.iter().position(|b| *b == b' ')?;
    let len: usize = std::str::from_utf8(&line[..space]).ok()?.parse().ok()?;
    if line.len() + 1 != len {
        return None;
    }
    let kv = &line[space + 1..];
    let equals = kv.iter().position(|b| *b == b'=')?;
    Some((&kv[..equals], &kv[equals + 1..]))
}

/// Does pax extended header data carry GNU sparse records (formats 0.0, 0.1 and 1.0)? Format
/// 1.0 keeps its map at the start of the entry's data, where a parser unaware of it takes it
/// for content: such an entry is refused at its header, before any of the map is read (so a
/// map that claims billions of segments costs nothing).
pub(super) fn pax_is_sparse(mut data: &[u8]) -> bool {
    // Records by their length prefix, as GNU tar reads them: a value may hold newlines.
    while let Some(space) = data.iter().position(|b| *b == b' ') {
        let len = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|t| t.parse::<usize>().ok());
        let Some(len) = len.filter(|n| *n > space && *n <= data.len()) else {
            return false;
        };
        if data[space + 1..len].starts_with(b"GNU.sparse.") {
            return true;
        }
        data = &data[len..];
    }
    false
}

/// The `size` record of pax extended header data, read exactly as the `tar` crate reads it
/// (records split on newlines, each `<len> <key>=<value>` with `len` its own length; the first
/// malformed record ends the search), so that the guard and the parser agree on entry sizes.
pub(super) fn pax_size(data: &[u8]) -> Option<u64> {
    for line in data.split(|b| *b == b'\n') {
        if line.is_empty() {
            return None;
        }
        let space = line.iter().position(|b| *b == b' ')?;
        let reported: usize = std::str::from_utf8(&line[..space]).ok()?.parse().ok()?;
        if line.len() + 1 != reported {
            return None;
        }
        let kv = &line[space + 1..];
        let equals = kv.iter().position(|b| *b == b'=')?;
        if &kv[..equals] == b"size" {
            return std::str::from_utf8(&kv[equals + 1..]).ok()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// One record as writers make it: the length prefix counts the whole record.
    pub(in crate::targuard) fn record(key: &str, value: &[u8]) -> Vec<u8> {
        let body = [key.as_bytes(), b"=", value, b"\n"].concat();
        let mut len = body.len() + 2;
        while format!("{len} ").len() + body.len() != len {
            len += 1;
        }
        [format!("{len} ").into_bytes(), body].concat()
    }

    fn refusal(data: &[u8]) -> String {
        check_records(data).unwrap_err().to_string()
    }

    #[test]
    fn records_both_readers_read_alike_pass() {
        let cap = [
            1u8, 0, 0, 2, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let data = [
            record("path", b"a/b"),
            record("size", b"12"),
            record("GNU.sparse.offset", b"0"),
            record("GNU.sparse.numbytes", b"5"),
            record("GNU.sparse.offset", b"512"),
            record("GNU.sparse.numbytes", b"5"),
            // A binary capability value holding a newline byte: accepted in an xattr, with
            // nothing acted on after it.
            record("SCHILY.xattr.security.capability", &cap),
            record("SCHILY.xattr.user.x", b"y"),
        ]
        .concat();
        check_records(&data).unwrap();
        check_records(b"").unwrap();
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        let data = [record("path", b"a"), record("path", b"b")].concat();
        assert!(refusal(&data).contains("`path` twice"));
    }

    /// A record hidden in a comment's value: Go reads one comment, the tar crate also a path.
    #[test]
    fn a_record_smuggled_in_a_value_is_refused() {
        let smuggled = record("path", b"evil");
        let value = [b"x\n".as_slice(), &smuggled[..smuggled.len() - 1]].concat();
        let data = [record("comment", &value), record("path", b"good")].concat();
        assert!(refusal(&data).contains("read differently"));
        let in_xattr = record("SCHILY.xattr.user.x", &value);
        assert!(refusal(&in_xattr).contains("read differently"));
    }

    /// The tar crate stops at an empty piece of the split: a size after an xattr value ending
    /// in a newline reaches Go only.
    #[test]
    fn an_acted_on_key_after_a_newline_in_a_value_is_refused() {
        let data = [record("SCHILY.xattr.user.x", b"v\n"), record("size", b"9")].concat();
        assert!(refusal(&data).contains("read differently"));
    }

    #[test]
    fn records_go_cannot_read_are_refused() {
        for data in [
            &b"12 path=abc"[..],
            b"99 path=abc\n",
            b"path=abc\n",
            b"8 pathx\n",
            b"11 path=ab\n\0\0",
        ] {
            assert!(refusal(data).contains("malformed"), "{data:?}");
        }
    }

    /// A header as large as the guard takes, of the smallest records: all distinct is accepted,
    /// one key given twice among them is refused. (Checked with sets: with lists this took
    /// over 30 s per header, and every entry of a layer may carry one.)
    #[test]
    fn a_header_of_a_hundred_thousand_records_is_checked_whole() {
        let mut data = Vec::new();
        let mut n = 0u32;
        while data.len() < (super::super::META_LIMIT as usize) - 64 {
            data.extend(record(&format!("{n:x}"), b""));
            n += 1;
        }
        assert!(n > 100_000, "{n} records");
        assert!(check_records(&data).is_ok());
        data.extend(record("1f", b""));
        assert!(refusal(&data).contains("twice"));
    }
}
