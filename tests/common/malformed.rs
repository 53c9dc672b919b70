//! Bad inputs, one per way an archive can be broken. Most must be refused with exit 2; the
//! history-count mismatches and a corrupted/mis-sized blob are readable with a warning and are
//! what `verify` exists to catch.

use serde_json::json;

use super::fixtures::{legacy_bytes, multi_platform_with};
use super::image::{assemble, build_image, empty_step, standard_spec, step, BuiltImage, ImageSpec};
use super::layer::{build_layer, rich_entries, sized_entries, Compression, LayerSpec};
use super::layouts::{
    add_image, add_image_with_manifest, docker_legacy_items, index_value, manifest_value,
    oci_items, put_blob, ref_annotation, Blobs, LegacyOpts, OCI_MANIFEST,
};
use super::tarball::{items_to_tar, Item};
use super::{sha256_digest, Fixture, Platform};

const NONE3: [Compression; 3] = [Compression::None; 3];

fn std_image(tag: &str) -> BuiltImage {
    build_image(&standard_spec(tag, NONE3))
}

fn replace_file(items: &mut [Item], path: &str, bytes: &[u8]) {
    let it = items
        .iter_mut()
        .find(|i| i.path() == path)
        .unwrap_or_else(|| panic!("{path} not in archive"));
    *it = Item::File(path.into(), bytes.to_vec());
}

/// 4 KiB of pseudo-random bytes (xorshift), starting with neither gzip nor zstd magic.
pub fn not_a_tar() -> Fixture {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    bytes[0] = b'Z';
    Fixture::new_file("random.tar", &bytes, "", vec![])
}

pub fn empty_file() -> Fixture {
    Fixture::new_file("empty.tar", b"", "", vec![])
}

/// Legacy docker-save with its metadata first, cut in the middle of the last layer's data.
pub fn truncated() -> Fixture {
    let img = std_image("trunc:1");
    let tar = legacy_bytes(
        &[img],
        LegacyOpts {
            manifest_first: true,
            ..Default::default()
        },
    );
    let cut = (tar.len() * 8 / 10) / 512 * 512 + 100;
    Fixture::new_file("truncated.tar", &tar[..cut], "", vec![])
}

/// A tar with layer folders and a config but neither manifest.json nor index.json (nor the
/// `repositories` of a pre-1.10 docker save).
pub fn no_manifest() -> Fixture {
    let items: Vec<Item> = docker_legacy_items(&[std_image("nomanifest:1")], LegacyOpts::default())
        .into_iter()
        .filter(|i| i.path() != "manifest.json" && i.path() != "repositories")
        .collect();
    Fixture::new_file("no-manifest.tar", &items_to_tar(&items), "", vec![])
}

pub fn missing_config() -> Fixture {
    let img = std_image("nocfg:1");
    let cfg = format!("{}.json", &img.expect.config_digest[7..]);
    let items: Vec<Item> = docker_legacy_items(&[img], LegacyOpts::default())
        .into_iter()
        .filter(|i| i.path() != cfg)
        .collect();
    Fixture::new_file("missing-config.tar", &items_to_tar(&items), "", vec![])
}

/// OCI layout tar whose manifest names a layer blob that is not there.
pub fn missing_layer() -> Fixture {
    let mut img = build_image(&standard_spec("nolayer:1", [Compression::Gzip; 3]));
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, "nolayer:1");
    blobs.remove(&img.layers[1].expect.digest);
    let items = oci_items(&blobs, &index_value(vec![desc]));
    Fixture::new_file("missing-layer.tar", &items_to_tar(&items), "", vec![])
}

pub fn manifest_not_json() -> Fixture {
    let mut items = docker_legacy_items(&[std_image("badjson:1")], LegacyOpts::default());
    replace_file(
        &mut items,
        "manifest.json",
        br#"[{"Config": "abc.json", "Layers": ["#,
    );
    Fixture::new_file("manifest-not-json.tar", &items_to_tar(&items), "", vec![])
}

/// OCI layout whose config blob (correctly addressed by its digest) is not JSON.
pub fn config_not_json() -> Fixture {
    let spec = standard_spec("badcfg:1", [Compression::Gzip; 3]);
    let mut layers: Vec<_> = spec.layers.iter().map(build_layer).collect();
    let mut img = assemble(
        &spec,
        b"{\"architecture\": amd64, not json".to_vec(),
        &mut layers,
    );
    let mut blobs = Blobs::new();
    let desc = add_image(&mut blobs, &mut img);
    let items = oci_items(&blobs, &index_value(vec![desc]));
    Fixture::new_file("config-not-json.tar", &items_to_tar(&items), "", vec![])
}

/// manifest.json names a layer at `../x`: outside the archive, must be refused, not resolved.
pub fn layer_path_escape() -> Fixture {
    let img = std_image("escape:1");
    let cfg = format!("{}.json", &img.expect.config_digest[7..]);
    let mut items = docker_legacy_items(std::slice::from_ref(&img), LegacyOpts::default());
    let mut layers: Vec<String> = Vec::new();
    for i in &items {
        if i.path().ends_with("/layer.tar") {
            layers.push(i.path().to_string());
        }
    }
    layers[0] = "../x".into();
    let manifest = json!([{"Config": cfg, "RepoTags": ["escape:1"], "Layers": layers}]);
    replace_file(
        &mut items,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    Fixture::new_file("escape.tar", &items_to_tar(&items), "", vec![])
}

/// Which layer a corruption fixture broke, and how.
pub struct Broken {
    pub fixture: Fixture,
    pub layer_index: usize,
    /// What the descriptor claims.
    pub descriptor_digest: String,
    pub descriptor_size: u64,
}

/// OCI layout dir: layer 1 (uncompressed) has one byte of file content changed after its
/// digest went into the manifest. The tar still parses; digest and diffID no longer match.
pub fn blob_digest_mismatch() -> Broken {
    let mut img = build_image(&standard_spec(
        "corrupt:1",
        [Compression::Gzip, Compression::None, Compression::Gzip],
    ));
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, "corrupt:1");
    let layer = &img.layers[1];
    let mut bad = layer.blob.clone();
    let needle = b"NAME=strata-test";
    let at = bad
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("content in layer");
    bad[at] = b'n';
    blobs.insert(layer.expect.digest.clone(), bad.clone());
    let descriptor_digest = layer.expect.digest.clone();
    // What strata should report for the blob it actually read.
    let e = &mut img.expect.layers[1];
    e.digest = sha256_digest(&bad);
    e.diff_id = e.digest.clone();
    let items = oci_items(&blobs, &index_value(vec![desc]));
    Broken {
        fixture: Fixture::new_dir("corrupt-layout", &items, "oci-layout", vec![img.expect]),
        layer_index: 1,
        descriptor_digest,
        descriptor_size: layer.blob.len() as u64,
    }
}

/// OCI layout dir: gzip layer 1 decompressed, one byte of file content changed, and
/// recompressed under its old digest: both its blob digest and its diffID are wrong.
pub fn gzip_content_mismatch() -> Broken {
    use std::io::{Read, Write};
    let mut img = build_image(&standard_spec("recompressed:1", [Compression::Gzip; 3]));
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, "recompressed:1");
    let layer = &img.layers[1];
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&layer.blob[..])
        .read_to_end(&mut tar)
        .unwrap();
    let needle = b"NAME=strata-test";
    let at = tar
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("content in layer");
    tar[at] = b'n';
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).unwrap();
    let bad = gz.finish().unwrap();
    blobs.insert(layer.expect.digest.clone(), bad.clone());
    let descriptor_digest = layer.expect.digest.clone();
    let e = &mut img.expect.layers[1];
    e.digest = sha256_digest(&bad);
    e.diff_id = sha256_digest(&tar);
    let items = oci_items(&blobs, &index_value(vec![desc]));
    Broken {
        fixture: Fixture::new_dir(
            "recompressed-layout",
            &items,
            "oci-layout",
            vec![img.expect],
        ),
        layer_index: 1,
        descriptor_digest,
        descriptor_size: layer.blob.len() as u64,
    }
}

/// OCI layout tar: layer 0's descriptor claims 7 bytes more than the blob has.
pub fn blob_size_mismatch() -> Broken {
    let mut img = build_image(&standard_spec("size:1", [Compression::Gzip; 3]));
    let mut manifest = manifest_value(&img);
    let real = img.layers[0].blob.len() as u64;
    manifest["layers"][0]["size"] = json!(real + 7);
    let mut blobs = Blobs::new();
    let mut desc = add_image_with_manifest(&mut blobs, &mut img, manifest);
    ref_annotation(&mut desc, "size:1");
    let items = oci_items(&blobs, &index_value(vec![desc]));
    Broken {
        descriptor_digest: img.layers[0].expect.digest.clone(),
        fixture: Fixture::new_file(
            "size-mismatch.tar",
            &items_to_tar(&items),
            "oci-layout",
            vec![img.expect],
        ),
        layer_index: 0,
        descriptor_size: real + 7,
    }
}

/// A helm chart pushed as an OCI artifact: not a container image.
pub fn helm_chart() -> Fixture {
    let mut blobs = Blobs::new();
    let (cfg_d, cfg_n) = put_blob(
        &mut blobs,
        br#"{"name":"mychart","version":"0.1.0","apiVersion":"v2","type":"application"}"#.to_vec(),
    );
    let chart = build_layer(&LayerSpec::new(
        sized_entries("mychart", "Chart.yaml", 40),
        Compression::Gzip,
    ));
    let (l_d, l_n) = put_blob(&mut blobs, chart.blob.clone());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cfg_d, "size": cfg_n},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": l_d, "size": l_n}],
    });
    let (m_d, m_n) = put_blob(&mut blobs, serde_json::to_vec(&manifest).unwrap());
    let mut desc = json!({"mediaType": OCI_MANIFEST, "digest": m_d, "size": m_n});
    ref_annotation(&mut desc, "mychart:0.1.0");
    Fixture::new_dir(
        "helm-chart",
        &oci_items(&blobs, &index_value(vec![desc])),
        "",
        vec![],
    )
}

/// Two layers but three non-empty history entries: the third has no layer.
pub fn history_more_than_layers() -> Fixture {
    let spec = ImageSpec::new(
        "histmore:1",
        vec![
            LayerSpec::new(rich_entries("hm", false), Compression::None),
            LayerSpec::new(sized_entries("x", "x", 10), Compression::None),
        ],
        vec![
            step("2023-05-01T07:00:00Z", "ADD base /"),
            empty_step("2023-05-01T07:00:01Z", "ENV A=1"),
            step("2023-05-01T07:01:00Z", "COPY x /x/"),
            step("2023-05-01T07:02:00Z", "RUN lost-layer"),
        ],
    );
    let img = build_image(&spec);
    Fixture::new_file(
        "history-more.tar",
        &legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default()),
        "docker-save",
        vec![img.expect],
    )
}

/// Three layers but only two non-empty history entries: layer 2 has no history.
pub fn history_fewer_than_layers() -> Fixture {
    let spec = ImageSpec::new(
        "histfewer:1",
        vec![
            LayerSpec::new(rich_entries("hf", false), Compression::None),
            LayerSpec::new(sized_entries("x", "x", 10), Compression::None),
            LayerSpec::new(sized_entries("y", "y", 20), Compression::None),
        ],
        vec![
            step("2023-05-01T07:00:00Z", "ADD base /"),
            empty_step("2023-05-01T07:00:01Z", "ENV A=1"),
            step("2023-05-01T07:01:00Z", "COPY x /x/"),
        ],
    );
    let img = build_image(&spec);
    Fixture::new_file(
        "history-fewer.tar",
        &legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default()),
        "docker-save",
        vec![img.expect],
    )
}

/// A multi-platform index without the host's platform (nor any common one).
pub fn no_host_platform() -> Fixture {
    multi_platform_with(
        &[
            Platform::linux("s390x", None),
            Platform::linux("ppc64le", None),
        ],
        "exotic.tar",
    )
}
