//! dive's rules, case by case, with the figures worked out by hand from dive 0.13.1's source
//! (`filetree/efficiency.go`, `file_tree.go`, `image/docker/image_archive.go`).

use super::breakdown::{Breakdown, How, OwnEntry};
use super::dive::{DiveEntry, Efficiency, InefficientFile};
use super::go_fmt::{go_float, humanize_bytes};
use crate::extract::rules::classify;

fn file(path: &str, size: i64) -> DiveEntry {
    DiveEntry::new(path, size, false)
}
fn dir(path: &str) -> DiveEntry {
    DiveEntry::new(path, 0, true)
}

fn run(layers: &[Vec<DiveEntry>]) -> super::dive::DiveEfficiency {
    let mut e = Efficiency::new();
    for l in layers {
        e.add_layer(l);
    }
    e.finish()
}

fn files(list: &[(&str, usize, u64)]) -> Vec<InefficientFile> {
    list.iter()
        .map(|&(path, count, wasted_bytes)| InefficientFile {
            path: path.into(),
            count,
            wasted_bytes,
        })
        .collect()
}

struct Case {
    name: &'static str,
    layers: Vec<Vec<DiveEntry>>,
    score: f64,
    wasted: u64,
    files: Vec<(&'static str, usize, u64)>,
    cut_short: Vec<(usize, &'static str)>,
}

/// Files written again and paths deleted: what dive charges each copy.
fn rewrite_and_delete_cases() -> Vec<Case> {
    vec![
        Case {
            // Both copies count as wasted, the smaller one as the minimum: 10 / (10 + 20).
            name: "a file written twice",
            layers: vec![
                vec![dir("etc"), file("etc/a", 10)],
                vec![dir("etc"), file("etc/a", 20)],
            ],
            score: 10.0 / 30.0,
            wasted: 30,
            files: vec![("/etc/a", 2, 30)],
            cut_short: vec![],
        },
        Case {
            // A whiteout of a file is charged 0 bytes: minimum 0, cumulative 8.
            name: "a file deleted",
            layers: vec![vec![file("f", 8), file("g", 2)], vec![file(".wh.f", 0)]],
            score: 2.0 / 10.0,
            wasted: 8,
            files: vec![("/f", 2, 8)],
            cut_short: vec![],
        },
        Case {
            // The directory is no leaf in layer 0, so /d is charged once (12, its subtree):
            // nothing is inefficient and the score stays 1.
            name: "a directory deleted",
            layers: vec![
                vec![dir("d"), file("d/x", 5), file("d/y", 7)],
                vec![file(".wh.d", 0)],
            ],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
        Case {
            // `d` has no header of its own in layer 0: its payload says "not a directory", so
            // deleting it costs 0 and /d is charged once with 0.
            name: "an implied directory deleted",
            layers: vec![vec![file("d/x", 5)], vec![file(".wh.d", 0)]],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
        Case {
            // Layer 1 names `d` only as a parent, which stacks an empty payload over layer 0's
            // directory header: layer 2's whiteout of it is charged 0. Layer 1's d/z and
            // layer 0's d/x are charged once each; /d only by the whiteout.
            name: "a directory header overwritten by an implied parent",
            layers: vec![
                vec![dir("d"), file("d/x", 5)],
                vec![file("d/z", 3)],
                vec![file(".wh.d", 0)],
            ],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
    ]
}

/// Visiting order, opaque markers, layer 0's own whiteouts, ties and degenerate layers.
fn order_and_edge_cases() -> Vec<Case> {
    vec![
        Case {
            // Children are visited in byte order: `.wh.nothing` comes first, deletes nothing,
            // and ends layer 1's visit, so b and c of layer 1 are never charged. /nothing keeps
            // its minimum of -1: (1 - 1) / 1 = 0. Layer 2's b is then its first charge.
            name: "a whiteout of a missing path",
            layers: vec![
                vec![file("a", 1)],
                vec![file("b", 3), file(".wh.nothing", 0), file("c", 4)],
                vec![file("b", 3)],
            ],
            score: 3.0 / 4.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![(1, "/nothing")],
        },
        Case {
            // The opaque marker is never added to dive's tree: layer 1's `d` is a leaf
            // directory charged 0, and layer 0's d/x stays charged once.
            name: "an opaque directory",
            layers: vec![
                vec![dir("d"), file("d/x", 5)],
                vec![dir("d"), file("d/.wh..wh..opq", 0)],
            ],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
        Case {
            // Layer 0 is stacked on a copy of itself before layer 1 looks below, children in
            // byte order: `.wh.x` removes x, then `x` adds it back, so layer 1's whiteout
            // finds a file (charged 0). In layer 0 `.wh.x` looks in layer 0 alone and finds x.
            // /x: charges 0, 4, 0.
            name: "whiteouts of layer 0",
            layers: vec![vec![file("x", 4), file(".wh.x", 0)], vec![file(".wh.x", 0)]],
            score: 0.0,
            wasted: 4,
            files: vec![("/x", 3, 4)],
            cut_short: vec![],
        },
        Case {
            // Equal sizes keep the order in which paths became inefficient, reversed.
            name: "ties",
            layers: vec![
                vec![file("a", 5), file("b", 5), file("c", 9)],
                vec![file("a", 5), file("b", 5), file("c", 9)],
            ],
            score: 19.0 / 38.0,
            wasted: 38,
            files: vec![("/c", 2, 18), ("/b", 2, 10), ("/a", 2, 10)],
            cut_short: vec![],
        },
        Case {
            // One tree node per path: the later entry's payload replaces the earlier one.
            name: "a path twice in one layer",
            layers: vec![vec![file("a", 3), file("a", 7)]],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
        Case {
            name: "an empty image",
            layers: vec![vec![], vec![]],
            score: 1.0,
            wasted: 0,
            files: vec![],
            cut_short: vec![],
        },
    ]
}

#[test]
fn dive_efficiency_rules() {
    let cases = rewrite_and_delete_cases()
        .into_iter()
        .chain(order_and_edge_cases());
    for c in cases {
        let got = run(&c.layers);
        assert_eq!(got.score, c.score, "{}: score", c.name);
        assert_eq!(got.wasted_bytes, c.wasted, "{}: wasted", c.name);
        assert_eq!(got.files, files(&c.files), "{}: files", c.name);
        let cut: Vec<(usize, String)> = c
            .cut_short
            .iter()
            .map(|&(l, p)| (l, p.to_string()))
            .collect();
        assert_eq!(got.cut_short, cut, "{}: cut short", c.name);
    }
}

#[test]
fn layer_size_is_every_header_size() {
    let mut e = Efficiency::new();
    e.add_layer(&[
        dir("d"),
        file("d/x", 5),
        DiveEntry::new("d/dir-with-size", 4096, true),
    ]);
    e.add_layer(&[file(".wh.x", 0), file("y", 0)]);
    assert_eq!(e.layer_sizes(), &[4101, 0]);
}

fn own(name: &str, bytes: u64) -> OwnEntry {
    OwnEntry {
        kind: classify(name).unwrap(),
        is_dir: name.ends_with('/'),
        bytes,
    }
}

#[test]
fn breakdown_counts_shadowed_and_deleted_bytes() {
    let mut b = Breakdown::new();
    b.add_layer(&[
        own("etc/", 0),
        own("etc/a", 10),
        own("etc/b", 20),
        own("opt/", 0),
        own("opt/big", 100),
        own("f", 1),
    ]);
    // Shadows etc/a; deletes opt (and opt/big); the same layer's opaque etc/ keeps etc/new.
    b.add_layer(&[
        own("etc/a", 11),
        own("etc/new", 5),
        own("etc/.wh..wh..opq", 0),
        own(".wh.opt", 0),
        own("f/", 0),
        own("f/inside", 2),
    ]);
    let (losses, hidden) = b.finish();
    assert_eq!(losses[0].shadowed_bytes, 10 + 1);
    assert_eq!(losses[0].shadowed_files, 2);
    assert_eq!(losses[0].deleted_bytes, 20 + 100);
    assert_eq!(losses[0].deleted_files, 2);
    assert_eq!(losses[1], Default::default());
    let got: Vec<(&str, u64, How)> = hidden
        .iter()
        .map(|h| (h.path.as_str(), h.bytes, h.how))
        .collect();
    assert_eq!(
        got,
        vec![
            ("opt/big", 100, How::Deleted),
            ("etc/b", 20, How::Deleted),
            ("etc/a", 10, How::Shadowed),
            ("f", 1, How::Shadowed),
        ]
    );
}

#[test]
fn breakdown_a_directory_replaced_by_a_file_deletes_its_files() {
    let mut b = Breakdown::new();
    b.add_layer(&[own("d/", 0), own("d/x", 3)]);
    b.add_layer(&[own("d", 4)]);
    let (losses, _) = b.finish();
    assert_eq!((losses[0].deleted_bytes, losses[0].deleted_files), (3, 1));
    assert_eq!(losses[0].shadowed_files, 0, "a directory carries no bytes");
}

#[test]
fn go_float_prints_like_go_v() {
    let cases = [
        (0.5, "0.5"),
        (0.9844212134184309, "0.9844212134184309"),
        (1.0, "1"),
        (0.0, "0"),
        (1.5e-5, "1.5e-05"),
        (0.0001, "0.0001"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
    ];
    for (v, want) in cases {
        assert_eq!(go_float(v), want, "{v}");
    }
}

#[test]
fn humanize_bytes_like_go_humanize() {
    let cases = [
        (0, "0 B"),
        (9, "9 B"),
        (10, "10 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (6405, "6.4 kB"),
        (12810, "13 kB"),
        (1511466, "1.5 MB"),
        (82854982, "83 MB"),
    ];
    for (v, want) in cases {
        assert_eq!(humanize_bytes(v), want, "{v}");
    }
}
