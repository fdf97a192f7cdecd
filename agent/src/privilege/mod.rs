//! Least privilege under sudo: only the agent needs the right to read energy
//! counters. Started through `sudo` as root, the agent
//!
//! - runs the workload as the user who ran sudo (`SUDO_UID`/`SUDO_GID`);
//! - opens every path that user names (the record and its folders, prompt,
//!   query and model files, a corpus folder) with that user's rights
//!   ([`paths::UserPaths`], on [`fs_identity`]), so that naming a file gains
//!   nobody anything root could do and they could not;
//! - loads a shared library the user names (`--nvml-library`) only when root
//!   owns it and only root can change it ([`library`]);
//! - reads a `--sysfs-root` or `--proc-root` other than `/sys` and `/proc` only
//!   when root owns it and only root can change it ([`roots`]).
//!
//! Only opening the energy counters, the NVML devices and the lock file keeps
//! root's rights.

use anyhow::Context;

pub mod fs_identity;
pub mod library;
pub mod paths;
pub mod roots;
pub mod user_workload;

pub use paths::{PathError, UserPaths};

/// The user a workload runs as, and who owns what the agent writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Under sudo as root, the invoking user from SUDO_UID/SUDO_GID; else `None`
/// (the agent acts as whoever runs it).
pub fn invoking_user(
    euid: u32,
    sudo_uid: Option<&str>,
    sudo_gid: Option<&str>,
) -> anyhow::Result<Option<RunAs>> {
    if euid != 0 {
        return Ok(None);
    }
    match (sudo_uid, sudo_gid) {
        (Some(u), Some(g)) => {
            let uid = u
                .parse()
                .with_context(|| format!("SUDO_UID `{u}` is not a user id"))?;
            let gid = g
                .parse()
                .with_context(|| format!("SUDO_GID `{g}` is not a group id"))?;
            Ok((uid != 0).then_some(RunAs { uid, gid }))
        }
        _ => Ok(None),
    }
}

/// [`invoking_user`] of this process.
pub fn invoking_user_from_env() -> anyhow::Result<Option<RunAs>> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    invoking_user(
        euid,
        std::env::var("SUDO_UID").ok().as_deref(),
        std::env::var("SUDO_GID").ok().as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_user_is_used_only_when_root() {
        assert_eq!(
            invoking_user(1000, Some("1000"), Some("1000")).expect("ok"),
            None
        );
        assert_eq!(
            invoking_user(0, Some("1000"), Some("100")).expect("ok"),
            Some(RunAs {
                uid: 1000,
                gid: 100
            })
        );
        assert_eq!(invoking_user(0, None, None).expect("ok"), None);
        assert_eq!(invoking_user(0, Some("0"), Some("0")).expect("ok"), None);
        assert!(invoking_user(0, Some("bob"), Some("1")).is_err());
    }
}
