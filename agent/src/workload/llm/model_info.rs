//! What identifies a model file in the record: its name, sha256, size, and what its
//! GGUF header says (architecture, parameter count, quantisation).
//!
//! Two files with the same name can be different weights (a re-quantised upload),
//! so the sha256 is what makes two records comparable.

use super::gguf::{self, GgufHeader};
use anyhow::Context;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub header: GgufHeader,
}

/// A model file whose sha256 is not the one it is pinned to (a shipped model's,
/// an Ollama blob's digest): damaged since it was verified, however its size
/// and modification time look.
#[derive(Debug, thiserror::Error)]
#[error(
    "model file {} does not match its pinned sha256 (expected {expected}, found {actual})",
    path.display()
)]
pub struct PinMismatch {
    pub path: PathBuf,
    pub expected: String,
    pub actual: String,
}

impl ModelInfo {
    /// Checks the GGUF header (refusing a damaged file with its name in the error)
    /// and hashes the file; with a `pin`, the hash must be it ([`PinMismatch`]).
    pub fn inspect(path: &Path, pin: Option<&str>) -> anyhow::Result<Self> {
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("model file {} cannot be read", path.display()))?;
        if !metadata.is_file() {
            anyhow::bail!("model {} is not a file", path.display());
        }
        // Before anything reads the file: hashing a model larger than memory
        // would take as long as reading it, to no end.
        if let Some(warning) = fits_in_memory(
            path,
            metadata.len(),
            crate::machine_checks::memory_bytes(Path::new("/proc")),
        )? {
            eprintln!("hoeveel-agent: {warning}");
        }
        let header = gguf::read_header(path)
            .with_context(|| format!("model file {} is not usable", path.display()))?;
        let sha256 = crate::workload::fetch::verify::sha256_file(path)?;
        if let Some(expected) = pin.filter(|p| !p.eq_ignore_ascii_case(&sha256)) {
            return Err(PinMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual: sha256,
            }
            .into());
        }
        Ok(Self {
            path: path.to_path_buf(),
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256,
            size_bytes: metadata.len(),
            header,
        })
    }

    /// `Q4_1`, `Q4_K_M`, ... or `file_type <n>` for a type this table does not know.
    pub fn quantisation(&self) -> Option<String> {
        self.header.file_type.map(|ft| {
            gguf::file_type_name(ft)
                .map(str::to_string)
                .unwrap_or_else(|| format!("file_type {ft}"))
        })
    }

    /// The record's description of the file, from the header alone.
    pub fn to_json(&self) -> Value {
        json!({
            "file": self.path.display().to_string(),
            "file_name": self.file_name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "gguf_version": self.header.version,
            "architecture": self.header.architecture,
            "name": self.header.name,
            "quantisation": self.quantisation(),
            "parameters": self.header.parameters,
            "context_length_trained": self.header.context_length,
        })
    }
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Refuses a model file larger than the machine's memory (llama.cpp would read
/// the weights from disk for every token, so the figures would measure the
/// disk, if the kernel did not kill it first); warns when it is larger than the
/// memory available now. `memory`: MemTotal and MemAvailable in bytes, `None`
/// where unknown (then nothing is checked).
pub fn fits_in_memory(
    path: &Path,
    size_bytes: u64,
    memory: Option<(u64, Option<u64>)>,
) -> anyhow::Result<Option<String>> {
    let Some((total, available)) = memory else {
        return Ok(None);
    };
    if size_bytes > total {
        anyhow::bail!(
            "model {} is {} and this machine has {} of memory: it cannot be held in memory, so llama.cpp would read its weights from disk for every token (or be stopped by the kernel) and the figures would measure the disk. Use a smaller or more quantised model",
            path.display(),
            gb(size_bytes),
            gb(total)
        );
    }
    Ok(available.filter(|a| size_bytes > *a).map(|a| {
        format!(
            "model {} is {} and only {} of memory is available now: other programs' memory will be paged out while it loads, and the first requests may be slow",
            path.display(),
            gb(size_bytes),
            gb(a)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let err =
            ModelInfo::inspect(Path::new("/nonexistent/model.gguf"), None).expect_err("missing");
        assert!(
            format!("{err:#}").contains("/nonexistent/model.gguf"),
            "{err:#}"
        );
    }

    #[test]
    fn a_model_is_compared_with_its_pin_not_only_hashed() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        file.write_all(&super::gguf::tests::tiny_gguf())
            .expect("write");
        let info = ModelInfo::inspect(file.path(), None).expect("a valid GGUF");
        let same = ModelInfo::inspect(file.path(), Some(&info.sha256.to_uppercase()))
            .expect("matches its pin");
        assert_eq!(same.sha256, info.sha256);
        let err = ModelInfo::inspect(file.path(), Some(&"ab".repeat(32))).expect_err("damaged");
        let mismatch = err.downcast_ref::<PinMismatch>().expect("a pin mismatch");
        assert_eq!(mismatch.actual, info.sha256);
        assert!(
            err.to_string().contains("does not match its pinned sha256"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_file_is_refused_with_its_name() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        file.write_all(b"GGUF\x03\0\0\0garbage").expect("write");
        let err = ModelInfo::inspect(file.path(), None).expect_err("corrupt");
        let text = format!("{err:#}");
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(text.contains("damaged GGUF header"), "{text}");
    }

    #[test]
    fn a_model_larger_than_memory_is_refused_and_one_larger_than_what_is_free_warned() {
        let path = Path::new("big.gguf");
        let gib = 1 << 30;
        let err = fits_in_memory(path, 20 * gib, Some((16 * gib, Some(8 * gib))))
            .expect_err("larger than memory");
        let text = err.to_string();
        assert!(
            text.contains("big.gguf is 21.5 GB and this machine has 17.2 GB"),
            "{text}"
        );
        let warning = fits_in_memory(path, 10 * gib, Some((16 * gib, Some(8 * gib))))
            .expect("fits")
            .expect("a warning");
        assert!(
            warning.contains("only 8.6 GB of memory is available now"),
            "{warning}"
        );
        assert_eq!(
            fits_in_memory(path, gib, Some((16 * gib, Some(8 * gib)))).expect("fits"),
            None
        );
        assert_eq!(fits_in_memory(path, 20 * gib, None).expect("unknown"), None);
    }

    #[test]
    fn a_sparse_model_file_larger_than_memory_is_refused_before_it_is_read() {
        let Some((total, _)) = crate::machine_checks::memory_bytes(Path::new("/proc")) else {
            return; // no /proc/meminfo: nothing to compare with
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.gguf");
        let file = std::fs::File::create(&path).expect("create");
        // Sparse: no disk used; hashing it would read it all.
        file.set_len(total + (1 << 30)).expect("sparse");
        let err = ModelInfo::inspect(&path, None).expect_err("refused");
        assert!(
            format!("{err:#}").contains("cannot be held in memory"),
            "{err:#}"
        );
    }
}
