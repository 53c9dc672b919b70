//! A private `dockerd` for the data-root tests: its own data root, exec root and socket in a
//! temporary directory, no systemd, no iptables or bridge. Everything about starting it (the
//! binary, its flags, how long to wait) is here, so a change of daemon version is made once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sandbox::is_root;

/// A running private daemon; stopped (SIGTERM, then SIGKILL after 20 s) when dropped or by
/// [`Daemon::stop`], so a failed test never leaves it running.
pub struct Daemon {
    /// The data root (`--data-root`).
    pub root: PathBuf,
    pub sock: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// Whether a command is on PATH.
pub fn which(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Daemon {
    /// Starts dockerd with its state under `dir` (`root/`, `exec/`, `docker.sock`) and waits
    /// until it answers. Err says why the machine cannot run it (the caller skips visibly).
    pub fn start(dir: &Path) -> Result<Daemon, String> {
        if !is_root() {
            return Err("not root: dockerd needs root".into());
        }
        if !which("dockerd") || !which("docker") {
            return Err("dockerd or docker is not installed (Debian's docker.io)".into());
        }
        let root = dir.join("root");
        let sock = dir.join("docker.sock");
        let log = dir.join("dockerd.log");
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(&root)
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--host")
            .arg(format!("unix://{}", sock.display()))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .args([
                "--storage-driver",
                "overlay2",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--ip-masq=false",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("dockerd: {e}"))?;
        let mut daemon = Daemon {
            root,
            sock,
            log,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while daemon.docker(&["version"]).is_err() {
            let exited = daemon
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if Instant::now() > deadline || exited {
                let log = std::fs::read_to_string(&daemon.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(format!("dockerd did not start: {tail:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(daemon)
    }

    /// The docker client against this daemon (TZ=UTC, so its times are stable); its stdout.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("docker: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

    /// Stops the daemon and waits for it to exit (its data root is then quiet).
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.shut_down();
    }
}
