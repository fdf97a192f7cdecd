//! Two agents measuring on one machine at once each count the other's workload:
//! machine-wide counters (RAPL, a GPU, the modelled CPU) cannot tell the two
//! apart. Each run holds a shared lock file in the temporary folder (`$TMPDIR`,
//! else `/tmp`) for its whole length; a run that finds it held goes on, and its
//! record and summary carry a warning.
//!
//! The lock is `flock(2)` on `hoeveel-agent-measuring.lock`, opened read-only
//! when it cannot be opened to write (a lock needs no write access, so agents
//! of different users see each other), never following a symbolic link, never
//! blocking, and only when it is a regular file. The kernel drops it when the process
//! ends, however it ends.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The lock file's name in the temporary folder.
pub const FILE_NAME: &str = "hoeveel-agent-measuring.lock";

/// Held for the run; dropping it releases the lock.
pub struct MeasuringLock {
    _file: Option<File>,
}

/// What trying the lock found.
pub enum Found {
    /// This run holds it: no other agent is measuring.
    Alone(MeasuringLock),
    /// Another agent holds it.
    Another,
    /// The lock could not be tried (no temporary folder); nothing is known.
    Unknown(String),
}

pub fn lock_path() -> PathBuf {
    std::env::temp_dir().join(FILE_NAME)
}

fn open(path: &Path) -> std::io::Result<File> {
    // Non-blocking: the folder is shared, and a FIFO another user planted at
    // this name would block a plain open for ever (no writer ever comes).
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let create = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(flags)
        .open(path);
    let file = match create {
        Ok(file) => file,
        // Another user's file in a sticky folder (fs.protected_regular), or no
        // write access: read-only is enough for a lock.
        Err(_) => OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)?,
    };
    // Only a regular file is a lock: a FIFO, a socket or a device at this name
    // is someone else's doing, and locking it tells nothing.
    if !file.metadata()?.file_type().is_file() {
        return Err(std::io::Error::other(
            "not a regular file (something else was put at the lock's name)",
        ));
    }
    Ok(file)
}

/// Tries the lock at `path` without waiting.
pub fn try_lock(path: &Path) -> Found {
    let file = match open(path) {
        Ok(f) => f,
        Err(e) => return Found::Unknown(format!("{}: {e}", path.display())),
    };
    // SAFETY: flock on a file descriptor we own; it has no memory effects.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result == 0 {
        return Found::Alone(MeasuringLock { _file: Some(file) });
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Found::Another
    } else {
        Found::Unknown(format!("{}: {error}", path.display()))
    }
}

/// The warning for a run that shares the machine with another agent.
pub fn another_agent_warning(path: &Path) -> String {
    format!(
        "another hoeveel-agent was measuring on this machine when this run started (it holds {}): machine-wide counters count both workloads, so every figure here includes some of the other's. Measure one at a time",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_finds_the_lock_taken_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let Found::Alone(first) = try_lock(&path) else {
            panic!("the first run is alone");
        };
        assert!(matches!(try_lock(&path), Found::Another));
        drop(first);
        assert!(matches!(try_lock(&path), Found::Alone(_)));
    }

    #[test]
    fn a_fifo_at_the_lock_s_name_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("cstr");
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        // Read-only too, as another user's FIFO would be opened: chmod it so.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o444))
            .expect("chmod");
        // Blocking here would hang the test; it returns at once, lock unknown.
        match try_lock(&path) {
            Found::Unknown(why) => assert!(why.contains("not a regular file"), "{why}"),
            _ => panic!("a FIFO is not a lock"),
        }
    }

    #[test]
    fn a_symbolic_link_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").expect("write");
        let link = dir.path().join(FILE_NAME);
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(matches!(try_lock(&link), Found::Unknown(_)));
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
    }
}
