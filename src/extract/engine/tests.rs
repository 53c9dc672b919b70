//! The rule engine against the bottom-up model, and its decisions one by one.

use super::*;
use std::collections::BTreeMap;

/// An entry of a small test layer.
#[derive(Clone, Copy)]
enum E {
    Dir(&'static str),
    File(&'static str),
    Wh(&'static str),
    Opq(&'static str),
}

fn below(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.starts_with(&format!("{dir}/"))
}

fn with_parents(tree: &mut BTreeMap<String, bool>, path: &str) {
    let mut dir = parent(path);
    while !dir.is_empty() {
        tree.entry(dir.to_string()).or_insert(true);
        dir = parent(dir);
    }
}

/// The bottom-up model: each layer's whiteouts and opaque markers delete from what the
/// layers below left, then its entries are written, a later one replacing an earlier one.
fn bottom_up(layers: &[Vec<E>]) -> BTreeMap<String, bool> {
    let mut tree: BTreeMap<String, bool> = BTreeMap::new();
    for layer in layers {
        for e in layer {
            match *e {
                E::Wh(p) => tree.retain(|k, _| k != p && !below(k, p)),
                E::Opq(d) => tree.retain(|k, _| !below(k, d)),
                _ => {}
            }
        }
        for e in layer {
            let (p, is_dir) = match *e {
                E::Dir(p) => (p, true),
                E::File(p) => (p, false),
                _ => continue,
            };
            if !is_dir || tree.get(p) == Some(&false) {
                tree.retain(|k, _| !below(k, p));
            }
            with_parents(&mut tree, p);
            tree.insert(p.to_string(), is_dir);
        }
    }
    tree
}

/// The engine's top-down decisions, carried out on a map.
fn top_down(layers: &[Vec<E>]) -> BTreeMap<String, bool> {
    let mut engine = Engine::new(Order::TopDown);
    let mut tree: BTreeMap<String, bool> = BTreeMap::new();
    for index in engine.layers(layers.len() - 1) {
        engine.next_layer(index);
        for e in &layers[index] {
            let (p, is_dir) = match *e {
                E::Wh(p) => {
                    assert_eq!(engine.whiteout(p).unwrap(), Decision::Nothing);
                    continue;
                }
                E::Opq(d) => {
                    assert_eq!(engine.opaque(d).unwrap(), Decision::Nothing);
                    continue;
                }
                E::Dir(p) => (p, true),
                E::File(p) => (p, false),
            };
            match engine.content(p, is_dir).unwrap() {
                Decision::Write { .. } => {
                    with_parents(&mut tree, p);
                    tree.insert(p.to_string(), is_dir);
                }
                Decision::Hide { implied: Some(d) } => {
                    with_parents(&mut tree, &d);
                    tree.insert(d, true);
                }
                Decision::Hide { implied: None } => {}
                other => panic!("{other:?} for a content entry"),
            }
        }
    }
    tree
}

#[test]
fn top_down_decisions_give_the_bottom_up_tree() {
    use E::*;
    let cases: Vec<(&str, Vec<Vec<E>>)> = vec![
        (
            "whiteouts",
            vec![
                vec![
                    File("etc/motd"),
                    File("etc/issue"),
                    File("usr/share/doc/a/b"),
                ],
                vec![Wh("etc/motd"), Wh("usr/share/doc"), File("etc/motd.new")],
            ],
        ),
        (
            "opaque",
            vec![
                vec![File("var/cache/old"), File("var/other")],
                vec![Opq("var/cache"), File("var/cache/new")],
            ],
        ),
        (
            "type changes",
            vec![
                vec![File("opt/app/old"), Dir("bin"), File("link")],
                vec![File("opt/app"), File("bin")],
                vec![Dir("opt/app"), File("opt/app/new"), Dir("link")],
            ],
        ),
        (
            "duplicates",
            vec![vec![File("a"), Dir("a"), File("a/x"), Dir("b"), Dir("b")]],
        ),
        (
            "a hidden entry's surviving parent",
            vec![vec![Dir("a/x/q")], vec![Wh("a/x")]],
        ),
        (
            "whiteout and re-add in one layer",
            vec![
                vec![File("d/old"), File("d/keep")],
                vec![File("d/old"), Wh("d/old"), Wh("d"), Dir("d"), File("d/new")],
            ],
        ),
    ];
    for (name, layers) in cases {
        assert_eq!(top_down(&layers), bottom_up(&layers), "{name}");
    }
}

#[test]
fn each_order_decides_markers_its_own_way() {
    let mut in_order = Engine::new(Order::InOrder);
    assert!(in_order.deletes_first());
    assert_eq!(
        in_order.first_pass(Some("a/b"), "").unwrap(),
        Decision::Delete("a/b".into())
    );
    assert_eq!(
        in_order.first_pass(None, "c").unwrap(),
        Decision::Clear("c".into())
    );
    assert!(in_order.first_pass(Some(""), "").is_err());
    assert_eq!(in_order.whiteout("a/b").unwrap(), Decision::Nothing);
    assert_eq!(
        in_order.content("a", false).unwrap(),
        Decision::Write { replace: true }
    );
    let mut overlay = Engine::new(Order::OverlayLayer(3));
    assert_eq!(overlay.layers(5), vec![3]);
    overlay.next_layer(3);
    assert_eq!(
        overlay.whiteout("x").unwrap(),
        Decision::Whiteout("x".into())
    );
    assert_eq!(
        overlay.opaque("o").unwrap(),
        Decision::MarkOpaque("o".into())
    );
    // Below its own non-directory a whiteout hides nothing more.
    overlay.content("f", false).unwrap();
    assert_eq!(overlay.whiteout("f/y").unwrap(), Decision::Nothing);
    // A non-directory made a directory again: the lower layers' subtree is hidden.
    assert_eq!(
        overlay.content("f", true).unwrap(),
        Decision::Write { replace: true }
    );
    assert_eq!(overlay.end_layer(), vec![Decision::MarkOpaque("f".into())]);
    assert_eq!(Engine::new(Order::TopDown).layers(2), vec![2, 1, 0]);
}

#[test]
fn what_the_top_down_pass_refuses() {
    let mut e = Engine::new(Order::TopDown);
    e.next_layer(1);
    e.content("x/passwd", false).unwrap();
    e.next_layer(0);
    assert!(matches!(e.content("x", false), Err(Problem::WritesThrough)));
    assert!(matches!(
        e.special("dev/z", Special::Char(0, 0), false),
        Err(Problem::BadContent { what: "device", .. })
    ));
    for target in ["", "l", "/", ".wh..wh.plnk/1.2"] {
        assert!(e.link_target("l", target.as_bytes()).is_err(), "{target}");
    }
}

#[test]
fn hardlinks_wait_for_content_settled_later() {
    let mut e = Engine::new(Order::TopDown);
    e.next_layer(1);
    e.content("t", false).unwrap();
    e.content("now", false).unwrap();
    assert_eq!(
        e.link("now".into(), "t".into(), 1, false).unwrap(),
        Link::Now("t".into())
    );
    e.content("later", false).unwrap();
    assert_eq!(
        e.link("later".into(), "u".into(), 2, false).unwrap(),
        Link::Later
    );
    e.next_layer(0);
    e.content("u", false).unwrap();
    let (ready, unresolved) = e.finish_links();
    assert_eq!(ready.len(), 1);
    assert_eq!(
        (ready[0].path.as_str(), ready[0].target.as_str()),
        ("later", "u")
    );
    assert!(unresolved.is_empty());
    // --no-devices leaves the device out, and a link to it.
    let mut e = Engine::new(Order::InOrder);
    assert!(!e.special("dev/sda", Special::Block(8, 0), true).unwrap());
    assert!(e.special("fifo", Special::Fifo, true).unwrap());
    assert_eq!(
        e.link("l".into(), "dev/sda".into(), 0, false).unwrap(),
        Link::LeftOut
    );
    // ... and a link to that link.
    assert_eq!(
        e.link("m".into(), "l".into(), 1, false).unwrap(),
        Link::LeftOut
    );
    assert_eq!(e.skipped_devices(), 1);
}

#[test]
fn links_made_on_the_spot_are_remembered_until_replaced() {
    let mut e = Engine::new(Order::TopDown);
    e.next_layer(0);
    let link = |e: &mut Engine, path: &str, target: &str, position: usize| {
        let replace = e.content(path, false).unwrap() == Decision::Write { replace: true };
        e.link(path.into(), target.into(), position, replace)
            .unwrap()
    };
    e.content("t", false).unwrap();
    assert_eq!(link(&mut e, "c", "t", 1), Link::Now("t".into()));
    // A link to a link made on the spot names the same entry: `t` as of `c`'s place.
    assert_eq!(link(&mut e, "d", "c", 2), Link::Now("c".into()));
    assert_eq!(link(&mut e, "e", "t", 3), Link::Now("t".into()));
    // `e` written again: its link no longer stands.
    e.content("e", false).unwrap();
    let made: Vec<(String, String, usize)> = e
        .made_links()
        .into_iter()
        .map(|m| (m.path, m.target, m.as_of))
        .collect();
    assert_eq!(
        made,
        vec![("c".into(), "t".into(), 1), ("d".into(), "t".into(), 1)]
    );
    // In order nothing is remembered: nothing is re-read.
    let mut e = Engine::new(Order::InOrder);
    e.content("t", false).unwrap();
    assert_eq!(link(&mut e, "c", "t", 1), Link::Now("t".into()));
    assert!(e.made_links().is_empty());
}

#[test]
fn a_lower_symlink_below_upper_markers_goes_in_order() {
    let mut e = Engine::new(Order::TopDown);
    e.next_layer(1);
    e.whiteout("s/passwd").unwrap();
    e.whiteout("f/x").unwrap();
    e.next_layer(0);
    assert!(matches!(e.maybe_symlink("s"), Err(Problem::WritesThrough)));
    assert_eq!(
        e.content("f", false).unwrap(),
        Decision::Write { replace: false }
    );
    assert_eq!(
        e.maybe_symlink("other").unwrap(),
        Decision::Write { replace: false }
    );
}
