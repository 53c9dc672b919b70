//! Images that lie about themselves (issue 13): manifest, config or index blobs that are not
//! the ones their descriptors name, configs that vouch for a different number of layers, aufs
//! bookkeeping, PAX sparse files, device nodes, and images past a limit the user set. Every
//! reader that builds a tree refuses them before writing anything (exit 2, no DEST, no staging
//! directory); `inspect` shows them with a warning and `verify` fails on them.

use crate::common;

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::common::image::{build_image, BuiltImage};
use crate::common::layer::{Compression, LayerSpec};
use crate::common::layouts::{
    docker25_items, docker_legacy_items, index_value, manifest_value, oci_items, put_blob,
    ref_annotation, Blobs, LegacyOpts, OCI_INDEX, OCI_MANIFEST,
};
use crate::common::sandbox::{
    extract, history_for, image_of, image_of_entries, run_strata, Format, Opts, Out, Sandbox,
};
use crate::common::tarball::{items_to_tar, Entry, Item};
use crate::common::{assert_clean_error, Fixture};

fn two_layer_image(tag: &str) -> BuiltImage {
    let spec = common::image::ImageSpec::new(
        tag,
        vec![
            LayerSpec::new(
                vec![Entry::dir("etc/"), Entry::file("etc/os", "base\n")],
                Compression::Gzip,
            ),
            LayerSpec::new(vec![Entry::file("app", "app\n")], Compression::None),
        ],
        history_for(2),
    );
    build_image(&spec)
}

/// The same JSON, re-serialized with a change: what a tampered blob looks like.
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    v["annotations"] = json!({"tampered": "yes"});
    serde_json::to_vec(&v).unwrap()
}

fn oci_fixture(name: &str, blobs: &Blobs, index: serde_json::Value, img: &BuiltImage) -> Fixture {
    Fixture::new_file(
        name,
        &items_to_tar(&oci_items(blobs, &index)),
        "oci-layout",
        vec![img.expect.clone()],
    )
}

/// An OCI tar whose `what` blob (`config`, `manifest`) has other bytes than its descriptor
/// names; `size_only`: same digest claim, wrong size in the descriptor.
fn lying_oci(name: &str, what: &str, size_only: bool) -> Fixture {
    let mut img = two_layer_image("liar:1");
    let mut manifest = manifest_value(&img);
    let mut blobs = Blobs::new();
    for l in &img.layers {
        blobs.insert(l.expect.digest.clone(), l.blob.clone());
    }
    let config = img.config.clone();
    if what == "config" {
        if size_only {
            manifest["config"]["size"] = json!(config.len() + 1);
            blobs.insert(img.expect.config_digest.clone(), config);
        } else {
            // Stored under the digest the manifest names, with other bytes.
            blobs.insert(img.expect.config_digest.clone(), tampered(&config));
        }
    } else {
        blobs.insert(img.expect.config_digest.clone(), config);
    }
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let (d, n) = put_blob(&mut blobs, manifest_bytes.clone());
    let mut desc = json!({"mediaType": OCI_MANIFEST, "digest": d, "size": n});
    if what == "manifest" {
        if size_only {
            desc["size"] = json!(n + 3);
        } else {
            blobs.insert(d.clone(), tampered(&manifest_bytes));
        }
    }
    img.expect.manifest_digest = Some(d);
    ref_annotation(&mut desc, "liar:1");
    oci_fixture(name, &blobs, index_value(vec![desc]), &img)
}

/// An OCI tar whose index.json points at a nested index whose bytes were changed.
fn lying_nested_index(name: &str) -> Fixture {
    let mut img = two_layer_image("nested:1");
    let mut blobs = Blobs::new();
    let inner_desc = common::layouts::add_image(&mut blobs, &mut img);
    let nested = serde_json::to_vec(&index_value(vec![inner_desc])).unwrap();
    let (d, n) = put_blob(&mut blobs, nested.clone());
    blobs.insert(d.clone(), tampered(&nested));
    let mut desc = json!({"mediaType": OCI_INDEX, "digest": d, "size": n});
    ref_annotation(&mut desc, "nested:1");
    oci_fixture(name, &blobs, index_value(vec![desc]), &img)
}

/// A Docker 25+ save whose `what` blob (`config`, `manifest`) was changed in place.
fn lying_docker25(name: &str, what: &str) -> Fixture {
    let spec = common::image::ImageSpec::new(
        "d25:1",
        vec![LayerSpec::new(
            vec![Entry::file("f", "f\n")],
            Compression::None,
        )],
        history_for(1),
    );
    let mut imgs = vec![build_image(&spec)];
    let mut items = docker25_items(&mut imgs);
    let target = match what {
        "config" => imgs[0].expect.config_digest.clone(),
        _ => imgs[0].expect.manifest_digest.clone().unwrap(),
    };
    let path = format!("blobs/sha256/{}", &target[7..]);
    for item in &mut items {
        if let Item::File(p, bytes) = item {
            if *p == path {
                *bytes = tampered(bytes);
            }
        }
    }
    Fixture::new_file(
        name,
        &items_to_tar(&items),
        "docker-save+oci",
        vec![imgs[0].expect.clone()],
    )
}

fn strata_out(args: &[&OsStr]) -> Out {
    run_strata(args, &Opts::default())
}

fn cmd(sub: &str, archive: &Path) -> Out {
    strata_out(&[OsStr::new(sub), archive.as_os_str()])
}

/// Refused by extract (dir and --tar) without a trace; inspect warns; verify fails.
#[track_caller]
fn assert_refused_by_readers(fx: &Fixture, needle: &str) {
    let name = fx.file_name();
    for extra in [&[][..], &["--tar"][..]] {
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, extra, &Opts::default());
        assert_clean_error(&out.as_run(), &name);
        assert!(
            out.error_line().contains(needle),
            "{name} {extra:?}:\n{out}"
        );
        assert!(!dest.exists(), "DEST written for {name}:\n{out}");
        assert!(sb.leftovers().is_empty(), "{name}: {:?}", sb.leftovers());
    }
    let out = cmd("inspect", fx.arg());
    out.assert_ok(&name);
    assert!(
        out.warnings().iter().any(|w| w.contains(needle)),
        "inspect of {name} did not warn about {needle}:\n{out}"
    );
    let out = cmd("verify", fx.arg());
    assert_eq!(out.code, Some(1), "verify of {name}:\n{out}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("MISMATCH  {needle}")));
}

/// Regression (issue 13): an OCI config blob whose bytes do not match its descriptor's digest
/// was extracted without a word, though content addressing is the whole trust model.
#[test]
fn oci_config_blob_not_its_descriptor_is_refused() {
    assert_refused_by_readers(
        &lying_oci("config-digest.tar", "config", false),
        "config_digest",
    );
    assert_refused_by_readers(&lying_oci("config-size.tar", "config", true), "config_size");
}

#[test]
fn oci_manifest_blob_not_its_descriptor_is_refused() {
    assert_refused_by_readers(
        &lying_oci("manifest-digest.tar", "manifest", false),
        "manifest_digest",
    );
    assert_refused_by_readers(
        &lying_oci("manifest-size.tar", "manifest", true),
        "manifest_size",
    );
}

#[test]
fn nested_index_blob_not_its_descriptor_is_refused() {
    assert_refused_by_readers(&lying_nested_index("nested-index.tar"), "index_digest");
}

#[test]
fn docker25_blobs_not_their_descriptors_are_refused() {
    assert_refused_by_readers(&lying_docker25("d25-config.tar", "config"), "config_digest");
    assert_refused_by_readers(
        &lying_docker25("d25-manifest.tar", "manifest"),
        "manifest_digest",
    );
}

/// Decision: a legacy docker save's config file name is not a descriptor. Docker's `load`
/// ignores it and takes the image ID from the bytes, so extract goes on (with the warning);
/// `verify`, which checks that the archive agrees with itself, still fails on it.
#[test]
fn legacy_config_name_is_checked_by_verify_only() {
    let img = two_layer_image("legacy:1");
    let mut items = docker_legacy_items(std::slice::from_ref(&img), LegacyOpts::default());
    let real = format!("{}.json", &img.expect.config_digest[7..]);
    let fake = format!("{}.json", "ab".repeat(32));
    for item in &mut items {
        match item {
            Item::File(p, bytes) if *p == real => *p = fake.clone(),
            Item::File(p, bytes) if p == "manifest.json" => {
                *bytes = String::from_utf8(bytes.clone())
                    .unwrap()
                    .replace(&real, &fake)
                    .into_bytes()
            }
            _ => {}
        }
    }
    let fx = Fixture::new_file(
        "legacy-renamed.tar",
        &items_to_tar(&items),
        "docker-save",
        vec![img.expect.clone()],
    );
    let sb = Sandbox::new();
    let dest = sb.dest();
    let out = extract(fx.arg(), &dest, &[], &Opts::default());
    out.assert_ok("legacy renamed config");
    assert!(
        out.warnings().iter().any(|w| w.contains("config_digest")),
        "{out}"
    );
    assert_eq!(std::fs::read(dest.join("app")).unwrap(), b"app\n");
    assert_eq!(cmd("verify", fx.arg()).code, Some(1));
}

/// An image whose config names `diff_ids` entries for only `n` of its layers.
fn diff_ids_count(name: &str, n: usize, format: Format) -> Fixture {
    let img = two_layer_image("count:1");
    let mut cfg: serde_json::Value = serde_json::from_slice(&img.config).unwrap();
    let mut ids: Vec<serde_json::Value> = cfg["rootfs"]["diff_ids"].as_array().unwrap().clone();
    ids.resize(n, json!(img.layers[0].expect.diff_id));
    cfg["rootfs"]["diff_ids"] = json!(ids);
    let config = serde_json::to_vec(&cfg).unwrap();
    let mut layers = img.layers.clone();
    let spec = common::image::ImageSpec::new("count:1", Vec::new(), history_for(2));
    let mut img = common::image::assemble(&spec, config, &mut layers);
    match format {
        Format::Oci => {
            let mut blobs = Blobs::new();
            let mut desc = common::layouts::add_image(&mut blobs, &mut img);
            ref_annotation(&mut desc, "count:1");
            oci_fixture(name, &blobs, index_value(vec![desc]), &img)
        }
        Format::Docker => Fixture::new_file(
            name,
            &items_to_tar(&docker_legacy_items(
                std::slice::from_ref(&img),
                LegacyOpts::default(),
            )),
            "docker-save",
            vec![img.expect.clone()],
        ),
    }
}

/// Regression (issue 13): a config with fewer (or more) diff_ids than the manifest has layers
/// was extracted anyway, applying a layer nothing vouches for.
#[test]
fn diff_ids_count_not_layer_count_is_refused() {
    for (n, format) in [(1, Format::Oci), (3, Format::Oci), (1, Format::Docker)] {
        let fx = diff_ids_count(&format!("count-{n}-{format:?}.tar"), n, format);
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, &[], &Opts::default());
        assert_clean_error(&out.as_run(), &fx.file_name());
        let line = out.error_line();
        assert!(
            line.contains("lists 2 layers") && line.contains(&format!("has {n} diff_ids")),
            "{out}"
        );
        assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
        let out = cmd("inspect", fx.arg());
        assert!(
            out.warnings().iter().any(|w| w.contains("diff_ids")),
            "{out}"
        );
    }
}

fn tree_names(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(root) {
        out.push(e.strip_prefix(root).unwrap().to_string_lossy().into_owned());
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    let mut names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Regression (issue 13): aufs metadata (`.wh..wh.plnk/` and what is in it, `.wh..wh.aufs`,
/// `.wh..wh.orph/`) landed in the tree.
#[test]
fn aufs_metadata_is_never_written() {
    let layers = vec![
        vec![Entry::dir("etc/"), Entry::file("etc/os", "base\n")],
        vec![
            Entry::dir(".wh..wh.plnk/"),
            Entry::file(".wh..wh.plnk/1234.5678", "linked\n"),
            Entry::file(".wh..wh.aufs", ""),
            Entry::dir(".wh..wh.orph/"),
            Entry::file(".wh..wh.orph/x", "orphan\n"),
            Entry::dir("etc/.wh..wh.plnk/"),
            Entry::file("etc/.wh..wh.plnk/9", "nested\n"),
            Entry::file("etc/new", "new\n"),
        ],
    ];
    let fx = image_of_entries("aufs.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("aufs dir");
    assert_eq!(tree_names(&dest), ["etc", "etc/new", "etc/os"]);
    let tar = sb.work.join("flat.tar");
    extract(fx.arg(), &tar, &["--tar"], &Opts::default()).assert_ok("aufs tar");
    assert_eq!(
        tar_names(&std::fs::read(&tar).unwrap()),
        ["etc/", "etc/new", "etc/os"]
    );
}

/// A hardlink into `.wh..wh.plnk/` would dangle once aufs metadata is left out: refused, with
/// an error that says why.
#[test]
fn hardlink_into_aufs_plnk_is_refused() {
    let layers = vec![
        vec![Entry::file("base", "base\n")],
        vec![
            Entry::dir(".wh..wh.plnk/"),
            Entry::file(".wh..wh.plnk/1234.5678", "linked\n"),
            Entry::hardlink("bin/tool", ".wh..wh.plnk/1234.5678"),
        ],
    ];
    for extra in [&[][..], &["--tar"][..]] {
        let fx = image_of_entries("aufs-link.tar", &layers, Compression::None, Format::Docker);
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, extra, &Opts::default());
        assert_clean_error(&out.as_run(), "aufs-link.tar");
        let line = out.error_line();
        assert!(
            line.contains("layer 1") && line.contains("bin/tool") && line.contains("aufs metadata"),
            "{out}"
        );
        assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
    }
}

/// A PAX 1.0 sparse entry by hand: `declared` segments in the map, one held.
fn pax_sparse_tar(declared: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("GNU.sparse.major", &b"1"[..]),
        ("GNU.sparse.minor", &b"0"[..]),
        ("GNU.sparse.name", &b"disk.img"[..]),
        ("GNU.sparse.realsize", &b"1048576"[..]),
    ])
    .unwrap();
    let mut data = format!("{declared}\n0\n5\n").into_bytes();
    data.resize(512, 0);
    data.extend_from_slice(b"hello");
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "GNUSparseFile.0/disk.img", &data[..])
        .unwrap();
    b.into_inner().unwrap()
}

/// One padded ustar header of `kind` claiming `size` bytes, then `data` (padded).
fn ustar(kind: tar::EntryType, name: &str, size: u64, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

/// `tar` behind a pax header with a `size` record and a `g` header. Review finding: the guard
/// applied the record to the `g` header (the tar crate and Go do not), took the next 1024
/// bytes for its data and so let the PAX sparse entry there through unseen.
fn behind_global_header(tar: Vec<u8>) -> Vec<u8> {
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
    t.extend(tar);
    t
}

/// A directory entry claiming 512 bytes of data that read as a file header: Docker's reader
/// (Go's archive/tar) reads no data for a directory and finds the file `inner`, the tar crate
/// skips the bytes. The layer reads two ways, so every reader refuses it.
#[test]
fn a_directory_entry_claiming_data_is_refused_by_every_reader() {
    let inner = ustar(tar::EntryType::Regular, "inner", 0, b"");
    let mut tar = ustar(tar::EntryType::Directory, "d/", 512, &inner);
    tar.extend(ustar(tar::EntryType::Regular, "f", 0, b""));
    tar.extend([0u8; 1024]);
    let name = "dir-with-data.tar";
    let fx = image_of(
        name,
        vec![LayerSpec::from_tar(tar, Compression::Gzip)],
        Format::Oci,
    );
    let sb = Sandbox::new();
    let dest = sb.dest();
    let out = extract(fx.arg(), &dest, &[], &Opts::default());
    assert_clean_error(&out.as_run(), name);
    assert!(
        out.stderr.contains("directory entry claims 512 bytes"),
        "{out}"
    );
    assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
    for sub in ["inspect", "verify", "ls"] {
        let out = cmd(sub, fx.arg());
        assert_clean_error(&out.as_run(), name);
        assert!(out.stderr.contains("readers disagree"), "{sub}: {out}");
    }
}

/// Pax records that Go's archive/tar (Docker's reader) and the tar crate read differently: a
/// key given twice (Go takes the last, the tar crate the first) and a record hidden in another
/// record's value (only the tar crate's newline split sees it). Refused by every reader.
#[test]
fn pax_records_read_two_ways_are_refused_by_every_reader() {
    let smuggled = b"x\n13 path=evil".to_vec();
    for (name, records) in [
        (
            "pax-twice.tar",
            vec![("path", b"good".to_vec()), ("path", b"evil".to_vec())],
        ),
        ("pax-smuggled.tar", vec![("comment", smuggled)]),
    ] {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions(records.iter().map(|(k, v)| (*k, &v[..])))
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, "good", &b"hi\n"[..]).unwrap();
        let fx = image_of(
            name,
            vec![LayerSpec::from_tar(
                b.into_inner().unwrap(),
                Compression::Gzip,
            )],
            Format::Oci,
        );
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, &[], &Opts::default());
        assert_clean_error(&out.as_run(), name);
        assert!(
            out.stderr.contains("layer 0") && out.stderr.contains("pax header"),
            "{out}"
        );
        assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
        for sub in ["inspect", "verify"] {
            let out = cmd(sub, fx.arg());
            assert_clean_error(&out.as_run(), name);
            assert!(out.stderr.contains("pax header"), "{sub}: {out}");
        }
    }
}

/// A PAX 1.0 sparse file as GNU tar writes it (`--sparse --format=pax
/// --sparse-version=1.0`), when GNU tar is installed.
fn gnu_tar_sparse() -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disk.img");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(4 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_at(b"data in the middle", 2 << 20).unwrap();
    let out = std::process::Command::new("tar")
        .args([
            "--sparse",
            "--format=pax",
            "--sparse-version=1.0",
            "-cf",
            "-",
        ])
        .arg("-C")
        .arg(dir.path())
        .arg("disk.img")
        .output()
        .ok()?;
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}

/// Regression (issue 13): a PAX 1.0 sparse file came out as its map plus data instead of the
/// file. Refused (see README), at its header: a map that declares 4,000,000,000 segments costs
/// nothing.
#[test]
fn pax_sparse_files_are_refused_fast() {
    let mut tars = vec![
        ("pax-sparse.tar", pax_sparse_tar(1)),
        ("pax-sparse-4e9.tar", pax_sparse_tar(4_000_000_000)),
        (
            "pax-sparse-behind-global.tar",
            behind_global_header(pax_sparse_tar(1)),
        ),
    ];
    match gnu_tar_sparse() {
        Some(t) => tars.push(("gnu-tar-sparse.tar", t)),
        None => eprintln!("skipped the GNU tar case: no GNU tar with --sparse-version"),
    }
    for (name, tar) in tars {
        let fx = image_of(
            name,
            vec![LayerSpec::from_tar(tar, Compression::Gzip)],
            Format::Oci,
        );
        for extra in [&[][..], &["--tar"][..]] {
            let sb = Sandbox::new();
            let dest = sb.dest();
            let opts = Opts {
                timeout: Duration::from_secs(20),
                address_limit: Some(1 << 30),
                ..Opts::default()
            };
            let out = extract(fx.arg(), &dest, extra, &opts);
            assert_clean_error(&out.as_run(), name);
            assert!(out.stderr.contains("PAX sparse file"), "{name}:\n{out}");
            assert!(out.elapsed < Duration::from_secs(10), "{name}:\n{out}");
            assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
        }
        // inspect reads headers only and still shows the layer.
        cmd("inspect", fx.arg()).assert_ok(name);
    }
}

fn device_image() -> Fixture {
    let layers = vec![vec![
        Entry::dir("dev/"),
        Entry::char_dev("dev/null", 1, 3),
        Entry::block_dev("dev/sda", 8, 0),
        Entry::hardlink("dev/null2", "dev/null"),
        Entry::fifo("dev/fifo"),
        Entry::file("etc-os", "x\n"),
    ]];
    image_of_entries("devices.tar", &layers, Compression::None, Format::Oci)
}

/// `--no-devices` leaves char and block devices (and links to them) out, with one warning
/// that counts them; fifos and files stay.
#[test]
fn no_devices_skips_device_nodes_with_one_warning() {
    let fx = device_image();
    let sb = Sandbox::new();
    let dest = sb.dest();
    let out = extract(fx.arg(), &dest, &["--no-devices"], &Opts::default());
    out.assert_ok("--no-devices");
    let warned: Vec<&str> = out
        .warnings()
        .into_iter()
        .filter(|w| w.contains("--no-devices"))
        .collect();
    assert_eq!(warned.len(), 1, "{out}");
    assert!(warned[0].contains("skipped 2 device node(s)"), "{out}");
    assert_eq!(tree_names(&dest), ["dev", "dev/fifo", "etc-os"]);
    let tar = sb.work.join("flat.tar");
    extract(fx.arg(), &tar, &["--tar", "--no-devices"], &Opts::default()).assert_ok("tar");
    assert_eq!(
        tar_names(&std::fs::read(&tar).unwrap()),
        ["dev/", "dev/fifo", "etc-os"]
    );
}

/// Limits a user sets: past one, the image is refused (exit 2) with an error naming the limit
/// and its flag, and nothing is left behind, for a directory and for `--tar`.
#[test]
fn limits_refuse_with_the_flag_named_and_nothing_left() {
    let layers = vec![
        vec![Entry::file("a", vec![b'a'; 4000]), Entry::file("b", "b\n")],
        vec![Entry::file("c", vec![b'c'; 4000])],
        vec![Entry::file("d", "d\n")],
    ];
    let fx = image_of_entries("limits.tar", &layers, Compression::Gzip, Format::Oci);
    let cases: [(&[&str], &str); 4] = [
        (&["--max-layers", "2"], "3 layers, more than the limit of 2"),
        (&["--max-files", "3"], "more than 3 entries"),
        (&["--max-size", "5000"], "more than 5000 bytes"),
        (&["--max-size", "1K"], "more than 1024 bytes"),
    ];
    for (flags, needle) in cases {
        let flag = flags[0];
        for tar in [false, true] {
            let sb = Sandbox::new();
            let dest = sb.dest();
            let mut extra = flags.to_vec();
            if tar {
                extra.push("--tar");
            }
            let out = extract(fx.arg(), &dest, &extra, &Opts::default());
            assert_clean_error(&out.as_run(), "limits.tar");
            let line = out.error_line();
            assert!(
                line.contains(needle) && line.contains(flag),
                "{extra:?}:\n{out}"
            );
            assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
        }
    }
    // At the limit exactly, it goes through.
    let sb = Sandbox::new();
    let dest = sb.dest();
    let flags = [
        "--max-layers",
        "3",
        "--max-files",
        "4",
        "--max-size",
        "8004",
    ];
    extract(fx.arg(), &dest, &flags, &Opts::default()).assert_ok("at the limits");
    let bad = strata_out(&[
        OsStr::new("extract"),
        fx.arg().as_os_str(),
        dest.as_os_str(),
        OsStr::new("--max-size"),
        OsStr::new("10X"),
    ]);
    assert_eq!(bad.code, Some(2), "{bad}");
}

/// The limits apply to `mount` too: refused before anything is mounted, and the store keeps
/// no incomplete layer (a complete lower layer may stay: it is the right one).
#[test]
fn mount_refuses_past_max_files_and_max_layers() {
    if !common::overlay::ready() {
        return;
    }
    let layers = vec![
        vec![Entry::file("a", "a\n"), Entry::file("b", "b\n")],
        vec![Entry::file("c", "c\n")],
    ];
    let fx = image_of_entries("mount-limits.tar", &layers, Compression::None, Format::Oci);
    let env = common::overlay::MountEnv::new();
    let mp = env.mountpoint("mp");
    let sel = common::overlay::sel(fx.arg(), &[]);
    for (flags, needle) in [
        (
            &["--max-layers", "1"][..],
            "2 layers, more than the limit of 1",
        ),
        (&["--max-files", "2"][..], "more than 2 entries"),
    ] {
        let out = env.mount(&sel, &mp, flags);
        assert_eq!(out.code, Some(2), "{out}");
        let line = out.error_line();
        assert!(line.contains(needle) && line.contains(flags[0]), "{out}");
        assert!(
            env.store_problems().is_empty(),
            "{:?}",
            env.store_problems()
        );
        assert!(env.mount_dirs().is_empty(), "{out}");
        assert_eq!(common::overlay::fstype_at(&mp), None, "{out}");
    }
    let out = env.mount(&sel, &mp, &[]);
    out.assert_ok("no limits");
    env.umount_ok(&mp, &[]);
}

/// A docker save whose plain layer 1 had one byte of a file changed after its diffID went
/// into the config: the tar still parses.
fn docker_save_with_a_changed_layer(name: &str) -> Fixture {
    let img = two_layer_image("changed:1");
    let mut items = docker_legacy_items(std::slice::from_ref(&img), LegacyOpts::default());
    let mut changed = 0;
    for item in &mut items {
        if let Item::File(_, bytes) = item {
            if let Some(at) = bytes.windows(4).position(|w| w == b"app\n") {
                bytes[at] = b'A';
                changed += 1;
            }
        }
    }
    assert_eq!(changed, 1, "the layer's file content is found once");
    Fixture::new_file(name, &items_to_tar(&items), "docker-save", vec![img.expect])
}

/// A plain layer whose bytes do not match its diffID is refused by the directory and the tar
/// extraction, and nothing is left behind; in a docker save tar and in an OCI layout directory
/// (each blob its own file). A plain layer's digest is its diffID: one hash checks both, and an
/// optimisation that hashed it apart from the bytes written must still fail here.
#[test]
fn a_plain_layer_that_does_not_match_its_diff_id_is_refused() {
    let docker = docker_save_with_a_changed_layer("changed-layer.tar");
    let oci = common::malformed::blob_digest_mismatch().fixture;
    for fx in [&docker, &oci] {
        for extra in [&[][..], &["--tar"][..]] {
            let sb = Sandbox::new();
            let dest = sb.dest();
            let out = extract(fx.arg(), &dest, extra, &Opts::default());
            assert_clean_error(&out.as_run(), &fx.file_name());
            let line = out.error_line();
            assert!(
                line.contains("layer 1") && line.contains("mismatch"),
                "{out}"
            );
            assert!(!dest.exists() && sb.leftovers().is_empty(), "{out}");
        }
    }
}
