//! A read lease on an archive file: the kernel's promise that nobody writes the file while the
//! lease holds. A lease is granted only when no process has the file open for writing, and any
//! later open for writing or truncation waits for the holder to let go (up to the system's
//! `lease-break-time`), the lease marked as breaking in the meantime.
//!
//! It is what lets `extract` read a plain layer twice — once ahead to hash it, once to write
//! it — and still write only hashed bytes: if the lease is intact after both reads, the file
//! was the same for both. It is only taken where the file's bytes can change through the
//! file alone: on the local filesystems listed in [`LOCAL_FILESYSTEMS`], not on network or
//! FUSE filesystems (whose server can answer two reads differently) nor on overlayfs (whose
//! lower files can be written beneath it).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Once};

use super::Section;

/// `statfs` magic numbers of the filesystems a lease is trusted on: ext2/3/4, XFS, Btrfs,
/// tmpfs.
const LOCAL_FILESYSTEMS: [i64; 4] = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994];

/// A blob's bytes as a range of a file that a read lease keeps unchanged.
pub struct LeasedBlob {
    pub section: Section,
    pub lease: Arc<ReadLease>,
}

/// A read lease held on one open file, released when dropped.
pub struct ReadLease {
    file: Arc<File>,
}

impl ReadLease {
    /// Takes a read lease on `file`, or says why not (for the reader that falls back).
    /// Refused by the kernel when someone has the file open for writing, when this process
    /// neither owns the file nor holds `CAP_LEASE`, or when leases are disabled.
    pub fn take(file: Arc<File>) -> Option<ReadLease> {
        let statfs = rustix::fs::fstatfs(&*file).ok()?;
        if !LOCAL_FILESYSTEMS.contains(&(statfs.f_type as i64)) {
            return None;
        }
        // A breaking lease signals its holder with SIGIO, whose default action ends the process.
        ignore_sigio();
        // SAFETY: fcntl on a descriptor this function borrows, with an integer argument.
        let taken = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) };
        (taken == 0).then_some(ReadLease { file })
    }

    /// Whether the lease still holds and nobody has asked to write since it was taken: a
    /// lease being broken reads as unlocked.
    pub fn intact(&self) -> bool {
        // SAFETY: as in `take`.
        let kind = unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLEASE) };
        kind == libc::F_RDLCK
    }
}

impl Drop for ReadLease {
    fn drop(&mut self) {
        // SAFETY: as in `take`. A failure leaves a lease the file's close releases anyway.
        unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
    }
}

/// Installs a SIGIO handler that does nothing (a handler, not SIG_IGN: commands this process
/// runs must not inherit an ignored signal). SA_RESTART: no read is cut short by it.
fn ignore_sigio() {
    static ONCE: Once = Once::new();
    extern "C" fn nothing(_: libc::c_int) {}
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is valid; the handler touches no state.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = nothing as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGIO, &action, std::ptr::null_mut());
        }
    });
}

/// Asks to open `path` for writing without waiting: refused while a lease holds, the lease
/// then breaking.
#[cfg(test)]
pub(crate) fn start_writing(path: &std::path::Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    assert_eq!(
        writer.err().and_then(|e| e.raw_os_error()),
        Some(libc::EWOULDBLOCK),
        "a writer is told to come back later"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of ours on tmpfs, where Linux grants read leases (unless leases are disabled).
    fn leasable() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir_in("/dev/shm").expect("a tmpfs at /dev/shm");
        let path = dir.path().join("archive");
        std::fs::write(&path, b"layer bytes").unwrap();
        (dir, path)
    }

    fn lease_on(path: &std::path::Path) -> Option<ReadLease> {
        ReadLease::take(Arc::new(File::open(path).unwrap()))
    }

    #[test]
    fn a_lease_holds_until_someone_opens_the_file_for_writing() {
        let (_dir, path) = leasable();
        let lease = lease_on(&path).expect("a read lease (is /proc/sys/fs/leases-enable 0?)");
        assert!(lease.intact());
        // Reading does not break it.
        drop(File::open(&path).unwrap());
        assert!(lease.intact());
        start_writing(&path);
        assert!(!lease.intact());
    }

    #[test]
    fn no_lease_while_someone_has_the_file_open_for_writing() {
        let (_dir, path) = leasable();
        let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        assert!(lease_on(&path).is_none());
        drop(writer);
        assert!(lease_on(&path).is_some());
    }
}
