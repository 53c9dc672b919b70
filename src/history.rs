//! Lines up the config's `history` with the image's layers the way docker does: entries marked
//! `empty_layer` have no layer; every other entry takes the next layer in order. Malformed
//! history is shown as far as it goes, with warnings. Like docker, the rows carry image IDs
//! from the top down: the image's own on the newest row, then its parent's, its grandparent's,
//! as far as the parent chain goes (`<missing>` below that).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use oci_spec::image::History;

use crate::digest::Digest;

fn count(n: usize, one: &str, many: &str) -> String {
    crate::render::count(n as u64, one, many)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    /// The image ID on the newest row, its parent's on the next and so on; none below the
    /// end of the parent chain (docker shows `<missing>`).
    pub id: Option<Digest>,
    pub created: Option<String>,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub empty_layer: bool,
    pub layer_index: Option<usize>,
    /// A row strata adds for a layer no history step describes (docker shows none).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_history_entry: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct Aligned {
    /// Newest first, like `docker history`.
    pub rows: Vec<HistoryRow>,
    pub warnings: Vec<String>,
}

/// `layer_sizes[i]` is layer i's docker size; `ids` the image ID followed by its parents' (see
/// [`parent_chain`](crate::image::Image::parent_ids)). Layers past the last non-empty step get
/// rows of their own only with `unrecorded_rows` (docker prints just the steps).
pub fn align(
    history: &[History],
    layer_sizes: &[u64],
    ids: &[Digest],
    unrecorded_rows: bool,
) -> Aligned {
    let mut rows = Vec::with_capacity(history.len());
    let mut next_layer = 0usize;
    let mut overflow = 0usize;
    for entry in history {
        let empty = entry.empty_layer().unwrap_or(false);
        let layer_index = if empty {
            None
        } else if next_layer < layer_sizes.len() {
            next_layer += 1;
            Some(next_layer - 1)
        } else {
            overflow += 1;
            None
        };
        rows.push(HistoryRow {
            id: None,
            created: entry.created().clone(),
            created_by: entry.created_by().clone().unwrap_or_default(),
            size: layer_index.map_or(0, |i| layer_sizes[i]),
            comment: entry.comment().clone().unwrap_or_default(),
            empty_layer: empty,
            layer_index,
            no_history_entry: false,
        });
    }
    let mut warnings = Vec::new();
    if overflow > 0 {
        warnings.push(format!(
            "the config history has {} but the image has {}; the last {overflow} match no layer",
            count(
                next_layer + overflow,
                "non-empty entry",
                "non-empty entries"
            ),
            count(layer_sizes.len(), "layer", "layers")
        ));
    }
    if next_layer < layer_sizes.len() {
        let missing = layer_sizes.len() - next_layer;
        warnings.push(format!(
            "the config history has {} but the image has {}; the last {missing} have no history entry",
            count(next_layer, "non-empty entry", "non-empty entries"),
            count(layer_sizes.len(), "layer", "layers")
        ));
        let extra = layer_sizes.iter().enumerate().skip(next_layer);
        for (i, size) in extra.filter(|_| unrecorded_rows) {
            rows.push(HistoryRow {
                id: None,
                created: None,
                created_by: String::new(),
                size: *size,
                comment: "(no history entry for this layer)".into(),
                empty_layer: false,
                layer_index: Some(i),
                no_history_entry: true,
            });
        }
    }
    rows.reverse();
    for (row, id) in rows.iter_mut().zip(ids) {
        row.id = Some(id.clone());
    }
    Aligned { rows, warnings }
}

/// A creation time docker would show: parsed, and later than 2000-01-01 (older ones, like the
/// epoch that reproducible builds use, print as N/A).
pub fn meaningful_time(created: Option<&str>) -> Option<DateTime<FixedOffset>> {
    let t = DateTime::parse_from_rfc3339(created?).ok()?;
    let cutoff = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single()?;
    (t.with_timezone(&Utc) > cutoff).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::HistoryBuilder;

    fn entry(by: &str, empty: bool) -> History {
        HistoryBuilder::default()
            .created_by(by.to_string())
            .created("2023-05-01T12:00:00Z".to_string())
            .empty_layer(empty)
            .build()
            .unwrap()
    }

    fn id() -> Digest {
        Digest::of_bytes(b"config")
    }

    #[test]
    fn empty_layer_steps_take_no_layer() {
        let h = [
            entry("ADD base", false),
            entry("ENV A=1", true),
            entry("RUN x", false),
            entry("CMD sh", true),
        ];
        let a = align(&h, &[100, 7], &[id()], false);
        assert!(a.warnings.is_empty());
        let got: Vec<(&str, Option<usize>, u64)> = a
            .rows
            .iter()
            .map(|r| (r.created_by.as_str(), r.layer_index, r.size))
            .collect();
        assert_eq!(
            got,
            vec![
                ("CMD sh", None, 0),
                ("RUN x", Some(1), 7),
                ("ENV A=1", None, 0),
                ("ADD base", Some(0), 100)
            ]
        );
        assert_eq!(a.rows[0].id, Some(id()));
        assert!(a.rows[1..].iter().all(|r| r.id.is_none()));
    }

    #[test]
    fn more_entries_than_layers_warns_and_keeps_rows() {
        let h = [entry("a", false), entry("b", false), entry("c", false)];
        let a = align(&h, &[5], &[id()], false);
        assert_eq!(a.rows.len(), 3);
        assert_eq!(a.rows[2].layer_index, Some(0));
        assert_eq!(a.rows[1].layer_index, None);
        assert_eq!(a.rows[0].layer_index, None);
        assert_eq!(a.warnings.len(), 1);
        assert!(
            a.warnings[0].contains("3 non-empty entries but the image has 1 layer;"),
            "{:?}",
            a.warnings
        );
    }

    #[test]
    fn fewer_entries_than_layers_adds_rows_for_the_rest_only_when_asked() {
        let h = [entry("a", false), entry("ENV", true)];
        let a = align(&h, &[5, 6, 7], &[id()], true);
        assert_eq!(a.warnings.len(), 1);
        let idx: Vec<Option<usize>> = a.rows.iter().map(|r| r.layer_index).collect();
        assert_eq!(idx, vec![Some(2), Some(1), None, Some(0)]);
        assert_eq!(a.rows[0].size, 7);
        assert!(a.rows[0].no_history_entry && !a.rows[2].no_history_entry);
        // docker's view: only the steps, the image ID on the newest of them.
        let a = align(&h, &[5, 6, 7], &[id()], false);
        assert_eq!(a.warnings.len(), 1);
        let idx: Vec<Option<usize>> = a.rows.iter().map(|r| r.layer_index).collect();
        assert_eq!(idx, vec![None, Some(0)]);
        assert_eq!(a.rows[0].id, Some(id()));
    }

    #[test]
    fn parent_ids_go_on_the_rows_below_the_top() {
        let h = [entry("a", false), entry("b", true), entry("c", false)];
        let parent = Digest::of_bytes(b"parent");
        let a = align(&h, &[1, 2], &[id(), parent.clone()], false);
        let ids: Vec<Option<Digest>> = a.rows.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, vec![Some(id()), Some(parent), None]);
    }

    #[test]
    fn no_history_at_all() {
        let a = align(&[], &[], &[id()], false);
        assert!(a.rows.is_empty());
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn times_before_2000_are_not_meaningful() {
        assert!(meaningful_time(Some("1970-01-01T00:00:00Z")).is_none());
        assert!(meaningful_time(Some("2000-01-01T00:00:00Z")).is_none());
        assert!(meaningful_time(Some("0001-01-01T00:00:00Z")).is_none());
        assert!(meaningful_time(Some("not a time")).is_none());
        assert!(meaningful_time(None).is_none());
        assert!(meaningful_time(Some("2023-05-01T12:00:00.123456789Z")).is_some());
    }
}
