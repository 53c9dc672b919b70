//! `strata extract` on fixtures built in code: the tree it writes is compared, path by path
//! (type, mode, owner, size, content digest, link target, device numbers, xattrs, mtimes, link
//! counts and hardlink groups), with the tree a small bottom-up model of the layer rules
//! computes from the same fixture definition (tests/common/rootfs.rs). Also `--layer N`
//! against the same image cut at N, `--tar` and `-` re-extracted with GNU tar, the run as an
//! unprivileged user (owners, device nodes), and the DEST rules.

use crate::common;

use std::path::Path;
use std::process::Command;

use crate::common::layer::Compression;
use crate::common::rawnames::{raw_names_image, raw_tree};
use crate::common::rootfs::{assert_trees_equal, read_tree, rootfs_layers, As, Model, Tree};
use crate::common::sandbox::{
    extract, gnu_untar, image_of_entries, is_root, share, Format, Opts, Out, Sandbox, NOBODY,
};
use crate::common::tarball::Entry;
use crate::common::Fixture;

fn root_required() -> bool {
    if !is_root() {
        common::skipped("needs root (owners, device nodes, trusted.* xattrs)");
        return false;
    }
    true
}

/// Extracts `fx` into a fresh sandbox and returns the run, the tree and the sandbox.
fn extract_fresh(fx: &Fixture, extra: &[&str], opts: &Opts) -> (Out, Tree, Sandbox) {
    let sb = Sandbox::new();
    let dest = sb.dest();
    let out = extract(fx.arg(), &dest, extra, opts);
    out.assert_ok(&format!("extract {}", fx.file_name()));
    assert!(
        sb.leftovers().is_empty(),
        "staging left behind: {:?}",
        sb.leftovers()
    );
    assert!(
        !dest.join(".strata-incomplete").exists(),
        "incomplete marker left in DEST"
    );
    let tree = read_tree(&dest);
    (out, tree, sb)
}

fn check_against_model(format: Format, compression: Compression, name: &str) {
    if !root_required() {
        return;
    }
    let layers = rootfs_layers();
    let fx = image_of_entries(name, &layers, compression, format);
    let (out, tree, _sb) = extract_fresh(&fx, &[], &Opts::default());
    assert_trees_equal(&Model::of(&layers, As::Root), &tree, name);
    assert!(
        out.warnings().is_empty(),
        "no warnings expected as root:\n{out}"
    );
}

#[test]
fn oci_gzip_image_matches_the_model() {
    check_against_model(Format::Oci, Compression::Gzip, "rootfs-gzip.tar");
}

#[test]
fn oci_zstd_image_matches_the_model() {
    check_against_model(Format::Oci, Compression::Zstd, "rootfs-zstd.tar");
}

#[test]
fn docker_save_uncompressed_image_matches_the_model() {
    check_against_model(Format::Docker, Compression::None, "rootfs-docker.tar");
}

/// The summary line counts what was written.
#[test]
fn summary_and_json_report_the_layers_applied() {
    let layers = rootfs_layers();
    let fx = image_of_entries("summary.tar", &layers, Compression::Gzip, Format::Oci);
    let (out, _, sb) = extract_fresh(&fx, &[], &Opts::default());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("extracted layers 0-2 of "),
        "summary line:\n{out}"
    );
    let dest = sb.work.join("json-dest");
    let out = extract(fx.arg(), &dest, &["--json"], &Opts::default());
    out.assert_ok("extract --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--json stdout is not JSON ({e}):\n{out}"));
    assert_eq!(v["format"], "directory", "{v}");
    assert_eq!(v["layers_applied"], 3, "{v}");
    assert!(v["counts"]["files"].as_u64().unwrap() > 0, "{v}");
}

/// `--layer N` gives the tree of the same image cut after layer N.
#[test]
fn layer_n_matches_the_image_cut_at_n() {
    if !root_required() {
        return;
    }
    let layers = rootfs_layers();
    let full = image_of_entries("full.tar", &layers, Compression::Gzip, Format::Oci);
    for n in 0..layers.len() {
        let cut = image_of_entries(
            &format!("cut-{n}.tar"),
            &layers[..=n],
            Compression::Gzip,
            Format::Oci,
        );
        let (_, with_flag, _s1) =
            extract_fresh(&full, &["--layer", &n.to_string()], &Opts::default());
        let (_, of_cut, _s2) = extract_fresh(&cut, &[], &Opts::default());
        assert_trees_equal(
            &of_cut,
            &with_flag,
            &format!("--layer {n} vs the image cut at {n}"),
        );
        assert_trees_equal(
            &Model::of(&layers[..=n], As::Root),
            &with_flag,
            &format!("--layer {n} vs the model"),
        );
    }
}

#[test]
fn layer_out_of_range_is_refused() {
    let layers = rootfs_layers();
    let fx = image_of_entries("range.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let out = extract(fx.arg(), &sb.dest(), &["--layer", "3"], &Opts::default());
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.error_line().contains("--layer 3"), "{out}");
    assert!(!sb.dest().exists(), "{out}");
}

fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(tar);
    ar.entries()
        .expect("strata's tar parses")
        .map(|e| String::from_utf8_lossy(&e.expect("entry").path_bytes()).into_owned())
        .collect()
}

/// `--tar` (and DEST `-`) writes one flat tar without whiteouts; GNU tar extracts it into the
/// same tree as the directory extraction.
#[test]
fn tar_output_extracts_to_the_same_tree() {
    if !root_required() {
        return;
    }
    let layers = rootfs_layers();
    let fx = image_of_entries("for-tar.tar", &layers, Compression::Gzip, Format::Oci);
    let (_, dir_tree, sb) = extract_fresh(&fx, &[], &Opts::default());

    let tar_path = sb.work.join("flat.tar");
    let out = extract(fx.arg(), &tar_path, &["--tar"], &Opts::default());
    out.assert_ok("extract --tar");
    assert!(
        sb.leftovers().is_empty(),
        "staging left: {:?}",
        sb.leftovers()
    );
    let bytes = std::fs::read(&tar_path).unwrap();
    let names = tar_names(&bytes);
    let wh: Vec<&String> = names
        .iter()
        .filter(|n| n.split('/').any(|c| c.starts_with(".wh.")))
        .collect();
    assert!(wh.is_empty(), "whiteout entries in the flat tar: {wh:?}");

    let untarred = sb.work.join("untarred");
    gnu_untar(&tar_path, &untarred, &[]);
    let tar_tree = read_tree(&untarred);
    assert_trees_equal(
        &Model::of(&layers, As::Root),
        &tar_tree,
        "--tar re-extracted vs the model",
    );
    assert_trees_equal(
        &dir_tree,
        &tar_tree,
        "--tar re-extracted vs the directory extraction",
    );

    // DEST `-`: the same tar on stdout, and nothing else there.
    let out = common::sandbox::run_strata(
        &["extract".as_ref(), fx.arg().as_os_str(), "-".as_ref()],
        &Opts::default(),
    );
    out.assert_ok("extract to stdout");
    assert!(
        out.stdout == bytes,
        "stdout ({} bytes) differs from the --tar file ({} bytes)",
        out.stdout.len(),
        bytes.len()
    );
}

/// Each path that several layers have appears once in the flat tar: the lower layers' copies
/// are never written. A path duplicated inside one layer is the exception: the stream is
/// written as the layer is read, so both copies go out and, as in any tar, the last one wins
/// (`tar_output_extracts_to_the_same_tree` checks the result).
#[test]
fn flat_tar_lists_each_path_once() {
    let layers = rootfs_layers();
    let fx = image_of_entries("once.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let tar_path = sb.work.join("flat.tar");
    let out = extract(fx.arg(), &tar_path, &["--tar"], &Opts::default());
    out.assert_ok("extract --tar");
    let clean = |n: &str| n.trim_end_matches('/').trim_start_matches("./").to_string();
    let mut within_one_layer = std::collections::HashSet::new();
    for layer in &layers {
        let mut seen = std::collections::HashSet::new();
        for e in layer {
            if !seen.insert(clean(&e.path)) {
                within_one_layer.insert(clean(&e.path));
            }
        }
    }
    assert!(
        within_one_layer.contains("dup"),
        "the fixture must keep its in-layer duplicate"
    );
    let names = tar_names(&std::fs::read(&tar_path).unwrap());
    let mut seen = std::collections::HashSet::new();
    let dups: Vec<String> = names
        .iter()
        .map(|n| clean(n))
        .filter(|n| !seen.insert(n.clone()) && !within_one_layer.contains(n))
        .collect();
    assert!(
        dups.is_empty(),
        "paths of several layers written twice in the flat tar: {dups:?}"
    );
    let last_dup = names.iter().rposition(|n| clean(n) == "dup");
    assert!(
        last_dup.is_some(),
        "the duplicated path is missing from the flat tar"
    );
}

/// A directory turned into a file and back into a directory: the lowest layer's children
/// are gone (the file replaced the directory entirely), only the top layer's remain.
#[test]
fn directory_file_directory_drops_the_old_children() {
    if !root_required() {
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("opt"),
            Entry::dir("opt/app"),
            Entry::file("opt/app/x", "x\n"),
            Entry::dir("opt/app/sub"),
            Entry::file("opt/app/sub/z", "z\n"),
        ],
        vec![Entry::file("opt/app", "app is a file now\n")],
        vec![Entry::dir("opt/app"), Entry::file("opt/app/y", "y\n")],
    ];
    for (format, name) in [(Format::Oci, "dfd.tar"), (Format::Docker, "dfd-docker.tar")] {
        let fx = image_of_entries(name, &layers, Compression::None, format);
        let (_, tree, sb) = extract_fresh(&fx, &[], &Opts::default());
        assert_trees_equal(&Model::of(&layers, As::Root), &tree, name);
        let tar_path = sb.work.join("flat.tar");
        extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
        let names = tar_names(&std::fs::read(&tar_path).unwrap());
        assert!(
            !names
                .iter()
                .any(|n| n.contains("opt/app/x") || n.contains("opt/app/sub")),
            "{name}: the flat tar has the replaced directory's children: {names:?}"
        );
    }
}

/// Whiteouts and opaque markers never touch their own layer, in either order; a hardlink in a
/// middle layer keeps its content when a higher layer deletes its target.
#[test]
fn whiteouts_spare_their_own_layer_and_links_outlive_their_target() {
    if !root_required() {
        return;
    }
    let layers = vec![
        vec![
            Entry::dir("etc"),
            Entry::file("etc/shadow", "old shadow\n"),
            Entry::file("etc/group", "old group\n"),
            Entry::dir("cache"),
            Entry::file("cache/old", "old\n"),
            Entry::dir("spool"),
            Entry::file("spool/old", "old\n"),
            Entry::file("a", "content of a\n").with_mode(0o640),
        ],
        vec![
            // Whiteout first, then this layer's own entry.
            Entry::whiteout("etc", "shadow"),
            Entry::file("etc/shadow", "new shadow\n"),
            // Entry first, then the whiteout.
            Entry::file("etc/group", "new group\n"),
            Entry::whiteout("etc", "group"),
            // Opaque marker before and after this layer's entries.
            Entry::opaque("cache"),
            Entry::file("cache/new", "new\n"),
            Entry::file("spool/new", "new\n"),
            Entry::opaque("spool"),
            Entry::hardlink("b", "a"),
        ],
        vec![Entry::whiteout("", "a")],
    ];
    let fx = image_of_entries("own-layer.tar", &layers, Compression::Gzip, Format::Oci);
    let (_, tree, _sb) = extract_fresh(&fx, &[], &Opts::default());
    assert_trees_equal(&Model::of(&layers, As::Root), &tree, "own-layer whiteouts");
}

/// Nothing is created when `--tar` fails: the partial tar is removed.
#[test]
fn tar_output_is_not_left_behind_on_error() {
    let mut layers = rootfs_layers();
    layers[1].push(Entry::file("../escape", "x").raw());
    let fx = image_of_entries("tar-err.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let tar_path = sb.work.join("flat.tar");
    let out = extract(fx.arg(), &tar_path, &["--tar"], &Opts::default());
    assert_eq!(out.code, Some(2), "{out}");
    assert!(!tar_path.exists(), "partial tar left at DEST:\n{out}");
    assert!(
        sb.leftovers().is_empty(),
        "staging left: {:?}",
        sb.leftovers()
    );
}

fn nobody_run_possible() -> bool {
    if !is_root() {
        common::skipped(format!("dropping privileges to uid {NOBODY} needs root"));
        return false;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        common::skipped("setpriv is not installed");
        return false;
    }
    true
}

/// As an unprivileged user: modes kept (setuid, setgid, sticky, 0000), owners not (one
/// warning says so), device nodes skipped (one warning with the count), trusted.* and
/// security.capability skipped but user.* kept.
#[test]
fn unprivileged_keeps_modes_skips_owners_and_devices() {
    if !nobody_run_possible() {
        return;
    }
    let layers = rootfs_layers();
    let fx = image_of_entries("nonroot.tar", &layers, Compression::Gzip, Format::Oci);
    share(&fx);
    let opts = Opts {
        as_nobody: true,
        ..Opts::default()
    };
    let (out, tree, _sb) = extract_fresh(&fx, &[], &opts);
    assert_trees_equal(
        &Model::of(&layers, As::User(NOBODY, NOBODY)),
        &tree,
        "extracted as nobody",
    );
    let owners: Vec<&str> = out
        .warnings()
        .into_iter()
        .filter(|w| w.contains("own"))
        .collect();
    assert_eq!(owners.len(), 1, "one warning about owners expected:\n{out}");
    let devices: Vec<&str> = out
        .warnings()
        .into_iter()
        .filter(|w| w.contains("device"))
        .collect();
    assert_eq!(
        devices.len(),
        1,
        "one warning about device nodes expected:\n{out}"
    );
    assert!(
        devices[0].contains('2'),
        "the device warning should say how many (2):\n{out}"
    );
}

/// Only owners differ from the image: a small image with owners and modes, as nobody.
#[test]
fn unprivileged_owners_are_skipped_with_one_warning() {
    if !nobody_run_possible() {
        return;
    }
    let layers = vec![vec![
        Entry::dir("home").with_owner(1000, 1000).with_mode(0o750),
        Entry::file("home/a", "a\n")
            .with_owner(1000, 1000)
            .with_mode(0o4750),
        Entry::file("home/b", "b\n")
            .with_owner(70000, 70001)
            .with_mode(0o2640),
        Entry::file("home/c", "c\n")
            .with_owner(33, 33)
            .with_mode(0o000),
        Entry::dir("shared").with_owner(5, 5).with_mode(0o1777),
        Entry::symlink("home/l", "a").with_owner(1000, 1000),
    ]];
    let fx = image_of_entries("owners.tar", &layers, Compression::None, Format::Docker);
    share(&fx);
    let opts = Opts {
        as_nobody: true,
        ..Opts::default()
    };
    let (out, tree, _sb) = extract_fresh(&fx, &[], &opts);
    assert_trees_equal(
        &Model::of(&layers, As::User(NOBODY, NOBODY)),
        &tree,
        "owners as nobody",
    );
    let w = out.warnings();
    assert_eq!(w.len(), 1, "exactly one warning (owners) expected:\n{out}");
    assert!(w[0].contains("own"), "{out}");
}

/// An existing empty DEST is used; the result is the same tree.
#[test]
fn empty_existing_dest_is_filled() {
    if !root_required() {
        return;
    }
    let layers = rootfs_layers();
    let fx = image_of_entries("empty-dest.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    std::fs::create_dir(&dest).unwrap();
    let out = extract(fx.arg(), &dest, &[], &Opts::default());
    out.assert_ok("extract into an empty dir");
    assert!(sb.leftovers().is_empty());
    assert_trees_equal(
        &Model::of(&layers, As::Root),
        &read_tree(&dest),
        "empty DEST",
    );
}

/// Owners and modes come out exact however the kernel would make the files: beside DEST and
/// in DEST a setgid directory of another group (new files there take its group), a umask that
/// takes bits the image sets (a file made with its mode would lose them), and a default ACL
/// beside DEST (which replaces the umask). strata spares the chown and chmod of a file the
/// kernel makes right; here it must not.
#[test]
fn owners_and_modes_are_exact_below_a_setgid_directory_and_under_a_tight_umask() {
    if !root_required() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mut layers = rootfs_layers();
    layers.push(vec![
        Entry::file("modes/0664", "group-writable\n").with_mode(0o664),
        Entry::file("modes/0666", "world-writable\n").with_mode(0o666),
        Entry::file("modes/0777", "all\n").with_mode(0o777),
        Entry::file("modes/0644", "plain\n").with_mode(0o644),
        Entry::file("modes/root-root", "0:0\n").with_owner(0, 0),
        Entry::file("modes/root-42", "0:42\n").with_owner(0, 42),
    ]);
    let fx = image_of_entries("setgid-umask.tar", &layers, Compression::Gzip, Format::Oci);
    let model = Model::of(&layers, As::Root);
    let opts = Opts {
        umask: Some(0o027),
        ..Opts::default()
    };
    let setgid_of_group = |dir: &Path, mode: u32| {
        std::os::unix::fs::chown(dir, Some(0), Some(4242)).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    // A new DEST beside which the staging directory is made: it inherits group and setgid.
    let sb = Sandbox::new();
    setgid_of_group(&sb.work, 0o2777);
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &opts).assert_ok("extract below a setgid directory");
    assert_trees_equal(&model, &read_tree(&dest), "below a setgid directory");
    // An existing empty DEST, itself setgid, filled in place.
    let sb = Sandbox::new();
    let dest = sb.dest();
    std::fs::create_dir(&dest).unwrap();
    setgid_of_group(&dest, 0o2755);
    extract(fx.arg(), &dest, &["--force"], &opts).assert_ok("extract into a setgid DEST");
    assert_trees_equal(&model, &read_tree(&dest), "into a setgid DEST");
    // A default ACL beside DEST: new files take their mode from it, not from the umask.
    if !common::tool_runs("setfacl", "--version", "acl") {
        return;
    }
    let sb = Sandbox::new();
    let acl = Command::new("setfacl")
        .args(["-d", "-m", "u::rwx,g::rx,o::-"])
        .arg(&sb.work)
        .status()
        .unwrap();
    assert!(acl.success(), "setfacl on {}", sb.work.display());
    let dest = sb.dest();
    // Under umask 022, files 0644 and 0755 of 0:0 would be made with their mode: the ACL's
    // `o::-` would take their other bits.
    let opts = Opts {
        umask: Some(0o022),
        ..Opts::default()
    };
    extract(fx.arg(), &dest, &[], &opts).assert_ok("extract below a default ACL");
    // Directories made here inherit the default ACL, as with tar -x: not what is compared.
    let strip = Command::new("setfacl")
        .arg("-R")
        .arg("-k")
        .arg(&dest)
        .status();
    assert!(strip.unwrap().success(), "setfacl -R -k {}", dest.display());
    assert_trees_equal(&model, &read_tree(&dest), "below a default ACL");
}

/// A file that still needs its owner when it is made is made 0600: with its final mode, the
/// group the kernel gave it (the process's, or a setgid parent's) could open it until the
/// chown. A file made with its owner already is made with its mode (no chmod after).
#[test]
fn a_file_made_before_its_chown_is_private_until_then() {
    if !root_required() || !common::tool_runs("strace", "-V", "strace") {
        return;
    }
    let layers = vec![vec![
        Entry::file("home/u/secret", "for uid 1000 only\n")
            .with_mode(0o640)
            .with_owner(1000, 1000),
        Entry::file("etc/hostname", "root's\n").with_mode(0o644),
    ]];
    let name = "private-until-chown.tar";
    let fx = image_of_entries(name, &layers, Compression::None, Format::Oci);
    let (sb, log) = (Sandbox::new(), "opens.log");
    let (dest, log) = (sb.dest(), sb.root.join(log));
    let opts = Opts {
        umask: Some(0o022),
        trace_opens: Some(log.clone()),
        ..Opts::default()
    };
    extract(fx.arg(), &dest, &[], &opts).assert_ok("extract under strace");
    let log = std::fs::read_to_string(&log).unwrap();
    let create_mode = |name: &str| {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("\"{name}\"")) && l.contains("O_CREAT"))
            .unwrap_or_else(|| panic!("no openat creating {name} in:\n{log}"));
        line.rsplit(", ")
            .next()
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(create_mode("secret"), "0600", "made before its chown");
    assert_eq!(
        create_mode("hostname"),
        "0644",
        "made with its owner and mode"
    );
    assert_trees_equal(
        &Model::of(&layers, As::Root),
        &read_tree(&dest),
        "private until chown",
    );
}

/// `--force` into a non-empty DEST: the image's paths replace what is in their way, the rest
/// of DEST stays, and the `.strata-incomplete` marker is gone at the end.
#[test]
fn force_extracts_over_existing_content() {
    if !root_required() {
        return;
    }
    let layers = vec![vec![
        Entry::dir("etc"),
        Entry::file("etc/passwd", "image passwd\n"),
        Entry::file("etc/group", "image group\n"),
        Entry::dir("dir-in-the-way"),
        Entry::file("file-in-the-way", "now a file\n"),
    ]];
    let fx = image_of_entries("force.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    std::fs::create_dir_all(dest.join("etc")).unwrap();
    std::fs::write(dest.join("etc/passwd"), "old passwd\n").unwrap();
    std::fs::write(dest.join("mine.txt"), "keep me\n").unwrap();
    std::fs::write(
        dest.join("dir-in-the-way"),
        "a file where the image has a dir\n",
    )
    .unwrap();
    std::fs::create_dir_all(dest.join("file-in-the-way/sub")).unwrap();
    // A hardlink from DEST to a file outside: replacing etc/group must not write through it.
    std::fs::hard_link(sb.outside.join("passwd"), dest.join("etc/group")).unwrap();
    let out = extract(fx.arg(), &dest, &["--force"], &Opts::default());
    out.assert_ok("extract --force");
    let tree = read_tree(&dest);
    let mut want = Model::of(&layers, As::Root);
    want.remove("/");
    let mut got = tree.clone();
    got.remove("/");
    let mine = got.remove("/mine.txt").expect("mine.txt kept");
    assert_eq!(
        mine.kind,
        common::rootfs::NodeKind::File(8, common::rootfs::sha256_of(b"keep me\n"))
    );
    assert_trees_equal(&want, &got, "--force over existing content");
    assert_eq!(
        std::fs::read(sb.outside.join("passwd")).unwrap(),
        common::sandbox::SENTINEL,
        "a file outside DEST hardlinked into it was overwritten"
    );
}

/// `--force` with an image whose layer marks the root opaque: what DEST held is cleared like a
/// lower layer's content (the incomplete marker with it), and the extraction completes.
#[test]
fn force_with_an_opaque_root_clears_dest_and_completes() {
    let layers = vec![
        vec![Entry::file("old", "layer 0\n")],
        vec![Entry::opaque(""), Entry::file("new", "layer 1\n")],
    ];
    let fx = image_of_entries("opaque-root.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("mine.txt"), "there before\n").unwrap();
    extract(fx.arg(), &dest, &["--force"], &Opts::default()).assert_ok("--force, opaque root");
    let mut names: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["new"]);
}

/// Names that are not UTF-8 (Latin-1 ones, a lone 0xF4, and a real U+10FF41, the char strata
/// carries raw bytes in) keep their exact bytes, never merge when lossy decoding would make
/// them equal, and work in whiteouts, symlink targets and hardlinks; in the directory and in
/// the flat tar.
#[test]
fn names_that_are_not_utf8_keep_their_bytes() {
    let (fx, want) = raw_names_image("raw-names.tar");
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert_eq!(raw_tree(&dest), want, "directory output");

    let tar_path = sb.work.join("flat.tar");
    extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
    let untarred = sb.work.join("untarred");
    gnu_untar(&tar_path, &untarred, &[]);
    assert_eq!(raw_tree(&untarred), want, "flat tar output");
}

/// A sparse entry (a few KB in the layer, 256 MiB long) comes out with its data at the right
/// offsets and its holes as holes: a tiny archive cannot fill the disk with zeros.
#[test]
fn sparse_files_are_written_with_holes() {
    use std::os::unix::fs::{FileExt, MetadataExt};
    const LEN: u64 = 256 << 20;
    // The tar crate wants the data runs in whole 512-byte blocks.
    let block = |text: &[u8]| {
        let mut b = text.to_vec();
        b.resize(512, 0);
        b
    };
    let layers = vec![vec![Entry::sparse(
        "disk.img",
        LEN,
        vec![
            (0, block(b"head")),
            (100 << 20, block(b"middle")),
            (LEN, Vec::new()),
        ],
    )]];
    let fx = image_of_entries("sparse.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    let file = std::fs::File::open(dest.join("disk.img")).unwrap();
    let md = file.metadata().unwrap();
    assert_eq!(md.len(), LEN);
    let at = |off: u64, n: usize| {
        let mut buf = vec![0xAA; n];
        file.read_exact_at(&mut buf, off).unwrap();
        buf
    };
    assert_eq!(at(0, 6), b"head\0\0");
    assert_eq!(at((100 << 20) - 2, 9), b"\0\0middle\0");
    assert_eq!(at(LEN - 4, 4), [0; 4]);
    let allocated = md.blocks() * 512;
    assert!(
        allocated < 4 << 20,
        "a 256 MiB sparse file should take a few blocks, it takes {allocated} bytes"
    );
}

/// A hardlink's target must exist when its layer is applied: a target an intermediate layer
/// deleted (whiteout, opaque parent) or replaced with a non-file is not fetched from further
/// down. Refused, naming the link, and nothing is left at DEST.
#[test]
fn hardlink_to_a_target_deleted_in_between_is_refused() {
    let cases: Vec<(&str, Vec<Entry>)> = vec![
        ("whiteout", vec![Entry::whiteout("d", "t")]),
        ("opaque", vec![Entry::opaque("d")]),
        ("parent-file", vec![Entry::file("d", "d is a file now\n")]),
        ("target-dir", vec![Entry::dir("d/t")]),
    ];
    for (name, middle) in cases {
        let layers = vec![
            vec![Entry::dir("d"), Entry::file("d/t", "old\n")],
            middle,
            vec![Entry::hardlink("h", "d/t")],
        ];
        let fx = image_of_entries(
            &format!("link-{name}.tar"),
            &layers,
            Compression::Gzip,
            Format::Oci,
        );
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, &[], &Opts::default());
        let err = out.error_line();
        assert!(
            out.code != Some(0)
                && err.contains("layer 2")
                && err.contains("entry `h`")
                && err.contains("not a file of this or a lower layer"),
            "{name}: {out}"
        );
        assert!(
            !dest.exists() && sb.leftovers().is_empty(),
            "{name}: DEST left behind"
        );
    }
    // Control: with nothing in between, the link gets the content the target had when the
    // link's layer reached it, not that of the same layer's later entry.
    let layers = vec![
        vec![Entry::dir("d"), Entry::file("d/t", "old\n")],
        vec![Entry::hardlink("h", "d/t"), Entry::file("d/t", "new\n")],
    ];
    let fx = image_of_entries("link-ok.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("control");
    assert_eq!(std::fs::read(dest.join("h")).unwrap(), b"old\n");
    assert_eq!(std::fs::read(dest.join("d/t")).unwrap(), b"new\n");
}

/// Layers that only an in-order extraction gets right: a write through a lower layer's
/// symlink (`x -> /etc`, then `x/passwd`), a write through a symlink of the same layer
/// (`l -> data`, then `l/new`), and a directory filled then replaced by a symlink in one layer.
fn write_through_layers() -> Vec<Vec<Entry>> {
    vec![
        vec![
            Entry::dir("etc"),
            Entry::file("etc/passwd", "layer 0 passwd\n"),
            Entry::symlink("x", "/etc"),
            Entry::dir("data"),
            Entry::file("data/a", "a\n").with_owner(1000, 1000),
            Entry::file("t", "link target\n").with_mode(0o600),
            Entry::fifo("fifo"),
            Entry::file("attr", "x\n").with_xattr("user.note", b"kept"),
        ],
        vec![
            Entry::file("x/passwd", "layer 1 passwd\n"),
            Entry::symlink("l", "data"),
            Entry::file("l/new", "written via l\n"),
            Entry::hardlink("h", "t"),
            Entry::file("a/x", "gone with its directory\n"),
            Entry::symlink("a", "data"),
        ],
    ]
}

/// `--tar` of such an image is the tar of the in-order extraction (as root): re-extracted with
/// GNU tar it is the same tree as the directory output. To stdout, which cannot start over,
/// and as non-root, which would lose owners, it is refused with a message saying what to do.
#[test]
fn tar_output_of_an_image_that_writes_through_symlinks() {
    if !root_required() {
        return;
    }
    let layers = write_through_layers();
    let fx = image_of_entries("through.tar", &layers, Compression::Gzip, Format::Oci);
    let (_, dir_tree, sb) = extract_fresh(&fx, &[], &Opts::default());
    let file = |t: &Tree, p: &str| match &t[p].kind {
        common::rootfs::NodeKind::File(_, digest) => digest.clone(),
        other => panic!("{p} is {other:?}"),
    };
    assert_eq!(
        file(&dir_tree, "/etc/passwd"),
        common::rootfs::sha256_of(b"layer 1 passwd\n")
    );
    assert_eq!(
        file(&dir_tree, "/data/new"),
        common::rootfs::sha256_of(b"written via l\n")
    );
    assert!(!dir_tree.contains_key("/a/x"), "{:?}", dir_tree.keys());

    let tar_path = sb.work.join("through-flat.tar");
    let out = extract(fx.arg(), &tar_path, &["--tar"], &Opts::default());
    out.assert_ok("extract --tar");
    assert!(sb.leftovers().is_empty(), "left: {:?}", sb.leftovers());
    let untarred = sb.work.join("untarred");
    gnu_untar(&tar_path, &untarred, &[]);
    // GNU tar sets the mtimes of directories holding absolute symlinks before it makes them.
    assert_trees_equal(
        &common::rootfs::without_mtimes(dir_tree.clone()),
        &common::rootfs::without_mtimes(read_tree(&untarred)),
        "--tar of an in-order image, re-extracted, vs the directory",
    );

    // Within one layer only (the top-down pass itself cannot see it; the tar sink does).
    let same_layer = vec![
        vec![Entry::dir("data")],
        layers[1][1..]
            .iter()
            .filter(|e| e.path != "h")
            .cloned()
            .collect(),
    ];
    let fx2 = image_of_entries(
        "through-same.tar",
        &same_layer,
        Compression::None,
        Format::Oci,
    );
    let (_, dir2, sb2) = extract_fresh(&fx2, &[], &Opts::default());
    let tar2 = sb2.work.join("same.tar");
    extract(fx2.arg(), &tar2, &["--tar"], &Opts::default()).assert_ok("--tar, same layer");
    let names = tar_names(&std::fs::read(&tar2).unwrap());
    assert!(
        names.iter().any(|n| n == "data/new")
            && !names
                .iter()
                .any(|n| n.starts_with("l/") || n.starts_with("a/")),
        "{names:?}"
    );
    let untarred2 = sb2.work.join("untarred");
    gnu_untar(&tar2, &untarred2, &[]);
    assert_trees_equal(
        &common::rootfs::without_mtimes(dir2),
        &common::rootfs::without_mtimes(read_tree(&untarred2)),
        "--tar of same-layer write-throughs vs the directory",
    );

    let out = common::sandbox::run_strata(
        &["extract".as_ref(), fx.arg().as_os_str(), "-".as_ref()],
        &Opts::default(),
    );
    assert!(
        out.code == Some(2) && out.error_line().contains("--tar FILE"),
        "stdout: {out}"
    );

    if nobody_run_possible() {
        share(&fx);
        let sb = Sandbox::new();
        std::fs::set_permissions(
            &sb.work,
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let tar_path = sb.work.join("nobody.tar");
        let opts = Opts {
            as_nobody: true,
            ..Opts::default()
        };
        let out = extract(fx.arg(), &tar_path, &["--tar"], &opts);
        assert!(
            out.code == Some(2) && out.error_line().contains("needs root"),
            "as nobody: {out}"
        );
        assert!(
            !tar_path.exists() && sb.leftovers().is_empty(),
            "left: {:?}",
            sb.leftovers()
        );
    }
}

/// A long name is measured in its own bytes: 1 500 bytes of Latin-1 (each carried internally
/// as a 4-byte char) are well within PATH_MAX and come out whole.
#[test]
fn long_non_utf8_names_are_measured_in_bytes() {
    let component = vec![0xe9u8; 250];
    let mut dirs: Vec<u8> = Vec::new();
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for _ in 0..5 {
        if !dirs.is_empty() {
            dirs.push(b'/');
        }
        dirs.extend_from_slice(&component);
        entries.push((dirs.clone(), b"/".to_vec()));
    }
    let mut file = dirs.clone();
    file.push(b'/');
    file.extend_from_slice(&component);
    entries.push((file.clone(), b"deep\n".to_vec()));
    // pax `path` records carry the long raw names (the header holds a placeholder).
    let mut b = tar::Builder::new(Vec::new());
    for (path, what) in &entries {
        b.append_pax_extensions([("path", &path[..])]).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        if what == b"/" {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, "placeholder", std::io::empty())
                .unwrap();
        } else {
            h.set_mode(0o644);
            h.set_size(what.len() as u64);
            b.append_data(&mut h, "placeholder", &what[..]).unwrap();
        }
    }
    let fx = common::sandbox::image_of(
        "long-latin1.tar",
        vec![common::layer::LayerSpec::from_tar(
            b.into_inner().unwrap(),
            Compression::Gzip,
        )],
        Format::Oci,
    );
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert_eq!(
        raw_tree(&dest).get(&file).map(Vec::as_slice),
        Some(&b"deep\n"[..])
    );
}

/// Entries that are no node of a tree (pax global headers, an unknown type) hide nothing below:
/// Docker ignores global headers, and in overlayfs (the layer store) the layer's directory
/// simply lacks them. Before, a global header named `x` deleted the lower `x` from the
/// extracted tree while `mount` showed it, and one after the target of a hardlink to a
/// rewritten file made `extract` refuse the link.
#[test]
fn entries_that_are_no_node_hide_nothing_below() {
    let fx = common::sandbox::non_node_entries_image("non-node.tar");
    for extra in [&[][..], &["--force"][..]] {
        let sb = Sandbox::new();
        let dest = sb.dest();
        let out = extract(fx.arg(), &dest, extra, &Opts::default());
        out.assert_ok("extract");
        for (path, content) in [
            ("x", "lower x\n"),
            ("d/f", "lower f\n"),
            ("d/g", "lower g\n"),
            ("y", "upper y\n"),
            ("t", "upper t\n"),
            ("h", "lower t\n"),
        ] {
            let got = std::fs::read_to_string(dest.join(path)).unwrap_or_default();
            assert_eq!(got, content, "{path} with {extra:?}:\n{out}");
        }
        // The unknown type is named; the global headers are tar metadata, passed over.
        let warnings = out.warnings();
        assert_eq!(warnings.len(), 1, "{out}");
        assert!(warnings[0].contains("skipped `d/f`"), "{out}");
        let tar_path = sb.work.join("flat.tar");
        extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
        let mut names = Vec::new();
        let bytes = std::fs::read(&tar_path).unwrap();
        for e in tar::Archive::new(&bytes[..]).entries().unwrap() {
            names.push(e.unwrap().path().unwrap().display().to_string());
        }
        for path in ["x", "d/f", "d/g", "y", "t", "h"] {
            assert!(names.iter().any(|n| n == path), "{path} not in {names:?}");
        }
    }
}

/// A global header at the path of a lower symlink does not hide that symlink from a whiteout
/// below it: the marker is refused in order (`--force`) as it is top down and by `mount`.
#[test]
fn a_global_header_does_not_hide_a_lower_symlink_from_a_marker() {
    use tar::EntryType as T;
    let layers = vec![
        common::sandbox::raw_layer(&[
            (T::Directory, "etc", b""),
            (T::Regular, "etc/passwd", b"P\n"),
            (T::Symlink, "s", b"etc"),
        ]),
        common::sandbox::raw_layer(&[
            (T::XGlobalHeader, "s", b"16 comment=hey\n"),
            (T::Regular, "s/.wh.passwd", b""),
        ]),
    ];
    let fx = common::sandbox::image_of("global-over-symlink.tar", layers, Format::Oci);
    for extra in [&[][..], &["--force"][..]] {
        let sb = Sandbox::new();
        let out = extract(fx.arg(), &sb.dest(), extra, &Opts::default());
        assert_eq!(out.code, Some(2), "{extra:?}: {out}");
        assert!(
            out.stderr.contains("a symlink of a lower layer"),
            "{extra:?}: {out}"
        );
    }
}

/// Entries of types strata does not write are named in a warning each, up to 100, then
/// counted in one line: a layer of millions of them cannot fill memory with warnings.
#[test]
fn warnings_for_skipped_entries_are_capped() {
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..250 {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::new(b'Z'));
        h.set_size(0);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, format!("odd{i}"), std::io::empty())
            .unwrap();
    }
    let fx = common::sandbox::image_of(
        "odd-types.tar",
        vec![common::layer::LayerSpec::from_tar(
            b.into_inner().unwrap(),
            Compression::None,
        )],
        Format::Oci,
    );
    let sb = Sandbox::new();
    let out = extract(fx.arg(), &sb.dest(), &[], &Opts::default());
    out.assert_ok("extract");
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 101, "{out}");
    assert!(warnings[100].contains("150 more"), "{out}");
}

/// The in-order `--tar` path reads back a wide tree without holding a descriptor per
/// directory: 600 directories under a limit of 128 open files.
#[test]
fn tar_of_an_in_order_image_with_many_directories_fits_few_descriptors() {
    if !root_required() {
        return;
    }
    let mut layers = write_through_layers();
    for i in 0..600 {
        layers[0].push(Entry::dir(&format!("usr/share/doc/pkg{i}")));
        layers[0].push(Entry::file(
            &format!("usr/share/doc/pkg{i}/copyright"),
            "c\n",
        ));
    }
    let fx = image_of_entries("wide.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let tar_path = sb.work.join("wide-flat.tar");
    let out = Command::new("prlimit")
        .arg("--nofile=128:128")
        .arg(common::sandbox::strata_bin())
        .args(["extract", "--tar"])
        .arg(fx.arg())
        .arg(&tar_path)
        .output()
        .expect("run prlimit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = tar_names(&std::fs::read(&tar_path).unwrap());
    assert!(
        names.iter().any(|n| n == "usr/share/doc/pkg599/copyright"),
        "{}",
        names.len()
    );
}

/// The last entry for a path wins in the flat tar as in the directory, also where the first
/// one would only be written at the end (a hardlink, a directory): a link voided by a later
/// file of its layer, a duplicated link target, a directory turned into a file in one layer.
#[test]
fn tar_output_keeps_the_last_entry_of_a_path() {
    if !root_required() {
        return;
    }
    type Case<'a> = (&'a str, Vec<Vec<Entry>>, Vec<(&'a str, &'a [u8])>);
    let cases: Vec<Case> = vec![
        (
            "dup-target",
            vec![
                vec![
                    Entry::file("t", "v1\n"),
                    Entry::hardlink("p1", "t"),
                    Entry::file("t", "v1b\n"),
                    Entry::hardlink("p2", "t"),
                ],
                vec![Entry::file("t", "v2\n")],
            ],
            vec![("/p1", b"v1\n"), ("/p2", b"v1b\n"), ("/t", b"v2\n")],
        ),
        (
            "link-then-file",
            vec![
                vec![Entry::file("t", "v1\n")],
                vec![Entry::hardlink("p", "t"), Entry::file("p", "own\n")],
                vec![Entry::file("t", "v2\n")],
            ],
            vec![("/p", b"own\n"), ("/t", b"v2\n")],
        ),
        (
            "dir-then-file",
            vec![
                vec![Entry::dir("x")],
                vec![Entry::dir("d"), Entry::file("d", "a file now\n")],
            ],
            vec![("/d", b"a file now\n")],
        ),
        (
            "link-then-dir",
            vec![vec![
                Entry::file("t", "t\n"),
                Entry::hardlink("l", "t"),
                Entry::dir("l"),
                Entry::file("l/x", "x\n"),
            ]],
            vec![("/t", b"t\n"), ("/l/x", b"x\n")],
        ),
        (
            "file-then-dir",
            vec![vec![
                Entry::file("l", "a file first\n"),
                Entry::dir("l"),
                Entry::file("l/x", "x\n"),
            ]],
            vec![("/l/x", b"x\n")],
        ),
    ];
    for (name, layers, want) in cases {
        let fx = image_of_entries(
            &format!("{name}.tar"),
            &layers,
            Compression::None,
            Format::Oci,
        );
        let (_, dir_tree, sb) = extract_fresh(&fx, &[], &Opts::default());
        for (path, content) in &want {
            match &dir_tree[*path].kind {
                common::rootfs::NodeKind::File(_, digest) => {
                    assert_eq!(
                        digest,
                        &common::rootfs::sha256_of(content),
                        "{name}: {path}"
                    )
                }
                other => panic!("{name}: {path} is {other:?}"),
            }
        }
        let tar_path = sb.work.join(format!("{name}-flat.tar"));
        extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok(name);
        let untarred = sb.work.join(format!("{name}-untarred"));
        gnu_untar(&tar_path, &untarred, &[]);
        assert_trees_equal(
            &common::rootfs::without_mtimes(dir_tree),
            &common::rootfs::without_mtimes(read_tree(&untarred)),
            &format!("{name}: --tar re-extracted vs the directory"),
        );
    }
}

/// A layer fills a directory and then, later in the same layer, replaces it with a file; a
/// higher layer makes the path a directory again. Only the higher layer's (empty) directory
/// remains, in the directory output and in the flat tar.
#[test]
fn a_directory_a_layer_fills_then_replaces_stays_empty_when_made_again() {
    let layers = vec![
        vec![
            Entry::dir("b"),
            Entry::file("b/x", "gone\n"),
            Entry::file("b", "b is a file\n"),
        ],
        vec![Entry::dir("b"), Entry::file("c", "c\n")],
    ];
    let fx = image_of_entries("refilled.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert!(dest.join("b").is_dir() && !dest.join("b/x").exists());
    assert_eq!(std::fs::read(dest.join("c")).unwrap(), b"c\n");
    if is_root() {
        let tar_path = sb.work.join("refilled-flat.tar");
        extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
        let names = tar_names(&std::fs::read(&tar_path).unwrap());
        assert!(!names.iter().any(|n| n.starts_with("b/x")), "{names:?}");
    }
}

/// A hardlink to a hardlink (`p -> c -> t`) whose first target a higher layer replaced: both
/// links keep the old content, as one inode.
#[test]
fn a_chain_of_hardlinks_to_a_replaced_target_keeps_the_old_content() {
    use std::os::unix::fs::MetadataExt;
    let layers = vec![
        vec![
            Entry::file("t", "old\n"),
            Entry::hardlink("c", "t"),
            Entry::hardlink("p", "c"),
        ],
        vec![Entry::file("t", "new\n")],
    ];
    let fx = image_of_entries("chain.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert_eq!(std::fs::read(dest.join("t")).unwrap(), b"new\n");
    assert_eq!(std::fs::read(dest.join("c")).unwrap(), b"old\n");
    assert_eq!(std::fs::read(dest.join("p")).unwrap(), b"old\n");
    let ino = |p: &str| std::fs::metadata(dest.join(p)).unwrap().ino();
    assert_eq!(ino("c"), ino("p"));
}

/// A hardlink to a fifo that a higher layer replaced with a file keeps a fifo.
#[test]
fn a_hardlink_to_a_replaced_fifo_stays_a_fifo() {
    use std::os::unix::fs::FileTypeExt;
    let layers = vec![
        vec![Entry::fifo("f"), Entry::hardlink("h", "f")],
        vec![Entry::file("f", "a file now\n")],
    ];
    let fx = image_of_entries("fifolink.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert!(std::fs::symlink_metadata(dest.join("h"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(std::fs::read(dest.join("f")).unwrap(), b"a file now\n");
}

/// A layer puts a hardlink in `d`, then replaces `d` with a symlink to `e`: the link went with
/// the directory, it does not reappear in `e` (the layer is applied in order).
#[test]
fn a_waiting_hardlink_does_not_follow_a_later_symlink_of_its_layer() {
    let layers = vec![
        vec![Entry::file("t", "t\n")],
        vec![
            Entry::hardlink("d/p", "t"),
            Entry::dir("e"),
            Entry::symlink("d", "e"),
        ],
        vec![Entry::file("t", "replaced\n")],
    ];
    let fx = image_of_entries("stale-link.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    assert!(!dest.join("e/p").exists(), "the link reappeared in e/");
    assert_eq!(std::fs::read_link(dest.join("d")).unwrap(), Path::new("e"));
}

/// The flat tar carries the xattrs a directory extraction sets (`user.*`,
/// `security.capability`, ...) and not the others (`security.selinux`, which the host's policy
/// gives), so the top-down tar and the tar made from an in-order extraction agree.
#[test]
fn tar_output_carries_the_xattrs_an_extraction_sets() {
    let layers = vec![vec![Entry::file("f", "x\n")
        .with_xattr("user.keep", b"1")
        .with_xattr("security.selinux", b"system_u:object_r:etc_t:s0")]];
    let fx = image_of_entries("xattrs.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let tar_path = sb.work.join("x.tar");
    extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
    let bytes = std::fs::read(&tar_path).unwrap();
    let mut ar = tar::Archive::new(&bytes[..]);
    let mut keys = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if let Some(exts) = e.pax_extensions().unwrap() {
            for ext in exts {
                keys.push(ext.unwrap().key().unwrap().to_string());
            }
        }
    }
    assert_eq!(keys, ["SCHILY.xattr.user.keep"]);
}

/// A binary xattr value may hold a newline byte (here `security.capability` granting
/// cap_dac_override and cap_fowner: permitted bits 0x0a). Pax records are read by their length
/// prefix, as Docker reads them, so the value comes out whole in the tree and in the flat tar.
#[test]
fn an_xattr_value_holding_a_newline_byte_is_kept_whole() {
    if !root_required() {
        return;
    }
    let capability = [
        1, 0, 0, 2, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let layers = vec![vec![Entry::file("bin/tool", "x\n")
        .with_xattr("security.capability", &capability)
        .with_xattr("user.note", b"two\nlines")]];
    let fx = image_of_entries("cap-newline.tar", &layers, Compression::None, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("extract");
    let xattr = |name: &str| {
        let mut value = vec![0u8; 256];
        let n = rustix::fs::lgetxattr(dest.join("bin/tool"), name, &mut value[..]).unwrap();
        value.truncate(n);
        value
    };
    assert_eq!(xattr("security.capability"), capability);
    assert_eq!(xattr("user.note"), b"two\nlines");

    let tar_path = sb.work.join("x.tar");
    extract(fx.arg(), &tar_path, &["--tar"], &Opts::default()).assert_ok("--tar");
    let bytes = std::fs::read(&tar_path).unwrap();
    let record = [
        &b"SCHILY.xattr.security.capability="[..],
        &capability,
        b"\n",
    ]
    .concat();
    let found = bytes.windows(record.len()).any(|w| w == record.as_slice());
    assert!(found, "the flat tar lacks the whole capability record");
}

/// Hardlinks to hardlinks: a link to another layer's link is not taken over (it gets what that
/// path held in its own layer), and a link to a waiting link of its own layer gets that link's
/// target as of that link, even when the target is rewritten in between.
#[test]
fn hardlinks_to_hardlinks_follow_the_in_order_result() {
    use std::os::unix::fs::MetadataExt;
    let other_layer = vec![
        vec![Entry::file("L", "L0\n"), Entry::file("T", "T0\n")],
        vec![Entry::hardlink("M", "L")],
        vec![Entry::hardlink("L", "T")],
    ];
    let fx = image_of_entries(
        "link-other-layer.tar",
        &other_layer,
        Compression::None,
        Format::Oci,
    );
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("other layer");
    assert_eq!(std::fs::read(dest.join("M")).unwrap(), b"L0\n");
    assert_eq!(std::fs::read(dest.join("L")).unwrap(), b"T0\n");

    let rewritten = vec![
        vec![Entry::file("T", "old\n")],
        vec![
            Entry::hardlink("L1", "T"),
            Entry::file("T", "new\n"),
            Entry::hardlink("L2", "L1"),
        ],
    ];
    let fx = image_of_entries(
        "link-rewritten.tar",
        &rewritten,
        Compression::None,
        Format::Oci,
    );
    let sb = Sandbox::new();
    let dest = sb.dest();
    extract(fx.arg(), &dest, &[], &Opts::default()).assert_ok("rewritten");
    assert_eq!(std::fs::read(dest.join("T")).unwrap(), b"new\n");
    assert_eq!(std::fs::read(dest.join("L1")).unwrap(), b"old\n");
    assert_eq!(std::fs::read(dest.join("L2")).unwrap(), b"old\n");
    let ino = |p: &str| std::fs::metadata(dest.join(p)).unwrap().ino();
    assert_eq!(ino("L1"), ino("L2"));
}

/// The bound on what sparse entries may claim holds for the image, not per layer: two layers
/// each claiming 9 GiB (hidden by a higher layer, so nothing is expanded) are refused.
#[test]
fn sparse_claims_are_bounded_per_image() {
    const CLAIM: u64 = 9 << 30;
    let sparse =
        |path: &str| Entry::sparse(path, CLAIM, vec![(0, vec![b'x'; 512]), (CLAIM, Vec::new())]);
    let layers = vec![
        vec![sparse("b")],
        vec![sparse("a")],
        vec![Entry::file("a", "a\n"), Entry::file("b", "b\n")],
    ];
    let fx = image_of_entries("sparse-claims.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let dest = sb.dest();
    let out = extract(fx.arg(), &dest, &[], &Opts::default());
    assert!(
        out.code == Some(2)
            && out.error_line().contains("layer 0")
            && out.stderr.contains("GiB of file size in this image"),
        "{out}"
    );
    assert!(!dest.exists() && sb.leftovers().is_empty());
    // Each layer on its own is fine.
    let fx = image_of_entries(
        "one-claim.tar",
        &layers[1..],
        Compression::Gzip,
        Format::Oci,
    );
    let sb = Sandbox::new();
    extract(fx.arg(), &sb.dest(), &[], &Opts::default()).assert_ok("one claim");
}

/// The summary counts the tree the image leaves, however it was written: `--force` over a
/// non-empty DEST and the in-order extraction a write through a lower symlink needs apply layers
/// in order and used to count every entry written, deleted ones included (hello.tar: "3 files,
/// 5 directories" for a tree of 2 files and 4 directories).
#[test]
fn summary_counts_are_the_same_in_order_and_top_down() {
    let layers = common::rootfs::rootfs_layers();
    let fx = image_of_entries("counts.tar", &layers, Compression::Gzip, Format::Oci);
    let sb = Sandbox::new();
    let counts = |extra: &[&str], dest: &std::path::Path| -> serde_json::Value {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let out = extract(fx.arg(), dest, &args, &Opts::default());
        out.assert_ok("extract --json");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
        let mut c = v["counts"].clone();
        // What was hidden depends on the order by design; the tree's counts do not.
        c.as_object_mut().unwrap().remove("hidden");
        c
    };
    // The tree's own numbers, from the model: explicit directories (the model gives implied
    // ones no mtime) but not the root, regular files and their bytes (a hardlink's bytes count
    // at its file), symlinks, hardlinks, fifos and devices.
    let tree = Model::of(&layers, As::Root);
    let origins = Model::origins(&layers, As::Root);
    let whiteouts = layers
        .iter()
        .flatten()
        .filter(|e| {
            e.path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .starts_with(".wh.")
        })
        .count();
    let mut want = serde_json::json!({"files": 0, "dirs": 0, "symlinks": 0, "hardlinks": 0,
        "specials": 0, "bytes": 0, "whiteouts": whiteouts});
    for (abs, node) in &tree {
        let path = abs.trim_start_matches('/');
        let key = match (&node.kind, origins.get(path).and_then(|o| o.1.as_ref())) {
            (_, Some(_)) => "hardlinks",
            (common::rootfs::NodeKind::File(size, _), None) => {
                want["bytes"] = (want["bytes"].as_u64().unwrap() + size).into();
                "files"
            }
            (common::rootfs::NodeKind::Dir, _) if path.is_empty() || node.mtime.is_none() => {
                continue
            }
            (common::rootfs::NodeKind::Dir, _) => "dirs",
            (common::rootfs::NodeKind::Symlink(_), _) => "symlinks",
            _ => "specials",
        };
        want[key] = (want[key].as_u64().unwrap() + 1).into();
    }
    let top_down = counts(&[], &sb.dest());
    assert_eq!(top_down, want, "top-down counts against the model's tree");
    let busy = sb.dest().with_file_name("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("stray"), "already here\n").unwrap();
    let in_order = counts(&["--force"], &busy);
    assert_eq!(in_order, top_down, "--force over a non-empty DEST");
    assert!(top_down["files"].as_u64().unwrap() > 5, "{top_down}");
}
