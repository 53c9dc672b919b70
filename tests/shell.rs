//! `strata shell`: the command runs inside the image — its root as `/` (pivot_root), a fresh
//! `/proc` of a new pid namespace, a minimal `/dev`, a tmpfs `/tmp`, the config's Env,
//! WorkingDir and User — with nothing of the host or the store visible; the session dir is
//! unique and removed however the session ends (exit, SIGINT/SIGHUP/SIGTERM to strata, strata
//! killed: then by the next run); the exit code is the command's. As root, and as uid 65534
//! (`setpriv`) through a user namespace; `--host-root` keeps the host's `/`.
//!
//! The images hold a static busybox copied from the host (`busybox-static`, which `.ci/run`
//! installs): the test images need a shell of their own. A test that cannot run here says why
//! on stderr ("skipped: …").

use crate::common;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::image::{assemble, config_json, ImageSpec};
use crate::common::layer::{build_layer, BuiltLayer, Compression, LayerSpec};
use crate::common::layouts::{add_image, index_value, oci_items, ref_annotation, Blobs};
use crate::common::sandbox::{history_for, is_root, run_strata, strata_bin, Opts, Out};
use crate::common::tarball::{items_to_tar, Entry};

const DEBIAN_VERSION: &str = "12.15-strata-test\n";
const APPLETS: &[&str] = &[
    "sh", "cat", "ls", "id", "pwd", "echo", "sleep", "test", "touch", "readlink", "true", "kill",
    "tr", "grep",
];

/// A private directory (0777, so uid 65534 can make its store here) with the store and images.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("strata-shell")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        Env { dir }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// `shell-*` session dirs in the store.
    fn sessions(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.store().join("mounts")) else {
            return Vec::new();
        };
        let mut v: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("shell-"))
            .collect();
        v.sort();
        v
    }

    /// An OCI tar of a two-layer image: busybox, /etc/{debian_version,passwd,group} and a
    /// greeting below, `extra` above; `config` keys are set in the config's `config`.
    fn busybox_image(&self, extra: Vec<Entry>, config: &[(&str, Value)]) -> Option<PathBuf> {
        let Ok(busybox) = std::fs::read("/bin/busybox") else {
            common::skipped("/bin/busybox (package busybox-static) is not installed");
            return None;
        };
        let mut base = vec![
            Entry::dir("bin"),
            Entry::file("bin/busybox", busybox).with_mode(0o755),
            Entry::dir("etc"),
            Entry::file("etc/debian_version", DEBIAN_VERSION),
            Entry::file(
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n",
            ),
            Entry::file("etc/group", "root:x:0:\napp:x:1001:\nstaff:x:50:app\n"),
            Entry::dir("usr"),
            Entry::dir("usr/share"),
            Entry::file("usr/share/greeting.txt", "hello world\n"),
        ];
        for a in APPLETS {
            base.push(Entry::symlink(&format!("bin/{a}"), "busybox"));
        }
        let layers = vec![
            LayerSpec::new(base, Compression::None),
            LayerSpec::new(extra, Compression::None),
        ];
        let spec = ImageSpec::new("shell-test:1", layers, history_for(2));
        let mut built: Vec<BuiltLayer> = spec.layers.iter().map(build_layer).collect();
        let diff_ids: Vec<String> = built.iter().map(|l| l.expect.diff_id.clone()).collect();
        let mut cfg: Value = serde_json::from_slice(&config_json(&spec, &diff_ids)).unwrap();
        for (k, v) in config {
            cfg["config"][*k] = v.clone();
        }
        let mut img = assemble(&spec, serde_json::to_vec(&cfg).unwrap(), &mut built);
        let mut blobs = Blobs::new();
        let mut desc = add_image(&mut blobs, &mut img);
        ref_annotation(&mut desc, "shell-test:1");
        let path = self.dir.path().join(format!("image-{}.tar", self.count()));
        std::fs::write(
            &path,
            items_to_tar(&oci_items(&blobs, &index_value(vec![desc]))),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        Some(path)
    }

    fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path()).unwrap().count()
    }

    fn hello(&self) -> PathBuf {
        let dst = self.dir.path().join("hello.tar");
        std::fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hello.tar"),
            &dst,
        )
        .unwrap();
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644)).unwrap();
        dst
    }

    fn args(&self, image: &Path, extra: &[&str], cmd: &[&str]) -> Vec<String> {
        let mut a = vec![
            "shell".to_string(),
            image.display().to_string(),
            "--store".into(),
            self.store().display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        if !cmd.is_empty() {
            a.push("--".into());
            a.extend(cmd.iter().map(|s| s.to_string()));
        }
        a
    }

    /// `strata shell IMAGE --store STORE EXTRA -- CMD`, as root or as uid 65534.
    fn shell(&self, who: Who, image: &Path, extra: &[&str], cmd: &[&str]) -> Out {
        let args = self.args(image, extra, cmd);
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let opts = Opts {
            as_nobody: who == Who::Nobody,
            timeout: Duration::from_secs(60),
            ..Opts::default()
        };
        run_strata(&args, &opts)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Root,
    Nobody,
}

/// Who this machine can run the tests as (with a reason on stderr for each left out).
fn users() -> Vec<Who> {
    if !is_root() {
        common::skipped("the shell tests run as root (and drop to uid 65534 with setpriv)");
        return Vec::new();
    }
    let mut v = vec![Who::Root];
    if Command::new("setpriv").arg("--version").output().is_ok() {
        v.push(Who::Nobody);
    } else {
        common::skipped("setpriv (util-linux) is not installed: no rootless runs");
    }
    v
}

/// False (with the reason on stderr) when uid 65534 may not create a user namespace here.
fn userns_refused(out: &Out) -> bool {
    if out.stderr.contains("creating a user namespace") {
        common::skipped(format!(
            "unprivileged user namespaces are disabled here: {}",
            out.stderr
        ));
        return true;
    }
    false
}

fn stdout(out: &Out) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn root_is_the_images_not_the_hosts() {
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        let out = env.shell(
            who,
            &image,
            &[],
            &["cat", "/etc/debian_version", "/usr/share/greeting.txt"],
        );
        if userns_refused(&out) {
            continue;
        }
        out.assert_ok(&format!("{who:?}"));
        // Measured before: the host's /etc/debian_version (12.11) where the image has 12.15.
        assert_eq!(
            stdout(&out),
            format!("{DEBIAN_VERSION}hello world\n"),
            "{who:?}"
        );
        assert_eq!(
            env.sessions(),
            Vec::<String>::new(),
            "{who:?}: session dir left"
        );
    }
}

#[test]
fn nothing_of_the_host_or_the_store_is_visible() {
    let sentinel_dir = tempfile::tempdir().unwrap();
    let sentinel = sentinel_dir.path().join("host-sentinel");
    std::fs::write(&sentinel, "host").unwrap();
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        let store = env.store().display().to_string();
        let script = format!(
            "for p in {store} {store}/layers {sentinel} /etc/hostname {exe}; do \
               test -e $p && echo visible: $p; done; \
             cat /proc/self/mountinfo; echo ROOT; ls /",
            sentinel = sentinel.display(),
            exe = strata_bin().display(),
        );
        let out = env.shell(who, &image, &[], &["sh", "-c", &script]);
        if userns_refused(&out) {
            continue;
        }
        out.assert_ok(&format!("{who:?}"));
        let text = stdout(&out);
        assert!(
            !text.contains("visible:"),
            "{who:?}: host paths inside:\n{text}"
        );
        let (mountinfo, root) = text.split_once("ROOT\n").unwrap();
        // The session's mounts name the store only as the overlay's option strings.
        for line in mountinfo.lines() {
            let mountpoint = line.split(' ').nth(4).unwrap_or("");
            assert!(
                !mountpoint.contains(&store) && !line.contains(" - ext4 ") || line.is_empty(),
                "{who:?}: a host mount inside: {line}"
            );
        }
        let names: Vec<&str> = root.lines().collect();
        assert_eq!(
            names,
            ["bin", "dev", "etc", "proc", "tmp", "usr"],
            "{who:?}"
        );
    }
}

#[test]
fn an_image_without_a_shell_is_a_clear_error_naming_host_root() {
    let Some(&who) = users().first() else {
        return;
    };
    let env = Env::new();
    let hello = env.hello();
    let out = env.shell(who, &hello, &[], &[]);
    // Measured before: the host's sh ran, so an image without a shell still "worked".
    assert_eq!(out.code, Some(2), "{out}");
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(
        errors[0].contains("no shell") && errors[0].contains("--host-root"),
        "{out}"
    );
    assert_eq!(env.sessions(), Vec::<String>::new());
    // --host-root keeps the host's / with the image at the working directory.
    let out = env.shell(
        who,
        &hello,
        &["--host-root"],
        &["cat", "usr/share/greeting.txt"],
    );
    out.assert_ok("--host-root");
    assert_eq!(stdout(&out), "hello world\n");
}

#[test]
fn image_env_and_working_dir_apply() {
    for who in users() {
        let env = Env::new();
        let config = [
            (
                "Env",
                json!(["PATH=/bin", "GREETING=from the image", "HOME=/home/x"]),
            ),
            ("WorkingDir", json!("/srv/app")),
        ];
        let Some(image) = env.busybox_image(vec![], &config) else {
            return;
        };
        let out = env.shell(
            who,
            &image,
            &[],
            &["sh", "-c", "echo $GREETING; pwd; echo $HOME $PATH"],
        );
        if userns_refused(&out) {
            continue;
        }
        out.assert_ok(&format!("{who:?}"));
        assert_eq!(
            stdout(&out),
            "from the image\n/srv/app\n/home/x /bin\n",
            "{who:?}"
        );
    }
}

#[test]
fn image_user_applies_as_root_and_is_reported_rootless() {
    for who in users() {
        let env = Env::new();
        for (user, want_root) in [
            ("app", "1000\n1001\n1001 50\n/home/app\n"),
            ("4242:77", "4242\n77\n77\n/\n"),
        ] {
            let Some(image) = env.busybox_image(vec![], &[("User", json!(user))]) else {
                return;
            };
            let out = env.shell(
                who,
                &image,
                &[],
                &["sh", "-c", "id -u; id -g; id -G; echo $HOME"],
            );
            if userns_refused(&out) {
                break;
            }
            out.assert_ok(&format!("{who:?} User {user}"));
            match who {
                Who::Root => assert_eq!(stdout(&out), want_root, "User {user}"),
                Who::Nobody => {
                    // Only uid 0 is mapped in the user namespace: run as 0, said once.
                    assert!(stdout(&out).starts_with("0\n0\n"), "{out}");
                    let warnings: Vec<&str> = out
                        .stderr
                        .lines()
                        .filter(|l| l.starts_with("warning:") && l.contains("running as uid 0"))
                        .collect();
                    assert_eq!(warnings.len(), 1, "{out}");
                }
            }
        }
    }
}

#[test]
fn proc_dev_and_tmp_are_the_sessions() {
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        let script = "readlink /proc/self; tr '\\0' ' ' < /proc/1/cmdline; echo; \
                      echo x > /dev/null && echo null ok; test -c /dev/urandom && echo urandom; \
                      test -e /dev/pts/ptmx && echo pts; touch /tmp/t && echo tmp ok";
        let out = env.shell(who, &image, &[], &["sh", "-c", script]);
        if userns_refused(&out) {
            continue;
        }
        out.assert_ok(&format!("{who:?}"));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        // The shell is a child of pid 1 (strata __init) in a new pid namespace.
        let me: u32 = lines[0].parse().unwrap_or(u32::MAX);
        assert!(
            (2..10).contains(&me),
            "{who:?}: /proc/self is {:?}:\n{text}",
            lines[0]
        );
        assert!(
            lines[1].contains("__init"),
            "{who:?}: pid 1 is {:?}",
            lines[1]
        );
        for want in ["null ok", "urandom", "pts", "tmp ok"] {
            assert!(lines.contains(&want), "{who:?}: {want:?} missing:\n{text}");
        }
    }
}

/// Starts `strata shell IMAGE -- sh -c 'echo > /ready; SCRIPT'` and waits until /ready is in
/// the session's upper dir.
// The child is handed to the caller, which waits for it.
#[allow(clippy::zombie_processes)]
fn start_session(env: &Env, who: Who, image: &Path, script: &str) -> Option<Child> {
    let full = format!("echo > /ready; {script}");
    let args = env.args(image, &[], &["sh", "-c", &full]);
    let mut c = if who == Who::Nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(strata_bin());
        c
    } else {
        Command::new(strata_bin())
    };
    c.args(&args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let ready = env.sessions().iter().any(|s| {
            env.store()
                .join("mounts")
                .join(s)
                .join("upper/ready")
                .exists()
        });
        if ready {
            return Some(child);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            if err.contains("creating a user namespace") {
                common::skipped(format!(
                    "unprivileged user namespaces are disabled here: {err}"
                ));
                return None;
            }
            panic!("the session ended early ({status}): {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the session never became ready");
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("strata did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

/// Processes whose command line is exactly `argv` (NUL-separated).
fn processes_running(argv: &[&str]) -> usize {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| *c == want)
        .count()
}

#[test]
fn session_dir_goes_when_strata_gets_sigterm_sigint_or_sighup() {
    use rustix::process::Signal;
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        for (sig, num) in [(Signal::TERM, 15), (Signal::INT, 2), (Signal::HUP, 1)] {
            let Some(mut child) = start_session(&env, who, &image, "exec sleep 3001") else {
                return;
            };
            signal(&child, sig);
            let status = wait_for(&mut child, Duration::from_secs(30));
            // Measured before: after SIGINT or SIGHUP `mounts/shell-PID` stayed for ever.
            assert_eq!(status.code(), Some(128 + num), "{who:?} {sig:?}");
            assert_eq!(env.sessions(), Vec::<String>::new(), "{who:?} {sig:?}");
            assert_eq!(processes_running(&["sleep", "3001"]), 0, "{who:?} {sig:?}");
        }
    }
}

/// A command that ignores SIGTERM is killed after the grace period; the dir still goes.
#[test]
fn a_command_ignoring_sigterm_is_killed_and_its_session_removed() {
    let Some(&who) = users().first() else {
        return;
    };
    let env = Env::new();
    let Some(image) = env.busybox_image(vec![], &[]) else {
        return;
    };
    let Some(mut child) =
        start_session(&env, who, &image, "trap '' TERM; while :; do sleep 1; done")
    else {
        return;
    };
    signal(&child, rustix::process::Signal::TERM);
    let status = wait_for(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(143));
    assert_eq!(env.sessions(), Vec::<String>::new());
}

#[test]
fn a_killed_strata_takes_its_command_along_and_the_next_run_removes_the_session() {
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        let Some(mut child) = start_session(&env, who, &image, "exec sleep 3002") else {
            return;
        };
        signal(&child, rustix::process::Signal::KILL);
        wait_for(&mut child, Duration::from_secs(10));
        let start = Instant::now();
        while processes_running(&["sleep", "3002"]) > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{who:?}: the command outlived strata"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(env.sessions().len(), 1, "{who:?}: SIGKILL leaves the dir");
        let out = env.shell(who, &image, &[], &["true"]);
        out.assert_ok(&format!("{who:?}"));
        assert_eq!(
            env.sessions(),
            Vec::<String>::new(),
            "{who:?}: dead session kept"
        );
    }
}

#[test]
fn planted_dead_sessions_are_removed_live_and_mounted_ones_kept() {
    if !common::overlay::ready() {
        common::skipped("needs root and overlayfs");
        return;
    }
    let env = Env::new();
    let Some(image) = env.busybox_image(vec![], &[]) else {
        return;
    };
    let mounts = env.store().join("mounts");
    std::fs::create_dir_all(&mounts).unwrap();
    // A pid that existed and is gone.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let me = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
    let my_start: u64 = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let plant = |name: &str, pid: u32, start: u64| {
        let d = mounts.join(name);
        for sub in ["upper", "work", "merged"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(
            d.join("info.json"),
            json!({"pid": pid, "start_time": start, "layers": [], "shell": true}).to_string(),
        )
        .unwrap();
        d
    };
    plant("shell-00000000000000d1", gone.id(), 1);
    // Same pid as a live process but another start time: the pid was reused.
    plant("shell-00000000000000d2", me, my_start + 1);
    plant("shell-00000000000000a1", me, my_start);
    let busy = plant("shell-00000000000000b1", gone.id(), 1);
    // A dead owner, but an overlay still uses its upper: kept.
    let lower = env.dir.path().join("lower");
    let mp = env.dir.path().join("mp");
    std::fs::create_dir_all(&lower).unwrap();
    std::fs::create_dir_all(&mp).unwrap();
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        busy.join("upper").display(),
        busy.join("work").display()
    );
    let st = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &opts])
        .arg(&mp)
        .status()
        .unwrap();
    assert!(st.success());
    let out = env.shell(Who::Root, &image, &[], &["true"]);
    let _ = Command::new("umount").arg(&mp).status();
    out.assert_ok("run with planted sessions");
    assert_eq!(
        env.sessions(),
        ["shell-00000000000000a1", "shell-00000000000000b1"],
        "dead sessions kept or live ones removed"
    );
}

#[test]
fn exit_code_is_the_commands() {
    for who in users() {
        let env = Env::new();
        let Some(image) = env.busybox_image(vec![], &[]) else {
            return;
        };
        for (script, code) in [("exit 7", 7), ("kill -TERM $$", 143), ("true", 0)] {
            let out = env.shell(who, &image, &[], &["sh", "-c", script]);
            if userns_refused(&out) {
                break;
            }
            assert_eq!(out.code, Some(code), "{who:?} {script}: {out}");
        }
        let out = env.shell(who, &image, &[], &["no-such-program"]);
        assert_eq!(out.code, Some(127), "{who:?}: {out}");
        assert_eq!(env.sessions(), Vec::<String>::new());
    }
}

#[test]
fn rootless_shell_writes_to_its_own_upper_only() {
    if !users().contains(&Who::Nobody) {
        return;
    }
    let env = Env::new();
    let Some(image) = env.busybox_image(vec![Entry::whiteout("usr/share", "greeting.txt")], &[])
    else {
        return;
    };
    let out = env.shell(
        Who::Nobody,
        &image,
        &[],
        &[
            "sh",
            "-c",
            "ls /usr/share; id -u; echo new > /bin/x && cat /bin/x",
        ],
    );
    if userns_refused(&out) {
        return;
    }
    out.assert_ok("rootless");
    // The whiteout hides the greeting; inside the user namespace the user is root, and the
    // overlay is writable.
    assert_eq!(stdout(&out), "0\nnew\n");
    assert_eq!(env.sessions(), Vec::<String>::new());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(&env.dir.path().display().to_string()),
        "{mountinfo}"
    );
    // The layers stay in the store for the next time, untouched.
    let layers = std::fs::read_dir(env.store().join("layers-userxattr/sha256"))
        .unwrap()
        .count();
    assert_eq!(layers, 2);
    let out = env.shell(Who::Nobody, &image, &[], &["cat", "/bin/x"]);
    assert_eq!(
        out.code,
        Some(1),
        "a write leaked into a shared layer: {out}"
    );
}

/// Where the kernel refuses overlayfs in a user namespace, `shell` falls back on
/// fuse-overlayfs; STRATA_OVERLAY=fuse takes that path on purpose (as root: /dev/fuse is
/// usually root-only).
#[test]
fn fuse_overlayfs_fallback_shows_the_same_tree() {
    if !is_root() {
        common::skipped("needs root for /dev/fuse");
        return;
    }
    if Command::new("fuse-overlayfs")
        .arg("--version")
        .output()
        .is_err()
    {
        common::skipped("fuse-overlayfs is not installed");
        return;
    }
    let env = Env::new();
    let Some(image) = env.busybox_image(vec![], &[]) else {
        return;
    };
    let out = Command::new(strata_bin())
        .args(env.args(
            &image,
            &[],
            &[
                "sh",
                "-c",
                "cat /usr/share/greeting.txt; grep -c fuse /proc/self/mounts",
            ],
        ))
        .env("STRATA_OVERLAY", "fuse")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"hello world"), "{stdout}");
    assert!(
        lines.len() == 2 && lines[1].parse::<u32>().unwrap_or(0) >= 1,
        "{stdout}"
    );
    assert_eq!(env.sessions(), Vec::<String>::new());
}

/// On a terminal (`script` gives one) the image's shell is interactive and puts itself in a
/// process group of its own: pid 1 must still see it exit. Regression: it waited for its own
/// group only, and the session hung.
#[test]
fn an_interactive_shell_on_a_terminal_ends_the_session_with_its_code() {
    if users().is_empty() {
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        common::skipped("script (util-linux) is not installed: no terminal to test with");
        return;
    }
    let env = Env::new();
    let Some(image) = env.busybox_image(vec![], &[]) else {
        return;
    };
    let cmdline = std::iter::once(strata_bin().display().to_string())
        .chain(env.args(&image, &[], &[]))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    use std::io::Write;
    input.write_all(b"echo in-$$; exit 3\n").unwrap();
    let status = wait_for(&mut child, Duration::from_secs(30));
    drop(input);
    let mut text = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(status.code(), Some(3), "{text}");
    assert!(text.contains("in-2"), "{text}");
    assert_eq!(env.sessions(), Vec::<String>::new());
}
