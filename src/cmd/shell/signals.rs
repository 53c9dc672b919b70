//! Passing SIGINT, SIGHUP and SIGTERM down the chain of a session (strata → `__enter` →
//! `__init` → the command), so that ending strata ends the command and strata can clean up.
//!
//! A handler, not a blocked mask with `sigwait`: the `shell` process has unpacked layers with
//! threads that did not block these signals. The handler only does what is async-signal-safe:
//! it records the signal and `kill`s the target process.
//!
//! A SIGINT the terminal sends (Ctrl-C, `si_code` SI_KERNEL) already reached every process of
//! the foreground group, the command included: it is not sent a second time. With escalation
//! on (strata itself), a command still running 5 s after a forwarded SIGHUP or SIGTERM is
//! killed, through its `__enter` (everything below dies with it, by PR_SET_PDEATHSIG).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Seconds a forwarded SIGHUP/SIGTERM gets before the session is killed.
const GRACE: u32 = 5;

static TARGET: AtomicI32 = AtomicI32::new(0);
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static ESCALATE: AtomicBool = AtomicBool::new(false);

const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGHUP, libc::SIGTERM];

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let target = TARGET.load(Ordering::SeqCst);
    if sig == libc::SIGALRM {
        if target > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe { libc::kill(target, libc::SIGKILL) };
        }
        return;
    }
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let from_terminal = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
    if sig == libc::SIGINT && from_terminal {
        return;
    }
    RECEIVED.store(sig, Ordering::SeqCst);
    if target > 0 {
        // SAFETY: kill and alarm are async-signal-safe.
        unsafe { libc::kill(target, sig) };
        if sig != libc::SIGINT && ESCALATE.load(Ordering::SeqCst) {
            unsafe { libc::alarm(GRACE) };
        }
    }
}

/// Installs the forwarding handler for SIGINT, SIGHUP and SIGTERM (and SIGALRM with
/// `escalate`). Until [`forward_to`] names a target, a signal is only recorded.
pub fn install(escalate: bool) -> std::io::Result<()> {
    ESCALATE.store(escalate, Ordering::SeqCst);
    // An ignored SIGCHLD (inherited across exec, as `script` leaves it) would have the kernel
    // reap our children before we can read their status.
    // SAFETY: restoring a default disposition.
    if unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(std::io::Error::last_os_error());
    }
    let mut signals = FORWARDED.to_vec();
    if escalate {
        signals.push(libc::SIGALRM);
    }
    for sig in signals {
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_signal;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// From now on signals go to `pid`; one that came before it existed is sent now.
pub fn forward_to(pid: u32) {
    let pid = pid as i32;
    TARGET.store(pid, Ordering::SeqCst);
    let pending = RECEIVED.load(Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: plain syscalls on a child of ours.
        unsafe {
            libc::kill(pid, pending);
            if pending != libc::SIGINT && ESCALATE.load(Ordering::SeqCst) {
                libc::alarm(GRACE);
            }
        }
    }
}

/// The last signal forwarded (or recorded), if any.
pub fn received() -> Option<i32> {
    Some(RECEIVED.load(Ordering::SeqCst)).filter(|&s| s != 0)
}
