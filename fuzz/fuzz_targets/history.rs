//! The history alignment (`strata::history::align`) fed arbitrary history entries and layer
//! sizes: never panics, and the rows it returns keep docker's invariants.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oci_spec::image::HistoryBuilder;
use strata::digest::Digest;
use strata::history::{align, meaningful_time};

#[derive(Arbitrary, Debug)]
struct Step {
    created: Option<String>,
    created_by: Option<String>,
    comment: Option<String>,
    empty_layer: Option<bool>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    steps: Vec<Step>,
    layer_sizes: Vec<u64>,
}

fuzz_target!(|input: Input| {
    let mut history = Vec::new();
    for s in &input.steps {
        let mut b = HistoryBuilder::default();
        if let Some(c) = &s.created {
            b = b.created(c.clone());
        }
        if let Some(c) = &s.created_by {
            b = b.created_by(c.clone());
        }
        if let Some(c) = &s.comment {
            b = b.comment(c.clone());
        }
        if let Some(e) = s.empty_layer {
            b = b.empty_layer(e);
        }
        history.push(b.build().unwrap());
        let _ = meaningful_time(s.created.as_deref());
    }
    let id = Digest::of_bytes(b"config");
    // docker's view: one row per step, nothing else.
    let steps_only = align(
        &history,
        &input.layer_sizes,
        std::slice::from_ref(&id),
        false,
    );
    assert_eq!(steps_only.rows.len(), history.len());
    // strata's view, with a row for each layer no step made.
    let a = align(
        &history,
        &input.layer_sizes,
        std::slice::from_ref(&id),
        true,
    );
    let layers = input.layer_sizes.len();
    let non_empty = input
        .steps
        .iter()
        .filter(|s| !s.empty_layer.unwrap_or(false))
        .count();
    // One row per step, plus one per layer no step made.
    assert_eq!(
        a.rows.len(),
        history.len() + layers.saturating_sub(non_empty)
    );
    // Newest first: the layers appear from the top down, each exactly once, with its size.
    let idx: Vec<usize> = a.rows.iter().filter_map(|r| r.layer_index).collect();
    let want: Vec<usize> = (0..layers).rev().collect();
    assert_eq!(idx, want);
    for r in &a.rows {
        match r.layer_index {
            Some(i) => assert_eq!(r.size, input.layer_sizes[i]),
            None => assert_eq!(r.size, 0),
        }
        if r.empty_layer {
            assert!(r.layer_index.is_none());
        }
    }
    // Only the newest row names the image.
    if let Some((top, rest)) = a.rows.split_first() {
        assert_eq!(top.id.as_ref(), Some(&id));
        assert!(rest.iter().all(|r| r.id.is_none()));
    }
    // A warning exactly when steps and layers disagree.
    assert_eq!(a.warnings.is_empty(), non_empty == layers);
});
