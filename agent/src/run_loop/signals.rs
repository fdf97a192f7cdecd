//! Stopping a run from outside: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which
//! systemd, Docker, Kubernetes and a closed terminal send. Each ends a run the same
//! way: the workload is stopped, `run_end` says `interrupted` and names the signal,
//! and every repetition measured before it is kept.
//!
//! The handler only stores the signal number in an atomic and passes the signal on
//! to the command being measured (a command started outside a terminal would not
//! get it otherwise); both are async-signal-safe. The run loop polls the flag.
//!
//! A second signal, while the first is still being honoured (a command that
//! ignores SIGINT, a long request), stops at once, as a second Ctrl-C does in
//! cargo or hyperfine: the command is killed, a line says so, and the agent exits
//! with 128 + the signal's number. The record keeps every event written before,
//! each flushed as written; it has no `run_end`, which the reader reports.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Set by the handler; the run loop and long workloads check it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The last signal received, 0 before any.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Process id of the command being measured, so a signal can stop it too.
pub(crate) static CURRENT_CHILD: AtomicI32 = AtomicI32::new(0);

/// The signals that end a run.
pub const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// What the second signal says on stderr (written with write(2) from the handler).
const SECOND_SIGNAL_LINE: &[u8] =
    b"\nhoeveel-agent: second signal: stopped at once; the record keeps every repetition written before it, without a run_end\n";

extern "C" fn on_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
    let second = INTERRUPTED.swap(true, Ordering::SeqCst);
    let pid = CURRENT_CHILD.load(Ordering::SeqCst);
    if second {
        // SAFETY: kill(2), write(2) and _exit(2) are async-signal-safe; a failed
        // kill (the child is gone) or write (stderr closed) changes nothing.
        unsafe {
            if pid > 0 {
                libc::kill(pid, libc::SIGKILL);
            }
            libc::write(
                libc::STDERR_FILENO,
                SECOND_SIGNAL_LINE.as_ptr().cast(),
                SECOND_SIGNAL_LINE.len(),
            );
            libc::_exit(128 + signal);
        }
    }
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; failure (the child is gone) is harmless.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (again is harmless) and
/// returns the flag it sets.
pub fn install() -> std::io::Result<&'static AtomicBool> {
    for signal in HANDLED {
        // SAFETY: a zeroed sigaction is a valid starting value; the handler only
        // touches atomics and calls kill(2), both async-signal-safe.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(&INTERRUPTED)
}

/// The flag the handler sets, whether or not it is installed yet: what a
/// blocking wait elsewhere (a server request) looks at between two slices.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// The signal that interrupted the run, by name (`SIGTERM`), if one did.
pub fn received() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        libc::SIGINT => Some("SIGINT (Ctrl-C)"),
        libc::SIGTERM => Some("SIGTERM"),
        libc::SIGHUP => Some("SIGHUP"),
        _ => None,
    }
}

/// The exit code for a run ended by a signal: 128 + the signal's number, as shells
/// report it (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP); 130 when the run
/// was interrupted another way.
pub fn exit_code() -> u8 {
    match SIGNAL.load(Ordering::SeqCst) {
        s @ (libc::SIGINT | libc::SIGTERM | libc::SIGHUP) => 128 + s as u8,
        _ => 130,
    }
}
