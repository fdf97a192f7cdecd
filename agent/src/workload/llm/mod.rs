//! A local LLM query, measured one chat request per repetition.
//!
//! Three ways to run it, each its own [`Workload`](super::Workload):
//! - [`in_process`]: llama.cpp inside the agent (cargo feature `llm`), so the
//!   measured energy is the request's and nothing else's. The weights are a shipped
//!   model (fetched into the cache), a GGUF file, or a model already pulled with
//!   Ollama ([`ollama_store`]).
//! - [`http_ollama`]: Ollama's native API (`/api/chat`, `/api/generate`).
//! - [`http_openai`]: an OpenAI-compatible `/v1/chat/completions` server.
//!
//! Every request starts from an empty context and decodes greedily (or with a fixed
//! seed), so repetitions do the same work and can be compared.

pub mod concurrent;
pub mod gguf;
pub mod http;
pub mod http_ollama;
pub mod http_openai;
#[cfg(feature = "llm")]
pub mod in_process;
pub mod interruptible;
pub mod model_info;
pub mod ollama_store;
pub mod prompts;
pub mod thread_room;

use super::fetch::Artifact;
use super::{Outcome, RunContext, Workload, WorkloadError};
use hoeveel_record::Metrics;
use serde_json::{Value, json};
use std::path::PathBuf;

/// The question asked when none is given (the workshop's own example).
pub const DEFAULT_PROMPT: &str = "What is a life cycle assessment?";

/// Where in-process weights come from, as written after `--model`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A shipped model, fetched into the cache on first use.
    Shipped(ShippedModel),
    /// `ollama:NAME[:TAG]`: a model in the local Ollama store.
    Ollama(String),
    /// A GGUF file.
    File(PathBuf),
}

/// The models hoeveel ships (fetched from a package registry, never committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShippedModel {
    /// SmolLM2-135M-Instruct, Q4_1: the default.
    Smollm2_135m,
    /// Gemma 3 270M, Q4_K_M: the second size.
    Gemma3_270m,
}

impl ShippedModel {
    pub const ALL: [ShippedModel; 2] = [ShippedModel::Smollm2_135m, ShippedModel::Gemma3_270m];

    pub fn name(self) -> &'static str {
        match self {
            ShippedModel::Smollm2_135m => "smollm2-135m",
            ShippedModel::Gemma3_270m => "gemma3-270m",
        }
    }

    pub fn artifact(self) -> Artifact {
        match self {
            ShippedModel::Smollm2_135m => Artifact::Smollm2_135m,
            ShippedModel::Gemma3_270m => Artifact::Gemma3_270m,
        }
    }
}

impl ModelSpec {
    /// `smollm2-135m`, `gemma3-270m`, `ollama:NAME[:TAG]`, or a path to a `.gguf` file.
    pub fn parse(text: &str) -> Self {
        if let Some(model) = ShippedModel::ALL.into_iter().find(|m| m.name() == text) {
            return ModelSpec::Shipped(model);
        }
        if let Some(name) = text.strip_prefix("ollama:") {
            return ModelSpec::Ollama(name.to_string());
        }
        ModelSpec::File(PathBuf::from(text))
    }

    /// The GGUF file to load: fetched (shipped), looked up (Ollama) or as given.
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        match self {
            ModelSpec::Shipped(model) => super::fetch::ensure(model.artifact()),
            ModelSpec::Ollama(name) => {
                let name = ollama_store::OllamaName::parse(name)?;
                ollama_store::resolve(&ollama_store::default_models_dir()?, &name)
            }
            ModelSpec::File(path) => {
                if !path.exists() {
                    let shipped: Vec<_> = ShippedModel::ALL.iter().map(|m| m.name()).collect();
                    anyhow::bail!(
                        "model file {} does not exist (give a .gguf file, ollama:NAME:TAG, or \
                         one of the shipped models: {})",
                        path.display(),
                        shipped.join(", ")
                    );
                }
                Ok(path.clone())
            }
        }
    }

    /// The sha256 the file must have: a shipped model's pin, or the digest an
    /// Ollama blob is named by; `None` for a file the user names.
    pub fn pinned_sha256(&self, path: &std::path::Path) -> Option<String> {
        match self {
            ModelSpec::Shipped(model) => Some(model.artifact().spec().sha256.to_string()),
            ModelSpec::Ollama(_) => path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("sha256-"))
                .map(str::to_string),
            ModelSpec::File(_) => None,
        }
    }

    /// How the model was named, for the record.
    pub fn describe(&self) -> String {
        match self {
            ModelSpec::Shipped(model) => model.name().to_string(),
            ModelSpec::Ollama(name) => format!("ollama:{name}"),
            ModelSpec::File(path) => path.display().to_string(),
        }
    }
}

/// How tokens are chosen. Temperature 0 is greedy decoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    pub temperature: f32,
    pub seed: u32,
    pub max_tokens: u32,
}

impl Sampling {
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    pub fn to_json(self) -> Value {
        json!({
            "method": if self.is_greedy() { "greedy" } else { "temperature + seeded sampling" },
            "temperature": self.temperature,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
        })
    }
}

/// One request's result, however it was served.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generation {
    pub prompt_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub time_to_first_token_s: Option<f64>,
    pub tokens_per_s: Option<f64>,
    pub response_bytes: Option<u64>,
    pub text: String,
}

impl Generation {
    /// The outcome of the request that asked prompt `prompt_index` of a set of
    /// several (`None` for a single prompt).
    pub fn into_outcome(self, prompt_index: Option<u64>) -> Outcome {
        Outcome {
            requests: 1,
            metrics: Metrics {
                prompt_tokens: self.prompt_tokens,
                output_tokens: self.output_tokens,
                time_to_first_token_s: self.time_to_first_token_s,
                tokens_per_s: self.tokens_per_s,
                response_bytes: self.response_bytes,
                output_text: Some(self.text),
                prompt_index,
                ..Metrics::default()
            },
            exit_code: None,
            steady: None,
            parts: None,
        }
    }
}

/// One chat request with a prompt the caller writes, for a workload that builds
/// its prompt per request (an AI search answers from the passages it found).
/// The request is the backend's own: the same template, sampling and limits as
/// its measured requests.
pub trait Chat {
    fn chat(&mut self, prompt: &str, ctx: &RunContext<'_>) -> Result<Generation, WorkloadError>;
}

/// An LLM backend (in-process, Ollama, OpenAI-compatible): measured on its own
/// as a workload, or asked by another workload through [`Chat`].
pub trait LlmBackend: Workload + Chat {}

impl<T: Workload + Chat> LlmBackend for T {}

/// Decode rate after the first token: `(n - 1) / (end - first)`. The first token
/// carries the prompt's evaluation, which time to first token already reports.
pub fn decode_rate(output_tokens: u64, first_token_s: f64, end_s: f64) -> Option<f64> {
    let span_s = end_s - first_token_s;
    (output_tokens >= 2 && span_s > 0.0).then(|| (output_tokens - 1) as f64 / span_s)
}

/// A label a person reads: model and the start of the prompt, or the prompt set.
fn label(via: &str, model: &str, prompts: &prompts::PromptSet) -> String {
    if prompts.len() > 1 {
        return format!("{model} ({via}): {}", prompts.describe());
    }
    let prompt = prompts.nth(0);
    let short: String = prompt.chars().take(60).collect();
    let ellipsis = if short.len() < prompt.len() {
        "…"
    } else {
        ""
    };
    format!("{model} ({via}): \"{short}{ellipsis}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_parse() {
        assert_eq!(
            ModelSpec::parse("smollm2-135m"),
            ModelSpec::Shipped(ShippedModel::Smollm2_135m)
        );
        assert_eq!(
            ModelSpec::parse("gemma3-270m"),
            ModelSpec::Shipped(ShippedModel::Gemma3_270m)
        );
        assert_eq!(
            ModelSpec::parse("ollama:llama3.2:3b"),
            ModelSpec::Ollama("llama3.2:3b".into())
        );
        assert_eq!(
            ModelSpec::parse("./m.gguf"),
            ModelSpec::File(PathBuf::from("./m.gguf"))
        );
    }

    #[test]
    fn a_missing_model_file_is_named() {
        let err = ModelSpec::parse("/no/such/model.gguf")
            .resolve()
            .expect_err("missing");
        let text = format!("{err:#}");
        assert!(text.contains("/no/such/model.gguf"), "{text}");
        assert!(text.contains("smollm2-135m"), "{text}");
    }

    #[test]
    fn decode_rate_needs_two_tokens() {
        assert_eq!(decode_rate(1, 0.5, 1.0), None);
        assert_eq!(decode_rate(11, 0.5, 1.5), Some(10.0));
        assert_eq!(decode_rate(5, 1.0, 1.0), None);
    }
}
