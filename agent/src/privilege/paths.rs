//! Paths the user names (`--output`, `--prompts`, `--queries`, `--corpus`,
//! `--model FILE`), opened with the rights of the user who named them.
//!
//! Under sudo every such open happens with the invoking user's filesystem
//! identity ([`super::fs_identity`]): the kernel then refuses what that user
//! could not do, through symbolic links and all, and a file the agent creates
//! is that user's from its first instant, so nothing is ever `chown`ed by path
//! (a chown by path after the write is what turned `--output /etc/shadow` into
//! a user-owned `/etc/shadow`). Without sudo the agent is the user and the same
//! calls run unswitched.
//!
//! A record is created, never truncated: `O_CREAT|O_EXCL|O_NOFOLLOW` refuses an
//! existing file and a symbolic link in its place (a device or a FIFO the user
//! may write, such as `/dev/null`, is still accepted). That also keeps a second
//! agent given the same `--output` from interleaving its lines with the first
//! one's (both records would be lost).

use super::RunAs;
use super::fs_identity::{self, SwitchError};
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(
        "{path} already exists; the agent does not overwrite a file: remove it or choose another --output"
    )]
    Exists { path: PathBuf },
    #[error(
        "{path} is a symbolic link; the agent does not write a record through a link: give the real path"
    )]
    Symlink { path: PathBuf },
    #[error("{path}: the user who ran sudo (uid {uid}) cannot read it")]
    UserCannotRead {
        path: PathBuf,
        uid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the user who ran sudo (uid {uid}) cannot write there")]
    UserCannotWrite {
        path: PathBuf,
        uid: u32,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Switch(#[from] SwitchError),
}

/// Opens what the user names with the user's rights: `user` is the invoking
/// user under sudo, `None` when the agent already is the user.
#[derive(Debug, Clone, Copy)]
pub struct UserPaths {
    user: Option<RunAs>,
}

impl UserPaths {
    pub fn new(user: Option<RunAs>) -> UserPaths {
        UserPaths { user }
    }

    /// For this process: the user who ran sudo, if it runs under sudo.
    pub fn from_env() -> anyhow::Result<UserPaths> {
        Ok(UserPaths::new(super::invoking_user_from_env()?))
    }

    /// Runs `work` with the user's filesystem identity on this thread: every
    /// file it opens is opened as the user.
    pub fn as_user<T>(&self, work: impl FnOnce() -> T) -> Result<T, SwitchError> {
        match self.user {
            Some(user) => fs_identity::as_user(user, work),
            None => Ok(work()),
        }
    }

    /// Opens `path` for reading as the user. Does not block on a FIFO (the
    /// open is non-blocking; reads on the descriptor are not).
    pub fn open_read(&self, path: &Path) -> Result<File, PathError> {
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(path)
        };
        let file = self
            .as_user(open)?
            .map_err(|source| self.cannot_read(path, source))?;
        clear_nonblock(&file).map_err(|source| self.cannot_read(path, source))?;
        Ok(file)
    }

    /// Refuses `path`, when it exists, if the user may not read it, with a
    /// message that says so; a missing path is left to the caller, which may
    /// take the name for something else (a shipped prompt set). The caller then
    /// reads it inside [`UserPaths::as_user`], so the check is the kernel's at
    /// that open too, and swapping the file after this check gains nothing.
    pub fn check_readable(&self, path: &Path) -> Result<(), PathError> {
        match self.open_read(path) {
            Ok(_) => Ok(()),
            Err(PathError::Open { source, .. }) if is_missing(&source) => Ok(()),
            Err(PathError::UserCannotRead { source, .. }) if is_missing(&source) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the record file `path` (and the folders above it that are
    /// missing) as the user, refusing an existing file or a symbolic link.
    pub fn create_record(&self, path: &Path) -> Result<File, PathError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.create_folders(parent)?;
        }
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(path)
        };
        let file = match self.as_user(open)? {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return self.open_existing_stream(path);
            }
            Err(source) => return Err(self.cannot_write(path, source)),
        };
        self.check_owner(path, &file)?;
        Ok(file)
    }

    /// An existing `path` as a record: a regular file is refused (never
    /// truncated, never appended to), and so is a symbolic link; a device or
    /// FIFO the user may write (`/dev/null`, `/dev/full`, a pipe to another
    /// program) is opened as the user. Non-blocking, so a FIFO nobody reads
    /// is an error at once rather than a hang.
    fn open_existing_stream(&self, path: &Path) -> Result<File, PathError> {
        if is_symlink(path) {
            return Err(PathError::Symlink {
                path: path.to_path_buf(),
            });
        }
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(path)
        };
        let file = match self.as_user(open)? {
            Ok(file) => file,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                return Err(PathError::Open {
                    path: path.to_path_buf(),
                    source: std::io::Error::other("a FIFO that no program is reading"),
                });
            }
            // A directory, or a symbolic link swapped in since (ELOOP).
            Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR | libc::ELOOP)) => {
                return Err(PathError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => return Err(self.cannot_write(path, source)),
        };
        let is_file = file
            .metadata()
            .map_err(|source| self.cannot_write(path, source))?
            .file_type()
            .is_file();
        if is_file {
            return Err(PathError::Exists {
                path: path.to_path_buf(),
            });
        }
        clear_nonblock(&file).map_err(|source| self.cannot_write(path, source))?;
        Ok(file)
    }

    /// Creates `path` and the folders above it as the user; an existing folder
    /// is fine (whatever is written in it is created as the user).
    pub fn create_folders(&self, path: &Path) -> Result<(), PathError> {
        self.as_user(|| std::fs::create_dir_all(path))?
            .map_err(|source| self.cannot_write(path, source))
    }

    /// A file created as the user is the user's; this says so once more from
    /// the descriptor (never the path), in case a set-gid folder or a file
    /// system that ignores owners decided otherwise, and hands it over then.
    fn check_owner(&self, path: &Path, file: &File) -> Result<(), PathError> {
        let Some(user) = self.user else {
            return Ok(());
        };
        let meta = file.metadata().map_err(|source| PathError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.uid() == user.uid {
            return Ok(());
        }
        std::os::unix::fs::fchown(file, Some(user.uid), None).map_err(|source| PathError::Open {
            path: path.to_path_buf(),
            source,
        })
    }

    fn cannot_read(&self, path: &Path, source: std::io::Error) -> PathError {
        self.denied(path, source, Access::Read)
    }

    fn cannot_write(&self, path: &Path, source: std::io::Error) -> PathError {
        self.denied(path, source, Access::Write)
    }

    /// A permission error under sudo is the invoking user's; any other error,
    /// or one without sudo, is the open's own.
    fn denied(&self, path: &Path, source: std::io::Error, access: Access) -> PathError {
        let path = path.to_path_buf();
        match self.user {
            Some(user) if source.kind() == std::io::ErrorKind::PermissionDenied => match access {
                Access::Read => PathError::UserCannotRead {
                    path,
                    uid: user.uid,
                    source,
                },
                Access::Write => PathError::UserCannotWrite {
                    path,
                    uid: user.uid,
                    source,
                },
            },
            _ => PathError::Open { path, source },
        }
    }
}

fn is_missing(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn clear_nonblock(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What an open was for, to name the right refusal.
#[derive(Debug, Clone, Copy)]
enum Access {
    Read,
    Write,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_record_is_created_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = UserPaths::new(None);
        let path = dir.path().join("a/b/r.jsonl");
        let mut file = paths.create_record(&path).expect("created");
        file.write_all(b"first\n").expect("write");
        let again = paths.create_record(&path).expect_err("refused");
        assert!(matches!(again, PathError::Exists { .. }), "{again}");
        assert!(again.to_string().contains("r.jsonl"), "{again}");
        assert_eq!(std::fs::read(&path).expect("read"), b"first\n");
    }

    #[test]
    fn a_record_is_not_written_through_a_symbolic_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("write");
        let link = dir.path().join("r.jsonl");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let e = UserPaths::new(None)
            .create_record(&link)
            .expect_err("refused");
        assert!(matches!(e, PathError::Symlink { .. }), "{e}");
        // A dangling link too: O_EXCL never creates through it.
        let dangling = dir.path().join("d.jsonl");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).expect("symlink");
        let e = UserPaths::new(None)
            .create_record(&dangling)
            .expect_err("refused");
        assert!(matches!(e, PathError::Symlink { .. }), "{e}");
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
    }

    #[test]
    fn a_device_the_user_may_write_is_a_record_and_a_fifo_nobody_reads_fails_at_once() {
        let paths = UserPaths::new(None);
        let mut null = paths
            .create_record(Path::new("/dev/null"))
            .expect("/dev/null");
        null.write_all(b"x\n").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("cstr");
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = paths.create_record(&fifo).expect_err("no reader");
        assert!(format!("{e:#}").contains("fifo"), "{e}");
        // A folder is not a record either.
        let e = paths.create_record(dir.path()).expect_err("a folder");
        assert!(matches!(e, PathError::Exists { .. }), "{e}");
    }

    #[test]
    fn a_missing_input_is_left_to_the_caller_and_a_fifo_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = UserPaths::new(None);
        assert!(paths.check_readable(&dir.path().join("everyday")).is_ok());
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("cstr");
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Returns at once although no writer ever comes.
        assert!(paths.check_readable(&fifo).is_ok());
    }

    #[test]
    fn under_sudo_a_root_only_file_is_refused_naming_it_and_the_user() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("*** SKIPPED: acting for another user needs root ***");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "root only").expect("write");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let paths = UserPaths::new(Some(RunAs {
            uid: 65534,
            gid: 65534,
        }));
        let e = paths.check_readable(&secret).expect_err("refused");
        assert!(
            matches!(e, PathError::UserCannotRead { uid: 65534, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("secret"), "{e}");
        // And nobody cannot create a record in a folder only root may write.
        let e = paths
            .create_record(&dir.path().join("r.jsonl"))
            .expect_err("refused");
        assert!(matches!(e, PathError::UserCannotWrite { .. }), "{e}");
        assert!(!dir.path().join("r.jsonl").exists());
    }
}
