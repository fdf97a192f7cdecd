//! Hashing, staging and the verified install into the cache.
//!
//! A file is written under a temporary name in the cache directory while it is hashed,
//! and renamed to its final name only when its sha256 matches the pin, so a reader
//! never sees a partial or unverified file, and a mismatch leaves nothing behind.
//! Next to each installed file, `<file>.verified` records the size and modification
//! time it had when its hash matched; while both are unchanged the file is trusted
//! without hashing it again (hashing 250 MB on every LLM run would cost seconds).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Failures a caller may want to tell apart.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "sha256 mismatch for {}: expected {expected}, got {actual}; the file was refused and removed",
        file.display()
    )]
    ChecksumMismatch {
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    PipMissing(String),
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Checks a downloaded file against its pin; on a mismatch the file is removed.
pub fn verify_file(path: &Path, expected: &str) -> anyhow::Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        let _ = std::fs::remove_file(path);
        return Err(FetchError::ChecksumMismatch {
            file: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        }
        .into());
    }
    Ok(())
}

/// A file being written under a temporary name, hashed as it is written.
pub struct Staged {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    size_bytes: u64,
}

impl Staged {
    /// Starts a staged file in `dir` (the directory of its final name, so that the
    /// rename is atomic).
    pub fn new_in(dir: &Path) -> anyhow::Result<Self> {
        let file = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(Staged {
            file,
            hasher: Sha256::new(),
            size_bytes: 0,
        })
    }

    /// Verifies the content against `expected_sha256` and renames it to `dest`, or
    /// removes it and returns [`FetchError::ChecksumMismatch`] naming `dest`.
    /// Returns the size in bytes.
    pub fn install(mut self, dest: &Path, expected_sha256: &str) -> anyhow::Result<u64> {
        self.file
            .as_file_mut()
            .flush()
            .with_context(|| format!("writing {}", self.file.path().display()))?;
        let actual = hex(&self.hasher.finalize());
        if actual != expected_sha256 {
            // Dropping the temporary file removes it.
            drop(self.file);
            return Err(FetchError::ChecksumMismatch {
                file: dest.to_path_buf(),
                expected: expected_sha256.to_string(),
                actual,
            }
            .into());
        }
        // Temporary files are created private (0600); a cached model or corpus is not secret.
        std::fs::set_permissions(self.file.path(), std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("setting permissions of {}", self.file.path().display()))?;
        self.file
            .as_file()
            .sync_all()
            .with_context(|| format!("syncing {}", self.file.path().display()))?;
        let _ = std::fs::remove_file(marker_path(dest));
        self.file
            .persist(dest)
            .with_context(|| format!("moving the verified file to {}", dest.display()))?;
        write_marker(dest, expected_sha256)?;
        Ok(self.size_bytes)
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size_bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What the cache holds for one artifact.
#[derive(Debug, PartialEq, Eq)]
pub enum CacheState {
    Missing,
    Valid,
    Mismatch { actual: String },
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Marker {
    sha256: String,
    size_bytes: u64,
    mtime_ns: u128,
}

fn marker_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".verified");
    PathBuf::from(name)
}

fn stat(file: &Path) -> anyhow::Result<(u64, u128)> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime_ns))
}

fn write_marker(file: &Path, sha256: &str) -> anyhow::Result<()> {
    let (size_bytes, mtime_ns) = stat(file)?;
    let marker = Marker {
        sha256: sha256.to_string(),
        size_bytes,
        mtime_ns,
    };
    let path = marker_path(file);
    std::fs::write(&path, serde_json::to_vec(&marker)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Whether the cached `file` is present and matches `expected_sha256`: trusted without
/// hashing while its marker matches its size and mtime, hashed (and re-marked) otherwise.
/// The marker only saves a hash next time: where it cannot be written (a cache
/// shared read-only) the file is still valid, and hashed again next time.
pub fn check_cached(file: &Path, expected_sha256: &str) -> anyhow::Result<CacheState> {
    if !file.exists() {
        return Ok(CacheState::Missing);
    }
    let (size_bytes, mtime_ns) = stat(file)?;
    let marker: Option<Marker> = std::fs::read(marker_path(file))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if marker
        == Some(Marker {
            sha256: expected_sha256.to_string(),
            size_bytes,
            mtime_ns,
        })
    {
        return Ok(CacheState::Valid);
    }
    let actual = sha256_file(file)?;
    if actual == expected_sha256 {
        // Best-effort, see above: the hash just matched, which is what counts.
        let _ = write_marker(file, expected_sha256);
        Ok(CacheState::Valid)
    } else {
        Ok(CacheState::Mismatch { actual })
    }
}

/// Removes a cached file and its marker.
pub fn remove_cached(file: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(marker_path(file));
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("removing {}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_matching_file_is_installed_with_its_marker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("hello.txt");
        let mut staged = Staged::new_in(dir.path()).expect("stage");
        staged.write_all(b"hello").expect("write");
        assert_eq!(staged.install(&dest, HELLO_SHA256).expect("install"), 5);
        assert_eq!(std::fs::read(&dest).expect("read"), b"hello");
        assert_eq!(entries(dir.path()), ["hello.txt", "hello.txt.verified"]);
        assert_eq!(
            check_cached(&dest, HELLO_SHA256).expect("check"),
            CacheState::Valid
        );
    }

    #[test]
    fn a_checksum_mismatch_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("hello.txt");
        let wrong = "0".repeat(64);
        let mut staged = Staged::new_in(dir.path()).expect("stage");
        staged.write_all(b"hello").expect("write");
        let err = staged.install(&dest, &wrong).expect_err("must refuse");
        match err.downcast_ref::<FetchError>() {
            Some(FetchError::ChecksumMismatch {
                file,
                expected,
                actual,
            }) => {
                assert_eq!(file, &dest);
                assert_eq!(expected, &wrong);
                assert_eq!(actual, HELLO_SHA256);
            }
            other => panic!("expected a checksum mismatch, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("hello.txt"), "{message}");
        assert!(message.contains(HELLO_SHA256), "{message}");
        assert!(message.contains(&wrong), "{message}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[test]
    fn a_downloaded_file_with_the_wrong_hash_is_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        std::fs::write(&wheel, b"hello").expect("write");
        let err = verify_file(&wheel, &"f".repeat(64)).expect_err("must refuse");
        assert!(err.to_string().contains("x.whl"), "{err}");
        assert!(!wheel.exists());
        std::fs::write(&wheel, b"hello").expect("write");
        verify_file(&wheel, HELLO_SHA256).expect("matches");
    }

    #[test]
    fn a_cached_file_changed_behind_our_back_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("hello.txt");
        let mut staged = Staged::new_in(dir.path()).expect("stage");
        staged.write_all(b"hello").expect("write");
        staged.install(&dest, HELLO_SHA256).expect("install");
        // A different size: mtimes are coarse (a few ms), so an equal-size rewrite within
        // the same tick would keep the marker valid, as it would for make or cargo.
        std::fs::write(&dest, b"hello, world").expect("tamper");
        match check_cached(&dest, HELLO_SHA256).expect("check") {
            CacheState::Mismatch { actual } => assert_ne!(actual, HELLO_SHA256),
            other => panic!("expected a mismatch, got {other:?}"),
        }
        remove_cached(&dest).expect("remove");
        assert!(entries(dir.path()).is_empty());
        assert_eq!(
            check_cached(&dest, HELLO_SHA256).expect("check"),
            CacheState::Missing
        );
    }

    #[test]
    fn a_cache_where_the_marker_cannot_be_written_is_still_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("model.gguf");
        std::fs::write(&file, b"weights").expect("write");
        let pin = hex(&Sha256::digest(b"weights"));
        // A marker path that cannot be written, as in a cache shared read-only
        // (root writes through permissions, so a folder stands in the way).
        std::fs::create_dir(marker_path(&file)).expect("mkdir");
        assert_eq!(
            check_cached(&file, &pin).expect("checked"),
            CacheState::Valid
        );
        assert_eq!(check_cached(&file, &pin).expect("again"), CacheState::Valid);
        assert!(matches!(
            check_cached(&file, &"0".repeat(64)).expect("checked"),
            CacheState::Mismatch { .. }
        ));
    }
}
