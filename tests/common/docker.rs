//! The reference Docker for the oracle tests: a private `dockerd` of Docker 26 or later (the
//! issue's reference; 20.10 differs), with the `docker` CLI of the same release, started on a
//! temporary data root, in graphdriver mode (overlay2) or with the containerd image store (a
//! private `containerd` of its own). `.ci/run` unpacks Debian trixie's docker.io and docker-cli
//! 26.1.5 into [`DOCKER_26`]; `$STRATA_DOCKER_PREFIX` names another such tree.
//!
//! Every start prints on stderr which dockerd, CLI and containerd are used.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where `.ci/run` unpacks Docker 26 (`usr/sbin/dockerd`, `usr/bin/docker`).
pub const DOCKER_26: &str = "/opt/docker-26";

/// The oldest Docker release whose `docker history` the tests take as the reference.
pub const REFERENCE_MAJOR: u32 = 26;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Docker's own image store on the overlay2 graphdriver.
    Graphdriver,
    /// `"features": {"containerd-snapshotter": true}`: images in a containerd.
    Containerd,
}

/// A `dockerd` and the CLI that came with it.
#[derive(Clone, Debug)]
pub struct Install {
    pub dockerd: PathBuf,
    pub docker: PathBuf,
    /// `Docker version 26.1.5+dfsg1, build 411e817` → `26.1.5+dfsg1`.
    pub daemon_version: String,
    pub cli_version: String,
}

fn version_of(binary: &Path) -> Result<String, String> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("Docker version ")
        .and_then(|r| r.split(',').next())
        .map(str::to_string)
        .ok_or_else(|| format!("{} --version said {:?}", binary.display(), text.trim()))
}

fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// The Docker to use, or why there is none here (the test says so and skips).
pub fn find_install() -> Result<Install, String> {
    if !super::sandbox::is_root() {
        return Err("not root: dockerd needs root".into());
    }
    let mut prefixes: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("STRATA_DOCKER_PREFIX") {
        prefixes.push(p.into());
    }
    prefixes.push(DOCKER_26.into());
    prefixes.push("/".into());
    let mut seen = Vec::new();
    for prefix in prefixes {
        let dockerd = prefix.join("usr/sbin/dockerd");
        let docker = prefix.join("usr/bin/docker");
        if !dockerd.exists() || !docker.exists() {
            continue;
        }
        let daemon_version = version_of(&dockerd)?;
        let cli_version = version_of(&docker)?;
        if major(&daemon_version) < REFERENCE_MAJOR || major(&cli_version) != major(&daemon_version)
        {
            seen.push(format!(
                "dockerd {daemon_version} with CLI {cli_version} under {}",
                prefix.display()
            ));
            continue;
        }
        return Ok(Install {
            dockerd,
            docker,
            daemon_version,
            cli_version,
        });
    }
    Err(format!(
        "no Docker {REFERENCE_MAJOR}+ daemon with its own CLI here (found: {}); .ci/run unpacks \
         Debian's docker.io 26.1.5 into {DOCKER_26}",
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join("; ")
        }
    ))
}

fn which(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops a child with SIGTERM (SIGKILL after 20 s) when dropped.
struct Stopping(Child);

impl Drop for Stopping {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running private daemon; stopped (and its containerd) when dropped. Its files stay in
/// `dir`, which the caller owns.
pub struct Daemon {
    pub install: Install,
    pub mode: Mode,
    pub root: PathBuf,
    pub sock: PathBuf,
    /// The containerd version the daemon reports.
    pub containerd_version: String,
    // Field order: dockerd stops before its containerd.
    _dockerd: Stopping,
    _containerd: Option<Stopping>,
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let mut tail: Vec<&str> = log
        .lines()
        .rev()
        .filter(|l| l.contains("level=error") || l.contains("level=fatal") || l.contains("failed"))
        .take(3)
        .collect();
    if tail.is_empty() {
        tail = log.lines().rev().take(3).collect();
    }
    tail.reverse();
    tail.join(" | ")
}

fn wait_for(
    what: &str,
    log: &Path,
    child: &mut Child,
    ready: impl Fn() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited ({status}): {}", log_tail(log)));
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not start in 60 s: {}", log_tail(log)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

impl Daemon {
    /// Starts a daemon in `mode` with its data under `dir` (which must exist and stay).
    pub fn start(dir: &Path, mode: Mode) -> Result<Daemon, String> {
        let install = find_install()?;
        if !which("containerd") {
            return Err("containerd is not installed (Debian's containerd)".into());
        }
        let root = dir.join("root");
        let sock = dir.join("docker.sock");
        let mut dockerd = Command::new(&install.dockerd);
        // dockerd finds docker-init, docker-proxy and containerd on PATH.
        let bin = install.dockerd.parent().unwrap().to_path_buf();
        let path = std::env::var("PATH").unwrap_or_default();
        dockerd.env("PATH", format!("{}:{path}", bin.display()));
        let mut containerd = None;
        match mode {
            Mode::Graphdriver => {
                dockerd.args(["--storage-driver", "overlay2"]);
            }
            Mode::Containerd => {
                // A containerd of its own: its root, state and sockets under `dir`.
                let c = dir.join("containerd");
                std::fs::create_dir_all(&c).map_err(|e| format!("{}: {e}", c.display()))?;
                let csock = c.join("containerd.sock");
                let config = format!(
                    "version = 2\nroot = {:?}\nstate = {:?}\n[grpc]\n  address = {:?}\n\
                     [ttrpc]\n  address = {:?}\n[debug]\n  address = {:?}\n\
                     [plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_tcp_service = true\n",
                    c.join("root"),
                    c.join("state"),
                    csock,
                    c.join("containerd.sock.ttrpc"),
                    c.join("debug.sock"),
                );
                std::fs::write(c.join("config.toml"), config).map_err(|e| e.to_string())?;
                let log = c.join("containerd.log");
                let child = Command::new("containerd")
                    .arg("--config")
                    .arg(c.join("config.toml"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
                    .spawn()
                    .map_err(|e| format!("containerd: {e}"))?;
                let mut guard = Stopping(child);
                wait_for("containerd", &log, &mut guard.0, || csock.exists())?;
                containerd = Some(guard);
                let json = dir.join("daemon.json");
                std::fs::write(&json, r#"{"features": {"containerd-snapshotter": true}}"#)
                    .map_err(|e| e.to_string())?;
                dockerd.arg("--config-file").arg(&json);
                dockerd.arg("--containerd").arg(&csock);
            }
        }
        let log = dir.join("dockerd.log");
        let child = dockerd
            .arg("--data-root")
            .arg(&root)
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--host")
            .arg(format!("unix://{}", sock.display()))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--ip-masq=false",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("{}: {e}", install.dockerd.display()))?;
        let mut guard = Stopping(child);
        let probe = |args: &[&str]| run_docker(&install.docker, &sock, args);
        wait_for("dockerd", &log, &mut guard.0, || {
            probe(&["version"]).is_ok()
        })?;
        let info = probe(&[
            "info",
            "--format",
            "{{.Driver}} {{.ContainerdCommit.ID}} {{json .DriverStatus}}",
        ])?;
        let want_snapshotter = mode == Mode::Containerd;
        if info.contains("io.containerd.snapshotter") != want_snapshotter {
            return Err(format!(
                "dockerd did not start in {mode:?} mode (docker info: {})",
                info.trim()
            ));
        }
        let containerd_version = probe(&[
            "version",
            "--format",
            "{{range .Server.Components}}{{if eq .Name \"containerd\"}}{{.Version}}{{end}}{{end}}",
        ])
        .unwrap_or_default()
        .trim()
        .to_string();
        let said = format!(
            "docker oracle: dockerd {} ({}), docker CLI {} ({}), containerd {}, {}",
            install.daemon_version,
            install.dockerd.display(),
            install.cli_version,
            install.docker.display(),
            containerd_version,
            match mode {
                Mode::Graphdriver => "graphdriver overlay2",
                Mode::Containerd => "containerd image store (overlayfs snapshotter)",
            }
        );
        // Once per test binary and mode: a test may start several daemons.
        static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        if let Ok(mut lines) = SAID.lock() {
            if !lines.contains(&said) {
                eprintln!("{said}");
                lines.push(said);
            }
        }
        Ok(Daemon {
            install,
            mode,
            root,
            sock,
            containerd_version,
            _dockerd: guard,
            _containerd: containerd,
        })
    }

    /// `docker ARGS` against this daemon, TZ=UTC; stdout, or stderr as the error.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        run_docker(&self.install.docker, &self.sock, args)
    }

    /// A GET of the Engine API (exact numbers where the client prints rounded ones), parsed.
    pub fn api(&self, path: &str) -> Result<serde_json::Value, String> {
        let out = Command::new("curl")
            .args(["-sf", "--unix-socket"])
            .arg(&self.sock)
            .arg(format!("http://localhost{path}"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("curl: {e}"))?;
        if !out.status.success() {
            return Err(format!("GET {path}: curl exited {}", out.status));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("GET {path}: {e}"))
    }

    /// Stops the daemon (and its containerd) and waits for them to exit: the data root is
    /// quiet afterwards.
    pub fn stop(self) {
        drop(self);
    }

    /// `docker load -i ARCHIVE`: the references it printed (tags, or image IDs when untagged),
    /// or docker's refusal.
    pub fn load(&self, archive: &Path) -> Result<Vec<String>, String> {
        let said = self.docker(&["load", "-i", archive.to_str().unwrap()])?;
        Ok(said
            .lines()
            .filter_map(|l| {
                l.strip_prefix("Loaded image: ")
                    .or_else(|| l.strip_prefix("Loaded image ID: "))
            })
            .map(|r| r.trim().to_string())
            .collect())
    }
}

fn run_docker(docker: &Path, sock: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(docker)
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env("DOCKER_CONFIG", sock.parent().unwrap().join("cli-config"))
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", docker.display()))?;
    if !out.status.success() {
        return Err(format!(
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
