//! Images: layers + an OCI/docker image config with history, and the expected figures (image
//! ID, chainIDs, history-to-layer mapping) computed here with sha2.

use serde_json::{json, Value};

use super::layer::{build_layer, BuiltLayer, LayerSpec};
use super::{chain_ids, sha256_digest, HistoryExpect, ImageExpect, Platform};

pub const CREATED: &str = "2023-05-01T12:00:00Z";

#[derive(Clone, Debug)]
pub struct HistSpec {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

pub fn step(created: &str, created_by: &str) -> HistSpec {
    HistSpec {
        created: Some(created.into()),
        created_by: created_by.into(),
        comment: None,
        empty_layer: false,
    }
}

pub fn empty_step(created: &str, created_by: &str) -> HistSpec {
    HistSpec {
        empty_layer: true,
        ..step(created, created_by)
    }
}

impl HistSpec {
    pub fn comment(mut self, c: &str) -> HistSpec {
        self.comment = Some(c.into());
        self
    }
    pub fn no_created(mut self) -> HistSpec {
        self.created = None;
        self
    }
}

#[derive(Clone, Debug)]
pub struct ImageSpec {
    pub tags: Vec<String>,
    pub layers: Vec<LayerSpec>,
    pub history: Vec<HistSpec>,
    pub platform: Platform,
    pub created: String,
}

impl ImageSpec {
    pub fn new(tag: &str, layers: Vec<LayerSpec>, history: Vec<HistSpec>) -> ImageSpec {
        ImageSpec {
            tags: vec![tag.to_string()],
            layers,
            history,
            platform: Platform::linux("amd64", None),
            created: CREATED.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub config: Vec<u8>,
    pub layers: Vec<BuiltLayer>,
    pub expect: ImageExpect,
}

pub fn config_json(spec: &ImageSpec, diff_ids: &[String]) -> Vec<u8> {
    let history: Vec<Value> = spec
        .history
        .iter()
        .map(|h| {
            let mut o = json!({ "created_by": h.created_by });
            if let Some(c) = &h.created {
                o["created"] = json!(c);
            }
            if let Some(c) = &h.comment {
                o["comment"] = json!(c);
            }
            if h.empty_layer {
                o["empty_layer"] = json!(true);
            }
            o
        })
        .collect();
    let mut cfg = json!({
        "architecture": spec.platform.architecture,
        "os": spec.platform.os,
        "created": spec.created,
        "author": "strata tests",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "WorkingDir": "/",
            "Labels": { "org.example.fixture": spec.tags.first().cloned().unwrap_or_default() }
        },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": history,
    });
    if let Some(v) = &spec.platform.variant {
        cfg["variant"] = json!(v);
    }
    serde_json::to_vec(&cfg).unwrap()
}

pub fn build_image(spec: &ImageSpec) -> BuiltImage {
    let mut layers: Vec<BuiltLayer> = spec.layers.iter().map(build_layer).collect();
    let diff_ids: Vec<String> = layers.iter().map(|l| l.expect.diff_id.clone()).collect();
    let config = config_json(spec, &diff_ids);
    assemble(spec, config, &mut layers)
}

/// Fills in chainIDs, history mapping and the image expectations for a given config blob.
pub fn assemble(spec: &ImageSpec, config: Vec<u8>, layers: &mut [BuiltLayer]) -> BuiltImage {
    let diff_ids: Vec<String> = layers.iter().map(|l| l.expect.diff_id.clone()).collect();
    for (l, c) in layers.iter_mut().zip(chain_ids(&diff_ids)) {
        l.expect.chain_id = c;
    }
    // The n-th non-empty history entry describes layer n (while layers last).
    let mut next = 0usize;
    let mut history = Vec::new();
    for h in &spec.history {
        let layer_index = if h.empty_layer || next >= layers.len() {
            None
        } else {
            next += 1;
            Some(next - 1)
        };
        if let Some(i) = layer_index {
            layers[i].expect.created_by = Some(h.created_by.clone());
        }
        history.push(HistoryExpect {
            created: h.created.clone(),
            created_by: h.created_by.clone(),
            comment: h.comment.clone(),
            empty_layer: h.empty_layer,
            layer_index,
            size: layer_index.map(|i| layers[i].expect.size).unwrap_or(0),
        });
    }
    let id = sha256_digest(&config);
    let expect = ImageExpect {
        id: id.clone(),
        config_digest: id,
        manifest_digest: None,
        tags: spec.tags.clone(),
        platform: spec.platform.clone(),
        created: spec.created.clone(),
        layers: layers.iter().map(|l| l.expect.clone()).collect(),
        history,
    };
    BuiltImage {
        config,
        layers: layers.to_vec(),
        expect,
    }
}

/// The default three-layer image most fixtures use: a rich base layer, a layer that exercises
/// pax long names, and a small one; empty-layer steps interleaved; one long CREATED BY.
pub fn standard_spec(tag: &str, compressions: [super::layer::Compression; 3]) -> ImageSpec {
    use super::layer::{rich_entries, sized_entries};
    let layers = vec![
        LayerSpec::new(rich_entries("base", false), compressions[0]),
        LayerSpec::new(rich_entries("second", true), compressions[1]),
        LayerSpec::new(sized_entries("app", "data.bin", 4610), compressions[2]),
    ];
    let history = vec![
        step("2023-05-01T11:00:00Z", "/bin/sh -c #(nop) ADD file:0123456789abcdef in / ").comment("base layer"),
        empty_step("2023-05-01T11:00:01Z", "/bin/sh -c #(nop)  ENV LANG=C.UTF-8"),
        step(
            "2023-05-01T11:30:00Z",
            "RUN /bin/sh -c apk add --no-cache ca-certificates curl jq && rm -rf /var/cache/apk/* # buildkit",
        )
        .comment("buildkit.dockerfile.v0"),
        empty_step("2023-05-01T11:30:01Z", "WORKDIR /app"),
        step("2023-05-01T11:45:00Z", "COPY data.bin /app/data.bin # buildkit"),
        empty_step("2023-05-01T11:45:01Z", "CMD [\"/bin/sh\"]"),
    ];
    ImageSpec::new(tag, layers, history)
}
