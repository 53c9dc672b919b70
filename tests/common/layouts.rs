//! Archive layouts: docker save (legacy and Docker 25+) and OCI image layouts, produced as a
//! list of [`Item`]s that can become a tar or a directory.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::image::BuiltImage;
use super::layer::Compression;
use super::tarball::Item;
use super::{sha256_digest, sha256_hex};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

#[derive(Clone, Copy, Debug, Default)]
pub struct LegacyOpts {
    /// A layer whose bytes equal an earlier layer's is stored as a tar symlink to it.
    pub dedupe_symlink: bool,
    /// Put manifest.json, configs and repositories before the layers (docker sorts by name,
    /// which puts them last).
    pub manifest_first: bool,
}

/// Legacy v1 layer IDs: deterministic, derived from the chain so shared bases share a folder.
fn v1_ids(img: &BuiltImage) -> Vec<String> {
    let mut parent = String::new();
    img.layers
        .iter()
        .map(|l| {
            parent = sha256_hex(format!("v1 {parent} {}", l.expect.chain_id).as_bytes());
            parent.clone()
        })
        .collect()
}

pub fn docker_legacy_items(images: &[BuiltImage], opts: LegacyOpts) -> Vec<Item> {
    let mut files: BTreeMap<String, Item> = BTreeMap::new();
    let mut first_path_of_blob: BTreeMap<String, String> = BTreeMap::new();
    let mut manifest = Vec::new();
    let mut repositories = serde_json::Map::new();
    for img in images {
        let ids = v1_ids(img);
        let mut layer_paths = Vec::new();
        for (i, (l, id)) in img.layers.iter().zip(&ids).enumerate() {
            let path = format!("{id}/layer.tar");
            layer_paths.push(path.clone());
            files.insert(format!("{id}/"), Item::Dir(format!("{id}/")));
            files.insert(
                format!("{id}/VERSION"),
                Item::File(format!("{id}/VERSION"), b"1.0".to_vec()),
            );
            let mut v1 = json!({"id": id, "created": "1970-01-01T00:00:00Z", "os": "linux",
                                "container_config": {"Cmd": null}});
            if i > 0 {
                v1["parent"] = json!(ids[i - 1]);
            }
            files.insert(
                format!("{id}/json"),
                Item::File(format!("{id}/json"), serde_json::to_vec(&v1).unwrap()),
            );
            let item = match first_path_of_blob.get(&l.expect.digest) {
                Some(first) if opts.dedupe_symlink && *first != path => {
                    Item::Symlink(path.clone(), format!("../{first}"))
                }
                _ => Item::File(path.clone(), l.blob.clone()),
            };
            first_path_of_blob
                .entry(l.expect.digest.clone())
                .or_insert(path.clone());
            files.insert(path, item);
        }
        let cfg_name = format!("{}.json", &img.expect.config_digest[7..]);
        files.insert(
            cfg_name.clone(),
            Item::File(cfg_name.clone(), img.config.clone()),
        );
        manifest
            .push(json!({"Config": cfg_name, "RepoTags": img.expect.tags, "Layers": layer_paths}));
        for t in &img.expect.tags {
            let (name, tag) = t.rsplit_once(':').unwrap();
            let entry = repositories
                .entry(name.to_string())
                .or_insert_with(|| json!({}));
            entry[tag] = json!(ids.last().cloned().unwrap_or_default());
        }
    }
    files.insert(
        "manifest.json".into(),
        Item::File(
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    );
    files.insert(
        "repositories".into(),
        Item::File(
            "repositories".into(),
            serde_json::to_vec(&Value::Object(repositories)).unwrap(),
        ),
    );
    let mut items: Vec<Item> = files.into_values().collect();
    if opts.manifest_first {
        let is_meta = |i: &Item| !i.path().contains('/');
        let (mut meta, rest): (Vec<Item>, Vec<Item>) = items.into_iter().partition(is_meta);
        meta.extend(rest);
        items = meta;
    }
    items
}

/// The OCI manifest of `img` as a JSON value (descriptors from the built blobs).
pub fn manifest_value(img: &BuiltImage) -> Value {
    let layers: Vec<Value> = img
        .layers
        .iter()
        .map(
            |l| json!({"mediaType": l.media_type, "digest": l.expect.digest, "size": l.blob.len()}),
        )
        .collect();
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": img.expect.config_digest, "size": img.config.len()},
        "layers": layers,
    })
}

pub type Blobs = BTreeMap<String, Vec<u8>>;

/// Stores `bytes` under its digest; returns (digest, size).
pub fn put_blob(blobs: &mut Blobs, bytes: Vec<u8>) -> (String, usize) {
    let d = sha256_digest(&bytes);
    let n = bytes.len();
    blobs.insert(d.clone(), bytes);
    (d, n)
}

/// Puts config, layers and manifest of `img` into `blobs`, records the manifest digest in the
/// image's expectations and returns the manifest descriptor.
pub fn add_image(blobs: &mut Blobs, img: &mut BuiltImage) -> Value {
    add_image_with_manifest(blobs, img, manifest_value(img))
}

pub fn add_image_with_manifest(blobs: &mut Blobs, img: &mut BuiltImage, manifest: Value) -> Value {
    blobs.insert(img.expect.config_digest.clone(), img.config.clone());
    for l in &img.layers {
        blobs.insert(l.expect.digest.clone(), l.blob.clone());
    }
    let (d, n) = put_blob(blobs, serde_json::to_vec(&manifest).unwrap());
    img.expect.manifest_digest = Some(d.clone());
    json!({"mediaType": OCI_MANIFEST, "digest": d, "size": n})
}

pub fn ref_annotation(desc: &mut Value, ref_name: &str) {
    desc["annotations"] = json!({"org.opencontainers.image.ref.name": ref_name});
}

pub fn index_value(manifests: Vec<Value>) -> Value {
    json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
}

/// `oci-layout`, `index.json` and `blobs/sha256/*`, in a fixed order.
pub fn oci_items(blobs: &Blobs, index: &Value) -> Vec<Item> {
    let mut items = vec![
        Item::File(
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
        Item::File("index.json".into(), serde_json::to_vec(index).unwrap()),
        Item::Dir("blobs/".into()),
        Item::Dir("blobs/sha256/".into()),
    ];
    for (d, b) in blobs {
        items.push(Item::File(format!("blobs/sha256/{}", &d[7..]), b.clone()));
    }
    items
}

/// Docker 25+ `docker save` (classic store): an OCI layout with uncompressed layers stored at
/// their diffID, the index annotated with the image name, plus the legacy `manifest.json`.
pub fn docker25_items(images: &mut [BuiltImage]) -> Vec<Item> {
    let mut blobs = Blobs::new();
    let mut index = Vec::new();
    let mut manifest = Vec::new();
    for img in images.iter_mut() {
        assert!(img
            .layers
            .iter()
            .all(|l| l.expect.compression == Compression::None.name()));
        let mut desc = add_image(&mut blobs, img);
        let tag = img.expect.tags[0].clone();
        let short_tag = tag.rsplit_once(':').unwrap().1;
        desc["annotations"] = json!({
            "io.containerd.image.name": format!("docker.io/library/{tag}"),
            "org.opencontainers.image.ref.name": short_tag,
        });
        index.push(desc);
        let layer_paths: Vec<String> = img
            .layers
            .iter()
            .map(|l| format!("blobs/sha256/{}", &l.expect.digest[7..]))
            .collect();
        manifest.push(json!({
            "Config": format!("blobs/sha256/{}", &img.expect.config_digest[7..]),
            "RepoTags": img.expect.tags,
            "Layers": layer_paths,
        }));
    }
    let mut items: Vec<Item> = vec![
        Item::Dir("blobs/".into()),
        Item::Dir("blobs/sha256/".into()),
    ];
    for (d, b) in &blobs {
        items.push(Item::File(format!("blobs/sha256/{}", &d[7..]), b.clone()));
    }
    items.push(Item::File(
        "index.json".into(),
        serde_json::to_vec(&index_value(index)).unwrap(),
    ));
    items.push(Item::File(
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    items.push(Item::File(
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    items
}
