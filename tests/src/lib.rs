//! Support for the end-to-end tests in `tests/`: the paths of the two binaries,
//! built on first use.
//!
//! Cargo gives `CARGO_BIN_EXE_*` only to tests of the package that owns the
//! binary, so this crate builds `hoeveel-agent` and `hoeveel` itself, once per
//! test process, into the same target directory, and fails loudly if it cannot.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `<target>/debug`, derived from this test executable (`<target>/debug/deps/…`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps")
        .to_path_buf()
}

fn build_once() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = profile_dir();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut cmd = Command::new(cargo);
        // The same selection as `scripts/test` builds and tests: building fewer
        // packages would resolve features differently and compile llama.cpp a
        // second time. The Python extension is built by pip, not here.
        cmd.args([
            "build",
            "--quiet",
            "--locked",
            "--workspace",
            "--exclude",
            "hoeveel-python",
            "--all-targets",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo runs");
        assert!(
            status.success(),
            "building the binaries for the end-to-end tests failed"
        );
        profile_dir
    })
}

/// Path of a workspace binary (`hoeveel-agent` or `hoeveel`), built if needed.
pub fn bin(name: &str) -> PathBuf {
    let path = build_once().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Measured repetitions written to the record at `path` so far (0 while it does
/// not exist), counted from its lines as a running agent flushes them.
pub fn repetitions_in(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(r#""type":"repetition""#) && l.contains(r#""warmup":false"#))
        .count()
}

/// Waits until the record at `path` holds `n` measured repetitions; fails the
/// test after a minute.
pub fn wait_for_repetitions(path: &Path, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while repetitions_in(path) < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{}: fewer than {n} repetitions after 60 s",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
