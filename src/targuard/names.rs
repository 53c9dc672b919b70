//! A header's name fields and type read the way Go's archive/tar (Docker's reader) reads them,
//! refused where the tar crate reads another name or type: the same layer would extract under
//! other paths, or as other kinds of files, in strata than in Docker.

use std::io;

use super::invalid;

/// `pending_slash`: a long name or pax `path` for this entry ends in `/`.
pub(super) fn check_header(h: &[u8; 512], kind: u8, pending_slash: bool) -> io::Result<()> {
    let (magic, version) = (&h[257..263], &h[263..265]);
    let prefix_set = h[345] != 0;
    if magic == b"ustar\0" {
        // Go takes any version for ustar and joins the prefix; the tar crate takes only `00`.
        if version != b"00" && prefix_set {
            return Err(invalid(
                "a ustar header of a version other than 00 with a name prefix: readers disagree on its name",
            ));
        }
        // star: Go's prefix ends at 131 bytes (atime and ctime follow), the tar crate's at 155.
        if &h[508..512] == b"tar\0" && !h[345..476].contains(&0) && h[476] != 0 {
            return Err(invalid(
                "a star header whose name prefix fills its field: readers disagree on its name",
            ));
        }
    } else if magic == b"ustar " && version == b" \0" {
        // Go reads a GNU header whose atime or ctime is not a number as written by Go before
        // 1.8, with a name prefix there; the tar crate reads no prefix in a GNU header.
        let unreadable = |f: &[u8]| f[0] != 0 && !is_number(f);
        let prefix = until_nul(&h[345..500]);
        if (unreadable(&h[345..357]) || unreadable(&h[357..369]))
            && !prefix.is_empty()
            && prefix.is_ascii()
        {
            return Err(invalid(
                "a GNU header with text in its time fields (as Go wrote before 1.8): readers disagree on its name",
            ));
        }
    }
    if kind == 0 {
        // Go makes a type-NUL entry whose name ends in `/` a directory; the tar crate a file.
        let name = until_nul(&h[..100]);
        let ustar_prefix = magic == b"ustar\0" && prefix_set;
        if pending_slash || name.ends_with(b"/") || (name.is_empty() && ustar_prefix) {
            return Err(invalid(
                "a tar entry of type NUL whose name ends in `/`: a directory to Go's archive/tar, a file to the tar crate",
            ));
        }
    }
    Ok(())
}

fn until_nul(field: &[u8]) -> &[u8] {
    field.split(|b| *b == 0).next().unwrap_or(field)
}

/// A numeric field as Go parses it: base-256, or octal between spaces and NULs.
fn is_number(field: &[u8]) -> bool {
    if field[0] & 0x80 != 0 {
        return true;
    }
    let trimmed = trim(field);
    if trimmed.is_empty() {
        return true;
    }
    let digits = until_nul(trimmed);
    !digits.is_empty() && digits.iter().all(|b| (b'0'..=b'7').contains(b))
}

fn trim(mut f: &[u8]) -> &[u8] {
    while let [b' ' | 0, rest @ ..] = f {
        f = rest;
    }
    while let [rest @ .., b' ' | 0] = f {
        f = rest;
    }
    f
}
