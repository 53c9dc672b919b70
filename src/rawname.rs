//! Entry names in a tar are bytes, not text: Linux allows any byte but `/` and NUL, and old
//! images carry Latin-1 names. strata's path logic works on `str`, so names are carried in a
//! lossless `String` form: valid UTF-8 stays as it is, and every byte that is not part of valid
//! UTF-8 becomes one char of the private-use range U+10FF00..=U+10FFFF (U+10FF00 + the byte).
//! A name that really contains one of those chars has that char's bytes carried the same way,
//! so `to_bytes(&from_bytes(b)) == b` for every `b`, and two different names never meet.
//! `/`, `.` and the whiteout prefix are ASCII, so splitting and matching on them is unchanged.
//! Names go back to bytes only where they meet the kernel or an output tar.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const BASE: u32 = 0x10FF00;
/// The first byte of the UTF-8 form of every char from U+100000 on, the escape range included.
const LEAD: u8 = 0xF4;

fn escape(byte: u8) -> char {
    char::from_u32(BASE + u32::from(byte)).expect("U+10FF00..=U+10FFFF are chars")
}

fn is_escape(c: char) -> bool {
    (c as u32) >= BASE
}

/// The `String` form of a name read from a tar or a directory.
pub fn from_bytes(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&LEAD) {
        if let Ok(text) = std::str::from_utf8(raw) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_escape(c) {
                let mut buf = [0; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(escape));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(escape));
    }
    Cow::Owned(out)
}

/// The bytes a name stands for.
pub fn to_bytes(name: &str) -> Cow<'_, [u8]> {
    if !name.as_bytes().contains(&LEAD) {
        return Cow::Borrowed(name.as_bytes());
    }
    let mut out = Vec::with_capacity(name.len());
    for c in name.chars() {
        if is_escape(c) {
            out.push((c as u32 - BASE) as u8);
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

/// The name as a path for the standard library (an output tar's headers).
pub fn to_path(name: &str) -> Cow<'_, Path> {
    match to_bytes(name) {
        Cow::Borrowed(b) => Cow::Borrowed(Path::new(OsStr::from_bytes(b))),
        Cow::Owned(b) => Cow::Owned(OsStr::from_bytes(&b).to_owned().into()),
    }
}

/// The name for a message: carried bytes shown as `\xNN`.
pub fn display(name: &str) -> Cow<'_, str> {
    if !name.chars().any(is_escape) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.chars()
            .map(|c| {
                if is_escape(c) {
                    format!("\\x{:02x}", c as u32 - BASE)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Makes untrusted text safe for one line of a message: control characters escaped, length capped.
pub fn escape_for_message(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    // Names carried as bytes (see `rawname`) show their bytes as `\xNN`.
    let text = display(text);
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(raw: &[u8]) -> String {
        let name = from_bytes(raw).into_owned();
        assert_eq!(to_bytes(&name).as_ref(), raw, "round trip of {raw:?}");
        name
    }

    #[test]
    fn utf8_names_are_kept_as_they_are() {
        assert!(matches!(
            from_bytes(b"etc/passwd"),
            Cow::Borrowed("etc/passwd")
        ));
        assert_eq!(
            round_trip("usr/share/ü/日本".as_bytes()),
            "usr/share/ü/日本"
        );
    }

    #[test]
    fn latin1_names_that_lossy_decoding_would_merge_stay_apart() {
        let a = round_trip(b"caf\xe9");
        let b = round_trip(b"caf\xe8");
        assert_ne!(a, b);
        assert_eq!(display(&a), "caf\\xe9");
        assert!(a.starts_with("caf"));
    }

    #[test]
    fn names_holding_the_escape_chars_themselves_round_trip() {
        let real = "x\u{10FF41}y".as_bytes().to_vec();
        let carried = round_trip(&real);
        // The genuine char must not be read back as the byte 0x41 (`A`).
        assert_ne!(to_bytes(&carried).as_ref(), b"xAy");
        assert_ne!(carried, round_trip(b"x\xf4\x8f\xbd\x81y\xff"));
        round_trip(b"\xf4");
        round_trip(b"\xf4\x8f");
        round_trip("\u{10FFFF}\u{100000}".as_bytes());
    }

    #[test]
    fn slashes_and_whiteout_prefixes_survive_as_ascii() {
        let name = round_trip(b"d\xff/.wh.f\xfe");
        assert_eq!(name.split('/').count(), 2);
        assert!(name.rsplit('/').next().unwrap().starts_with(".wh."));
    }
}
