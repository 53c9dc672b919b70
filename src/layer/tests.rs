use super::*;
use std::io::Write;

/// Scans `blob` on a hashing thread and inline; both must give the same answer.
fn scan_both(blob: &[u8]) -> Result<LayerStats, LayerError> {
    let threaded = scan_layer(blob, None, None);
    let inline = scan_layer(blob, None, Some(blob.len() as u64));
    assert!(
        (blob.len() as u64) < INLINE_BELOW,
        "the test blob must be small enough to be read inline"
    );
    assert_eq!(format!("{threaded:?}"), format!("{inline:?}"));
    threaded
}

fn tar_with(entries: &[(&str, &[u8])], symlink: Option<(&str, &str)>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_size(0);
    dir.set_mode(0o755);
    b.append_data(&mut dir, "etc/", io::empty()).unwrap();
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    if let Some((name, target)) = symlink {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, "etc/again", "etc/a").unwrap();
    b.into_inner().unwrap()
}

#[test]
fn sniff_by_magic() {
    assert_eq!(
        sniff(&[0x1f, 0x8b, 8, 0]),
        Sniffed::Known(Compression::Gzip)
    );
    assert_eq!(
        sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
        Sniffed::Known(Compression::Zstd)
    );
    assert_eq!(
        sniff(&[0x50, 0x2a, 0x4d, 0x18]),
        Sniffed::Known(Compression::Zstd)
    );
    assert_eq!(sniff(b"etc/passwd\0\0"), Sniffed::Known(Compression::None));
    assert_eq!(sniff(b""), Sniffed::Known(Compression::None));
    assert_eq!(sniff(b"\xfd7zXZ\0rest"), Sniffed::Unsupported("xz"));
    assert_eq!(sniff(b"BZh91AY"), Sniffed::Unsupported("bzip2"));
}

#[test]
fn plain_tar_digest_equals_diff_id_and_sizes_follow_docker() {
    let tar = tar_with(&[("etc/a", b"hello"), ("etc/b", b"")], Some(("etc/l", "a")));
    let stats = scan_both(&tar[..]).unwrap();
    assert_eq!(stats.compression, Compression::None);
    assert_eq!(*stats.digest(), Digest::of_bytes(&tar));
    assert_eq!(*stats.diff_id(), *stats.digest());
    assert_eq!(stats.compressed_size(), tar.len() as u64);
    assert_eq!(stats.uncompressed_size, tar.len() as u64);
    assert_eq!(stats.files, 5);
    // 5 content bytes + 1 byte of symlink target; the hardlink and directory add nothing.
    assert_eq!(stats.size, 6);
}

#[test]
fn gzip_multi_member_with_trailing_data_hashes_everything() {
    let tar = tar_with(&[("etc/a", b"hello")], None);
    let mut trailing = tar.clone();
    trailing.extend_from_slice(b"estargz-toc-would-be-here");
    let (first, second) = trailing.split_at(700);
    let mut blob = Vec::new();
    for part in [first, second] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(part).unwrap();
        blob.extend(gz.finish().unwrap());
    }
    let stats = scan_both(&blob[..]).unwrap();
    assert_eq!(stats.compression, Compression::Gzip);
    assert_eq!(*stats.digest(), Digest::of_bytes(&blob));
    assert_eq!(*stats.diff_id(), Digest::of_bytes(&trailing));
    assert_eq!(stats.uncompressed_size, trailing.len() as u64);
    assert_eq!(stats.files, 3);
}

#[test]
fn zstd_layer() {
    let tar = tar_with(&[("etc/a", b"hello world")], None);
    let blob = zstd::encode_all(&tar[..], 3).unwrap();
    let stats = scan_both(&blob[..]).unwrap();
    assert_eq!(stats.compression, Compression::Zstd);
    assert_eq!(*stats.diff_id(), Digest::of_bytes(&tar));
    assert_eq!(*stats.digest(), Digest::of_bytes(&blob));
    assert_eq!(stats.size, 11);
}

#[test]
fn truncated_gzip_is_a_decompress_error() {
    let tar = tar_with(&[("etc/a", &[7u8; 50_000])], None);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&tar).unwrap();
    let blob = gz.finish().unwrap();
    let err = scan_both(&blob[..blob.len() / 2]).unwrap_err();
    assert!(
        matches!(
            err.kind,
            LayerErrorKind::Decompress { .. } | LayerErrorKind::Tar { .. }
        ),
        "{err:?}"
    );
    // The stored bytes were still read to their end, so verify can compare the blob digest.
    let half = &blob[..blob.len() / 2];
    assert_eq!(
        err.stored,
        Some((Digest::of_bytes(half), half.len() as u64))
    );
}

#[test]
fn garbage_is_not_a_tar() {
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let err = scan_both(&junk[..]).unwrap_err();
    assert!(matches!(err.kind, LayerErrorKind::Tar { .. }), "{err:?}");
    assert_eq!(
        err.stored,
        Some((Digest::of_bytes(&junk), junk.len() as u64))
    );
}

/// TarGuard's refusal inside a gzip layer is the tar's fault, not the decompressor's (it was
/// reported as "gzip decompression failed"; found by the targuard fuzz target).
#[test]
fn a_refused_header_in_a_gzip_layer_is_a_tar_error() {
    let mut header = [0u8; 512];
    header[..4].copy_from_slice(b"file");
    header[124..136].copy_from_slice(b"zz-not-octal");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&header).unwrap();
    gz.write_all(&[0u8; 1024]).unwrap();
    let blob = gz.finish().unwrap();
    let err = scan_both(&blob).unwrap_err();
    assert!(matches!(err.kind, LayerErrorKind::Tar { .. }), "{err:?}");
    assert!(
        err.to_string().contains("size field") || format!("{err:?}").contains("size field"),
        "{err:?}"
    );
}

#[test]
fn empty_blob_is_an_empty_layer() {
    // A zero-length stream has no entries; tar readers treat it as an empty archive.
    let stats = scan_both(&[][..]).unwrap();
    assert_eq!(stats.files, 0);
    assert_eq!(stats.uncompressed_size, 0);
}
