//! The layer store on a shared host (issue: store, mount and shell safe against other local
//! users, planted files, crashes and races): the store is private (0700, the caller's own,
//! nothing writable by others), mounts are `nosuid,nodev` unless asked, nothing planted in
//! the store is followed or trusted, a layer is used only once complete, removals are atomic
//! and wait for nobody's layers, and `umount` unmounts only strata's own overlay.
//!
//! Runs as root (other users through `setpriv`); each test says on stderr why it is skipped
//! otherwise.

use crate::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::layer::Compression;
use crate::common::overlay::{fstype_at, mount_count, read_view, sel, unpack_counts, MountEnv};
use crate::common::sandbox::{image_of_entries, Format};
use crate::common::tarball::Entry;
use crate::common::Fixture;

/// Whether the mount tests can run here; says why not on stderr.
fn can_run() -> bool {
    match common::overlay::skip_reason() {
        Some(r) => {
            common::skipped(r);
            false
        }
        None if Command::new("setpriv").arg("--version").output().is_err() => {
            common::skipped("setpriv (util-linux) is not installed");
            false
        }
        None => true,
    }
}

/// Runs `program args` as uid/gid `uid`, no supplementary groups. Through a shell: setpriv
/// itself can still reach the program through directories the user could not.
fn as_user(uid: u32, program: &Path, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--reuid",
            &uid.to_string(),
            "--regid",
            &uid.to_string(),
            "--clear-groups",
            "--",
            "/bin/sh",
            "-c",
            "exec \"$0\" \"$@\"",
        ])
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .output()
        .expect("run setpriv")
}

fn mode_of(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn chain_of(fx: &Fixture) -> Vec<String> {
    fx.image()
        .layers
        .iter()
        .map(|l| l.chain_id.clone())
        .collect()
}

fn hex(chain_id: &str) -> &str {
    chain_id.strip_prefix("sha256:").unwrap()
}

/// A two-layer image with a setuid-root copy of the host's `id`, a 0666 device node that
/// opens the host's /dev/null, and a directory given to uid 12345.
fn risky_image() -> Fixture {
    let id = std::fs::read("/usr/bin/id").expect("the host's /usr/bin/id");
    let layers = vec![
        vec![
            Entry::dir("bin"),
            Entry::file("bin/id-suid", id).with_mode(0o4755),
            Entry::dir("dev"),
            Entry::char_dev("dev/null2", 1, 3).with_mode(0o666),
            Entry::dir("shared")
                .with_owner(12345, 12345)
                .with_mode(0o755),
            Entry::file("shared/tool", "#!/bin/sh\necho genuine\n").with_mode(0o755),
        ],
        vec![Entry::file("etc-note", "second layer\n")],
    ];
    image_of_entries("risky.tar", &layers, Compression::Gzip, Format::Oci)
}

/// The store's directories are 0700 and an ordinary user reaches nothing in them: not the
/// layers' setuid files, not a directory the image gives to that user's uid.
#[test]
fn store_is_private_and_other_users_reach_nothing_in_it() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    let mp = env.mountpoint("m");
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    for sub in [
        "",
        "layers",
        "layers/sha256",
        "layers-userxattr",
        "l",
        "tmp",
        "locks",
        "mounts",
        "kept",
    ] {
        assert_eq!(mode_of(&env.store.join(sub)), 0o700, "STORE/{sub}");
    }
    for layer in env.layer_dirs() {
        assert_eq!(mode_of(&layer), 0o700, "{}", layer.display());
    }
    // Let others as far as the store's parent, as a real /var/lib would.
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let layer0 = env
        .layer_dirs()
        .into_iter()
        .find(|l| l.join("diff/bin/id-suid").exists())
        .expect("a layer in the store holds bin/id-suid");
    let suid = layer0.join("diff/bin/id-suid");
    let run = as_user(65534, &suid, &["-u"]);
    assert!(
        !run.status.success(),
        "uid 65534 ran a setuid file straight from the store: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let plant = layer0.join("diff/shared/planted");
    let touch = as_user(
        12345,
        Path::new("/usr/bin/touch"),
        &[plant.to_str().unwrap()],
    );
    assert!(
        !touch.status.success(),
        "uid 12345 planted a file in a layer"
    );
    assert!(!plant.exists());
    let ls = as_user(
        65534,
        Path::new("/bin/ls"),
        &[env.store.join("layers/sha256").to_str().unwrap()],
    );
    assert!(!ls.status.success(), "uid 65534 listed the store's layers");
}

/// Through the mount, the image's setuid bit and device node have no effect unless asked
/// for with --suid/--dev.
#[test]
fn mount_is_nosuid_and_nodev_unless_asked() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fx = risky_image();
    let safe = env.mountpoint("safe");
    env.mount_ok(&sel(fx.arg(), &[]), &safe, &[]);
    let euid = |mp: &Path| {
        let out = as_user(65534, &mp.join("bin/id-suid"), &["-u"]);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(euid(&safe), "65534", "setuid took effect through the mount");
    let dev = std::fs::OpenOptions::new()
        .write(true)
        .open(safe.join("dev/null2"));
    assert_eq!(
        dev.err().and_then(|e| e.raw_os_error()),
        Some(13),
        "the image's device node opened through a nodev mount"
    );
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == safe.to_str())
        .unwrap();
    assert!(line.contains("nosuid") && line.contains("nodev"), "{line}");

    let risky = env.mountpoint("risky");
    let out = env.mount_ok(&sel(fx.arg(), &[]), &risky, &["--suid", "--dev"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("warning: mounted with --suid --dev"),
        "{out}"
    );
    assert_eq!(euid(&risky), "0", "--suid did not let the setuid bit work");
    std::fs::OpenOptions::new()
        .write(true)
        .open(risky.join("dev/null2"))
        .expect("--dev lets the device node open");
}

/// A store others could read is tightened once (said on stderr); one group or others could
/// write, or one of another user, is refused with the path named and nothing mounted.
#[test]
fn loose_stores_are_tightened_and_unsafe_ones_refused() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    std::fs::create_dir(&env.store).unwrap();
    std::fs::set_permissions(&env.store, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mp = env.mountpoint("m");
    let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    assert!(out.stderr.contains("made it 0700"), "{out}");
    assert_eq!(mode_of(&env.store), 0o700);
    env.umount_ok(&mp, &[]);
    let again = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    assert!(
        !again.stderr.contains("made it 0700"),
        "said twice: {again}"
    );
    env.umount_ok(&mp, &[]);

    std::fs::set_permissions(
        env.store.join("mounts"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("writable by group or others")
            && out
                .stderr
                .contains(&env.store.join("mounts").display().to_string()),
        "{out}"
    );
    assert_eq!(mount_count(&mp), 0);
    std::fs::set_permissions(
        env.store.join("mounts"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();

    std::os::unix::fs::chown(&env.store, Some(65534), Some(65534)).unwrap();
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("belongs to uid 65534"), "{out}");
    assert_eq!(mount_count(&mp), 0);
}

/// Files planted in the store are never followed: a lock symlink does not truncate its
/// target, a fake layer's `link` file does not make prune delete outside the store, and a
/// layer whose `diff` is a symlink to `/` is refused instead of mounted.
#[test]
fn planted_files_in_the_store_are_not_followed() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    let chain = chain_of(&fx);
    let victim = env.root.join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    std::fs::create_dir_all(env.store.join("locks")).unwrap();
    std::fs::set_permissions(&env.store, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(
        &victim,
        env.store
            .join("locks")
            .join(format!("{}.lock", hex(&chain[0]))),
    )
    .unwrap();
    let mp = env.mountpoint("m");
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me", "{out}");
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("lock file"), "{out}");
    std::fs::remove_file(
        env.store
            .join("locks")
            .join(format!("{}.lock", hex(&chain[0]))),
    )
    .unwrap();

    // A fake layer whose link names a file outside the store.
    let victim2 = env.root.join("victim2");
    std::fs::write(&victim2, b"keep me too").unwrap();
    let fake = env.store.join("layers/sha256").join("ab".repeat(32));
    std::fs::create_dir_all(fake.join("diff")).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(fake.join("link"), "../../../victim2\n").unwrap();
    std::fs::write(
        fake.join("diff-id"),
        format!("sha256:{}\n", "ab".repeat(32)),
    )
    .unwrap();
    std::fs::write(
        fake.join("complete"),
        format!("sha256:{}\n", "ab".repeat(32)),
    )
    .unwrap();
    let out = env.store_cmd(&["prune"]);
    out.assert_ok("store prune");
    assert_eq!(std::fs::read(&victim2).unwrap(), b"keep me too", "{out}");

    // A layer's diff replaced by a symlink to the host's root.
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    env.umount_ok(&mp, &[]);
    let layer = env.store.join("layers/sha256").join(hex(&chain[0]));
    std::fs::rename(layer.join("diff"), layer.join("diff.real")).unwrap();
    std::os::unix::fs::symlink("/", layer.join("diff")).unwrap();
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert_eq!(
        mount_count(&mp),
        0,
        "mounted a layer whose diff is a symlink: {out}"
    );
    assert!(out.stderr.contains(hex(&chain[0])), "{out}");
    assert!(Path::new("/etc/passwd").exists());
}

/// A layer without its completion record (a half-removed or half-written one) is never
/// reused: the next mount builds it again and shows every file.
#[test]
fn an_incomplete_layer_is_rebuilt_not_reused() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    let chain = chain_of(&fx);
    let mp = env.mountpoint("m");
    let want = {
        env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
        let t = read_view(&mp);
        env.umount_ok(&mp, &[]);
        t
    };
    let layer = env.store.join("layers/sha256").join(hex(&chain[0]));
    std::fs::remove_file(layer.join("complete")).unwrap();
    std::fs::remove_file(layer.join("diff/shared/tool")).unwrap();
    let ls = env.store_ls();
    assert_eq!(ls.len(), 1, "store ls lists an incomplete layer: {ls:?}");
    let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(unpack_counts(&out), (1, 1), "{out}");
    let got = read_view(&mp);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(mp.join("shared/tool").exists());
}

/// A layer of many files, for removals slow enough to be killed half-way.
fn wide_image(files: usize) -> Fixture {
    let mut layer = vec![Entry::dir("d")];
    for i in 0..files {
        layer.push(Entry::file(&format!("d/f{i:06}"), format!("{i}\n")));
    }
    let layers = vec![layer, vec![Entry::file("top", "top\n")]];
    image_of_entries("wide.tar", &layers, Compression::Gzip, Format::Oci)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// `store rm` killed at any moment leaves the whole layer or nothing visible; the next mount
/// shows every file, and what the killed run left in tmp/ is cleaned by the next run.
#[test]
fn a_killed_removal_leaves_the_whole_layer_or_nothing() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let files = 10_000;
    let fx = wide_image(files);
    let chain = chain_of(&fx);
    let mp = env.mountpoint("m");
    for delay_ms in [5u64, 40, 120] {
        env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
        env.umount_ok(&mp, &[]);
        let mut child = Command::new(common::sandbox::strata_bin())
            .args(["store", "rm", &chain[1], &chain[0], "--store"])
            .arg(&env.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let listed = env.store_ls().len();
        let layer = env.store.join("layers/sha256").join(hex(&chain[0]));
        if layer.exists() && listed == 2 {
            assert_eq!(
                count_files(&layer.join("diff/d")),
                files,
                "after {delay_ms} ms"
            );
        }
        let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
        assert_eq!(
            count_files(&mp.join("d")),
            files,
            "after a removal killed at {delay_ms} ms: {out}"
        );
        assert!(
            std::fs::read_dir(env.store.join("tmp"))
                .unwrap()
                .next()
                .is_none(),
            "the killed removal's leftovers were not cleaned by the next run"
        );
        env.umount_ok(&mp, &[]);
    }
}

/// Starts `strata mount` and waits (up to 20 s) until it is building a layer in `tmp/`;
/// whether it got there.
fn mount_in_background(env: &MountEnv, fx: &Fixture, mp: &Path) -> (std::process::Child, bool) {
    let child = Command::new(common::sandbox::strata_bin())
        .arg("mount")
        .arg(fx.arg())
        .arg(mp)
        .arg("--store")
        .arg(&env.store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while count_files(&env.store.join("tmp")) == 0 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(2));
    }
    (child, count_files(&env.store.join("tmp")) > 0)
}

/// A mount killed while unpacking leaves a staging dir that no later run mistakes for a
/// layer and that the next run removes.
#[test]
fn a_killed_unpack_is_cleaned_and_never_reused() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let files = 20_000;
    let fx = wide_image(files);
    let mp = env.mountpoint("m");
    let (mut child, _) = mount_in_background(&env, &fx, &mp);
    std::thread::sleep(Duration::from_millis(20));
    let _ = child.kill();
    let _ = child.wait();
    if mount_count(&mp) > 0 {
        eprintln!("note: the mount finished before it could be killed");
        env.umount_ok(&mp, &[]);
    }
    let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(count_files(&mp.join("d")), files, "{out}");
    assert_eq!(count_files(&env.store.join("tmp")), 0);
}

/// `store rm` of a base layer while a mount builds the layer above it is refused (the mount
/// holds the base), and the mount's view is whole; `prune` during a mount never takes a layer
/// the mount uses.
#[test]
fn removal_and_prune_wait_for_nobody_and_take_no_layer_in_use() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let base = wide_image(50);
    let chain = chain_of(&base);
    let mp = env.mountpoint("m");
    // The base in the store; a second image on top of it with a big layer to build.
    env.mount_ok(&sel(base.arg(), &[]), &mp, &[]);
    env.umount_ok(&mp, &[]);
    let mut layers = vec![Vec::new(); 2];
    layers[0] = {
        let mut l = vec![Entry::dir("d")];
        for i in 0..50 {
            l.push(Entry::file(&format!("d/f{i:06}"), format!("{i}\n")));
        }
        l
    };
    let mut big = vec![Entry::dir("e")];
    for i in 0..40_000 {
        big.push(Entry::file(&format!("e/g{i:06}"), "x"));
    }
    layers[1] = big;
    let fx = image_of_entries("above.tar", &layers, Compression::Gzip, Format::Oci);
    assert_eq!(chain_of(&fx)[0], chain[0]);
    let (mut child, building) = mount_in_background(&env, &fx, &mp);
    let rm = env.store_cmd(&["rm", &chain[0]]);
    let prune = env.store_cmd(&["prune"]);
    let status = child.wait().unwrap();
    assert!(status.success(), "the mount failed");
    if building {
        assert_eq!(rm.code, Some(2), "rm of the base during the mount: {rm}");
        assert!(rm.stderr.contains("in use"), "{rm}");
    } else {
        eprintln!("note: the mount finished its unpack before rm ran");
    }
    prune.assert_ok("prune during a mount");
    assert_eq!(fstype_at(&mp).as_deref(), Some("overlay"));
    assert_eq!(count_files(&mp.join("d")), 50);
    assert_eq!(count_files(&mp.join("e")), 40_000);
}

/// Layers unpacked for a rootless mount (user.overlay.opaque) are not used by a root mount
/// (trusted.overlay.opaque): root builds its own, and the opaque directory hides what it must.
#[test]
fn rootless_and_root_layers_are_kept_apart() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    std::fs::set_permissions(&env.root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let layers = vec![
        vec![Entry::dir("o"), Entry::file("o/old", "old\n")],
        vec![
            Entry::dir("o"),
            Entry::opaque("o"),
            Entry::file("o/new", "new\n"),
        ],
    ];
    let fx = image_of_entries("opaque.tar", &layers, Compression::Gzip, Format::Oci);
    common::sandbox::share(&fx);
    std::fs::create_dir(&env.store).unwrap();
    std::os::unix::fs::chown(&env.store, Some(65534), Some(65534)).unwrap();
    let shell = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
        ])
        .arg(common::sandbox::strata_bin())
        .arg("shell")
        .arg(fx.arg())
        .arg("--store")
        .arg(&env.store)
        .args(["--host-root", "--", "/bin/true"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &env.root)
        .current_dir("/")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&shell.stderr);
    if stderr.contains("user namespace") {
        common::skipped(format!("no unprivileged user namespaces here ({stderr})"));
        return;
    }
    assert!(shell.status.success(), "rootless shell: {stderr}");
    // The rootless store is private too (it was made 0755 above: tightened, and said so).
    assert!(stderr.contains("made it 0700"), "{stderr}");
    for sub in ["", "layers-userxattr/sha256", "mounts", "tmp", "locks"] {
        assert_eq!(mode_of(&env.store.join(sub)), 0o700, "rootless STORE/{sub}");
    }
    assert_eq!(
        count_files(&env.store.join("layers-userxattr/sha256")),
        2,
        "the rootless layers are kept apart"
    );
    // The same store, now root's.
    Command::new("chown")
        .args(["-R", "0:0"])
        .arg(&env.store)
        .status()
        .unwrap();
    let mp = env.mountpoint("m");
    let out = env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(
        unpack_counts(&out),
        (2, 0),
        "root reused rootless layers: {out}"
    );
    assert!(mp.join("o/new").exists());
    assert!(
        !mp.join("o/old").exists(),
        "the opaque directory shows the lower layer's file"
    );
}

/// `umount` unmounts only strata's own overlay: with a tmpfs on top it refuses and the
/// overlay and its upper dir stay; a mount moved away keeps its upper dir when a new mount
/// takes its old path.
#[test]
fn umount_and_stale_detection_go_by_identity() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    let mp = env.mountpoint("m");
    env.mount_ok(&sel(fx.arg(), &[]), &mp, &[]);
    std::fs::write(mp.join("edit"), b"mine").unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&mp)
        .status()
        .unwrap();
    assert!(status.success());
    let out = env.umount(&mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("tmpfs"), "{out}");
    assert_eq!(fstype_at(&mp).as_deref(), Some("tmpfs"));
    rustix::mount::unmount(&mp, rustix::mount::UnmountFlags::empty()).unwrap();
    assert_eq!(std::fs::read(mp.join("edit")).unwrap(), b"mine");
    env.umount_ok(&mp, &[]);

    // A mount whose parent directory is renamed, then a new mount at the old path.
    let pa = env.root.join("pa");
    std::fs::create_dir_all(pa.join("m")).unwrap();
    env.mount_ok(&sel(fx.arg(), &[]), &pa.join("m"), &[]);
    std::fs::write(pa.join("m/edit"), b"in pb").unwrap();
    let pb = env.root.join("pb");
    std::fs::rename(&pa, &pb).unwrap();
    std::fs::create_dir_all(pa.join("m")).unwrap();
    env.mount_ok(&sel(fx.arg(), &[]), &pa.join("m"), &[]);
    assert_eq!(
        std::fs::read(pb.join("m/edit")).unwrap(),
        b"in pb",
        "the moved mount lost its upper dir"
    );
    env.umount_ok(&pa.join("m"), &[]);
    env.umount_ok(&pb.join("m"), &[]);
    assert!(env.mount_dirs().is_empty(), "{:?}", env.mount_dirs());
}

/// More layers than overlayfs can stack are refused before anything is unpacked.
#[test]
fn too_many_layers_are_refused_before_unpacking() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let layers: Vec<Vec<Entry>> = (0..501)
        .map(|i| vec![Entry::file(&format!("f{i}"), format!("{i}"))])
        .collect();
    let fx = image_of_entries("many.tar", &layers, Compression::None, Format::Docker);
    let mp = env.mountpoint("m");
    let out = env.mount(&sel(fx.arg(), &[]), &mp, &[]);
    assert_eq!(out.code, Some(2), "{out}");
    assert!(
        out.stderr.contains("501 layers") && out.stderr.contains("500"),
        "{out}"
    );
    assert_eq!(
        env.layer_dirs().len(),
        0,
        "layers were unpacked before the refusal"
    );
}

/// The start time of this process (field 22 of /proc/self/stat), as strata records it.
fn own_start_time() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    after.split_whitespace().nth(19).unwrap().parse().unwrap()
}

/// What a killed `extract` left beside DEST (its staging dir, its in-order wrapper) is
/// removed by the next extraction there; a live run's staging is left alone.
#[test]
fn a_killed_extractions_staging_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join(".out.strata-tmp-999999999.1");
    let dead_wrapper = dir.path().join(".out.strata-tmp-999999999.1.d");
    let live = dir.path().join(format!(
        ".out.strata-tmp-{}.{}",
        std::process::id(),
        own_start_time()
    ));
    for d in [&dead, &dead_wrapper, &live] {
        std::fs::create_dir_all(d.join("usr/bin")).unwrap();
        std::fs::write(d.join("usr/bin/tool"), b"x").unwrap();
    }
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/hello.tar");
    let out = Command::new(common::sandbox::strata_bin())
        .arg("extract")
        .arg(&hello)
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !dead.exists() && !dead_wrapper.exists(),
        "dead staging kept"
    );
    assert!(
        live.join("usr/bin/tool").exists(),
        "a live run's staging was removed"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("left by a killed extraction"));
    assert!(dir.path().join("out/bin/hello").exists());
}

/// `prune` removes what runs left behind: the record of a mount unmounted by hand (its layers
/// are then unused and go too), and lock files of layers no longer in the store; a live
/// mount's record and layers stay.
#[test]
fn prune_removes_records_of_vanished_mounts_and_unused_lock_files() {
    if !can_run() {
        return;
    }
    let env = MountEnv::new();
    let fx = risky_image();
    let other = wide_image(3);
    let live = env.mountpoint("live");
    let gone = env.mountpoint("gone");
    env.mount_ok(&sel(fx.arg(), &[]), &live, &[]);
    env.mount_ok(&sel(other.arg(), &[]), &gone, &[]);
    rustix::mount::unmount(&gone, rustix::mount::UnmountFlags::empty()).unwrap();
    assert_eq!(env.mount_dirs().len(), 2);
    let out = env.store_cmd(&["prune"]);
    out.assert_ok("store prune");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("is gone"), "{out}");
    assert!(stdout.contains("removed 2 unused layers"), "{out}");
    assert_eq!(env.mount_dirs().len(), 1, "{out}");
    let layers: Vec<String> = env
        .store_ls()
        .iter()
        .map(|r| r["chain_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers, {
        let mut c = chain_of(&fx);
        c.sort();
        c
    });
    let locks: Vec<String> = std::fs::read_dir(env.store.join("locks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for c in chain_of(&other) {
        assert!(
            !locks.contains(&format!("{}.lock", hex(&c))),
            "the lock file of a removed layer stayed: {locks:?}"
        );
    }
    assert_eq!(fstype_at(&live).as_deref(), Some("overlay"));
}
