//! Test support: deterministic fixture builders for image archives, the expectations each
//! builder computes itself from the bytes it wrote (sha2, never strata), and helpers to run the
//! `strata` binary with a clean environment.
//!
//! Submodules: `tarball` (tar writing), `layer` (blobs + compression), `image` (config +
//! history), `layouts` (docker save / OCI layouts), `fixtures` (the named variants),
//! `malformed` (bad inputs), `check` (comparing strata's JSON with expectations), `golden`
//! (expected text output kept in tests/golden/), `corpus` (finding ../shared/corpus entries),
//! `rootfs` (the layer-rules model and on-disk trees for `extract`), `sandbox` (running
//! `extract` in a snapshotted sandbox, unprivileged or with limits), `overlay` (the `mount`
//! tests' environment: overlay probe, unmount-on-drop, store layout readers), `dockerd` (a
//! private Docker daemon for the data-root tests), `stores` (what the tests against real
//! stores share: a setup cached once per process, removal at exit, store listings).
#![allow(dead_code)]

pub mod check;
pub mod corpus;
pub mod docker;
pub mod fixtures;
pub mod golden;
pub mod image;
pub mod layer;
pub mod layouts;
pub mod malformed;
pub mod overlay;
pub mod quirks;
pub mod rawnames;
pub mod rootfs;
pub mod sandbox;
pub mod stores;
pub mod tarball;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => sha256_digest(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn linux(arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
        }
    }
}

#[derive(Clone, Debug)]
pub struct LayerExpect {
    /// sha256 of the stored blob.
    pub digest: String,
    pub compressed_size: u64,
    /// "gzip", "zstd" or "none": what the bytes are, whatever the label says.
    pub compression: &'static str,
    pub media_type: String,
    /// sha256 of the whole decompressed stream.
    pub diff_id: String,
    pub uncompressed_size: u64,
    /// Tar entries (every type; long-name meta headers excluded).
    pub files: u64,
    /// Docker's layer size: regular file bytes + symlink target lengths.
    pub size: u64,
    pub chain_id: String,
    pub created_by: Option<String>,
}

#[derive(Clone, Debug)]
pub struct HistoryExpect {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    pub empty_layer: bool,
    pub layer_index: Option<usize>,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct ImageExpect {
    /// Image ID = config digest.
    pub id: String,
    pub config_digest: String,
    pub manifest_digest: Option<String>,
    pub tags: Vec<String>,
    pub platform: Platform,
    pub created: String,
    /// Oldest first.
    pub layers: Vec<LayerExpect>,
    /// In config order (oldest first); strata prints newest first.
    pub history: Vec<HistoryExpect>,
}

/// A built archive in its own temporary directory, with what it is expected to contain.
pub struct Fixture {
    pub dir: TempDir,
    pub path: PathBuf,
    /// Expected `source.format`.
    pub format: &'static str,
    pub images: Vec<ImageExpect>,
}

impl Fixture {
    pub fn new_file(
        name: &str,
        bytes: &[u8],
        format: &'static str,
        images: Vec<ImageExpect>,
    ) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        Fixture {
            dir,
            path,
            format,
            images,
        }
    }

    pub fn new_dir(
        name: &str,
        items: &[tarball::Item],
        format: &'static str,
        images: Vec<ImageExpect>,
    ) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        tarball::items_to_dir(items, &path);
        Fixture {
            dir,
            path,
            format,
            images,
        }
    }

    pub fn image(&self) -> &ImageExpect {
        assert_eq!(self.images.len(), 1, "fixture has several images");
        &self.images[0]
    }

    /// The archive's file name, as error messages should name it.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    pub fn arg(&self) -> &Path {
        &self.path
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

/// Number of the first image for `--image N` ("index in order"). strata numbers images from 0,
/// like the `index` of its layers; change here if the CLI settles on 1-based numbers.
pub const FIRST_IMAGE_NUMBER: usize = 0;

/// `strata` with an empty environment apart from PATH, and TZ fixed to UTC.
pub fn strata() -> Command {
    let mut c = Command::cargo_bin("strata").expect("binary strata");
    c.env_clear();
    if let Some(p) = std::env::var_os("PATH") {
        c.env("PATH", p);
    }
    c.env("TZ", "UTC");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stderr_bytes: Vec<u8>,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            clip(&self.stdout),
            clip(&self.stderr)
        )
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(3000) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub fn run(args: &[&std::ffi::OsStr]) -> Run {
    run_with_stdin(args, None)
}

pub fn run_with_stdin(args: &[&std::ffi::OsStr], stdin: Option<Vec<u8>>) -> Run {
    let mut c = strata();
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    c.timeout(std::time::Duration::from_secs(120));
    let out = c.output().expect("run strata");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stderr_bytes: out.stderr,
    }
}

/// Builds an argument list from strings and paths.
#[allow(unused_macros)]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$(::std::ffi::OsStr::new(&$a)),*]
    };
}

/// Runs strata and expects exit 0 and a JSON document on stdout.
pub fn run_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let r = run(args);
    assert_eq!(r.code, 0, "strata {:?} failed:\n{r}", args);
    assert!(!r.stderr.contains("panicked"), "{r}");
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{r}"))
}

/// The contract for bad input: exit 2, exactly one `error:` line that names the archive,
/// only `caused by:` lines (or their indented continuations) after it, and no panic.
pub fn assert_clean_error(r: &Run, archive_name: &str) {
    assert_eq!(r.code, 2, "expected exit 2:\n{r}");
    assert!(!r.stderr.contains("panicked"), "panic on stderr:\n{r}");
    let lines: Vec<&str> = r.stderr.lines().collect();
    let errors: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "expected exactly one `error:` line:\n{r}");
    let first = errors[0];
    for l in &lines[first + 1..] {
        assert!(
            l.starts_with("caused by:")
                || l.starts_with(' ')
                || l.starts_with('\t')
                || l.is_empty(),
            "unexpected line after the error: {l:?}\n{r}"
        );
    }
    assert!(
        lines[first].contains(archive_name),
        "the error line does not name {archive_name}:\n{r}"
    );
}

/// A pseudo-terminal: (master, path of the slave). `ptsname_r`, not `ptsname`: the tests run
/// as threads of one process, and `ptsname` returns a buffer they would share.
pub fn pty() -> (std::os::fd::OwnedFd, String) {
    use std::os::fd::FromRawFd as _;
    // SAFETY: plain libc calls on a fresh descriptor, with a buffer of our own for the name.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0, "posix_openpt");
        let master = std::os::fd::OwnedFd::from_raw_fd(master);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()),
            0,
            "ptsname_r"
        );
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        (master, name)
    }
}

/// Where skipped tests are listed: one line per skip, read by `.ci/run` to print how many tests
/// could not run here and why (a skipped test still counts as passed for libtest).
pub fn skip_log() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt")
}

/// Whether `tool` runs (`tool ARG`); if not, the test is [`skipped`] saying that `.ci/run`
/// installs the Debian package `package`, and the caller returns.
pub fn tool_runs(tool: &str, arg: &str, package: &str) -> bool {
    if std::process::Command::new(tool).arg(arg).output().is_ok() {
        return true;
    }
    skipped(format!(
        "{tool} is not installed (.ci/run installs {package})"
    ));
    false
}

/// A test that cannot run on this machine says why on stderr and is counted in
/// [`skip_log`]; the caller returns right after. The line names the test by its path in the
/// one test crate (`mount::a_test`: the file tests/mount.rs, then the test).
pub fn skipped(reason: impl std::fmt::Display) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("skipped: {reason}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = writeln!(f, "{test}: {reason}");
    }
}
