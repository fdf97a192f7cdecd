//! Finds the GGUF weights of a model already pulled with Ollama, so that it can be
//! measured in-process without the Ollama server.
//!
//! Ollama keeps an OCI-style store (ollama's `server/modelpath.go` and `server/images.go`):
//! `<models>/manifests/<host>/<namespace>/<model>/<tag>` is a JSON manifest whose layer
//! with media type `application/vnd.ollama.image.model` names the weights by digest,
//! and `<models>/blobs/sha256-<hex>` holds them. `<models>` is `$OLLAMA_MODELS`, or
//! `~/.ollama/models` (the Linux service install uses `/usr/share/ollama/.ollama/models`).
//! A bare name gets host `registry.ollama.ai`, namespace `library` and tag `latest`.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

const DEFAULT_HOST: &str = "registry.ollama.ai";
const DEFAULT_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
const MODEL_MEDIA_TYPE: &str = "application/vnd.ollama.image.model";

/// A model name split the way Ollama splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaName {
    pub host: String,
    pub namespace: String,
    pub model: String,
    pub tag: String,
}

impl OllamaName {
    /// Parses `[host/][namespace/]model[:tag]`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        // A `:` after the last `/` separates the tag (a host may carry a port).
        let last_slash = text.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match text[last_slash..].rfind(':') {
            Some(i) => (&text[..last_slash + i], &text[last_slash + i + 1..]),
            None => (text, DEFAULT_TAG),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (host, namespace, model) = match parts.as_slice() {
            [model] => (DEFAULT_HOST, DEFAULT_NAMESPACE, *model),
            [namespace, model] => (DEFAULT_HOST, *namespace, *model),
            [host, namespace, model] => (*host, *namespace, *model),
            _ => anyhow::bail!(
                "`{text}` is not an Ollama model name (expected [host/][namespace/]model[:tag])"
            ),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
        };
        if ![host, namespace, model, tag].iter().all(|s| valid(s)) {
            anyhow::bail!(
                "`{text}` is not an Ollama model name (expected [host/][namespace/]model[:tag])"
            );
        }
        Ok(Self {
            host: host.to_string(),
            namespace: namespace.to_string(),
            model: model.to_string(),
            tag: tag.to_string(),
        })
    }

    fn manifest_path(&self, models_dir: &Path) -> PathBuf {
        models_dir
            .join("manifests")
            .join(&self.host)
            .join(&self.namespace)
            .join(&self.model)
            .join(&self.tag)
    }
}

impl std::fmt::Display for OllamaName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.model, self.tag)
    }
}

/// Ollama's models directory: `$OLLAMA_MODELS`, else `~/.ollama/models`.
pub fn default_models_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("OLLAMA_MODELS").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("neither OLLAMA_MODELS nor HOME is set, so the Ollama store cannot be found")?;
    Ok(PathBuf::from(home).join(".ollama").join("models"))
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Layer {
    media_type: String,
    digest: String,
}

/// The GGUF blob of `name` in the store at `models_dir`.
pub fn resolve(models_dir: &Path, name: &OllamaName) -> anyhow::Result<PathBuf> {
    let manifest_path = name.manifest_path(models_dir);
    let text = std::fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "Ollama model {name} is not in the store at {} (no manifest {}); pull it with \
             `ollama pull {name}`, or set OLLAMA_MODELS to the store Ollama uses",
            models_dir.display(),
            manifest_path.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("Ollama manifest {} is not valid", manifest_path.display()))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == MODEL_MEDIA_TYPE)
        .with_context(|| {
            format!(
                "Ollama manifest {} has no model layer ({MODEL_MEDIA_TYPE})",
                manifest_path.display()
            )
        })?;
    let hex = layer
        .digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .with_context(|| {
            format!(
                "Ollama manifest {} names the model layer by an unexpected digest `{}`",
                manifest_path.display(),
                layer.digest
            )
        })?;
    let blob = models_dir.join("blobs").join(format!("sha256-{hex}"));
    if !blob.is_file() {
        anyhow::bail!(
            "Ollama model {name}: its weights {} are missing from the store (re-pull with \
             `ollama pull {name}`)",
            blob.display()
        );
    }
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_like_ollama() {
        let n = OllamaName::parse("llama3.2:3b").expect("name");
        assert_eq!(
            (
                n.host.as_str(),
                n.namespace.as_str(),
                n.model.as_str(),
                n.tag.as_str()
            ),
            ("registry.ollama.ai", "library", "llama3.2", "3b")
        );
        let n = OllamaName::parse("gemma3").expect("name");
        assert_eq!(n.tag, "latest");
        let n = OllamaName::parse("someone/tiny:q4").expect("name");
        assert_eq!(
            (n.namespace.as_str(), n.model.as_str()),
            ("someone", "tiny")
        );
        let n = OllamaName::parse("localhost:5000/me/m:v1").expect("name");
        assert_eq!((n.host.as_str(), n.tag.as_str()), ("localhost:5000", "v1"));
        assert!(OllamaName::parse("../../etc/passwd").is_err());
        assert!(OllamaName::parse("a/b/c/d").is_err());
        assert!(OllamaName::parse("").is_err());
    }

    fn store_with(manifest: &str, blob_hex: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest_dir = dir.path().join("manifests/registry.ollama.ai/library/tiny");
        std::fs::create_dir_all(&manifest_dir).expect("mkdir");
        std::fs::write(manifest_dir.join("1b"), manifest).expect("manifest");
        std::fs::create_dir_all(dir.path().join("blobs")).expect("mkdir");
        if let Some(hex) = blob_hex {
            std::fs::write(dir.path().join(format!("blobs/sha256-{hex}")), b"GGUF").expect("blob");
        }
        dir
    }

    const MODEL_HEX: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

    fn manifest() -> String {
        // The shape of a real manifest (schemaVersion 2, config + layers).
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:{0}","size":485}},
            "layers":[
              {{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:{0}","size":1}},
              {{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{MODEL_HEX}","size":4}},
              {{"mediaType":"application/vnd.ollama.image.params","digest":"sha256:{0}","size":1}}]}}"#,
            "bb00000000000000000000000000000000000000000000000000000000000002"
        )
    }

    #[test]
    fn resolves_the_model_layer_to_its_blob() {
        let store = store_with(&manifest(), Some(MODEL_HEX));
        let name = OllamaName::parse("tiny:1b").expect("name");
        let blob = resolve(store.path(), &name).expect("resolves");
        assert_eq!(blob, store.path().join(format!("blobs/sha256-{MODEL_HEX}")));
    }

    #[test]
    fn explains_a_model_that_was_never_pulled() {
        let store = store_with(&manifest(), Some(MODEL_HEX));
        let name = OllamaName::parse("other:7b").expect("name");
        let err = resolve(store.path(), &name).expect_err("absent");
        assert!(
            format!("{err:#}").contains("ollama pull other:7b"),
            "{err:#}"
        );
    }

    #[test]
    fn explains_a_missing_blob_and_a_bad_manifest() {
        let name = OllamaName::parse("tiny:1b").expect("name");
        let store = store_with(&manifest(), None);
        let err = resolve(store.path(), &name).expect_err("no blob");
        assert!(
            format!("{err:#}").contains("missing from the store"),
            "{err:#}"
        );

        let store = store_with("{not json", None);
        let err = resolve(store.path(), &name).expect_err("bad manifest");
        assert!(format!("{err:#}").contains("is not valid"), "{err:#}");

        let store = store_with(r#"{"layers":[]}"#, None);
        let err = resolve(store.path(), &name).expect_err("no model layer");
        assert!(format!("{err:#}").contains("no model layer"), "{err:#}");
    }
}
