//! The invoking user's filesystem identity, worn by one thread for a while.
//!
//! Under sudo the agent is root, and root passes every permission check: a path
//! the user names (`--output /etc/shadow`, `--prompts /root/secret`, a symbolic
//! link to either) would be written or read with root's rights, the classic
//! confused deputy of a set-uid helper. Linux checks file access against the
//! *filesystem* ids (fsuid, fsgid) and the supplementary groups, not the
//! effective ids, so a thread that sets those to the invoking user's is checked
//! by the kernel exactly as that user would be, at the moment of each `open`,
//! on every component of the path and on every symbolic link it follows. No
//! check-then-open race is left to win.
//!
//! The switch is per thread, on purpose: `setfsuid(2)` and `setfsgid(2)` change
//! only the calling thread, and so does the raw `setgroups` system call (glibc's
//! `setgroups` would change every thread). The sampler and the other threads
//! keep root's rights to the energy counters meanwhile. A thread started while
//! the switch is on inherits the user's identity for good, which only ever
//! removes rights.
//!
//! Changing the fsuid away from 0 drops the filesystem capabilities
//! (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, …) from the
//! effective set, and changing it back restores them (capabilities(7), "Effect
//! of user ID changes on capabilities"): that is what makes the switch binding.

use super::RunAs;

/// Why the identity could not be switched (or switched back).
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("cannot read this thread's supplementary groups")]
    Groups(#[source] std::io::Error),
    #[error("cannot take the supplementary groups of uid {uid}")]
    SetGroups {
        uid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot take the filesystem identity of uid {uid} gid {gid}")]
    Ids { uid: u32, gid: u32 },
}

/// The user's filesystem identity on this thread until dropped, which restores
/// root's. Not `Send`: it must be dropped on the thread that made it.
pub struct Worn {
    saved_uid: u32,
    saved_gid: u32,
    saved_groups: Vec<libc::gid_t>,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Runs `work` on this thread with `user`'s filesystem identity.
pub fn as_user<T>(user: RunAs, work: impl FnOnce() -> T) -> Result<T, SwitchError> {
    let worn = wear(user)?;
    let result = work();
    drop(worn);
    Ok(result)
}

/// Puts `user`'s supplementary groups, fsgid and fsuid on this thread.
pub fn wear(user: RunAs) -> Result<Worn, SwitchError> {
    let saved_groups = current_groups()?;
    let groups = groups_of(user);
    set_thread_groups(&groups).map_err(|source| SwitchError::SetGroups {
        uid: user.uid,
        source,
    })?;
    // SAFETY: setfsgid/setfsuid take plain integers and touch no memory. Each
    // returns the previous id whether or not the change was made, so success is
    // read back below.
    let saved_gid = unsafe { libc::setfsgid(user.gid) } as u32;
    let saved_uid = unsafe { libc::setfsuid(user.uid) } as u32;
    let worn = Worn {
        saved_uid,
        saved_gid,
        saved_groups,
        _not_send: std::marker::PhantomData,
    };
    if current_fs_ids() != (user.uid, user.gid) {
        // Dropping `worn` puts back whatever was changed.
        return Err(SwitchError::Ids {
            uid: user.uid,
            gid: user.gid,
        });
    }
    Ok(worn)
}

impl Drop for Worn {
    fn drop(&mut self) {
        // The uid first: back at 0 it restores the capabilities the groups need.
        // SAFETY: as in `wear`.
        unsafe {
            libc::setfsuid(self.saved_uid);
            libc::setfsgid(self.saved_gid);
        }
        // A failure here leaves the thread with fewer rights, never more: it is
        // reported and the run goes on, to fail on whatever root then cannot do.
        if current_fs_ids() != (self.saved_uid, self.saved_gid)
            || set_thread_groups(&self.saved_groups).is_err()
        {
            eprintln!(
                "hoeveel-agent: warning: could not restore root's filesystem identity on this thread"
            );
        }
    }
}

/// This thread's (fsuid, fsgid). Setting an id of -1 changes nothing and
/// returns the current one.
pub fn current_fs_ids() -> (u32, u32) {
    // SAFETY: as in `wear`; -1 is never a valid id, so nothing changes.
    unsafe {
        (
            libc::setfsuid(u32::MAX) as u32,
            libc::setfsgid(u32::MAX) as u32,
        )
    }
}

fn current_groups() -> Result<Vec<libc::gid_t>, SwitchError> {
    // SAFETY: a size of 0 asks only for the count and writes nothing.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n < 0 {
        return Err(SwitchError::Groups(std::io::Error::last_os_error()));
    }
    let mut groups = vec![0; n as usize];
    // SAFETY: the buffer holds `n` entries, as the call is told.
    let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
    if n < 0 {
        return Err(SwitchError::Groups(std::io::Error::last_os_error()));
    }
    groups.truncate(n as usize);
    Ok(groups)
}

/// The raw system call, which changes this thread only (see the module docs).
fn set_thread_groups(groups: &[libc::gid_t]) -> std::io::Result<()> {
    // SAFETY: the pointer and count describe `groups`, which outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `user`'s groups as the password and group databases list them, with the
/// primary group from SUDO_GID; just that group for a uid with no entry. Root's
/// own groups must not stay: a file of group root, mode 0640, would otherwise
/// be readable through them.
fn groups_of(user: RunAs) -> Vec<libc::gid_t> {
    let mut groups = user_name(user.uid)
        .and_then(|name| group_list(&name, user.gid))
        .unwrap_or_default();
    if !groups.contains(&user.gid) {
        groups.insert(0, user.gid);
    }
    groups
}

fn user_name(uid: u32) -> Option<std::ffi::CString> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter (pointers null, ints 0).
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local with the size given.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string in `buffer`.
    Some(unsafe { std::ffi::CStr::from_ptr(entry.pw_name) }.to_owned())
}

fn group_list(name: &std::ffi::CStr, gid: u32) -> Option<Vec<libc::gid_t>> {
    let mut count: libc::c_int = 64;
    for _ in 0..4 {
        let mut groups = vec![0 as libc::gid_t; count as usize];
        let before = count;
        // SAFETY: `groups` holds `count` entries; getgrouplist writes at most that
        // many and sets `count` to how many there are.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(count as usize);
            return Some(groups);
        }
        // Too small: `count` now says how many are needed.
        count = count.max(before * 2);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    #[test]
    fn a_root_only_file_is_unreadable_while_the_identity_is_worn_and_readable_after() {
        if !is_root() {
            eprintln!("*** SKIPPED: switching identities needs root ***");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "root only").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let nobody = RunAs {
            uid: 65534,
            gid: 65534,
        };
        let read = as_user(nobody, || std::fs::read(&secret)).expect("switch");
        let e = read.expect_err("nobody cannot enter a 0700 root folder");
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(current_fs_ids(), (0, 0), "root's identity is back");
        assert_eq!(std::fs::read(&secret).expect("root reads"), b"root only");
    }

    #[test]
    fn another_thread_keeps_root_s_identity_meanwhile() {
        if !is_root() {
            eprintln!("*** SKIPPED: switching identities needs root ***");
            return;
        }
        let nobody = RunAs {
            uid: 65534,
            gid: 65534,
        };
        let (inside, other) = as_user(nobody, || {
            let other = std::thread::scope(|s| s.spawn(current_fs_ids).join().expect("join"));
            (current_fs_ids(), other)
        })
        .expect("switch");
        assert_eq!(inside, (65534, 65534));
        // A thread spawned inside inherits the user's identity (only fewer rights).
        assert_eq!(other, (65534, 65534));
        let root_thread = std::thread::spawn(current_fs_ids);
        let worn = wear(nobody).expect("switch");
        assert_eq!(root_thread.join().expect("join"), (0, 0));
        drop(worn);
    }
}
