//! Which shared library root may load: `--nvml-library FILE` (and
//! `HOEVEEL_NVML_LIBRARY`) is `dlopen`ed, and a library's constructors run
//! with the loader's rights before NVML is even asked anything. Under sudo a
//! library the user could have written (or could swap in, by renaming a folder
//! on its path) would run the user's code as root. So the library and every
//! folder above it must be root's and writable by nobody else, and the agent
//! loads the path it checked, with its symbolic links resolved, so that no link
//! can be turned elsewhere between the check and the load.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What [`verdict`] needs of a `stat`: owner and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub uid: u32,
    pub mode: u32,
}

impl Stat {
    pub fn of(meta: &std::fs::Metadata) -> Stat {
        Stat {
            uid: meta.uid(),
            mode: meta.mode(),
        }
    }
}

/// Whether the entry is the library itself, a folder above it, or a folder
/// whose tree root reads (`--sysfs-root`, see [`super::roots`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Library,
    Folder,
    Root,
}

/// Why a library is not loaded as root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("it is owned by uid {uid}, not root")]
    NotRoot { uid: u32 },
    #[error("it is writable by its group or by others (mode {mode:o})")]
    Writable { mode: u32 },
    #[error("it is not a regular file")]
    NotAFile,
    #[error("it is not a folder")]
    NotAFolder,
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(
        "--nvml-library (or HOEVEEL_NVML_LIBRARY) {path}: under sudo the agent loads a library only when root owns it and only root can write it and every folder above it; {entry} is not: {why}. Install it root-owned (e.g. `sudo install -o root -m 0755 LIB /usr/local/lib/`), or run the agent without sudo"
    )]
    Untrusted {
        path: PathBuf,
        entry: PathBuf,
        why: Untrusted,
    },
    #[error("--nvml-library (or HOEVEEL_NVML_LIBRARY) {path}: cannot check it")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

const GROUP_OR_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;
const FILE_TYPE: u32 = libc::S_IFMT;
const REGULAR: u32 = libc::S_IFREG;

/// Whether root may trust an entry on a library's path. A world-writable
/// folder with the sticky bit (`/tmp`) is trusted: in it nobody but an entry's
/// owner (here root) can rename or remove that entry (unlink(2), EPERM).
pub fn verdict(stat: Stat, role: Role) -> Result<(), Untrusted> {
    if stat.uid != 0 {
        return Err(Untrusted::NotRoot { uid: stat.uid });
    }
    match role {
        Role::Library if stat.mode & FILE_TYPE != REGULAR => Err(Untrusted::NotAFile),
        Role::Library if stat.mode & GROUP_OR_OTHER_WRITE != 0 => Err(Untrusted::Writable {
            mode: stat.mode & 0o7777,
        }),
        Role::Root if stat.mode & FILE_TYPE != libc::S_IFDIR => Err(Untrusted::NotAFolder),
        // Sticky or not: anyone who may create entries in it could plant one.
        Role::Root if stat.mode & GROUP_OR_OTHER_WRITE != 0 => Err(Untrusted::Writable {
            mode: stat.mode & 0o7777,
        }),
        Role::Folder if stat.mode & GROUP_OR_OTHER_WRITE != 0 && stat.mode & STICKY == 0 => {
            Err(Untrusted::Writable {
                mode: stat.mode & 0o7777,
            })
        }
        _ => Ok(()),
    }
}

/// The first entry root may not trust on the way from `resolved` (a path with
/// its links resolved, itself in `role`) up to `/`, with why; `None` when
/// root may trust them all.
pub fn first_untrusted(
    resolved: &Path,
    role: Role,
) -> std::io::Result<Option<(PathBuf, Untrusted)>> {
    for (entry, role) in std::iter::once((resolved, role))
        .chain(resolved.ancestors().skip(1).map(|a| (a, Role::Folder)))
    {
        let meta = std::fs::symlink_metadata(entry)?;
        if let Err(why) = verdict(Stat::of(&meta), role) {
            return Ok(Some((entry.to_path_buf(), why)));
        }
    }
    Ok(None)
}

/// Checks `path` for loading as root; returns the path to load: the same file
/// with its symbolic links resolved.
pub fn check_library(path: &Path) -> Result<PathBuf, LibraryError> {
    let unreadable = |source| LibraryError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let resolved = std::fs::canonicalize(path).map_err(unreadable)?;
    match first_untrusted(&resolved, Role::Library).map_err(unreadable)? {
        Some((entry, why)) => Err(LibraryError::Untrusted {
            path: path.to_path_buf(),
            entry,
            why,
        }),
        None => Ok(resolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(uid: u32, perm: u32) -> Stat {
        Stat {
            uid,
            mode: REGULAR | perm,
        }
    }

    fn folder(uid: u32, perm: u32) -> Stat {
        Stat {
            uid,
            mode: libc::S_IFDIR | perm,
        }
    }

    #[test]
    fn only_a_root_owned_library_that_only_root_can_write_is_trusted() {
        assert_eq!(verdict(file(0, 0o755), Role::Library), Ok(()));
        assert_eq!(verdict(file(0, 0o644), Role::Library), Ok(()));
        assert_eq!(
            verdict(file(1000, 0o755), Role::Library),
            Err(Untrusted::NotRoot { uid: 1000 })
        );
        assert_eq!(
            verdict(file(0, 0o775), Role::Library),
            Err(Untrusted::Writable { mode: 0o775 })
        );
        assert_eq!(
            verdict(file(0, 0o757), Role::Library),
            Err(Untrusted::Writable { mode: 0o757 })
        );
        // Sticky means nothing on a file: still writable by others.
        assert_eq!(
            verdict(file(0, 0o1777), Role::Library),
            Err(Untrusted::Writable { mode: 0o1777 })
        );
        assert_eq!(
            verdict(folder(0, 0o755), Role::Library),
            Err(Untrusted::NotAFile)
        );
    }

    #[test]
    fn a_folder_on_the_path_must_be_root_s_and_closed_unless_sticky() {
        assert_eq!(verdict(folder(0, 0o755), Role::Folder), Ok(()));
        assert_eq!(verdict(folder(0, 0o1777), Role::Folder), Ok(()));
        assert_eq!(
            verdict(folder(0, 0o777), Role::Folder),
            Err(Untrusted::Writable { mode: 0o777 })
        );
        assert_eq!(
            verdict(folder(0, 0o775), Role::Folder),
            Err(Untrusted::Writable { mode: 0o775 })
        );
        assert_eq!(
            verdict(folder(65534, 0o755), Role::Folder),
            Err(Untrusted::NotRoot { uid: 65534 })
        );
    }

    #[test]
    fn check_names_the_entry_that_fails_and_returns_the_resolved_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lib = dir.path().join("libx.so");
        std::fs::write(&lib, b"").expect("write");
        let link = dir.path().join("link.so");
        std::os::unix::fs::symlink(&lib, &link).expect("symlink");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        match check_library(&link) {
            // As root the temporary folder (and everything above it) is root's.
            Ok(resolved) if root => {
                assert_eq!(resolved, std::fs::canonicalize(&lib).expect("canonicalize"))
            }
            Err(LibraryError::Untrusted { entry, why, .. }) if !root => {
                assert_eq!(
                    entry,
                    std::fs::canonicalize(&lib).expect("canonicalize"),
                    "{why}"
                );
                assert!(matches!(why, Untrusted::NotRoot { .. }));
            }
            other => panic!("unexpected: {other:?}"),
        }
        assert!(matches!(
            check_library(&dir.path().join("absent.so")),
            Err(LibraryError::Unreadable { .. })
        ));
    }

    #[test]
    fn a_tree_root_must_be_a_closed_root_folder_even_when_sticky() {
        assert_eq!(verdict(folder(0, 0o755), Role::Root), Ok(()));
        assert_eq!(
            verdict(folder(0, 0o1777), Role::Root),
            Err(Untrusted::Writable { mode: 0o1777 })
        );
        assert_eq!(
            verdict(folder(1000, 0o755), Role::Root),
            Err(Untrusted::NotRoot { uid: 1000 })
        );
        assert_eq!(
            verdict(file(0, 0o644), Role::Root),
            Err(Untrusted::NotAFolder)
        );
    }
}
