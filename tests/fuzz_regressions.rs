//! Inputs the fuzz targets (`fuzz/`) found, turned into tests through the CLI: each is named for
//! what broke and says why. The raw crash inputs are kept under `fuzz/regressions/` and replay
//! with `cargo +nightly fuzz run -O TARGET fuzz/regressions/FILE`.

use crate::common;

use crate::common::layer::Compression;
use crate::common::rootfs::{assert_trees_equal, read_tree, As, Model};
use crate::common::sandbox::{extract, image_of_entries, is_root, Format, Opts, Sandbox};
use crate::common::tarball::Entry;

/// rule_engine, `fuzz/regressions/rule_engine-implied-parent-of-whiteout`: layer 0 holds only
/// `a/x/q/` (its parents `a` and `a/x` implied, no entries of their own), layer 1 whites out
/// `a/x`. The tree after layer 1 still has the directory `a` (layer 1's own whiteout sits in
/// it). strata's top-down merge used to leave `a` out: it made `a` only as a parent of what it
/// writes, and with `a/x/q` hidden nothing below `a` was written. Fixed by
/// `TopDown::surviving_parent`.
/// Extracts `layers` (as an OCI layout and as a docker save) and compares the tree with the
/// bottom-up model's.
fn extracts_as_the_model(name: &str, layers: &[Vec<Entry>], ctx: &str) {
    for format in [Format::Oci, Format::Docker] {
        let fx = image_of_entries(name, layers, Compression::None, format);
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, &[], &Opts::default());
        out.assert_ok("extract");
        let model = Model::of(layers, As::Root);
        assert_trees_equal(&model, &read_tree(&dest), ctx);
        // The flat tar says the same, as GNU tar reads it (in place: strata wrote it).
        let flat = sb.work.join("flat.tar");
        extract(fx.arg(), &flat, &["--tar"], &Opts::default()).assert_ok("extract --tar");
        let untarred = sb.work.join("untarred");
        common::sandbox::gnu_untar(&flat, &untarred, &["-P"]);
        assert_trees_equal(&model, &read_tree(&untarred), &format!("{ctx} (--tar)"));
    }
}

#[test]
fn implied_parent_of_a_whiteout_survives() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::dir("a/x/q")
            .with_mode(0o700)
            .with_mtime(1_600_000_000)],
        vec![Entry::whiteout("a", "x").with_mtime(1_600_001_000)],
    ];
    extracts_as_the_model("implied-parent", &layers, "implied parent of a whiteout");
}

/// rule_engine, `fuzz/regressions/rule_engine-same-layer-symlink-then-dir` (minimized):
/// layer 0 has the file `a/x/q`; layer 1 lists `a` as a symlink and then `a/` as a directory.
/// Applied in order (the model, GNU tar, containerd's applier) the symlink replaces the lower
/// directory with its whole subtree and the directory then replaces the symlink: `a` is an empty
/// directory. strata's top-down merge used to look only at the last entry of the layer for `a`
/// (a directory over a directory) and kept `a/x/q` from layer 0; now the layer's symlink is a
/// barrier for the layers below, and the layer store marks such a directory opaque.
#[test]
fn same_layer_symlink_then_dir_clears_the_lower_subtree() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::file("a/x/q", "lower\n").with_mtime(1_600_000_000)],
        vec![
            Entry::symlink("a", "elsewhere").with_mtime(1_600_001_000),
            Entry::dir("a").with_mtime(1_600_001_001),
        ],
    ];
    extracts_as_the_model(
        "same-layer-type-change",
        &layers,
        "same-layer symlink then dir",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-opaque-keeps-lower-parent-metadata`: layer 0 has
/// the directory `a` (mode 4755, an xattr here too); layer 1 writes `a/x/q/`, then replaces the
/// directory `a/x` with a file (which needs the in-order extraction), and makes the root opaque
/// with its marker last in the tar. The opaque marker deletes layer 0's `a`; layer 1's entries
/// below it then make `a` again as a parent it left out (0755, root, no xattrs). The in-order
/// extraction kept the directory it had to descend into with layer 0's mode and xattrs; now it
/// resets them.
#[test]
fn an_opaque_marker_resets_a_lower_directory_kept_only_as_a_parent() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::dir("a")
            .with_mode(0o4755)
            .with_xattr("user.lower", b"1")
            .with_mtime(1_600_000_000)],
        vec![
            Entry::dir("b").with_mode(0o555).with_mtime(1_600_001_000),
            Entry::dir("a/x/q")
                .with_mode(0o555)
                .with_mtime(1_600_001_001),
            Entry::file("a/y/p", "a/y/p layer 1\n")
                .with_mode(0o4755)
                .with_mtime(1_600_001_002),
            Entry::file("a/x", "a/x layer 1\n")
                .with_mode(0o555)
                .with_mtime(1_600_001_003),
            Entry::opaque("").with_mtime(1_600_001_004),
        ],
    ];
    extracts_as_the_model(
        "opaque-root",
        &layers,
        "opaque root over a lower directory kept as a parent",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-own-filled-dir-replaced-by-hardlink` (reduced):
/// one layer writes `a/x/q`, then the directory `a`, then a hardlink at `a` (which replaces
/// the directory and everything below it, its own `a/x/q` included), then the directory `a`
/// again. Applied in order, `a` is an empty directory; the top-down merge kept the layer's own
/// `a/x/q`, since a replacement by the same layer did not look below. Now it hands such a layer
/// to the in-order extraction.
#[test]
fn a_layer_replacing_its_own_filled_directory_drops_what_it_wrote_below() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::file("c", "c\n").with_mtime(1_600_000_000)],
        vec![
            Entry::symlink("a/x/q", "/etc").with_mtime(1_600_002_000),
            Entry::dir("a").with_mode(0o755).with_mtime(1_600_002_001),
            Entry::hardlink("a", "c").with_mtime(1_600_002_002),
            Entry::dir("a").with_mode(0o700).with_mtime(1_600_002_003),
        ],
    ];
    extracts_as_the_model(
        "own-filled-dir",
        &layers,
        "a layer replacing its own filled directory",
    );
}

/// rule_engine (reduced): the in-order extraction applied a layer's entries in tar order, its
/// opaque marker included. Layer 1 writes `a/x/q/` and then makes the root opaque; the marker
/// acts on the layers below only, wherever it stands, so layer 0's symlink `a/x -> /etc` is gone
/// before `a/x/q/` is made: the tree is `a/x/q/`, not `/etc/q` written through the symlink.
/// (Layer 2 replaces its own filled directory `z` with a file, which is what sends the image to
/// the in-order extraction.) Now each layer's whiteouts and opaque markers are carried out
/// first, in a pass of their own.
#[test]
fn in_order_whiteouts_act_before_the_layers_own_entries() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("a/x/q")
                .with_mode(0o555)
                .with_mtime(1_600_000_000),
            Entry::symlink("a/x", "/etc").with_mtime(1_600_000_004),
        ],
        vec![
            Entry::dir("a/x/q")
                .with_mode(0o700)
                .with_mtime(1_600_001_001),
            Entry::opaque("").with_mtime(1_600_001_013),
        ],
        // Fills its own directory `z` and replaces it with a file: in order from here.
        vec![
            Entry::dir("z/y").with_mtime(1_600_002_000),
            Entry::file("z", "z\n").with_mtime(1_600_002_001),
        ],
    ];
    extracts_as_the_model(
        "opaque-after-write",
        &layers,
        "an opaque marker after the layer's own entries",
    );
}

/// rule_engine (reduced): a hardlink `l` to `t` in layer 2, whose own later entry replaces `t`,
/// needs `t` as the layers below left it: layer 1 wrote `t` as a file and then, last, as a
/// symlink. A hardlink to a symlink is that symlink; strata's re-read of the lower layers took
/// the file (the last entry it could copy) and gave `l` the file's content.
#[test]
fn a_hardlink_to_a_target_last_made_a_symlink_is_that_symlink() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::file("t", "layer 0\n").with_mtime(1_600_000_000)],
        vec![
            Entry::file("t", "layer 1 file\n").with_mtime(1_600_001_000),
            Entry::symlink("t", "/etc").with_mtime(1_600_001_001),
        ],
        vec![
            Entry::hardlink("l", "t").with_mtime(1_600_002_000),
            Entry::symlink("t", "../a").with_mtime(1_600_002_001),
        ],
    ];
    extracts_as_the_model(
        "link-to-symlink",
        &layers,
        "a hardlink to a target last made a symlink",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-dir-an-upper-layer-filled-replaced` (reduced):
/// layer 0 makes `b/x` a directory, a symlink, then a directory again; layer 1 puts `b/x/p` (a
/// hardlink to its symlink `a/x/q`) in it. Top-down, layer 1's link was written first, and layer
/// 0's symlink at `b/x` then replaced the directory with the link in it: `b/x/p` was lost. A
/// layer replacing a directory an upper layer filled now goes to the in-order extraction.
#[test]
fn a_lower_layer_replacing_a_directory_an_upper_layer_filled_keeps_the_upper_entries() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("a/x/p").with_mtime(1_600_000_000),
            Entry::dir("b/x")
                .with_mode(0o1777)
                .with_mtime(1_600_000_001),
            Entry::symlink("b/x/p", "a/x/p").with_mtime(1_600_000_002),
            Entry::symlink("b/x", "a/x/p").with_mtime(1_600_000_010),
            Entry::dir("b/x")
                .with_mode(0o1777)
                .with_mtime(1_600_000_011),
            Entry::opaque("b").with_mtime(1_600_000_013),
        ],
        vec![
            Entry::dir("a/x/q")
                .with_mode(0o755)
                .with_mtime(1_600_001_000),
            Entry::symlink("a/x/q", "/etc").with_mtime(1_600_001_001),
            Entry::hardlink("b/x/p", "a/x/q").with_mtime(1_600_001_002),
        ],
        vec![Entry::dir("a").with_mtime(1_600_002_000)],
    ];
    extracts_as_the_model(
        "in-order-link-to-symlink",
        &layers,
        "an in-order hardlink to a same-layer symlink",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-link-to-a-link-made-after-its-target` (reduced):
/// layer 0 has `b/x` twice, a symlink and then a hardlink to `a/x/q` (whose content a later
/// entry and layer 1 replace); layer 2 links `a/x` to `b/x`. `a/x` was linked to what `b/x`
/// held before its own link was made (the first symlink), so the two were different files.
/// A link to a waiting link's path is now made after it; a chain of three is made in order.
#[test]
fn a_link_to_a_path_whose_own_link_waits_is_made_after_it() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::symlink("b/x", "../a").with_mtime(1_600_000_001),
            Entry::symlink("a/x/q", "../../..").with_mtime(1_600_000_002),
            Entry::hardlink("b/x", "a/x/q").with_mtime(1_600_000_011),
            Entry::symlink("a/x/q", "../../..").with_mtime(1_600_000_012),
        ],
        vec![Entry::dir("a/x/q/").with_mtime(1_600_001_000)],
        vec![Entry::hardlink("a/x", "b/x").with_mtime(1_600_002_000)],
        vec![
            Entry::hardlink("c", "a/x").with_mtime(1_600_003_000),
            Entry::file("d", "d\n").with_mtime(1_600_003_001),
        ],
    ];
    extracts_as_the_model(
        "link-to-waiting-link",
        &layers,
        "a link to a path whose own link waits",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-link-to-a-target-its-layer-relinked` (reduced):
/// layer 1 makes `t` a symlink, then a hardlink to `s` (whose last version is another symlink),
/// and `u` a hardlink to `t`; layer 2 links `l` to `t` and `m` to `u`; layer 3 replaces `t`.
/// `l` took `t`'s first entry: a later hardlink at the target was read as deleting it, and the
/// first write stood. Now a link follows the target's own hardlink to that one's target as of
/// that place in the layer, and a link that ends on the entry surviving at that path is a
/// second name of it.
#[test]
fn a_link_to_a_target_its_layer_made_a_hardlink_follows_it() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::file("base", "base\n").with_mtime(1_600_000_000)],
        vec![
            Entry::symlink("t", "/etc").with_mtime(1_600_001_000),
            Entry::symlink("s", "../a").with_mtime(1_600_001_001),
            Entry::symlink("s", "../../..").with_mtime(1_600_001_002),
            Entry::hardlink("t", "s").with_mtime(1_600_001_003),
            Entry::hardlink("u", "t").with_mtime(1_600_001_004),
        ],
        vec![
            Entry::hardlink("l", "t").with_mtime(1_600_002_000),
            Entry::hardlink("m", "u").with_mtime(1_600_002_001),
        ],
        vec![Entry::fifo("t").with_mtime(1_600_003_000)],
    ];
    extracts_as_the_model(
        "link-to-relinked-target",
        &layers,
        "a link to a target its layer made a hardlink",
    );
}

/// rule_engine corpus: layer 0 has `s` and `c`, a hardlink to it; layer 1 links `y` to `c`;
/// layer 2 replaces `c`. `y` is a second name of `s`, which survives: it must be that file,
/// not a copy of it.
#[test]
fn a_link_through_a_replaced_hardlink_to_a_surviving_file_is_that_file() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::symlink("s", "../../..").with_mtime(1_600_000_000),
            Entry::hardlink("c", "s").with_mtime(1_600_000_001),
        ],
        vec![Entry::hardlink("y", "c").with_mtime(1_600_001_000)],
        vec![Entry::fifo("c").with_mtime(1_600_002_000)],
    ];
    extracts_as_the_model(
        "link-through-replaced-link",
        &layers,
        "a link through a replaced hardlink to a surviving file",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-links-joined-through-different-chains`: in one
/// layer `a/x/q` and `a/y/p` reach `b/x/p`'s first entry through different hardlink chains
/// (one of them through `a/x/q` itself, later relinked), and a later layer replaces `b/x/p`:
/// the two are one file.
#[test]
fn links_reaching_one_entry_through_different_chains_are_one_file() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let h = |p: &str, t: &str, m: u64| Entry::hardlink(p, t).with_mtime(1_600_001_000 + m);
    let layers = vec![
        vec![],
        vec![
            Entry::symlink("b/x/p", "/etc").with_mtime(1_600_001_000),
            Entry::file("b/.wh..wh..opq", "").with_mtime(1_600_001_001),
            Entry::symlink("a/x/q", "../a").with_mtime(1_600_001_002),
            Entry::symlink("a/x/q", "../../..").with_mtime(1_600_001_003),
            // (The fuzz input also linked `b/x/p` to itself in between, a no-op in the model;
            // such a link is now refused, as Docker's applier fails on it.)
            h("a/x/q", "b/x/p", 5),
            h("a/x/q", "b/x/p", 7),
            h("b/x/p", "a/x/q", 11),
            h("a/y/p", "b/x/p", 14),
        ],
        vec![Entry::symlink("b/x/p", "a/x/p").with_mtime(1_600_002_000)],
    ];
    extracts_as_the_model(
        "links-joined-through-chains",
        &layers,
        "links reaching one entry through different chains",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-link-made-in-pass-and-link-through-hidden-link`,
/// minimized: in layer 0, `b/x` and `c` link to `a/x/q`'s first version, `a/x/q` is then
/// written again and finally made a link to `b/x`; layer 1 makes `b` opaque. `c` and `a/x/q`
/// are one file (the first `a/x/q`), as `mount` shows them. extract wrote the same content at
/// both but as two files: `c` is linked in the main pass, `a/x/q` is found through the hidden
/// `b/x` by the re-read of old targets, and `name_alike` joined only links the re-read found.
/// The engine now hands the re-read the links it made on the spot (`MadeLink`).
#[test]
fn a_link_made_in_the_pass_and_one_through_a_hidden_link_are_one_file() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let h = |p: &str, t: &str, m: u64| Entry::hardlink(p, t).with_mtime(1_600_000_000 + m);
    let f = |p: &str, c: &str, m: u64| Entry::file(p, c).with_mtime(1_600_000_000 + m);
    let layers = vec![
        vec![
            f("a/x/q", "first\n", 0),
            h("b/x", "a/x/q", 1),
            h("c", "a/x/q", 2),
            f("a/x/q", "second\n", 5),
            h("a/x/q", "b/x", 7),
        ],
        vec![Entry::opaque("b").with_mtime(1_600_001_000)],
    ];
    extracts_as_the_model(
        "link-in-pass-and-through-hidden-link",
        &layers,
        "a link made in the pass and one through a hidden link",
    );
}

/// rule_engine with the flat-tar check (reduced; the fuzz input replaced the directory `a/x` by
/// a link to `a/x/q`, a link below itself, which is now refused): layer 0 has the symlink
/// `a/x/q`, `c` linked to it, then `a/x/q` made again; layer 1 links `d` to `a/x/q`; layer 2
/// replaces `a/x/q`. Both links get their content from layer 0 again: `d` the second `a/x/q`,
/// `c` the first. The re-read writes the first at `d` and links `c` to it, then writes the
/// second at `d`; the tar sink queued `c`'s link to the end, where it named the second.
#[test]
fn a_link_to_a_target_made_again_after_an_earlier_link_is_the_later_file() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::fifo("b/x").with_mtime(1_600_000_000),
            Entry::symlink("a/x/q", "../../..").with_mtime(1_600_000_001),
            Entry::hardlink("c", "a/x/q").with_mtime(1_600_000_002),
            Entry::symlink("a/x/q", "../../..").with_mtime(1_600_000_003),
        ],
        vec![Entry::hardlink("d", "a/x/q").with_mtime(1_600_001_000)],
        vec![Entry::fifo("a/x/q").with_mtime(1_600_002_000)],
    ];
    extracts_as_the_model(
        "tar-link-to-old-symlink",
        &layers,
        "a link to a target made again after an earlier link",
    );
}

/// rule_engine with the flat-tar check: a hardlink to itself in a layer whose directory an upper
/// layer makes opaque. From the top down the link was hidden and never looked at, while the
/// in-order extraction (which `--tar` needed for this image) and the layer store make it and
/// refused it: `extract DIR` gave a tree where `extract --tar FILE` failed. A link's target is
/// now checked whether the link shows or not, so every way refuses the image alike (as Docker
/// does: its applier removes the path, then fails to link to it). The same for a link below
/// itself (`a/x` to `a/x/q`, in a layer an upper root opaque marker hides).
#[test]
fn a_hidden_link_to_itself_is_refused_in_every_order() {
    let layers = vec![
        vec![
            Entry::file("b/x/p", "p\n").with_mtime(1_600_000_000),
            Entry::hardlink("b/x/p", "b/x/p").with_mtime(1_600_000_001),
        ],
        vec![Entry::opaque("b").with_mtime(1_600_001_000)],
    ];
    let below = vec![
        vec![
            Entry::fifo("a/x/q").with_mtime(1_600_000_000),
            Entry::hardlink("a/x", "a/x/q").with_mtime(1_600_000_001),
        ],
        vec![Entry::opaque("").with_mtime(1_600_001_000)],
    ];
    for (layers, entry) in [(layers, "b/x/p"), (below, "a/x")] {
        for format in [Format::Oci, Format::Docker] {
            hidden_bad_link_refused(&layers, entry, format);
        }
    }
}

/// `extract DIR` and `--tar FILE` refuse `layers` at `entry` of layer 0, in the same words.
fn hidden_bad_link_refused(layers: &[Vec<Entry>], entry: &str, format: Format) {
    let fx = image_of_entries("hidden-bad-link", layers, Compression::None, format);
    let sb = Sandbox::new();
    for flags in [&[][..], &["--tar"][..]] {
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, flags, &Opts::default());
        common::sandbox::assert_refused(&out, &fx.file_name(), 0, entry, &sb, &dest);
        assert!(
            out.error_line()
                .contains("points at the root, at itself or below itself"),
            "{flags:?}: {out}"
        );
    }
}

/// rule_engine with the flat-tar check: layer 0 has the symlink `a`; layer 1 makes `a` a fifo,
/// whites out `a/x/q` and makes `a` a directory. The whiteout is void (the layer's own `a`
/// hides the lower symlink, in overlayfs and in the top-down merge alike): `extract DIR` and
/// `mount` give the model's tree. `extract --tar FILE` cannot stream a directory over the fifo
/// it already wrote, so it takes the in-order extraction, which carried out the layer's
/// whiteouts first, found `a/x/q` lying through the lower symlink and refused the image. A
/// marker below a lower symlink that its own layer replaces is now void there too.
#[test]
fn a_whiteout_below_a_lower_symlink_its_layer_replaces_is_void_in_every_order() {
    let layers = vec![
        vec![Entry::symlink("a", "a/x/p").with_mtime(1_600_000_000)],
        vec![
            Entry::fifo("a").with_mtime(1_600_001_000),
            Entry::whiteout("a/x", "q").with_mtime(1_600_001_001),
            Entry::dir("a").with_mtime(1_600_001_002),
        ],
    ];
    extracts_as_the_model(
        "whiteout-below-replaced-lower-symlink",
        &layers,
        "a whiteout below a lower symlink its layer replaces",
    );
}

/// rule_engine with the flat-tar check, `fuzz/regressions/rule_engine-marker-below-symlink-the-layer-clears`
/// (reduced): layer 0 has the symlink `b -> p`; layer 1 whites out `b/x` and then, later in the
/// tar, makes the root opaque, which deletes the lower `b`: the whiteout hides nothing. The
/// top-down merge and mount take it; the in-order extraction (here for `--tar`, which cannot
/// stream the layer's directory `c` over its own fifo `c`) carried out the whiteout first, found
/// it below the lower symlink and refused. A marker refused so is now tried again once the
/// layer's other markers are carried out.
#[test]
fn a_marker_below_a_lower_symlink_the_layer_deletes_is_void_in_every_order() {
    let layers = vec![
        vec![
            Entry::dir("p").with_mtime(1_600_000_000),
            Entry::file("p/x", "x\n").with_mtime(1_600_000_000),
            Entry::symlink("b", "p").with_mtime(1_600_000_001),
        ],
        vec![
            Entry::whiteout("b", "x").with_mtime(1_600_001_000),
            Entry::opaque("").with_mtime(1_600_001_001),
            Entry::file("b/y", "y\n").with_mtime(1_600_001_002),
            Entry::fifo("c").with_mtime(1_600_001_003),
            Entry::dir("c").with_mtime(1_600_001_004),
        ],
    ];
    extracts_as_the_model(
        "marker-below-symlink-the-layer-clears",
        &layers,
        "a marker below a lower symlink the layer deletes",
    );
}

/// rule_engine with the flat-tar check, `fuzz/regressions/rule_engine-marker-below-symlink-under-a-replaced-dir`
/// (reduced): layer 0 has the symlink `a/x`; layer 1 makes `a` a file (deleting the lower `a`
/// and the symlink in it), whites out `a/x/p` and makes `a` a directory again. The whiteout
/// hides nothing; the in-order extraction (for `--tar`) refused it, as it looked only for the
/// layer's own entry at the symlink's path, not for a non-directory above it.
#[test]
fn a_marker_below_a_lower_symlink_under_a_path_the_layer_made_a_file_is_void() {
    let layers = vec![
        vec![
            Entry::dir("a/p").with_mtime(1_600_000_000),
            Entry::file("a/p/q", "q\n").with_mtime(1_600_000_000),
            Entry::symlink("a/x", "p").with_mtime(1_600_000_001),
        ],
        vec![
            Entry::file("a", "a\n").with_mtime(1_600_001_000),
            Entry::whiteout("a/x", "q").with_mtime(1_600_001_001),
            Entry::dir("a").with_mtime(1_600_001_002),
        ],
    ];
    extracts_as_the_model(
        "marker-below-symlink-under-a-replaced-dir",
        &layers,
        "a marker below a lower symlink under a path the layer made a file",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-link-to-a-name-the-re-read-joins` (reduced): in
/// layer 0 `a/y` links to the file `a/x/q`, which the layer then makes a link to `b/x/p`, its
/// own earlier link to that file, which layer 1 hides; layer 1 links `b/x` to `a/y`. All three
/// are the one file. The re-read of old targets writes `a/x/q` and makes `a/y` a second name of
/// it, but `b/x`, ready earlier, had been linked to `a/y`'s former file: it came out alone.
/// Ready links are now made after the re-read.
#[test]
fn a_link_to_a_name_the_re_read_joins_is_that_file() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![
            Entry::file("a/x/q", "F\n").with_mtime(1_600_000_000),
            Entry::hardlink("a/y", "a/x/q").with_mtime(1_600_000_001),
            Entry::hardlink("b/x/p", "a/x/q").with_mtime(1_600_000_002),
            Entry::hardlink("a/x/q", "b/x/p").with_mtime(1_600_000_003),
        ],
        vec![
            Entry::opaque("b").with_mtime(1_600_001_000),
            Entry::hardlink("b/x", "a/y").with_mtime(1_600_001_001),
        ],
    ];
    extracts_as_the_model(
        "link-to-a-name-the-re-read-joins",
        &layers,
        "a link to a name the re-read joins",
    );
}

/// rule_engine with the flat-tar check, `fuzz/regressions/rule_engine-tar-link-to-a-link-replaced-by-a-dir`
/// (reduced): one layer makes `a/x` a link to the fifo `b/x`, links `a/y/p` to `a/x`, then
/// makes `a/x` a directory and `b/x` a new fifo. `a/y/p` is the first fifo. The tar sink
/// dropped its queued link `a/x` for the directory but kept `a/y/p`'s link to `a/x`, a
/// directory in the flat tar; such links now name the dropped link's target.
#[test]
fn a_link_to_a_link_a_directory_replaces_is_its_target() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![vec![
        Entry::fifo("b/x").with_mtime(1_600_000_000),
        Entry::hardlink("a/x", "b/x").with_mtime(1_600_000_001),
        Entry::hardlink("a/y/p", "a/x").with_mtime(1_600_000_003),
        Entry::dir("a/x").with_mtime(1_600_000_004),
        Entry::fifo("b/x").with_mtime(1_600_000_006),
    ]];
    extracts_as_the_model(
        "tar-link-to-a-link-replaced-by-a-dir",
        &layers,
        "a link to a link a directory replaces",
    );
}

/// rule_engine, `fuzz/regressions/rule_engine-tar-link-out-before-its-target` (minimized): one
/// layer makes `a/x/q` a link to `c`, `b/x/p` a link to `a/x/q`, `a/y/p` a link to `b/x/p`, then
/// `b/x/p` again. The tar sink queues links to the end, but sends those to a path out before an
/// entry rewrites it; it sent `b/x/p -> a/x/q` while `a/x/q`'s own link was still queued, so
/// the flat tar linked to a name not yet in it (GNU tar: "Cannot hard link to a/x/q"). A link
/// now goes out after its target's queued link.
#[test]
fn a_link_sent_out_early_goes_after_its_targets_link() {
    if !is_root() {
        common::skipped("needs root (owners)");
        return;
    }
    let layers = vec![
        vec![Entry::file("z", "z\n")],
        vec![
            Entry::file("c", "c\n"),
            Entry::hardlink("a/x/q", "c"),
            Entry::hardlink("b/x/p", "a/x/q"),
            Entry::hardlink("a/y/p", "b/x/p"),
            Entry::hardlink("b/x/p", "a/x/q"),
        ],
    ];
    extracts_as_the_model("link-out-early", &layers, "a link sent out early");
}
