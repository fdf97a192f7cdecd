//! Least privilege under sudo: only the agent needs the right to read energy
//! counters. Started through `sudo` as root, the agent runs the workload as the
//! user who ran sudo (`SUDO_UID`/`SUDO_GID`), and hands the files it writes for
//! that user (the record and the folders it created for it) to that user, so a
//! measurement never leaves root-owned files in someone's home.

use anyhow::Context;
use std::path::{Path, PathBuf};

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

/// The folders above `path` that do not exist yet, outermost first: the ones
/// that writing `path` will create.
pub fn missing_folders(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Gives `paths` to the invoking user under sudo; does nothing otherwise.
pub fn hand_over(paths: &[PathBuf]) -> anyhow::Result<()> {
    let Some(user) = invoking_user_from_env()? else {
        return Ok(());
    };
    for path in paths {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).with_context(|| {
            format!(
                "giving {} to the user who ran sudo (uid {}, gid {})",
                path.display(),
                user.uid,
                user.gid
            )
        })?;
    }
    Ok(())
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

    #[test]
    fn the_folders_a_write_creates_are_listed_outermost_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/r.jsonl");
        assert_eq!(
            missing_folders(&path),
            [dir.path().join("a"), dir.path().join("a/b")]
        );
        assert!(missing_folders(&dir.path().join("r.jsonl")).is_empty());
        assert!(missing_folders(Path::new("r.jsonl")).is_empty());
    }
}
