//! `--sysfs-root` and `--proc-root` under sudo.
//!
//! The agent reads the sensors and the machine's state below these folders
//! with root's rights (the energy counters need them), and what it reads goes
//! into its output and the record. A folder the user made could hold links to
//! root-only files, a FIFO that hangs the reader or a device that never ends.
//! So under sudo a root other than `/sys` and `/proc` must be a folder root
//! owns that nobody else can write (not even with the sticky bit, as `/tmp`
//! has, since the user could create entries in it), in folders above it that
//! only root can change: a host's `/sys` mounted into a container passes, a
//! user's fixture does not (without sudo it runs as the user, as before).
//!
//! The cache (models, the corpus, search indexes) is written and read back by
//! root under sudo, so it follows the same rule ([`check_cache`]): with
//! `sudo -E` it would be the user's, and a link the user put there would have
//! root write where it points, or parse what the user wrote.

use super::library::{Role, Untrusted, first_untrusted};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error(
        "{option} {path}: under sudo the agent reads a root other than {default} only when root owns it and only root can write it and every folder above it; {entry} is not: {why}. Run without sudo to read a tree of your own"
    )]
    Untrusted {
        option: &'static str,
        default: &'static str,
        path: PathBuf,
        entry: PathBuf,
        why: Untrusted,
    },
    #[error(
        "the cache {path} (from HOEVEEL_CACHE_DIR, XDG_CACHE_HOME or HOME): under sudo the agent writes and reads its cache only where root owns it and only root can write it and every folder above it; {entry} is not: {why}. Run sudo without -E (root's own cache), or set HOEVEEL_CACHE_DIR to a folder only root can write"
    )]
    Cache {
        path: PathBuf,
        entry: PathBuf,
        why: Untrusted,
    },
    #[error("{option} {path}: cannot check it")]
    Unreadable {
        option: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks the sysfs and procfs roots for reading as root (see the module docs).
pub fn check_roots(sysfs_root: &Path, proc_root: &Path) -> Result<(), RootError> {
    check_root("--sysfs-root", "/sys", sysfs_root)?;
    check_root("--proc-root", "/proc", proc_root)
}

fn check_root(option: &'static str, default: &'static str, path: &Path) -> Result<(), RootError> {
    let unreadable = |source| RootError::Unreadable {
        option,
        path: path.to_path_buf(),
        source,
    };
    let resolved = std::fs::canonicalize(path).map_err(unreadable)?;
    if resolved == Path::new(default) {
        return Ok(());
    }
    match first_untrusted(&resolved, Role::Root).map_err(unreadable)? {
        Some((entry, why)) => Err(RootError::Untrusted {
            option,
            default,
            path: path.to_path_buf(),
            entry,
            why,
        }),
        None => Ok(()),
    }
}

/// Checks the cache folder `path` for use as root: it, or the nearest folder
/// above it that exists when it does not yet, and everything above.
pub fn check_cache(path: &Path) -> Result<(), RootError> {
    let unreadable = |source| RootError::Unreadable {
        option: "the cache",
        path: path.to_path_buf(),
        source,
    };
    let absolute = std::path::absolute(path).map_err(unreadable)?;
    let existing = absolute
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    let resolved = std::fs::canonicalize(existing).map_err(unreadable)?;
    match first_untrusted(&resolved, Role::Root).map_err(unreadable)? {
        Some((entry, why)) => Err(RootError::Cache {
            path: path.to_path_buf(),
            entry,
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_roots_pass_and_a_missing_one_is_named() {
        check_roots(Path::new("/sys"), Path::new("/proc")).expect("the defaults");
        let err = check_roots(Path::new("/sys"), Path::new("/no/such/proc")).expect_err("missing");
        assert!(
            err.to_string().starts_with("--proc-root /no/such/proc"),
            "{err}"
        );
    }
}
