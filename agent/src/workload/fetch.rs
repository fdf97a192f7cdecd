//! TEMPORARY SHIM for the LLM branch only: stands in for the real fetcher until it
//! lands, reading already-extracted weights from `$HOEVEEL_SHIM_MODELS`.
//! Removed before the branch is merged.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum Artifact {
    Smollm2_135m,
    Gemma3_270m,
    WikiVital,
}

pub fn ensure(artifact: Artifact) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(
        std::env::var("HOEVEEL_SHIM_MODELS").unwrap_or_else(|_| "/tmp/llmwork/models".into()),
    );
    let path = match artifact {
        Artifact::Smollm2_135m => dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"),
        Artifact::Gemma3_270m => dir.join("gemma-3-270m-q4_k_m.gguf"),
        Artifact::WikiVital => anyhow::bail!("shim: no corpus"),
    };
    anyhow::ensure!(path.is_file(), "shim: {} missing", path.display());
    Ok(path)
}
