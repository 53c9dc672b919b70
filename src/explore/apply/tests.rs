use super::super::node::Data;
use super::*;

fn file(path: &str, layer: usize, size: u64) -> Pending {
    Pending::Content {
        path: path.into(),
        node: Node {
            kind: NodeType::File,
            mode: 0o644,
            layer,
            data: Some(Data {
                layer: layer as u32,
                position: 0,
                size,
            }),
            ..Node::implied_dir(layer)
        },
        hardlink: None,
    }
}

fn dir(path: &str, layer: usize, mode: u32) -> Pending {
    Pending::Content {
        path: path.into(),
        node: Node {
            mode,
            ..Node::implied_dir(layer)
        },
        hardlink: None,
    }
}

fn symlink(path: &str, layer: usize, target: &str) -> Pending {
    Pending::Content {
        path: path.into(),
        node: Node {
            kind: NodeType::Symlink,
            mode: 0o777,
            link: Some(target.into()),
            ..Node::implied_dir(layer)
        },
        hardlink: None,
    }
}

fn link(path: &str, layer: usize, target: &str) -> Pending {
    Pending::Content {
        path: path.into(),
        node: Node {
            kind: NodeType::Hardlink,
            mode: 0o644,
            ..Node::implied_dir(layer)
        },
        hardlink: Some(target.into()),
    }
}

fn summary(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("{:?} {}", c.kind, c.path))
        .collect()
}

fn paths(t: &Tree) -> Vec<String> {
    t.iter().map(|(p, n)| format!("{p}@{}", n.layer)).collect()
}

#[test]
fn layers_add_modify_and_delete_as_docker_diff_counts() {
    let mut l = Layering::new(true);
    let c0 = l
        .apply(
            0,
            vec![
                dir("etc", 0, 0o755),
                file("etc/a", 0, 3),
                file("usr/lib/x", 0, 5),
            ],
        )
        .unwrap();
    assert_eq!(
        summary(&c0),
        [
            "Added etc",
            "Added etc/a",
            "Added usr",
            "Added usr/lib",
            "Added usr/lib/x"
        ]
    );
    // Whiteouts act on the layers below wherever they stand; a whiteout of a directory
    // deletes every path below it; a dir over a dir is a modification that keeps children.
    let c1 = l
        .apply(
            1,
            vec![
                file("etc/b", 1, 1),
                Pending::Whiteout("usr".into()),
                dir("etc", 1, 0o700),
                Pending::Whiteout("missing".into()),
            ],
        )
        .unwrap();
    assert_eq!(
        summary(&c1),
        [
            "Modified etc",
            "Added etc/b",
            "Deleted usr",
            "Deleted usr/lib",
            "Deleted usr/lib/x"
        ]
    );
    assert_eq!(paths(&l.tree), ["@0", "etc@1", "etc/a@0", "etc/b@1"]);
    // An opaque directory deletes what was below; what the layer puts back is modified.
    let c2 = l
        .apply(2, vec![Pending::Opaque("etc".into()), file("etc/a", 2, 9)])
        .unwrap();
    assert_eq!(summary(&c2), ["Modified etc/a", "Deleted etc/b"]);
}

#[test]
fn a_type_change_replaces_the_subtree_and_writes_follow_lower_symlinks() {
    let mut l = Layering::new(true);
    l.apply(
        0,
        vec![
            file("a/x/q", 0, 1),
            dir("etc", 0, 0o755),
            symlink("s", 0, "/etc"),
        ],
    )
    .unwrap();
    let c = l
        .apply(
            1,
            vec![
                symlink("a", 1, "elsewhere"),
                dir("a", 1, 0o755),
                file("s/passwd", 1, 4),
            ],
        )
        .unwrap();
    assert_eq!(
        summary(&c),
        [
            "Modified a",
            "Deleted a/x",
            "Deleted a/x/q",
            "Added etc/passwd"
        ]
    );
    assert_eq!(l.tree.get("a").unwrap().kind, NodeType::Dir);
    assert_eq!(l.tree.get("s").unwrap().kind, NodeType::Symlink);
}

#[test]
fn hardlinks_keep_the_content_of_their_target_as_it_was() {
    let mut l = Layering::new(false);
    l.apply(0, vec![file("bin/a", 0, 10)]).unwrap();
    l.apply(1, vec![link("bin/b", 1, "bin/a"), file("bin/a", 1, 20)])
        .unwrap();
    let b = l.tree.get("bin/b").unwrap();
    assert_eq!(
        (b.kind, b.data.unwrap().size, b.size()),
        (NodeType::Hardlink, 10, 0)
    );
    assert_eq!(b.link.as_deref(), Some("bin/a"));
    let err = l.apply(2, vec![link("c", 2, "nope")]).unwrap_err();
    assert_eq!(err.path, "c");
    assert!(
        err.reason.contains("not a file of this or a lower layer"),
        "{err}"
    );
    let err = l.apply(2, vec![link("c", 2, "bin")]).unwrap_err();
    assert!(err.reason.contains("is a directory"), "{err}");
}

#[test]
fn writing_below_a_file_is_refused() {
    let mut l = Layering::new(false);
    l.apply(0, vec![file("f", 0, 1)]).unwrap();
    let err = l.apply(1, vec![file("f/x", 1, 1)]).unwrap_err();
    assert!(err.reason.contains("not a directory"), "{err}");
}
