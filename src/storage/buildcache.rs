//! The build cache as `docker system df` reports it (`BuildCache` of `GET /system/df`), read
//! offline from BuildKit's bolt databases under the data root's `buildkit/`:
//!
//! - `metadata_v2.db`, bucket `_main`: one bucket per cache record (its ID), each key a JSON
//!   `{"value": …}` (BuildKit's `cache/metadata`): `cache.description`, `cache.recordType`,
//!   `cache.createdAt` / `cache.lastUsedAt` (Unix nanoseconds), `cache.usageCount`,
//!   `snapshot.size`, `snapshot.committed`, `cache.parent`, `cache.equalMutable`,
//!   `cache.deleted`;
//! - `snapshots.db` (moby's snapshotter for the graphdriver): a bucket per snapshot, its
//!   `chainid` the layer a record became when an image was made of it, its `size` the bytes
//!   the snapshotter measured.
//!
//! A record is listed as BuildKit's cache manager lists it (`DiskUsage`): not when deleted or
//! when an immutable record has an equal mutable one (the two share their data), and only when
//! its parents are records too. Offline nothing holds a reference, so no record is in use.
//! A record is shared when its layer is one of an image's layers (moby's `imagerefchecker`),
//! and then its parents are too. The size is the one BuildKit recorded, else what the
//! snapshotter recorded or the layer's own size, as the daemon measures it on asking.
//!
//! Both files are read whole and never locked (a running daemon holds bolt's lock).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::archive::dockerroot::DockerRoot;
use crate::digest::Digest;
use crate::error::{ArchiveError, Problem};
use crate::storage::bolt::{Db, Entry};

pub const METADATA_DB: &str = "buildkit/metadata_v2.db";
pub const SNAPSHOTS_DB: &str = "buildkit/snapshots.db";
/// BuildKit's databases are kilobytes to a few megabytes; this bounds the memory they take.
const DB_LIMIT: u64 = 512 << 20;

/// One record, as the API's `BuildCache` item names its fields.
#[derive(Debug, Clone, Serialize)]
pub struct CacheRecord {
    pub id: String,
    pub parents: Vec<String>,
    /// `regular`, `source.local`, `exec.cachemount`, `frontend`, `internal`…
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub in_use: bool,
    pub shared: bool,
    pub size: i64,
    /// Unix nanoseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub usage_count: i64,
    pub mutable: bool,
}

fn bad(root: &DockerRoot, rel: &str, detail: String) -> ArchiveError {
    ArchiveError::new(
        &root.display(),
        Some(rel.to_string()),
        Problem::BadContent {
            what: "BuildKit database",
            detail,
        },
    )
}

/// The database at `rel`, `None` when it is not there.
fn open(root: &DockerRoot, rel: &str) -> Result<Option<Db>, ArchiveError> {
    match root.read(rel, "BuildKit database", DB_LIMIT) {
        Ok(bytes) => Db::parse(bytes).map(Some).map_err(|d| bad(root, rel, d)),
        Err(e) if matches!(e.problem, Problem::Absent) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
struct Value {
    #[serde(default)]
    value: Option<Box<serde_json::value::RawValue>>,
}

/// A record's keys, each value the JSON inside BuildKit's `{"value": …}`.
struct Item(HashMap<String, serde_json::Value>);

impl Item {
    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        serde_json::from_value(self.0.get(key)?.clone()).ok()
    }
    fn string(&self, key: &str) -> String {
        self.get(key).unwrap_or_default()
    }

    /// The records this one is made from: its parent, merge parents, diff parents.
    fn parents(&self) -> Vec<String> {
        let mut p = Vec::new();
        let parent = self.string("cache.parent");
        if !parent.is_empty() {
            p.push(parent);
        }
        p.extend(
            self.get::<Vec<String>>("cache.mergeParents")
                .unwrap_or_default(),
        );
        for k in ["cache.lowerDiffParent", "cache.upperDiffParent"] {
            let s = self.string(k);
            if !s.is_empty() {
                p.push(s);
            }
        }
        p
    }

    /// The record `id` as the API lists it, `size` bytes; neither in use nor shared yet.
    fn record(&self, id: &str, size: i64) -> CacheRecord {
        let usage_count: Option<i64> = self.get("cache.usageCount");
        let last_used_at = usage_count
            .and(self.get::<i64>("cache.lastUsedAt"))
            .filter(|t| *t != 0);
        let kind = self.string("cache.recordType");
        CacheRecord {
            id: id.to_string(),
            parents: self.parents(),
            kind: if kind.is_empty() {
                "regular".into()
            } else {
                kind
            },
            description: self.string("cache.description"),
            in_use: false,
            shared: false,
            size,
            created_at: self.get("cache.createdAt").unwrap_or(0),
            last_used_at,
            usage_count: usage_count.unwrap_or(0),
            mutable: !self.get::<bool>("snapshot.committed").unwrap_or(false),
        }
    }
}

/// The graphdriver directories BuildKit's snapshotter made (`overlay2/<id>`): its
/// `snapshots.db` names each snapshot by a bucket, and a committed one's directory by its
/// `committed` value. Empty when there is no such database.
pub fn snapshot_dirs(root: &DockerRoot) -> Result<HashSet<String>, ArchiveError> {
    let mut dirs = HashSet::new();
    let Some(db) = open(root, SNAPSHOTS_DB)? else {
        return Ok(dirs);
    };
    let e = |d: String| bad(root, SNAPSHOTS_DB, d);
    for entry in db.root().entries().map_err(e)? {
        let Entry::Bucket(key, bucket) = entry else {
            continue;
        };
        dirs.insert(String::from_utf8_lossy(key).into_owned());
        if let Some(v) = bucket.get(b"committed").map_err(e)? {
            dirs.insert(String::from_utf8_lossy(v).into_owned());
        }
    }
    Ok(dirs)
}

/// The layers images are made of, each as its chainID (every prefix of every image's
/// `diff_ids`).
pub type ImageChains = HashSet<Digest>;

/// `layer_size` gives a layer's size by its chainID, `dir_size` the bytes under the
/// graphdriver's `overlay2/<id>/diff` (0 when it is not there).
pub fn build_cache(
    root: &DockerRoot,
    image_chains: &ImageChains,
    layer_size: &dyn Fn(&Digest) -> Option<u64>,
    dir_size: &dyn Fn(&str) -> Result<i64, ArchiveError>,
) -> Result<Vec<CacheRecord>, ArchiveError> {
    let Some(items) = read_items(root)? else {
        return Ok(Vec::new());
    };
    let loaded = loaded(&items);
    let snapshots = Snapshots {
        root,
        db: open(root, SNAPSHOTS_DB)?,
    };
    let mut records: BTreeMap<String, CacheRecord> = BTreeMap::new();
    let mut layers: HashMap<String, Digest> = HashMap::new();
    for id in &loaded {
        let item = &items[*id];
        let equal_mutable = item.string("cache.equalMutable");
        // An immutable record with its equal mutable one: listed once, as the mutable.
        if !equal_mutable.is_empty() && loaded.contains(equal_mutable.as_str()) {
            continue;
        }
        let layer = snapshots
            .get(id, b"chainid")?
            .and_then(|c| Digest::parse(&c).ok());
        let size = match item.get::<i64>("snapshot.size").filter(|s| *s >= 0) {
            Some(s) => s,
            None => unmeasured_size(id, layer.as_ref(), &snapshots, layer_size, dir_size)?,
        };
        if let Some(l) = layer {
            layers.insert(id.to_string(), l);
        }
        records.insert(id.to_string(), item.record(id, size));
    }
    mark_shared(&mut records, &layers, image_chains);
    Ok(records.into_values().collect())
}

/// The records of `metadata_v2.db`'s `_main` bucket, by ID; None when there is none.
fn read_items(root: &DockerRoot) -> Result<Option<BTreeMap<String, Item>>, ArchiveError> {
    let Some(db) = open(root, METADATA_DB)? else {
        return Ok(None);
    };
    let e = |d: String| bad(root, METADATA_DB, d);
    let Some(main) = db.root().bucket(b"_main").map_err(e)? else {
        return Ok(None);
    };
    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    for entry in main.entries().map_err(e)? {
        let Entry::Bucket(id, bucket) = entry else {
            continue;
        };
        let id = String::from_utf8_lossy(id).into_owned();
        let mut values = HashMap::new();
        for kv in bucket.entries().map_err(e)? {
            let Entry::Value(k, v) = kv else { continue };
            if v.is_empty() {
                continue;
            }
            let k = String::from_utf8_lossy(k).into_owned();
            let parsed: Value = serde_json::from_slice(v).map_err(|err| {
                e(format!(
                    "record {id}: key {k}: not BuildKit's JSON value: {err}"
                ))
            })?;
            if let Some(raw) = parsed.value {
                if let Ok(v) = serde_json::from_str(raw.get()) {
                    values.insert(k, v);
                }
            }
        }
        items.insert(id, Item(values));
    }
    Ok(Some(items))
}

/// The records the cache manager loads: not deleted, and with every parent loaded (it drops
/// the others when it starts).
fn loaded(items: &BTreeMap<String, Item>) -> HashSet<&str> {
    let mut loaded: HashSet<&str> = items
        .iter()
        .filter(|(_, i)| !i.get::<bool>("cache.deleted").unwrap_or(false))
        .map(|(id, _)| id.as_str())
        .collect();
    loop {
        let drop: Vec<&str> = loaded
            .iter()
            .copied()
            .filter(|id| {
                items[*id]
                    .parents()
                    .iter()
                    .any(|p| !loaded.contains(p.as_str()))
            })
            .collect();
        if drop.is_empty() {
            break;
        }
        for id in drop {
            loaded.remove(id);
        }
    }
    loaded
}

/// `snapshots.db`, when there is one: a bucket per snapshot.
struct Snapshots<'a> {
    root: &'a DockerRoot,
    db: Option<Db>,
}

impl Snapshots<'_> {
    /// The value at `key` in snapshot `id`'s bucket.
    fn get(&self, id: &str, key: &[u8]) -> Result<Option<String>, ArchiveError> {
        let Some(db) = &self.db else {
            return Ok(None);
        };
        let e = |d: String| bad(self.root, SNAPSHOTS_DB, d);
        let Some(b) = db.root().bucket(id.as_bytes()).map_err(e)? else {
            return Ok(None);
        };
        Ok(b.get(key)
            .map_err(e)?
            .map(|v| String::from_utf8_lossy(v).into_owned()))
    }
}

/// The size of a record BuildKit has not measured yet (-1): what the daemon's snapshotter
/// answers when asked: the layer's size, else the size it recorded, else its graphdriver
/// directory's.
fn unmeasured_size(
    id: &str,
    layer: Option<&Digest>,
    snapshots: &Snapshots,
    layer_size: &dyn Fn(&Digest) -> Option<u64>,
    dir_size: &dyn Fn(&str) -> Result<i64, ArchiveError>,
) -> Result<i64, ArchiveError> {
    if let Some(s) = layer.and_then(layer_size) {
        return Ok(s as i64);
    }
    if let Some(s) = snapshots
        .get(id, b"size")?
        .and_then(|s| s.trim().parse().ok())
    {
        return Ok(s);
    }
    let gd = snapshots
        .get(id, b"committed")?
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| id.to_string());
    dir_size(&gd)
}

/// Shared: the record's layer is an image's, and so are its parents'.
fn mark_shared(
    records: &mut BTreeMap<String, CacheRecord>,
    layers: &HashMap<String, Digest>,
    image_chains: &ImageChains,
) {
    let mut stack: Vec<String> = records
        .keys()
        .filter(|id| layers.get(*id).is_some_and(|l| image_chains.contains(l)))
        .cloned()
        .collect();
    let mut marked = HashSet::new();
    while let Some(id) = stack.pop() {
        if !marked.insert(id.clone()) {
            continue;
        }
        if let Some(r) = records.get_mut(&id) {
            r.shared = true;
            stack.extend(r.parents.iter().cloned());
        }
    }
}
