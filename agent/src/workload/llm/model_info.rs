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

impl ModelInfo {
    /// Checks the GGUF header (refusing a damaged file with its name in the error)
    /// and hashes the file.
    pub fn inspect(path: &Path) -> anyhow::Result<Self> {
        let metadata = std::fs::metadata(path)
            .with_context(|| format!("model file {} cannot be read", path.display()))?;
        if !metadata.is_file() {
            anyhow::bail!("model {} is not a file", path.display());
        }
        let header = gguf::read_header(path)
            .with_context(|| format!("model file {} is not usable", path.display()))?;
        let sha256 = crate::workload::fetch::verify::sha256_file(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let err = ModelInfo::inspect(Path::new("/nonexistent/model.gguf")).expect_err("missing");
        assert!(
            format!("{err:#}").contains("/nonexistent/model.gguf"),
            "{err:#}"
        );
    }

    #[test]
    fn a_corrupt_file_is_refused_with_its_name() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        file.write_all(b"GGUF\x03\0\0\0garbage").expect("write");
        let err = ModelInfo::inspect(file.path()).expect_err("corrupt");
        let text = format!("{err:#}");
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(text.contains("damaged GGUF header"), "{text}");
    }
}
