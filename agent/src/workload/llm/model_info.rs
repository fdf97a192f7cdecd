//! What identifies a model file in the record: its name, sha256, size, and what its
//! GGUF header says (architecture, parameter count, quantisation).
//!
//! Two files with the same name can be different weights (a re-quantised upload),
//! so the sha256 is what makes two records comparable.

use super::gguf::{self, GgufHeader};
use anyhow::Context;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::Read;
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
        let sha256 = sha256_file(path)?;
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

/// Hex sha256 of a file, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot open {} to hash it", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {} to hash it", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn hashes_like_sha256sum() {
        let mut file = tempfile::NamedTempFile::new().expect("temp");
        file.write_all(b"abc").expect("write");
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_file(file.path()).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

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
