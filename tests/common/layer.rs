//! Layer blobs: the tar (plus optional trailing bytes, as estargz has), its compression, and
//! the expected figures computed here from the bytes written — never from strata.

use std::io::Write;

use flate2::{Compression as Level, GzBuilder};

use super::tarball::{reparse, write_tar, Entry};
use super::{sha256_digest, LayerExpect};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

#[derive(Clone, Debug)]
pub struct LayerSpec {
    pub entries: Vec<Entry>,
    pub compression: Compression,
    /// Bytes after the tar end-of-archive blocks (estargz keeps its TOC there).
    pub trailing: Vec<u8>,
    /// Write the gzip stream as two concatenated members.
    pub multi_member: bool,
    /// Media type to put in the descriptor instead of the one matching `compression`.
    pub media_type: Option<String>,
    /// Tar bytes to store instead of writing `entries` (hostile or truncated tars, which the
    /// self-check in [`build_layer`] could not parse).
    pub raw_tar: Option<Vec<u8>>,
}

impl LayerSpec {
    pub fn new(entries: Vec<Entry>, compression: Compression) -> LayerSpec {
        LayerSpec {
            entries,
            compression,
            trailing: Vec::new(),
            multi_member: false,
            media_type: None,
            raw_tar: None,
        }
    }
    /// A layer made of these exact tar bytes (not checked: they may be broken on purpose).
    pub fn from_tar(tar: Vec<u8>, compression: Compression) -> LayerSpec {
        LayerSpec {
            raw_tar: Some(tar),
            ..LayerSpec::new(Vec::new(), compression)
        }
    }
    pub fn with_trailing(mut self, bytes: &[u8]) -> LayerSpec {
        self.trailing = bytes.to_vec();
        self
    }
    pub fn multi_member(mut self) -> LayerSpec {
        self.multi_member = true;
        self
    }
    pub fn labelled(mut self, media_type: &str) -> LayerSpec {
        self.media_type = Some(media_type.to_string());
        self
    }
}

/// gzip at level 6, header mtime 0, no file name.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = GzBuilder::new().mtime(0).write(Vec::new(), Level::new(6));
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// zstd at level 3.
pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

#[derive(Clone, Debug)]
pub struct BuiltLayer {
    /// The decompressed stream: tar bytes plus trailing bytes.
    pub raw: Vec<u8>,
    /// The blob as stored in the archive.
    pub blob: Vec<u8>,
    pub media_type: String,
    pub expect: LayerExpect,
}

pub fn build_layer(spec: &LayerSpec) -> BuiltLayer {
    let (tar, files, docker_size) = match &spec.raw_tar {
        Some(tar) => (tar.clone(), 0, 0),
        None => {
            let tar = write_tar(&spec.entries);
            let (files, docker_size) = reparse(&tar);
            let spec_size: u64 = spec.entries.iter().map(Entry::docker_size).sum();
            assert_eq!(files, spec.entries.len() as u64, "fixture tar entry count");
            assert_eq!(docker_size, spec_size, "fixture tar docker size");
            (tar, files, docker_size)
        }
    };

    let mut raw = tar;
    raw.extend_from_slice(&spec.trailing);
    let blob = match spec.compression {
        Compression::None => raw.clone(),
        Compression::Zstd => zstd(&raw),
        Compression::Gzip if spec.multi_member => {
            // Split on a block boundary so each member holds whole tar blocks.
            let cut = (raw.len() / 2) / 512 * 512;
            let mut b = gzip(&raw[..cut]);
            b.extend_from_slice(&gzip(&raw[cut..]));
            b
        }
        Compression::Gzip => gzip(&raw),
    };
    let media_type = spec
        .media_type
        .clone()
        .unwrap_or_else(|| spec.compression.oci_media_type().into());
    let expect = LayerExpect {
        digest: sha256_digest(&blob),
        compressed_size: blob.len() as u64,
        compression: spec.compression.name(),
        diff_id: sha256_digest(&raw),
        uncompressed_size: raw.len() as u64,
        files,
        size: docker_size,
        chain_id: String::new(),
        created_by: None,
        media_type: media_type.clone(),
    };
    BuiltLayer {
        raw,
        blob,
        media_type,
        expect,
    }
}

/// A layer with every kind of entry the brief asks for: dirs, files, a symlink, a hardlink, a
/// whiteout, an opaque-dir marker, a >100-byte name (GNU or pax) and a unicode name. `salt`
/// changes file content so layers differ.
pub fn rich_entries(salt: &str, pax_long_name: bool) -> Vec<Entry> {
    let long = format!(
        "usr/share/{}{}.txt",
        "a-very-long-file-name-segment-".repeat(4),
        salt
    );
    assert!(long.len() > 100 && long.rsplit('/').next().unwrap().len() > 100);
    let long_entry = Entry::file(&long, format!("long name {salt}\n"));
    vec![
        Entry::dir("etc"),
        Entry::file(
            "etc/os-release",
            format!("NAME=strata-test\nVERSION={salt}\n"),
        ),
        Entry::dir("usr"),
        Entry::dir("usr/bin"),
        Entry::file(
            "usr/bin/tool",
            format!("#!/bin/sh\necho {salt}\n").repeat(3),
        ),
        Entry::symlink("usr/bin/tool-link", "tool"),
        Entry::hardlink("usr/bin/tool-hard", "usr/bin/tool"),
        Entry::dir("usr/share"),
        if pax_long_name {
            long_entry.with_pax()
        } else {
            long_entry
        },
        Entry::file("usr/share/ünïcödé-日本語.txt", format!("unicode {salt}\n")),
        Entry::file("etc/.wh.x", Vec::new()),
        Entry::dir("var"),
        Entry::dir("var/cache"),
        Entry::file("var/cache/.wh..wh..opq", Vec::new()),
    ]
}

/// A small plain layer of `n` bytes of content in one file, for sizes of a known shape.
pub fn sized_entries(dir: &str, name: &str, n: usize) -> Vec<Entry> {
    let body: Vec<u8> = (0..n)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[i % 27])
        .collect();
    vec![Entry::dir(dir), Entry::file(&format!("{dir}/{name}"), body)]
}
