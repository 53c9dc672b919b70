//! Support for the `extract` tests: images built from layer entry lists, a sandbox directory
//! whose every byte outside DEST is snapshotted before and after a run, and a runner for the
//! strata binary with a time limit, optionally as an unprivileged user (`setpriv`), under an
//! address-space limit (`prlimit --as`) or with its peak RSS measured (`/usr/bin/time -f %M`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::fixtures::{legacy_bytes, oci_tar_of};
use super::image::{build_image, step, HistSpec, ImageSpec};
use super::layer::{Compression, LayerSpec};
use super::layouts::LegacyOpts;
use super::tarball::Entry;
use super::{assert_clean_error, Fixture, Run};

/// The user unprivileged runs use (`nobody`).
pub const NOBODY: u32 = 65534;

// ---------------------------------------------------------------------------------------------
// Images.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Legacy `docker save` tar.
    Docker,
    /// OCI image layout in a tar.
    Oci,
}

pub fn history_for(n: usize) -> Vec<HistSpec> {
    (0..n)
        .map(|i| {
            step(
                &format!("2023-05-01T10:{:02}:00Z", i % 60),
                &format!("layer {i}"),
            )
        })
        .collect()
}

/// One image made of `layers`, as a docker-save or OCI tar named `name`.
pub fn image_of(name: &str, layers: Vec<LayerSpec>, format: Format) -> Fixture {
    let n = layers.len();
    let spec = ImageSpec::new("extract-test:1", layers, history_for(n));
    match format {
        Format::Oci => oci_tar_of(name, &spec),
        Format::Docker => {
            let img = build_image(&spec);
            Fixture::new_file(
                name,
                &legacy_bytes(std::slice::from_ref(&img), LegacyOpts::default()),
                "docker-save",
                vec![img.expect],
            )
        }
    }
}

/// An image whose layers are these entry lists, all with one compression.
pub fn image_of_entries(
    name: &str,
    layers: &[Vec<Entry>],
    compression: Compression,
    format: Format,
) -> Fixture {
    image_of(
        name,
        layers
            .iter()
            .map(|l| LayerSpec::new(l.clone(), compression))
            .collect(),
        format,
    )
}

/// Lets another user read the fixture (temporary directories are 0700).
pub fn share(fixture: &Fixture) {
    std::fs::set_permissions(fixture.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The sandbox.

/// A private directory holding DEST's parent (`work/`) and an `outside/` directory of sentinel
/// files that images try to reach (its absolute path is what hostile symlinks point at).
pub struct Sandbox {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub work: PathBuf,
    pub outside: PathBuf,
}

pub const SENTINEL: &[u8] = b"sentinel: this file is outside DEST\n";

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let work = root.join("work");
        let outside = root.join("outside");
        std::fs::create_dir(&work).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("passwd"), SENTINEL).unwrap();
        std::fs::create_dir(outside.join("etc")).unwrap();
        std::fs::write(outside.join("etc/passwd"), SENTINEL).unwrap();
        std::fs::create_dir(outside.join("empty")).unwrap();
        std::os::unix::fs::symlink("passwd", outside.join("link")).unwrap();
        std::fs::write(work.join("neighbour.txt"), SENTINEL).unwrap();
        std::fs::write(root.join("top.txt"), SENTINEL).unwrap();
        for d in [&root, &outside] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // An unprivileged strata must be able to create DEST here.
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
        Sandbox {
            _dir: dir,
            root,
            work,
            outside,
        }
    }

    pub fn dest(&self) -> PathBuf {
        self.work.join("dest")
    }

    /// Every path of the sandbox except `dest` and what is below it: type, mode, owner, link
    /// count, size, content digest, link target and mtime (not for `work/`, whose mtime and
    /// link count DEST's creation changes).
    pub fn snapshot(&self, dest: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut todo = vec![self.root.clone()];
        while let Some(p) = todo.pop() {
            if p == dest {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            let ft = md.file_type();
            let mut d = format!("{:?} {:o} {}:{}", ft, md.mode(), md.uid(), md.gid());
            if p != self.work {
                d.push_str(&format!(" nlink={}", md.nlink()));
            }
            if ft.is_dir() {
                for e in std::fs::read_dir(&p).unwrap() {
                    todo.push(e.unwrap().path());
                }
                if p != self.work {
                    d.push_str(&format!(" mtime={}.{}", md.mtime(), md.mtime_nsec()));
                }
            } else {
                d.push_str(&format!(" mtime={}.{}", md.mtime(), md.mtime_nsec()));
            }
            if ft.is_file() {
                d.push_str(&format!(
                    " sha={}",
                    super::sha256_hex(&std::fs::read(&p).unwrap())
                ));
            }
            if ft.is_symlink() {
                d.push_str(&format!(
                    " -> {}",
                    std::fs::read_link(&p).unwrap().display()
                ));
            }
            out.insert(p.display().to_string(), d);
        }
        out
    }

    /// `.NAME.strata-tmp-*` staging leftovers beside DEST.
    pub fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.work)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".strata-tmp-"))
            .collect()
    }
}

/// Host files an image might aim at: `/etc/passwd` and friends, and the names in `/` and
/// `/etc` (a run must not add any).
pub fn host_snapshot() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for f in ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/hostname"] {
        let d = match std::fs::symlink_metadata(f) {
            Ok(md) => format!(
                "nlink={} mtime={}.{} sha={}",
                md.nlink(),
                md.mtime(),
                md.mtime_nsec(),
                std::fs::read(f)
                    .map(|b| super::sha256_hex(&b))
                    .unwrap_or_default()
            ),
            Err(e) => format!("{e}"),
        };
        out.insert(f.to_string(), d);
    }
    for dir in ["/", "/etc"] {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        out.insert(format!("ls {dir}"), names.join(" "));
    }
    out
}

/// Asserts that nothing but DEST changed: in the sandbox (`before` from [`Sandbox::snapshot`])
/// and on the host (`host_before` from [`host_snapshot`]).
#[track_caller]
pub fn assert_nothing_outside_changed(
    sb: &Sandbox,
    dest: &Path,
    before: &BTreeMap<String, String>,
    host_before: &BTreeMap<String, String>,
    ctx: &str,
) {
    let after = sb.snapshot(dest);
    let mut diffs = Vec::new();
    for k in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if before.get(k) != after.get(k) {
            diffs.push(format!(
                "{k}: before {:?}, after {:?}",
                before.get(k),
                after.get(k)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{ctx}: the sandbox changed outside DEST:\n  {}",
        diffs.join("\n  ")
    );
    let host_after = host_snapshot();
    assert_eq!(
        host_before, &host_after,
        "{ctx}: host files changed outside DEST"
    );
}

// ---------------------------------------------------------------------------------------------
// Running strata.

#[derive(Clone, Debug)]
pub struct Opts {
    pub timeout: Duration,
    /// Run as uid/gid 65534 with no supplementary groups (only possible as root).
    pub as_nobody: bool,
    /// `prlimit --as=N`: the address space strata may map.
    pub address_limit: Option<u64>,
    /// Measure the peak RSS with `/usr/bin/time -f %M`.
    pub measure_rss: bool,
    /// Count system calls with `strace -f -c -o FILE` (see [`syscalls_counted`]).
    pub count_syscalls: Option<PathBuf>,
    pub stdin: Option<Vec<u8>>,
    /// The umask strata runs with (the test process's when `None`).
    pub umask: Option<u32>,
    /// Log its `openat` calls with `strace -f -e trace=openat -o FILE`.
    pub trace_opens: Option<PathBuf>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            timeout: Duration::from_secs(120),
            as_nobody: false,
            address_limit: None,
            measure_rss: false,
            count_syscalls: None,
            stdin: None,
            umask: None,
            trace_opens: None,
        }
    }
}

/// The system calls a run under [`Opts::count_syscalls`] made, from the `total` row of
/// `strace -c`: `% time, seconds, usecs/call, calls, [errors,] total`.
pub fn syscalls_counted(file: &Path) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    let total = text
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with(" total"))
        .unwrap_or_else(|| panic!("no total row in strace's summary:\n{text}"));
    let fields: Vec<&str> = total.split_whitespace().collect();
    fields[3]
        .parse()
        .unwrap_or_else(|_| panic!("strace's total row: {total}"))
}

pub struct Out {
    /// None when killed by a signal (or by the time limit).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Peak RSS in KiB, with `measure_rss`.
    pub max_rss_kib: Option<u64>,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stdout = String::from_utf8_lossy(&self.stdout);
        let clip = |s: &str| s.chars().take(3000).collect::<String>();
        write!(
            f,
            "exit {:?}{} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            clip(&stdout),
            clip(&self.stderr)
        )
    }
}

impl Out {
    /// In the shape [`assert_clean_error`] takes.
    pub fn as_run(&self) -> Run {
        Run {
            code: self.code.unwrap_or(-1),
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: self.stderr.clone(),
            stderr_bytes: self.stderr.clone().into_bytes(),
        }
    }

    pub fn error_line(&self) -> String {
        self.stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
            .to_string()
    }

    pub fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("warning"))
            .collect()
    }

    #[track_caller]
    pub fn assert_ok(&self, ctx: &str) {
        assert!(
            self.code == Some(0) && !self.timed_out && !self.stderr.contains("panicked"),
            "{ctx}: expected success:\n{self}"
        );
    }
}

pub fn strata_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("strata")
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs `strata ARGS` with a clean environment (PATH and TZ=UTC only) and a time limit.
pub fn run_strata(args: &[&OsStr], opts: &Opts) -> Out {
    let mut argv: Vec<OsString> = Vec::new();
    if opts.measure_rss {
        argv.extend(["/usr/bin/time", "-f", "%M"].map(OsString::from));
    }
    if let Some(file) = &opts.count_syscalls {
        argv.extend(["strace", "-f", "-c", "-o"].map(OsString::from));
        argv.push(file.into());
    }
    if let Some(file) = &opts.trace_opens {
        argv.extend(["strace", "-f", "-e", "trace=openat", "-o"].map(OsString::from));
        argv.push(file.into());
    }
    if let Some(n) = opts.address_limit {
        argv.push("prlimit".into());
        argv.push(format!("--as={n}").into());
        argv.push("--".into());
    }
    if opts.as_nobody {
        assert!(is_root(), "as_nobody needs root");
        argv.extend(
            [
                "setpriv",
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ]
            .map(OsString::from),
        );
    }
    argv.push(strata_bin().into());
    argv.extend(args.iter().map(|a| a.to_os_string()));
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..]);
    c.env_clear();
    if let Some(p) = std::env::var_os("PATH") {
        c.env("PATH", p);
    }
    c.env("TZ", "UTC");
    if let Some(mask) = opts.umask {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            c.pre_exec(move || {
                libc::umask(mask as libc::mode_t);
                Ok(())
            });
        }
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.stdin(if opts.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.process_group(0);
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn strata");
    if let Some(input) = opts.stdin.clone() {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Write;
            let _ = w.write_all(&input);
        });
    }
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > opts.timeout {
            timed_out = true;
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    let stdout = t_out.join().unwrap();
    let mut stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let mut max_rss_kib = None;
    if opts.measure_rss {
        // /usr/bin/time appends its figure as the last line.
        let trimmed = stderr.trim_end().to_string();
        let (rest, last) = trimmed.rsplit_once('\n').unwrap_or(("", &trimmed));
        if let Ok(k) = last.trim().parse::<u64>() {
            max_rss_kib = Some(k);
            stderr = format!("{rest}\n");
        }
    }
    let code = if stderr.contains("Command terminated by signal") {
        None
    } else {
        status.code()
    };
    Out {
        code,
        stdout,
        stderr,
        timed_out,
        elapsed,
        max_rss_kib,
    }
}

/// `strata extract ARCHIVE DEST EXTRA...`.
pub fn extract(archive: &Path, dest: &Path, extra: &[&str], opts: &Opts) -> Out {
    let mut args: Vec<&OsStr> = vec![OsStr::new("extract"), archive.as_os_str(), dest.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    run_strata(&args, opts)
}

/// The contract for a refused image: exit 2, one clean `error:` line naming the archive, the
/// layer (`layer N`) and the offending entry, no DEST, no staging directory left beside it.
#[track_caller]
pub fn assert_refused(
    out: &Out,
    archive: &str,
    layer: usize,
    entry: &str,
    sb: &Sandbox,
    dest: &Path,
) {
    assert!(!out.timed_out, "timed out:\n{out}");
    assert_clean_error(&out.as_run(), archive);
    let line = out.error_line();
    assert!(
        line.contains(&format!("layer {layer}")),
        "the error line does not name layer {layer}:\n{out}"
    );
    assert!(
        line.contains(entry),
        "the error line does not name the entry {entry:?}:\n{out}"
    );
    assert!(
        std::fs::symlink_metadata(dest).is_err(),
        "DEST {} exists after a refusal:\n{out}",
        dest.display()
    );
    assert_eq!(
        sb.leftovers(),
        Vec::<String>::new(),
        "staging directory left beside DEST:\n{out}"
    );
}

/// An OCI tar of one image made of already built layers (for blobs no [`LayerSpec`] can
/// describe, such as a gzip bomb).
pub fn image_of_built(name: &str, mut layers: Vec<super::layer::BuiltLayer>) -> Fixture {
    use super::image::{assemble, config_json};
    use super::layouts::{add_image, index_value, oci_items, ref_annotation, Blobs};
    let spec = ImageSpec::new("extract-test:1", Vec::new(), history_for(layers.len()));
    let diff_ids: Vec<String> = layers.iter().map(|l| l.expect.diff_id.clone()).collect();
    let config = config_json(&spec, &diff_ids);
    let mut img = assemble(&spec, config, &mut layers);
    let mut blobs = Blobs::new();
    let mut desc = add_image(&mut blobs, &mut img);
    ref_annotation(&mut desc, "extract-test:1");
    Fixture::new_file(
        name,
        &super::tarball::items_to_tar(&oci_items(&blobs, &index_value(vec![desc]))),
        "oci-layout",
        vec![img.expect],
    )
}

/// A gzip layer holding one file `name` of `mib` MiB of zeros: multi-member gzip whose members
/// repeat one compressed MiB, so it costs about 1 KiB stored per MiB. The diffID is computed
/// by `sha256sum` streaming the decompressed bytes (a debug-build sha2 would take too long).
pub fn zero_bomb_layer(name: &str, mib: u64) -> super::layer::BuiltLayer {
    use super::layer::{gzip, BuiltLayer};
    use super::LayerExpect;
    const MIB: usize = 1 << 20;
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(mib * MIB as u64);
    h.set_mtime(0);
    h.set_cksum();
    let zeros = vec![0u8; MIB];
    let mut first = h.as_bytes().to_vec();
    first.extend_from_slice(&zeros);
    let end = vec![0u8; 1024];
    let middle = gzip(&zeros);
    let mut blob = gzip(&first);
    for _ in 1..mib {
        blob.extend_from_slice(&middle);
    }
    blob.extend_from_slice(&gzip(&end));
    // The decompressed stream, hashed by sha256sum.
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    {
        use std::io::Write;
        let mut w = child.stdin.take().unwrap();
        w.write_all(&first).unwrap();
        for _ in 1..mib {
            w.write_all(&zeros).unwrap();
        }
        w.write_all(&end).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let hexd = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let media_type = Compression::Gzip.oci_media_type().to_string();
    BuiltLayer {
        raw: Vec::new(),
        expect: LayerExpect {
            digest: super::sha256_digest(&blob),
            compressed_size: blob.len() as u64,
            compression: "gzip",
            media_type: media_type.clone(),
            diff_id: format!("sha256:{hexd}"),
            uncompressed_size: first.len() as u64 + (mib - 1) * MIB as u64 + 1024,
            files: 1,
            size: mib * MIB as u64,
            chain_id: String::new(),
            created_by: None,
        },
        blob,
        media_type,
    }
}

/// GNU tar extracts `tar` into a new directory in `parent`, keeping owners and xattrs, with
/// `extra` arguments (`-P`: symlinks with absolute or `..` targets are made where they stand in
/// the tar; without it GNU tar makes them at the end, each a file of its own, so hardlinks to
/// them come apart).
pub fn gnu_untar(tar: &Path, into: &Path, extra: &[&str]) {
    std::fs::create_dir(into).unwrap();
    let mut c = Command::new("tar");
    c.arg("-x")
        .arg("-f")
        .arg(tar)
        .arg("-C")
        .arg(into)
        .args(extra);
    c.args(["-p", "--numeric-owner"]);
    if is_root() {
        c.args(["--same-owner", "--xattrs", "--xattrs-include=*"]);
    }
    let out = c.output().expect("run GNU tar");
    assert!(
        out.status.success(),
        "tar -x failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Three layers. The lowest: files `x`, `d/f`, `d/g` and `t`, then a pax global header at `t`.
/// The middle: entries that are no node of a tree (a global header at `x` and at `d`, an entry of
/// an unknown type `Z` at `d/f`), a file `y` and a hardlink `h` to `t`. The top rewrites `t`.
/// Docker ignores global headers, and overlayfs sees nothing of them in a layer's directory:
/// they hide nothing, and `h` keeps the lowest layer's `t`.
pub fn non_node_entries_image(name: &str) -> Fixture {
    let global = tar::EntryType::XGlobalHeader;
    let file = tar::EntryType::Regular;
    let layer = raw_layer;
    let comment = &b"16 comment=hey\n"[..];
    let layers = vec![
        layer(&[
            (file, "x", b"lower x\n"),
            (tar::EntryType::Directory, "d", b""),
            (file, "d/f", b"lower f\n"),
            (file, "d/g", b"lower g\n"),
            (file, "t", b"lower t\n"),
            (global, "t", comment),
        ]),
        layer(&[
            (global, "x", comment),
            (global, "d", comment),
            (tar::EntryType::new(b'Z'), "d/f", b""),
            (file, "y", b"upper y\n"),
            (tar::EntryType::Link, "h", b"t"),
        ]),
        layer(&[(file, "t", b"upper t\n")]),
    ];
    image_of(name, layers, Format::Oci)
}

/// An uncompressed layer of raw entries (type, path, data; a hardlink's data is its target),
/// for entry types `Entry` does not make.
pub fn raw_layer(entries: &[(tar::EntryType, &str, &[u8])]) -> super::layer::LayerSpec {
    let mut b = tar::Builder::new(Vec::new());
    for &(kind, path, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        let target = std::str::from_utf8(data).unwrap_or_default();
        match kind {
            tar::EntryType::Link | tar::EntryType::Symlink => {
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
            _ => {
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, data).unwrap();
            }
        }
    }
    super::layer::LayerSpec::from_tar(b.into_inner().unwrap(), super::layer::Compression::None)
}
