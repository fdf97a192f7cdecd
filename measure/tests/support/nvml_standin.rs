//! Builds the stand-in `libnvidia-ml.so` (crate `testing/nvml-standin`) and
//! gives each test its own copy with its own script.
//!
//! The library is built by running cargo on the stand-in's manifest, once per
//! test process, into its own target directory (`<profile dir>/nvml-standin`),
//! so that it never waits on the lock of the build that runs the tests. This
//! works the same under `cargo test`, `cargo bench` and `cargo nextest run`.
//!
//! Each copy lies in a fresh temporary directory as `libnvidia-ml.so.1`, with
//! the script beside it as `nvml-standin.script`: the dynamic loader treats
//! every copy as a separate library, so tests running in parallel threads of
//! one process each replay their own trace. `NVML_STANDIN_SCRIPT` must not be
//! set in the environment of the tests (it would take precedence).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The script's name next to the library (see testing/nvml-standin/src/lib.rs).
const SCRIPT_FILE_NAME: &str = "nvml-standin.script";

/// A copy of the stand-in library with a script, alive as long as this value.
pub struct StandIn {
    _dir: tempfile::TempDir,
    library: PathBuf,
}

impl StandIn {
    /// A library that replays `script`.
    pub fn new(script: &str) -> StandIn {
        let dir = tempfile::tempdir().expect("temporary directory for the stand-in NVML");
        let library = dir.path().join("libnvidia-ml.so.1");
        std::fs::copy(built_library(), &library).expect("copy the stand-in NVML library");
        std::fs::write(dir.path().join(SCRIPT_FILE_NAME), script)
            .expect("write the stand-in NVML script");
        StandIn { _dir: dir, library }
    }

    /// The path to pass as the NVML library.
    pub fn library(&self) -> &Path {
        &self.library
    }
}

/// Builds the stand-in (once per process) and returns the built library.
fn built_library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("testing")
            .join("nvml-standin")
            .join("Cargo.toml");
        // <target>/<profile>/deps/<test binary> -> <target>/<profile>/nvml-standin
        let exe = std::env::current_exe().expect("path of the test binary");
        let target_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary inside <target>/<profile>/deps")
            .join("nvml-standin");
        let cargo = std::env::var_os("CARGO")
            .or_else(|| option_env!("CARGO").map(Into::into))
            .unwrap_or_else(|| "cargo".into());
        let status = Command::new(&cargo)
            .args([
                "build",
                "--quiet",
                "--locked",
                "--release",
                "--manifest-path",
            ])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?} to build the stand-in NVML: {e}"));
        assert!(
            status.success(),
            "building the stand-in NVML ({}) failed: {status}",
            manifest.display()
        );
        let library = target_dir.join("release").join("libnvidia_ml.so");
        assert!(
            library.is_file(),
            "the stand-in build did not produce {}",
            library.display()
        );
        library
    })
}
