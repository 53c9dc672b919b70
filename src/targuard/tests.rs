use super::*;

fn read_all<R: Read>(mut r: R) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

fn sample_tar(pax_value_len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let long = "d/".repeat(80) + "file";
    let mut h = tar::Header::new_ustar();
    h.set_size(5);
    h.set_mode(0o644);
    b.append_data(&mut h, &long, &b"hello"[..]).unwrap();
    b.append_pax_extensions([("user.comment", vec![b'x'; pax_value_len].as_slice())])
        .unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(3);
    b.append_data(&mut h, "b", &b"abc"[..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn ordinary_tars_pass_untouched() {
    let tar = sample_tar(100);
    assert_eq!(read_all(TarGuard::new(&tar[..])).unwrap(), tar);
}

#[test]
fn oversized_pax_header_is_refused() {
    let tar = sample_tar(META_LIMIT as usize + 10);
    let err = read_all(TarGuard::new(&tar[..])).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("pax header claims"), "{err}");
}

#[test]
fn claimed_size_is_refused_before_the_data_arrives() {
    // A pax header that claims a terabyte, followed by nothing: refused at the header.
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(1 << 40);
    header.set_path("././@PaxHeader").unwrap();
    header.set_cksum();
    let err = read_all(TarGuard::new(&header.as_bytes()[..])).unwrap_err();
    assert!(err.to_string().contains("1099511627776"), "{err}");
}

#[test]
fn pax_size_override_keeps_the_guard_in_step() {
    assert_eq!(pax_size(b"12 size=100\n"), Some(100));
    assert_eq!(pax_size(b"16 path=abcdefg\n12 size=100\n"), Some(100));
    assert_eq!(pax_size(b"16 path=abcdefg\n"), None);
    // Regression: a record shorter than its own length prefix used to panic.
    assert_eq!(pax_size(b"1 a"), None);
    assert_eq!(pax_size(b"3 a"), None);
    assert_eq!(pax_size(b"12 size=100x"), None);
    assert_eq!(parse_size(b"00000000012\0"), Some(10));
    assert_eq!(
        parse_size(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        Some(256)
    );
}
/// A GNU sparse header of `real` bytes with `extensions` map extension blocks after it.
fn sparse_entry(real: u64, extensions: usize) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_path("disk.img").unwrap();
    h.set_size(0);
    let g = h.as_gnu_mut().unwrap();
    g.set_real_size(real);
    g.isextended[0] = u8::from(extensions > 0);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    for i in 0..extensions {
        let mut block = [0u8; 512];
        block[504] = u8::from(i + 1 < extensions);
        out.extend_from_slice(&block);
    }
    out
}

#[test]
fn sparse_entries_with_endless_maps_are_refused() {
    let ok = sparse_entry(1 << 20, SPARSE_BLOCK_LIMIT as usize);
    read_all(TarGuard::new(&ok[..])).unwrap();
    let bad = sparse_entry(1 << 20, SPARSE_BLOCK_LIMIT as usize + 1);
    let err = read_all(TarGuard::new(&bad[..])).unwrap_err();
    assert!(err.to_string().contains("extension blocks"), "{err}");
}

/// A PAX 1.0 sparse entry as GNU tar writes it: pax records, then a header named
/// `GNUSparseFile.0/NAME` whose data starts with the map (`segments` declared, one held).
fn pax_sparse_entry(segments: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("GNU.sparse.major", &b"1"[..]),
        ("GNU.sparse.minor", &b"0"[..]),
        ("GNU.sparse.name", &b"disk.img"[..]),
        ("GNU.sparse.realsize", &b"1048576"[..]),
    ])
    .unwrap();
    let mut data = format!("{segments}\n0\n5\n").into_bytes();
    data.resize(512, 0);
    data.extend_from_slice(b"hello");
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "GNUSparseFile.0/disk.img", &data[..])
        .unwrap();
    b.into_inner().unwrap()
}

#[test]
fn pax_sparse_entries_are_refused_at_their_header_when_read_out() {
    for segments in [1, 4_000_000_000] {
        let tar = pax_sparse_entry(segments);
        let err = read_all(TarGuard::expanding(&tar[..], SparseBudget::default())).unwrap_err();
        assert!(err.to_string().contains("PAX sparse file"), "{err}");
        assert!(is_refusal(&err));
        // Reading headers only (inspect, verify) is not refused.
        read_all(TarGuard::new(&tar[..])).unwrap();
    }
    assert!(!pax_is_sparse(b"36 SCHILY.xattr.user.a=GNU.sparse.x\n"));
    assert!(pax_is_sparse(b"10 path=a\n22 GNU.sparse.major=1\n"));
}

#[test]
fn sparse_entries_claiming_terabytes_are_refused() {
    let budget = SparseBudget::default();
    let half = sparse_entry(SPARSE_SIZE_LIMIT / 2, 0);
    read_all(TarGuard::expanding(&half[..], budget.clone())).unwrap();
    // Another layer of the same image takes it past the limit.
    let more = sparse_entry(SPARSE_SIZE_LIMIT / 2 + 1, 0);
    let err = read_all(TarGuard::expanding(&more[..], budget.clone())).unwrap_err();
    assert!(err.to_string().contains("GiB of file size"), "{err}");
    let huge = sparse_entry(1 << 40, 0);
    let err = read_all(TarGuard::expanding(&huge[..], SparseBudget::default())).unwrap_err();
    assert!(err.to_string().contains("GiB of file size"), "{err}");
    // Reading headers only (inspect, verify) expands nothing: no limit.
    read_all(TarGuard::new(&huge[..])).unwrap();
}

/// One padded ustar header of `kind` claiming `size` bytes, then `data` (padded).
fn ustar(kind: tar::EntryType, name: &str, size: u64, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn names(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

fn pax_sparse_without_end() -> Vec<u8> {
    let sparse = pax_sparse_entry(1);
    sparse[..sparse.len() - 1024].to_vec()
}

/// A pax header with a `size` record of 1024, then a `g` header of no data.
fn size_record_then_global_header() -> Vec<u8> {
    let mut t = ustar(
        tar::EntryType::XHeader,
        "PaxHeaders/g",
        13,
        b"13 size=1024\n",
    );
    t.extend(ustar(
        tar::EntryType::XGlobalHeader,
        "PaxHeaders/global",
        0,
        b"",
    ));
    t
}

/// A pax `size` record followed by a `g` header: the tar crate (and Go's archive/tar) apply no
/// pax record to a `g` header, so neither may the guard, or it would take the next 1024 bytes
/// (here a PAX sparse entry) for the `g` header's data and let them through unseen.
#[test]
fn pax_records_do_not_apply_to_a_global_header() {
    let mut t = size_record_then_global_header();
    t.extend(pax_sparse_without_end());
    t.extend([0u8; 1024]);
    assert_eq!(names(&t), ["PaxHeaders/global", "GNUSparseFile.0/disk.img"]);
    let err = read_all(TarGuard::expanding(&t[..], SparseBudget::default())).unwrap_err();
    assert!(err.to_string().contains("PAX sparse"), "{err}");
    // Nor does the pax header over the limit behind the pair go unseen.
    let huge = META_LIMIT * 4;
    let mut t = size_record_then_global_header();
    t.extend(ustar(
        tar::EntryType::XHeader,
        "PaxHeaders/huge",
        huge,
        &vec![0u8; huge as usize],
    ));
    t.extend(ustar(tar::EntryType::Regular, "f", 1, b"x"));
    t.extend([0u8; 1024]);
    let err = read_all(TarGuard::new(&t[..])).unwrap_err();
    assert!(err.to_string().contains("pax header claims"), "{err}");
}

/// An `x` header whose magic is `ustar\0` with a version other than `00` is an ordinary entry
/// to the tar crate but a pax header to Go's reader: refused, not read one way.
#[test]
fn extension_headers_without_a_recognised_magic_are_refused() {
    let mut t = ustar(
        tar::EntryType::XHeader,
        "PaxHeaders/v",
        13,
        b"13 size=1024\n",
    );
    t[263..265].copy_from_slice(b"xx");
    let mut h = tar::Header::from_byte_slice(&t[..512]).clone();
    h.set_cksum();
    t[..512].copy_from_slice(h.as_bytes());
    t.extend(ustar(tar::EntryType::Regular, "f", 0, b""));
    t.extend(pax_sparse_without_end());
    t.extend([0u8; 1024]);
    assert_eq!(names(&t), ["PaxHeaders/v", "f", "GNUSparseFile.0/disk.img"]);
    for guard in [
        TarGuard::new(&t[..]),
        TarGuard::expanding(&t[..], SparseBudget::default()),
    ] {
        let err = read_all(guard).unwrap_err();
        assert!(err.to_string().contains("readers disagree"), "{err}");
    }
}

/// A directory, link, device or fifo entry claiming data: Go's reader reads none, the tar
/// crate skips it, so the next header is in two places. Refused; a claim of 0 passes.
#[test]
fn header_only_entries_claiming_data_are_refused() {
    for kind in [
        tar::EntryType::Directory,
        tar::EntryType::Link,
        tar::EntryType::Symlink,
        tar::EntryType::Fifo,
        tar::EntryType::Char,
        tar::EntryType::Block,
    ] {
        let mut t = ustar(
            kind,
            "x",
            512,
            &ustar(tar::EntryType::Regular, "inner", 0, b""),
        );
        t.extend([0u8; 1024]);
        let err = read_all(TarGuard::new(&t[..])).unwrap_err();
        assert!(
            err.to_string().contains("readers disagree"),
            "{kind:?}: {err}"
        );
        let mut ok = ustar(kind, "x", 0, b"");
        ok.extend([0u8; 1024]);
        read_all(TarGuard::new(&ok[..])).unwrap();
    }
    // The same through a pax `size` record on a header that says 0.
    let mut t = ustar(
        tar::EntryType::XHeader,
        "PaxHeaders/d",
        12,
        b"12 size=512\n",
    );
    t.extend(ustar(tar::EntryType::Directory, "d", 0, &[0u8; 512]));
    t.extend([0u8; 1024]);
    assert!(read_all(TarGuard::new(&t[..])).is_err());
}

fn fix_cksum(t: &mut [u8]) {
    let mut h = tar::Header::from_byte_slice(&t[..512]).clone();
    h.set_cksum();
    t[..512].copy_from_slice(h.as_bytes());
}

// Differentials with Go's archive/tar found by a second review: each refused.

/// Typeflag NUL (old regular file) whose name ends in `/`: Go's reader turns it into a
/// directory (reader.go: "Legacy archives use trailing slash for directories") *before*
/// handleRegularFile, so it reads no data; the tar crate takes it for a regular file and skips
/// `size` bytes. The "data" is a header only Go sees.
#[test]
fn differential_nul_type_with_trailing_slash_claiming_data_is_refused() {
    let hidden = ustar(tar::EntryType::Regular, "hidden", 0, b"");
    let mut t = ustar(tar::EntryType::Regular, "d/", 512, &hidden);
    t[156] = 0;
    fix_cksum(&mut t);
    t.extend([0u8; 1024]);
    // The tar crate: one entry `d/`; Go: `d/` (a directory), then `hidden`.
    assert_eq!(names(&t), ["d/"]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// Same through a pax `path` record: Go takes the name after mergePAX.
#[test]
fn differential_nul_type_with_pax_path_trailing_slash_is_refused() {
    let mut t = ustar(tar::EntryType::XHeader, "PaxHeaders/d", 11, b"11 path=d/\n");
    let hidden = ustar(tar::EntryType::Regular, "hidden", 0, b"");
    let mut e = ustar(tar::EntryType::Regular, "d", 512, &hidden);
    e[156] = 0;
    fix_cksum(&mut e);
    t.extend(e);
    t.extend([0u8; 1024]);
    assert_eq!(names(&t), ["d/"]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// `ustar\0` with a version other than `00`: Go's getFormat checks only the magic (USTAR|PAX)
/// and joins the prefix; the tar crate's is_ustar also wants `00`, so it ignores the prefix.
#[test]
fn differential_ustar_magic_other_version_with_prefix_is_refused() {
    let mut t = ustar(tar::EntryType::Regular, "passwd", 1, b"x");
    t[345..348].copy_from_slice(b"etc");
    t[263..265].copy_from_slice(b"\0\0");
    fix_cksum(&mut t);
    t.extend([0u8; 1024]);
    // Go: `etc/passwd`; the tar crate: `passwd`.
    assert_eq!(names(&t), ["passwd"]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// A ustar header with the star trailer `tar\0` at 508: Go reads a 131-byte prefix (STAR
/// layout, atime/ctime at 476..500); the tar crate a 155-byte one, running into the atime.
#[test]
fn differential_star_trailer_prefix_is_refused() {
    let mut t = ustar(tar::EntryType::Regular, "libc.so", 1, b"x");
    let prefix = "./".repeat(62) + "usr/lib";
    assert_eq!(prefix.len(), 131);
    t[345..476].copy_from_slice(prefix.as_bytes());
    t[476..478].copy_from_slice(b"64"); // a valid octal atime for Go
    t[508..512].copy_from_slice(b"tar\0");
    fix_cksum(&mut t);
    t.extend([0u8; 1024]);
    // Go: `./…/usr/lib/libc.so`; the tar crate: `./…/usr/lib64/libc.so`.
    assert!(
        names(&t)[0].ends_with("usr/lib64/libc.so"),
        "{:?}",
        names(&t)
    );
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// An empty pax `path` (or `linkpath`): Go's mergePAX skips empty values (keeps the header's
/// name); the tar crate's path_bytes returns the empty value (strata: the root directory).
#[test]
fn differential_empty_pax_path_is_refused() {
    let mut t = ustar(tar::EntryType::XHeader, "PaxHeaders/d", 8, b"8 path=\n");
    t.extend(ustar(tar::EntryType::Directory, "tmp", 0, b""));
    t.extend([0u8; 1024]);
    assert_eq!(names(&t), [""]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// An empty GNU long name (`L` data "\0"): Go's `if gnuLongName != ""` keeps the header name;
/// the tar crate strips one NUL and returns "".
#[test]
fn differential_empty_gnu_long_name_is_refused() {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_path("././@LongLink").unwrap();
    h.set_size(1);
    h.set_cksum();
    let mut t = h.as_bytes().to_vec();
    t.extend([0u8; 512]);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_path("tmp").unwrap();
    h.set_size(0);
    h.set_cksum();
    t.extend(h.as_bytes());
    t.extend([0u8; 1024]);
    assert_eq!(names(&t), [""]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// Go's parsePAXRecord/validPAXRecord refuse an empty key, a key holding `=` or NUL, and a NUL
/// in a path/linkpath/uname/gname value; mergePAX takes uid "-1" (ParseInt), the tar crate and
/// strata's meta_of fall back to the header's uid (parse::<u64> fails).
#[test]
fn differential_records_go_reads_otherwise() {
    for data in [
        &b"7 =abc\n"[..],
        b"14 path=a\0bcd\n",
        b"11 a\0b=cde\n",
        b"10 uid=-1\n",
    ] {
        assert!(pax::check_records(data).is_err(), "{data:?} passes");
    }
}

/// A GNU header whose atime field (345..357) does not parse: Go falls back to the pre-Go1.8
/// writer bug and takes 345..500 as a ustar prefix (reader.go readHeader, issue 12594/21005);
/// the tar crate uses no prefix for GNU headers.
#[test]
fn differential_gnu_header_with_prefix_in_atime_is_refused() {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("passwd").unwrap();
    h.set_size(1);
    h.set_mode(0o644);
    let mut t = h.as_bytes().to_vec();
    t[345..348].copy_from_slice(b"etc");
    fix_cksum(&mut t);
    t.extend(b"x");
    t.resize(1024, 0);
    t.extend([0u8; 1024]);
    // Go: `etc/passwd`; the tar crate: `passwd`.
    assert_eq!(names(&t), ["passwd"]);
    assert!(read_all(TarGuard::new(&t[..])).is_err(), "passes the guard");
}

/// The records the tap hands out for each entry of `tar`: (type, records).
fn tapped(tar: &[u8]) -> Vec<(u8, Vec<PaxRecord>)> {
    let mut guard = TarGuard::new(tar);
    let tap = guard.pax_tap();
    let mut archive = tar::Archive::new(guard);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let records = tap.records(entry.raw_header_position()).unwrap();
        out.push((entry.header().entry_type().as_byte(), records));
    }
    out
}

/// Local pax records apply to the next entry only; Go drops them at a global header, which
/// gets none of them (its own are global, which Docker ignores), nor does what follows.
#[test]
fn the_tap_hands_local_records_to_their_entry_only() {
    let x = |key: &str, value: &[u8]| {
        let data = pax::tests::record(key, value);
        ustar(
            tar::EntryType::XHeader,
            "././@PaxHeader",
            data.len() as u64,
            &data,
        )
    };
    let global = pax::tests::record("comment", b"g");
    let g = ustar(
        tar::EntryType::XGlobalHeader,
        "g",
        global.len() as u64,
        &global,
    );
    let file = |name: &str| ustar(tar::EntryType::Regular, name, 0, b"");
    let tar = [
        x("SCHILY.xattr.user.a", b"1\n2"),
        file("a"),
        file("b"),
        x("SCHILY.xattr.user.c", b"3"),
        g.clone(),
        file("c"),
        g,
        file("d"),
        vec![0; 1024],
    ]
    .concat();
    let record = |k: &str, v: &[u8]| (k.as_bytes().to_vec(), v.to_vec());
    assert_eq!(
        tapped(&tar),
        vec![
            (b'0', vec![record("SCHILY.xattr.user.a", b"1\n2")]),
            (b'0', vec![]),
            (b'g', vec![]),
            (b'0', vec![]),
            (b'g', vec![]),
            (b'0', vec![]),
        ]
    );
}
