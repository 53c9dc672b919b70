//! The fixture builder checks itself (determinism, encodings, the helpers' rules), and the
//! committed `testdata/hello.tar` is kept identical to what the builder makes.
//! Regenerate with `STRATA_UPDATE_FIXTURES=1 cargo test --test integration fixtures::`.

use crate::common;

use std::io::Read;

use crate::common::fixtures::{committed_hello_path, hello_bytes, hello_image};
use crate::common::layer::{build_layer, gzip, rich_entries, Compression, LayerSpec};
use crate::common::tarball::read_all;
use crate::common::{chain_ids, sha256_digest};

#[test]
fn committed_fixtures_are_current() {
    let fresh = hello_bytes();
    let path = committed_hello_path();
    if std::env::var_os("STRATA_UPDATE_FIXTURES").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; regenerate with STRATA_UPDATE_FIXTURES=1 cargo test --test integration fixtures::",
            path.display()
        )
    });
    assert!(
        committed == fresh,
        "testdata/hello.tar differs from what the builder makes ({} vs {} bytes, sha256 {} vs {}); \
         regenerate with STRATA_UPDATE_FIXTURES=1 cargo test --test integration fixtures::",
        committed.len(),
        fresh.len(),
        sha256_digest(&committed),
        sha256_digest(&fresh)
    );
}

#[test]
fn builders_are_deterministic() {
    assert_eq!(hello_bytes(), hello_bytes());
    let a = common::fixtures::oci_tar_mixed().bytes();
    let b = common::fixtures::oci_tar_mixed().bytes();
    assert!(a == b, "OCI mixed fixture differs between two builds");
}

#[test]
fn hello_has_an_empty_layer_step_and_three_layers() {
    let img = hello_image();
    assert_eq!(img.layers.len(), 3);
    assert!(img.expect.history.iter().any(|h| h.empty_layer));
    let cfg: serde_json::Value = serde_json::from_slice(&img.config).unwrap();
    assert_eq!(cfg["created"], "2023-05-01T12:00:00Z");
    assert_eq!(cfg["rootfs"]["type"], "layers");
}

#[test]
fn gzip_blobs_have_fixed_header() {
    let blob = gzip(b"hello");
    assert_eq!(&blob[..3], &[0x1f, 0x8b, 8], "gzip magic + deflate");
    assert_eq!(blob[3] & 0x08, 0, "no file name flag");
    assert_eq!(&blob[4..8], &[0, 0, 0, 0], "mtime 0");
}

#[test]
fn layer_expectations_come_from_the_written_bytes() {
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let l = build_layer(&LayerSpec::new(rich_entries("self", true), c).with_trailing(b"TOC"));
        assert_eq!(l.expect.digest, sha256_digest(&l.blob));
        let raw = match c {
            Compression::None => l.blob.clone(),
            Compression::Gzip => read_all(flate2::read::MultiGzDecoder::new(&l.blob[..])),
            Compression::Zstd => zstd::decode_all(&l.blob[..]).unwrap(),
        };
        assert_eq!(raw, l.raw);
        assert!(raw.ends_with(b"TOC"));
        assert_eq!(l.expect.diff_id, sha256_digest(&raw));
        assert_eq!(l.expect.files, 14, "entries of rich_entries");
    }
}

#[test]
fn multi_member_gzip_really_has_two_members() {
    let l =
        build_layer(&LayerSpec::new(rich_entries("mm", false), Compression::Gzip).multi_member());
    let mut single = flate2::read::GzDecoder::new(&l.blob[..]);
    let mut first = Vec::new();
    single.read_to_end(&mut first).unwrap();
    assert!(
        first.len() < l.raw.len(),
        "the first member holds only part of the stream"
    );
    assert_eq!(
        read_all(flate2::read::MultiGzDecoder::new(&l.blob[..])),
        l.raw
    );
}

#[test]
fn rich_layer_has_gnu_and_pax_long_names() {
    let gnu = build_layer(&LayerSpec::new(rich_entries("g", false), Compression::None));
    assert!(gnu.raw.windows(13).any(|w| w == b"././@LongLink"));
    let pax = build_layer(&LayerSpec::new(rich_entries("p", true), Compression::None));
    assert!(pax.raw.windows(8).any(|w| w == b" path=us"));
    assert!(!pax.raw.windows(13).any(|w| w == b"././@LongLink"));
}

#[test]
fn chain_id_helper_matches_known_vector() {
    let c = chain_ids(&[
        "sha256:9f54eef412758095c8079ac465d494a2872e02e90bf1fb5f12a1641c0d1bb78b".into(),
        "sha256:b3cce2ce0405ffbb4971b872588c5b7fc840514b807f18047bf7d486af79884c".into(),
    ]);
    assert_eq!(
        c[1],
        "sha256:6613b10b697b0a267c9573ee23e54c0373ccf72e7991cf4479bd0b66609a631c"
    );
}
