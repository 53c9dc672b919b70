use super::*;

#[test]
fn directories_holding_upper_markers_are_known() {
    let mut t = TopDown::new();
    t.next_layer();
    t.whiteout("s/sub/passwd").unwrap();
    t.opaque("o/d");
    t.next_layer();
    for marked in ["s", "s/sub", "o/d", "o"] {
        assert!(t.marked_below(marked), "{marked}");
    }
    for not in ["other", "s/sub/passwd", "o/d/x", ""] {
        assert!(!t.marked_below(not), "{not}");
    }
}

#[test]
fn clean_path_confines_names() {
    assert_eq!(clean_path("./usr/bin/env").unwrap(), "usr/bin/env");
    assert_eq!(clean_path("/etc//passwd").unwrap(), "etc/passwd");
    assert_eq!(clean_path("./").unwrap(), "");
    assert_eq!(clean_path("a/./b/").unwrap(), "a/b");
    assert_eq!(clean_path("../etc/passwd"), Err(BadName::DotDot));
    assert_eq!(clean_path("a/../../b"), Err(BadName::DotDot));
    assert_eq!(clean_path("a/b/.."), Err(BadName::DotDot));
    assert_eq!(clean_path("a\0b"), Err(BadName::Nul));
    assert_eq!(clean_path(&"a/".repeat(3000)), Err(BadName::TooLong(6000)));
}

#[test]
fn classify_whiteouts_and_markers() {
    assert_eq!(
        classify("etc/.wh.motd").unwrap(),
        EntryKind::Whiteout("etc/motd".into())
    );
    assert_eq!(
        classify(".wh.tmp").unwrap(),
        EntryKind::Whiteout("tmp".into())
    );
    assert_eq!(
        classify("var/cache/.wh..wh..opq").unwrap(),
        EntryKind::Opaque("var/cache".into())
    );
    assert_eq!(
        classify(".wh..wh..opq").unwrap(),
        EntryKind::Opaque("".into())
    );
    // aufs bookkeeping, and whatever lies below it, is never content (regression: files
    // under `.wh..wh.plnk/` used to land in the tree).
    for meta in [
        ".wh..wh.plnk/123.456",
        ".wh..wh.plnk/",
        "x/.wh..wh.plnk",
        ".wh..wh.aufs",
        ".wh..wh.orph/f",
        "a/.wh..wh.orph/b/c",
        ".wh..wh.plnk/.wh.x",
        ".wh..wh.plnk/.wh..wh..opq",
        ".wh..wh..opq/x",
    ] {
        assert_eq!(classify(meta).unwrap(), EntryKind::AufsMeta, "{meta}");
    }
    assert_eq!(
        classify("a/.wh.x.wh..wh.y").unwrap(),
        EntryKind::Whiteout("a/x.wh..wh.y".into())
    );
    assert_eq!(
        classify("etc/motd").unwrap(),
        EntryKind::Content("etc/motd".into())
    );
    assert!(matches!(classify("etc/.wh."), Err(BadName::BadWhiteout(_))));
    assert!(matches!(
        classify("etc/.wh.."),
        Err(BadName::BadWhiteout(_))
    ));
    assert!(matches!(
        classify("etc/.wh..."),
        Err(BadName::BadWhiteout(_))
    ));
    assert_eq!(classify("../.wh.x"), Err(BadName::DotDot));
}

#[test]
fn whiteouts_hide_lower_layers_only() {
    let mut t = TopDown::new();
    // Layer 1 (top): deletes etc/motd and adds etc/motd.new; a whiteout never removes what
    // its own layer adds, in either order.
    t.whiteout("etc/motd").unwrap();
    assert_eq!(t.decide("etc/motd", 1, Settled::NonDir), Verdict::Write);
    t.next_layer();
    // Layer 0: its etc/motd is hidden twice over (settled and deleted); etc/issue shows.
    assert_eq!(t.decide("etc/motd", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.decide("etc/issue", 0, Settled::NonDir), Verdict::Write);
}

#[test]
fn deleted_directory_hides_its_subtree() {
    let mut t = TopDown::new();
    t.whiteout("usr/share/doc").unwrap();
    t.next_layer();
    assert_eq!(t.decide("usr/share/doc", 0, Settled::Dir), Verdict::Skip);
    assert_eq!(
        t.decide("usr/share/doc/a/b", 0, Settled::NonDir),
        Verdict::Skip
    );
    assert_eq!(
        t.decide("usr/share/docs", 0, Settled::NonDir),
        Verdict::Write
    );
}

#[test]
fn opaque_hides_lower_children_but_not_own_or_the_dir() {
    let mut t = TopDown::new();
    t.opaque("var/cache");
    assert_eq!(
        t.decide("var/cache/new", 1, Settled::NonDir),
        Verdict::Write
    );
    t.next_layer();
    assert_eq!(t.decide("var/cache/old", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.decide("var/cache", 0, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("var/other", 0, Settled::NonDir), Verdict::Write);
}

#[test]
fn type_change_replaces_the_lower_subtree() {
    let mut t = TopDown::new();
    // Layer 1 turns the directory usr/share/doc/sed into a file.
    assert_eq!(
        t.decide("usr/share/doc/sed", 1, Settled::NonDir),
        Verdict::Write
    );
    t.next_layer();
    assert_eq!(
        t.decide("usr/share/doc/sed", 0, Settled::Dir),
        Verdict::Skip
    );
    assert_eq!(
        t.decide("usr/share/doc/sed/README", 0, Settled::NonDir),
        Verdict::Skip
    );
}

#[test]
fn a_type_change_in_between_still_drops_the_lowest_children() {
    // dir (layer 0) -> file (layer 1) -> dir again (layer 2): layer 0's children are gone.
    let mut t = TopDown::new();
    assert_eq!(t.decide("opt/app", 2, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("opt/app/new", 2, Settled::NonDir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("opt/app", 1, Settled::NonDir), Verdict::Skip);
    t.next_layer();
    assert_eq!(t.decide("opt/app/old", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.decide("opt/app/sub/z", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.decide("opt/other", 0, Settled::NonDir), Verdict::Write);
}

#[test]
fn a_layer_filling_then_replacing_a_directory_is_recognised() {
    let mut t = TopDown::new();
    // Layer 1 makes b a directory again; layer 0 had b/, b/x, then b as a file.
    assert_eq!(t.decide("b", 1, Settled::Dir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("b", 0, Settled::Dir), Verdict::Skip);
    assert_eq!(t.decide("b/x", 0, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("b", 0, Settled::NonDir), Verdict::WritesThrough);
    // Without entries of its own below b, the layer's file at b is only a barrier: what
    // lower layers had below b is hidden.
    let mut t = TopDown::new();
    assert_eq!(t.decide("b", 2, Settled::Dir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("c/x", 1, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("b", 1, Settled::NonDir), Verdict::Skip);
    t.next_layer();
    assert_eq!(t.decide("b/x", 0, Settled::NonDir), Verdict::Skip);
}

#[test]
fn writing_through_a_lower_symlink_is_recognised() {
    let mut t = TopDown::new();
    // Layer 1 writes x/passwd; layer 0 made x a symlink (x -> /etc).
    assert_eq!(t.decide("x/passwd", 1, Settled::NonDir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("x", 0, Settled::NonDir), Verdict::WritesThrough);
    // A directory entry there is just the parent's metadata.
    assert_eq!(t.decide("x", 0, Settled::Dir), Verdict::Write);
}

#[test]
fn a_symlink_then_children_in_one_layer_is_not_a_conflict() {
    let mut t = TopDown::new();
    assert_eq!(t.decide("x", 0, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("x/passwd", 0, Settled::NonDir), Verdict::Write);
}

#[test]
fn duplicates_in_one_layer_last_wins() {
    let mut t = TopDown::new();
    assert_eq!(t.decide("a", 0, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("a", 0, Settled::Dir), Verdict::Replace);
    assert_eq!(t.settled_by("a"), Some((0, Settled::Dir)));
}

#[test]
fn a_hidden_entry_still_made_its_surviving_parent() {
    // Layer 1 deletes a/x; layer 0 only had a/x/q, which implied a and a/x.
    let mut t = TopDown::new();
    t.whiteout("a/x").unwrap();
    t.next_layer();
    assert_eq!(t.decide("a/x/q", 0, Settled::Dir), Verdict::Skip);
    assert_eq!(t.surviving_parent("a/x/q", 0), Some("a".to_string()));
    // Made once: a later entry below it finds it made.
    assert_eq!(t.surviving_parent("a/x/r", 0), None);
    // A parent an upper layer wrote below, or replaced, needs nothing.
    let mut t = TopDown::new();
    t.whiteout("b/x").unwrap();
    assert_eq!(t.decide("b/y", 1, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("c", 1, Settled::NonDir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.surviving_parent("b/x/q", 0), None);
    assert_eq!(t.surviving_parent("c/q", 0), None);
    // Under an opaque directory the directory itself survives.
    let mut t = TopDown::new();
    t.opaque("d");
    t.next_layer();
    assert_eq!(t.decide("d/e/f", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.surviving_parent("d/e/f", 0), Some("d".to_string()));
}

#[test]
fn a_non_directory_then_a_directory_in_one_layer_hides_the_lower_subtree() {
    let mut t = TopDown::new();
    assert_eq!(t.decide("a", 1, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("a", 1, Settled::Dir), Verdict::Replace);
    assert_eq!(t.decide("a/new", 1, Settled::NonDir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("a/x/q", 0, Settled::NonDir), Verdict::Skip);
    assert_eq!(t.decide("a", 0, Settled::Dir), Verdict::Skip);
    // A directory twice over is only metadata: the lower subtree stays.
    let mut t = TopDown::new();
    assert_eq!(t.decide("b", 1, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("b", 1, Settled::Dir), Verdict::Replace);
    t.next_layer();
    assert_eq!(t.decide("b/x", 0, Settled::NonDir), Verdict::Write);
}

#[test]
fn a_layer_replacing_its_own_filled_directory_needs_the_in_order_pass() {
    let mut t = TopDown::new();
    assert_eq!(t.decide("a/x/q", 2, Settled::NonDir), Verdict::Write);
    assert_eq!(t.decide("a", 2, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("a", 2, Settled::NonDir), Verdict::WritesThrough);
    // Without entries of its own below, replacing its own directory is a replacement.
    let mut t = TopDown::new();
    assert_eq!(t.decide("b", 2, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("b", 2, Settled::NonDir), Verdict::Replace);
    // ... unless an upper layer filled it: that layer's entries come after, in order.
    let mut t = TopDown::new();
    assert_eq!(t.decide("c/p", 3, Settled::NonDir), Verdict::Write);
    t.next_layer();
    assert_eq!(t.decide("c", 2, Settled::Dir), Verdict::Write);
    assert_eq!(t.decide("c", 2, Settled::NonDir), Verdict::WritesThrough);
}

#[test]
fn whiteout_of_root_is_refused() {
    let mut t = TopDown::new();
    assert_eq!(t.whiteout(""), Err(BadName::WhiteoutOfRoot));
}

#[test]
fn opaque_root_hides_everything_below() {
    let mut t = TopDown::new();
    t.opaque("");
    t.next_layer();
    assert_eq!(t.decide("bin/sh", 0, Settled::NonDir), Verdict::Skip);
}
