//! Comparing strata's `--json` output with a fixture's expectations, field by field, with
//! messages that say which image, layer or history row differs.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{HistoryExpect, ImageExpect};

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn str_or_null(v: &Value) -> Option<&str> {
    v.as_str()
}

/// An optional text field: absent/null/"" all mean "none".
fn opt_text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

pub fn assert_created(found: &Value, expected: Option<&str>, what: &str) {
    match expected {
        None => assert!(
            found.is_null() || found == "",
            "{what}: created should be null, got {found}"
        ),
        Some(e) => {
            let f = found
                .as_str()
                .unwrap_or_else(|| panic!("{what}: created missing, got {found}"));
            assert_eq!(
                instant(f),
                instant(e),
                "{what}: created {f} vs expected {e}"
            );
        }
    }
}

/// One row of strata's `history` JSON (newest first) against the expected entry.
pub fn assert_history_row(row: &Value, h: &HistoryExpect, id: Option<&str>, what: &str) {
    assert_created(&row["created"], h.created.as_deref(), what);
    assert_eq!(
        row["created_by"],
        h.created_by.as_str(),
        "{what}: created_by"
    );
    assert_eq!(row["size"], h.size, "{what}: size");
    assert_eq!(opt_text(&row["comment"]), h.comment, "{what}: comment");
    assert_eq!(row["empty_layer"], h.empty_layer, "{what}: empty_layer");
    match h.layer_index {
        Some(i) => assert_eq!(row["layer_index"], i, "{what}: layer_index"),
        None => assert!(
            row["layer_index"].is_null(),
            "{what}: layer_index should be null: {row}"
        ),
    }
    match id {
        Some(id) => assert_eq!(row["id"], id, "{what}: id"),
        None => assert!(
            row["id"].is_null(),
            "{what}: id should be null on rows below the top: {row}"
        ),
    }
}

pub fn assert_history_rows(rows: &Value, img: &ImageExpect, ctx: &str) {
    let rows = rows
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: history is not an array: {rows}"));
    assert_eq!(
        rows.len(),
        img.history.len(),
        "{ctx}: number of history rows"
    );
    for (n, (row, h)) in rows.iter().zip(img.history.iter().rev()).enumerate() {
        let id = (n == 0).then_some(img.id.as_str());
        assert_history_row(
            row,
            h,
            id,
            &format!("{ctx}: history row {n} (newest first)"),
        );
    }
}

/// The whole `inspect --json` document against one expected image.
pub fn assert_inspect(v: &Value, format: &str, img: &ImageExpect, ctx: &str) {
    assert_eq!(v["source"]["format"], format, "{ctx}: source.format");
    assert!(
        v["source"]["path"].is_string(),
        "{ctx}: source.path missing: {}",
        v["source"]
    );

    let im = &v["image"];
    assert_eq!(im["id"], img.id.as_str(), "{ctx}: image.id");
    assert_eq!(
        im["config_digest"],
        img.config_digest.as_str(),
        "{ctx}: image.config_digest"
    );
    match &img.manifest_digest {
        Some(d) => assert_eq!(
            im["manifest_digest"],
            d.as_str(),
            "{ctx}: image.manifest_digest"
        ),
        None => assert!(
            im["manifest_digest"].is_null(),
            "{ctx}: manifest_digest should be null: {im}"
        ),
    }
    let tags: Vec<&str> = im["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        tags,
        img.tags.iter().map(String::as_str).collect::<Vec<_>>(),
        "{ctx}: image.tags"
    );
    assert_eq!(
        im["platform"]["os"],
        img.platform.os.as_str(),
        "{ctx}: platform.os"
    );
    assert_eq!(
        im["platform"]["architecture"],
        img.platform.architecture.as_str(),
        "{ctx}: platform.architecture"
    );
    assert_eq!(
        str_or_null(&im["platform"]["variant"]).filter(|s| !s.is_empty()),
        img.platform.variant.as_deref(),
        "{ctx}: platform.variant"
    );
    assert_created(&im["created"], Some(&img.created), &format!("{ctx}: image"));

    let layers = v["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: layers is not an array"));
    assert_eq!(layers.len(), img.layers.len(), "{ctx}: number of layers");
    for (i, (l, e)) in layers.iter().zip(&img.layers).enumerate() {
        let w = format!("{ctx}: layer {i}");
        assert_eq!(l["index"], i, "{w}: index");
        assert_eq!(
            l["digest"],
            e.digest.as_str(),
            "{w}: digest (sha256 of the stored blob)"
        );
        assert_eq!(
            l["compressed_size"], e.compressed_size,
            "{w}: compressed_size"
        );
        assert_eq!(
            l["compression"], e.compression,
            "{w}: compression (sniffed)"
        );
        assert_eq!(l["diff_id"], e.diff_id.as_str(), "{w}: diff_id");
        assert_eq!(
            l["uncompressed_size"], e.uncompressed_size,
            "{w}: uncompressed_size"
        );
        assert_eq!(l["chain_id"], e.chain_id.as_str(), "{w}: chain_id");
        assert_eq!(l["files"], e.files, "{w}: files (tar entries)");
        assert_eq!(l["size"], e.size, "{w}: size (docker)");
        assert_eq!(
            str_or_null(&l["created_by"]),
            e.created_by.as_deref(),
            "{w}: created_by"
        );
        if format != "docker-save" {
            assert_eq!(
                l["media_type"],
                e.media_type.as_str(),
                "{w}: media_type (descriptor)"
            );
        }
    }
    assert_history_rows(&v["history"], img, ctx);
}
