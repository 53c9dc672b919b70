//! A guard against filling the destination filesystem: a few hundred bytes of zstd can describe
//! a 4 GiB file of zeros, and writing it out in full would leave the host without space.
//!
//! The rule: a write is refused when it would leave less free space (`f_bavail`, what an
//! unprivileged user may still use) than the reserve, 5 % of the filesystem's size but at most
//! 1 GiB (`STRATA_MIN_FREE=<bytes>` sets another reserve). `statvfs` is asked again only when
//! the writes since the last answer could have used half of the room left above the reserve,
//! and at most every 64 MiB: a bounded cost, and two extractions at once onto the same
//! filesystem still cannot pass the reserve between them. A file whose size the tar declares
//! is checked before its first byte is written.

use std::io;
use std::os::fd::AsFd;

/// `statvfs` at least every this many bytes.
const CHECK_EVERY: u64 = 64 << 20;
/// The reserve's cap, and its share of the filesystem.
const MAX_RESERVE: u64 = 1 << 30;
const RESERVE_PERCENT: u64 = 5;
pub const MIN_FREE_ENV: &str = "STRATA_MIN_FREE";

#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "stopped before filling {dest}: writing {} more would leave {} free there, under the reserve of {} ({rule})",
    size(*need), size(free.saturating_sub(*need)), size(*reserve)
)]
pub struct NoRoom {
    pub dest: String,
    pub need: u64,
    pub free: u64,
    pub reserve: u64,
    pub rule: String,
}

impl NoRoom {
    pub fn find(e: &io::Error) -> Option<&NoRoom> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<NoRoom>())
    }
}

fn size(bytes: u64) -> String {
    format!("{} ({bytes} bytes)", crate::render::human_size(bytes))
}

/// Bytes that may still be written onto one filesystem before asking it again.
#[derive(Debug, Default)]
pub struct SpaceGuard {
    credit: u64,
}

impl SpaceGuard {
    /// Before writing `n` bytes onto the filesystem of `fd`.
    pub fn charge(&mut self, fd: &impl AsFd, n: u64) -> io::Result<()> {
        if n <= self.credit {
            self.credit -= n;
            return Ok(());
        }
        let room = room(fd, n)?;
        self.credit = ((room - n) / 2).min(CHECK_EVERY);
        Ok(())
    }

    /// Before a file of `n` bytes: refused at once if it cannot fit, nothing charged yet.
    pub fn expect(&mut self, fd: &impl AsFd, n: u64) -> io::Result<()> {
        if n > self.credit {
            room(fd, n)?;
        }
        Ok(())
    }
}

/// A writer (the `--tar` file) whose writes are charged to a [`SpaceGuard`].
pub struct Guarded<W> {
    inner: W,
    guard: SpaceGuard,
}

impl<W> Guarded<W> {
    pub fn new(inner: W) -> Guarded<W> {
        Guarded {
            inner,
            guard: SpaceGuard::default(),
        }
    }
}

impl<W: io::Write + AsFd> io::Write for Guarded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.guard.charge(&self.inner, buf.len() as u64)?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The room above the reserve on the filesystem of `fd`, or [`NoRoom`] if `need` does not fit.
fn room(fd: &impl AsFd, need: u64) -> io::Result<u64> {
    let st = rustix::fs::fstatvfs(fd)?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let total = st.f_blocks.saturating_mul(st.f_frsize);
    let (reserve, rule) = reserve_for(total);
    let room = free.saturating_sub(reserve);
    if need > room {
        return Err(io::Error::other(NoRoom {
            dest: dest_name(fd),
            need,
            free,
            reserve,
            rule,
        }));
    }
    Ok(room)
}

/// The reserve for a filesystem of `total` bytes, and how it was chosen.
fn reserve_for(total: u64) -> (u64, String) {
    if let Some(bytes) = std::env::var(MIN_FREE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return (bytes, format!("set by {MIN_FREE_ENV}"));
    }
    let reserve = (total / 100 * RESERVE_PERCENT).min(MAX_RESERVE);
    (
        reserve,
        format!("{RESERVE_PERCENT} % of the filesystem's size, at most 1 GiB; {MIN_FREE_ENV}=<bytes> sets another"),
    )
}

/// The path of what `fd` is open on, for the message.
fn dest_name(fd: &impl AsFd) -> String {
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd());
    std::fs::read_link(link)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "the destination".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_is_five_percent_capped_at_one_gib() {
        if std::env::var_os(MIN_FREE_ENV).is_some() {
            return;
        }
        assert_eq!(reserve_for(64 << 20).0, (64 << 20) / 100 * 5);
        assert_eq!(reserve_for(1 << 40).0, 1 << 30);
    }

    #[test]
    fn a_write_past_the_room_is_refused_naming_the_destination() {
        let tmp = tempfile::tempdir().unwrap();
        let fd = rustix::fs::open(
            tmp.path(),
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        let mut guard = SpaceGuard::default();
        guard.charge(&fd, 4096).unwrap();
        let err = guard.expect(&fd, u64::MAX / 2).unwrap_err();
        let no_room = NoRoom::find(&err).expect("a NoRoom error");
        assert_eq!(no_room.dest, tmp.path().display().to_string());
        assert!(err.to_string().contains("under the reserve"), "{err}");
    }
}
