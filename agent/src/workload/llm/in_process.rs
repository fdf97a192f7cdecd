//! LLM requests served by llama.cpp inside the agent (the `llama-cpp-2` crate).
//!
//! Loading the model is [`Workload::prepare`] (measured as `model_load` with
//! `--include-load`); each repetition is one chat request: the model's own chat
//! template applied to the prompt (a base model without one completes the plain
//! prompt, and the record says so), the KV cache cleared so every request starts
//! from an empty context, the prompt evaluated, and tokens decoded one at a time
//! until end of generation or `--max-tokens`. Ctrl-C is checked between tokens.
//!
//! llama.cpp logs to stderr by default; the agent captures its log instead (shown
//! with `--verbose`) and quotes llama.cpp's errors when a load fails.

use super::model_info::{ModelInfo, PinMismatch};
use super::prompts::PromptSet;
use super::thread_room::ThreadRoom;
use super::{Chat, Generation, ModelSpec, Sampling, decode_rate, label};
use crate::workload::{Outcome, RunContext, Workload, WorkloadError};
use anyhow::Context;
use hoeveel_record::{Probe, WorkloadInfo, WorkloadKind};
use llama_cpp_2::ChatTemplateError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use serde_json::{Value, json};
use std::num::NonZeroU32;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Settings of the in-process engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub prompts: PromptSet,
    /// Measure prefill probes (one generated token) after the requests.
    pub split_prefill: bool,
    /// Generate exactly `max_tokens`, past the end-of-generation token (a
    /// protocol that fixes the number of new tokens).
    pub ignore_eos: bool,
    /// The published protocol the run follows (`ai-energy-score`), for the record.
    pub protocol: Option<String>,
    pub sampling: Sampling,
    /// Context size in tokens (prompt + output must fit).
    pub context_tokens: u32,
    pub threads: u32,
    /// Layers offloaded to a GPU (only with the `cuda` feature; 0 otherwise).
    pub gpu_layers: u32,
    /// Measure the model load as its own phase.
    pub include_load: bool,
    /// Show llama.cpp's own log on stderr.
    pub verbose: bool,
}

/// An in-process llama.cpp workload.
pub struct InProcess {
    spec: ModelSpec,
    model: ModelInfo,
    settings: Settings,
    loaded: Option<Loaded>,
    /// Requests made so far (warm-ups included): which prompt comes next.
    requests: u64,
}

/// Resolves the model and inspects it against its pin. A cached shipped model
/// that no longer matches (damaged while its size and modification time stayed,
/// so its `.verified` stamp still matched) is removed and fetched again, once.
fn inspect_pinned(spec: &ModelSpec) -> anyhow::Result<ModelInfo> {
    let path = spec.resolve()?;
    let pin = spec.pinned_sha256(&path);
    match ModelInfo::inspect(&path, pin.as_deref()) {
        Err(e) if matches!(spec, ModelSpec::Shipped(_)) && e.is::<PinMismatch>() => {
            eprintln!("hoeveel-agent: {e}; removing it and fetching it again");
            crate::workload::fetch::verify::remove_cached(&path)?;
            let path = spec.resolve()?;
            ModelInfo::inspect(&path, spec.pinned_sha256(&path).as_deref())
        }
        inspected => inspected,
    }
}

impl InProcess {
    /// Resolves the model (fetching a shipped one), checks its GGUF header and
    /// hashes it. Nothing is loaded yet.
    pub fn new(spec: ModelSpec, settings: Settings) -> anyhow::Result<Self> {
        if settings.sampling.max_tokens == 0 {
            anyhow::bail!("--max-tokens must be at least 1");
        }
        if settings.context_tokens < 16 {
            anyhow::bail!(
                "--ctx {} is too small (at least 16 tokens)",
                settings.context_tokens
            );
        }
        if settings.threads == 0 {
            anyhow::bail!("--threads must be at least 1");
        }
        // Before anything is fetched or loaded: llama.cpp cannot fail to start a
        // thread gracefully.
        if let Some(warning) = ThreadRoom::of_this_process().check(settings.threads)? {
            eprintln!("hoeveel-agent: {warning}");
        }
        if settings.gpu_layers > 0 && !cfg!(feature = "cuda") {
            anyhow::bail!(
                "--gpu-layers needs a build with GPU offload (cargo feature `cuda`); this build runs on the CPU"
            );
        }
        let model = inspect_pinned(&spec)?;
        Ok(Self {
            spec,
            model,
            settings,
            loaded: None,
            requests: 0,
        })
    }

    pub fn model_info(&self) -> &ModelInfo {
        &self.model
    }

    fn details(&self) -> Value {
        let mut model = self.model.to_json();
        if let (Some(loaded), Some(obj)) = (&self.loaded, model.as_object_mut()) {
            // llama.cpp's own reading of the model, once it is loaded.
            obj.insert("parameters".into(), json!(loaded.model.n_params()));
            obj.insert("layers".into(), json!(loaded.model.n_layer()));
            if let Ok(arch) = loaded.model.meta_val_str("general.architecture") {
                obj.insert("architecture".into(), json!(arch));
            }
            let counts: Vec<usize> = loaded.prompt_tokens.iter().map(Vec::len).collect();
            obj.insert(
                "prompt_tokens".into(),
                if counts.len() == 1 {
                    json!(counts[0])
                } else {
                    json!(counts)
                },
            );
        }
        json!({
            "engine": "llama.cpp (in-process, llama-cpp-2)",
            "llama_cpp_2_version": LLAMA_CPP_2_VERSION,
            "model_spec": self.spec.describe(),
            "model": model,
            "context_tokens": self.settings.context_tokens,
            "threads": self.settings.threads,
            "gpu_layers": self.settings.gpu_layers,
            "gpu_offload_built": cfg!(feature = "cuda"),
            "sampling": self.settings.sampling.to_json(),
            "ignore_eos": self.settings.ignore_eos,
            "protocol": self.settings.protocol,
            "prefill_probes": if self.settings.split_prefill {
                json!("after the requests, as many probes as repetitions: the same prompts in turn, one generated token each, past end of generation")
            } else {
                json!(null)
            },
            "prompt": self.settings.prompts.to_json(),
            "chat_template": match &self.loaded {
                Some(loaded) => loaded.template.describe(),
                None if self.model.header.has_chat_template => TemplateSource::Model.describe(),
                None => TemplateSource::PlainCompletion.describe(),
            },
            "request": "each repetition is one chat request from an empty KV cache",
            "metrics": {
                "time_to_first_token_s": "request start to the first sampled token (template, tokenisation and prompt evaluation included)",
                "tokens_per_s": "decode rate: (output_tokens - 1) / (end - first token)",
                "output_tokens": "sampled tokens up to, not including, end of generation",
            },
        })
    }
}

impl InProcess {
    /// The next prompt of the set, as one request.
    fn ask(
        &mut self,
        sampling: &Sampling,
        ignore_eos: bool,
        ctx: &RunContext<'_>,
    ) -> Result<Outcome, WorkloadError> {
        let n = self.requests;
        self.requests += 1;
        let index = self.settings.prompts.index_of_nth(n) as usize;
        let (_, recorded) = self.settings.prompts.turn(n);
        let loaded = self.loaded.as_mut().ok_or_else(|| {
            WorkloadError::Fatal(anyhow::anyhow!(
                "the model was not loaded before the first request"
            ))
        })?;
        loaded
            .generate(index, sampling, ignore_eos, ctx)
            .map(|g| g.into_outcome(recorded))
    }
}

impl Chat for InProcess {
    /// A prompt written per request is templated and tokenised inside the
    /// request (a prompt set is prepared at load time instead): that work is part
    /// of what the request costs, and of its time to first token.
    fn chat(&mut self, prompt: &str, ctx: &RunContext<'_>) -> Result<Generation, WorkloadError> {
        let start = Instant::now();
        let sampling = self.settings.sampling;
        let (ignore_eos, context_tokens) = (self.settings.ignore_eos, self.settings.context_tokens);
        let loaded = self.loaded.as_mut().ok_or_else(|| {
            WorkloadError::Fatal(anyhow::anyhow!(
                "the model was not loaded before the first request"
            ))
        })?;
        let (tokens, _) =
            chat_prompt_tokens(loaded.model, prompt).map_err(|e| failed(format!("{e:#}")))?;
        let needed = tokens.len() as u64 + u64::from(sampling.max_tokens);
        if needed > u64::from(context_tokens) {
            return Err(failed(format!(
                "the prompt takes {} tokens and --max-tokens adds {}, more than the context of {} \
                 (raise --ctx or lower --max-tokens)",
                tokens.len(),
                sampling.max_tokens,
                context_tokens
            )));
        }
        decode(
            &mut loaded.context,
            loaded.model,
            &tokens,
            &sampling,
            ignore_eos,
            ctx,
            start,
        )
    }
}

/// The version this build links (for the record; llama.cpp is vendored in it).
const LLAMA_CPP_2_VERSION: &str = "0.1.160";

impl Workload for InProcess {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: WorkloadKind::Llm,
            label: label("in-process", &self.spec.describe(), &self.settings.prompts),
            batching: None,
            details: self.details(),
        }
    }

    fn prepare_phase(&self) -> Option<&'static str> {
        self.settings.include_load.then_some("model_load")
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        if self.loaded.is_none() {
            self.loaded = Some(Loaded::load(&self.model, &self.settings)?);
        }
        Ok(())
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let sampling = self.settings.sampling;
        let ignore_eos = self.settings.ignore_eos;
        self.ask(&sampling, ignore_eos, ctx)
    }

    fn probe(&self) -> Option<Probe> {
        self.settings.split_prefill.then_some(Probe::Prefill)
    }

    fn run_probe(&mut self, probe: Probe, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let Probe::Prefill = probe;
        let one = Sampling {
            max_tokens: 1,
            ..self.settings.sampling
        };
        // One token whatever the model would say: the prompt's cost alone.
        self.ask(&one, true, ctx)
    }
}

/// A loaded model and its context.
///
/// `LlamaContext` borrows the model, and both must live in the workload between
/// requests (reusing the context is what keeps its allocation out of the measured
/// request). So the model is boxed, leaked to a `'static` reference for the
/// context, and freed by `_owner` after the context is dropped: fields drop in
/// declaration order.
struct Loaded {
    context: LlamaContext<'static>,
    /// Points into `_owner`'s box; never handed out beyond a borrow of `self`.
    model: &'static LlamaModel,
    /// Every prompt of the set, templated and tokenised.
    prompt_tokens: Vec<Vec<LlamaToken>>,
    template: TemplateSource,
    _owner: ModelOwner,
}

struct ModelOwner(NonNull<LlamaModel>);

impl Drop for ModelOwner {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `Loaded::load`, and the
        // only borrows of it (`Loaded::context`, `Loaded::model`) are dropped or
        // dead by now: `Loaded` declares them before `_owner`.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl Loaded {
    fn load(info: &ModelInfo, settings: &Settings) -> anyhow::Result<Self> {
        let backend = backend(settings.verbose)?;
        let params = LlamaModelParams::default().with_n_gpu_layers(settings.gpu_layers);
        log::clear();
        let model = LlamaModel::load_from_file(backend, &info.path, &params).map_err(|e| {
            anyhow::anyhow!(
                "llama.cpp could not load model file {}: {}",
                info.path.display(),
                log::last_error().unwrap_or_else(|| e.to_string())
            )
        })?;
        let owner = ModelOwner(NonNull::from(Box::leak(Box::new(model))));
        // SAFETY: the box lives until `owner` drops, which `Loaded` arranges to
        // happen after every user of this reference (see the type's docs).
        let model: &'static LlamaModel = unsafe { owner.0.as_ref() };

        // Every prompt is templated and tokenised now, so no request measures it.
        let mut prompt_tokens = Vec::with_capacity(settings.prompts.len());
        let mut template = TemplateSource::PlainCompletion;
        for (i, prompt) in settings.prompts.all().iter().enumerate() {
            let (tokens, source) = chat_prompt_tokens(model, prompt).with_context(|| {
                format!("preparing prompt {} for {}", i + 1, info.path.display())
            })?;
            let needed = tokens.len() as u64 + u64::from(settings.sampling.max_tokens);
            if needed > u64::from(settings.context_tokens) {
                anyhow::bail!(
                    "prompt {} takes {} tokens and --max-tokens adds {}, more than the context of {} \
                     (raise --ctx or lower --max-tokens)",
                    i + 1,
                    tokens.len(),
                    settings.sampling.max_tokens,
                    settings.context_tokens
                );
            }
            prompt_tokens.push(tokens);
            template = source;
        }
        let threads = i32::try_from(settings.threads).context("--threads is too large")?;
        let context_params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(settings.context_tokens))
            .with_n_batch(settings.context_tokens)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        log::clear();
        let context = model.new_context(backend, context_params).map_err(|e| {
            anyhow::anyhow!(
                "llama.cpp could not create a context of {} tokens for {}: {}",
                settings.context_tokens,
                info.path.display(),
                log::last_error().unwrap_or_else(|| e.to_string())
            )
        })?;
        Ok(Self {
            context,
            model,
            prompt_tokens,
            template,
            _owner: owner,
        })
    }

    /// One chat request (prompt `index` of the set) from an empty KV cache.
    fn generate(
        &mut self,
        index: usize,
        sampling: &Sampling,
        ignore_eos: bool,
        ctx: &RunContext<'_>,
    ) -> Result<Generation, WorkloadError> {
        let start = Instant::now();
        decode(
            &mut self.context,
            self.model,
            &self.prompt_tokens[index],
            sampling,
            ignore_eos,
            ctx,
            start,
        )
    }
}

/// Evaluates `prompt` from an empty KV cache and decodes the answer; times are
/// counted from `start`.
fn decode(
    context: &mut LlamaContext<'static>,
    model: &LlamaModel,
    prompt: &[LlamaToken],
    sampling: &Sampling,
    ignore_eos: bool,
    ctx: &RunContext<'_>,
    start: Instant,
) -> Result<Generation, WorkloadError> {
    context.clear_kv_cache();
    let mut sampler = sampler(sampling);
    let vocab = model.vocab();

    let mut batch = LlamaBatch::new(prompt.len().max(1), 1);
    let last = prompt.len() - 1;
    for (i, token) in prompt.iter().enumerate() {
        batch
            .add(*token, i as i32, &[0], i == last)
            .map_err(|e| failed(format!("building the prompt batch: {e}")))?;
    }
    context
        .decode(&mut batch)
        .map_err(|e| failed(format!("llama.cpp could not evaluate the prompt: {e}")))?;

    let mut text = Vec::new();
    let mut output_tokens: u64 = 0;
    let mut first_token_s = None;
    let mut position = prompt.len() as i32;
    loop {
        if ctx.interrupted.load(Ordering::Relaxed) {
            return Err(WorkloadError::Interrupted);
        }
        let token = sampler.sample(context, batch.n_tokens() - 1);
        if vocab.is_eog(token) && !ignore_eos {
            break;
        }
        if first_token_s.is_none() {
            first_token_s = Some(start.elapsed().as_secs_f64());
        }
        output_tokens += 1;
        text.extend_from_slice(&vocab.token_to_piece(token, false, None));
        if output_tokens >= u64::from(sampling.max_tokens) {
            break;
        }
        batch.clear();
        batch
            .add(token, position, &[0], true)
            .map_err(|e| failed(format!("building the next batch: {e}")))?;
        position += 1;
        context.decode(&mut batch).map_err(|e| {
            failed(format!(
                "llama.cpp could not decode token {output_tokens}: {e}"
            ))
        })?;
    }
    let end_s = start.elapsed().as_secs_f64();
    Ok(Generation {
        prompt_tokens: Some(prompt.len() as u64),
        output_tokens: Some(output_tokens),
        time_to_first_token_s: first_token_s,
        tokens_per_s: first_token_s.and_then(|first| decode_rate(output_tokens, first, end_s)),
        response_bytes: None,
        text: String::from_utf8_lossy(&text).into_owned(),
    })
}

fn failed(message: String) -> WorkloadError {
    WorkloadError::Failed {
        message,
        exit_code: None,
    }
}

/// Greedy, or temperature scaling then a draw from the whole distribution with a
/// fixed seed: both give the same tokens for the same prompt on the same build.
fn sampler(sampling: &Sampling) -> LlamaSampler {
    if sampling.is_greedy() {
        LlamaSampler::greedy()
    } else {
        LlamaSampler::chain_simple([
            LlamaSampler::temp(sampling.temperature),
            LlamaSampler::dist(sampling.seed),
        ])
    }
}

/// How the prompt was put to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TemplateSource {
    /// One user turn in the file's own `tokenizer.chat_template`.
    Model,
    /// The file has no chat template (a base, not instruction-tuned, model such
    /// as the shipped Gemma 3 270M): the prompt is given as plain text to
    /// complete, as `llama-cli -p` does, rather than in a guessed chat format.
    PlainCompletion,
}

impl TemplateSource {
    fn describe(self) -> &'static str {
        match self {
            TemplateSource::Model => "the model's own (tokenizer.chat_template), one user turn",
            TemplateSource::PlainCompletion => {
                "none: the file carries no tokenizer.chat_template (a base model), so the \
                 prompt is plain text to complete"
            }
        }
    }
}

/// The prompt, in the model's chat template when it has one, tokenised.
fn chat_prompt_tokens(
    model: &LlamaModel,
    prompt: &str,
) -> anyhow::Result<(Vec<LlamaToken>, TemplateSource)> {
    let (text, source) = match model.chat_template(None) {
        Ok(template) => (
            apply_template(model, &template, prompt)?,
            TemplateSource::Model,
        ),
        Err(ChatTemplateError::MissingTemplate) => {
            (prompt.to_string(), TemplateSource::PlainCompletion)
        }
        Err(e) => anyhow::bail!("the model's chat template cannot be read: {e}"),
    };
    let vocab = model.vocab();
    let mut tokens = vocab.tokenize(text.as_bytes(), true, true);
    // Templates that write the BOS token themselves would get a second one.
    if tokens.len() >= 2 && tokens[0] == vocab.bos() && tokens[1] == vocab.bos() {
        tokens.remove(0);
    }
    if tokens.is_empty() {
        anyhow::bail!("the prompt tokenises to nothing");
    }
    Ok((tokens, source))
}

fn apply_template(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    prompt: &str,
) -> anyhow::Result<String> {
    let message = LlamaChatMessage::new("user".into(), prompt.into())
        .map_err(|e| anyhow::anyhow!("the prompt cannot be passed to llama.cpp: {e}"))?;
    model
        .apply_chat_template(template, &[message], true)
        .map_err(|e| {
            anyhow::anyhow!(
                "llama.cpp does not recognise the model's chat template ({e}); it supports the \
                 common families (ChatML, Llama, Gemma, ...)"
            )
        })
}

/// llama.cpp's backend, initialised once per process.
fn backend(verbose: bool) -> anyhow::Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
    static INIT: Mutex<()> = Mutex::new(());
    if let Some(backend) = BACKEND.get() {
        return Ok(backend);
    }
    let _guard = INIT
        .lock()
        .map_err(|_| anyhow::anyhow!("llama.cpp initialisation panicked earlier"))?;
    if let Some(backend) = BACKEND.get() {
        return Ok(backend);
    }
    log::install(verbose);
    let backend = LlamaBackend::init().context("initialising llama.cpp")?;
    Ok(BACKEND.get_or_init(|| backend))
}

/// Captures llama.cpp's log: kept quiet unless `--verbose`, and the last error
/// line kept so that a failed load can say why.
mod log {
    use llama_cpp_sys_2::ggml_log_level;
    use std::ffi::{CStr, c_char, c_void};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    static VERBOSE: AtomicBool = AtomicBool::new(false);
    /// Error lines since the last [`clear`], at most [`KEPT`].
    static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    const KEPT: usize = 4;

    pub fn install(verbose: bool) {
        VERBOSE.store(verbose, Ordering::Relaxed);
        // SAFETY: `callback` is a plain function valid for the whole process and
        // takes no user data; llama.cpp forwards the same callback to ggml.
        unsafe { llama_cpp_sys_2::llama_log_set(Some(callback), std::ptr::null_mut()) };
    }

    pub fn clear() {
        if let Ok(mut errors) = ERRORS.lock() {
            errors.clear();
        }
    }

    /// llama.cpp's error lines since [`clear`], joined.
    pub fn last_error() -> Option<String> {
        let errors = ERRORS.lock().ok()?;
        (!errors.is_empty()).then(|| errors.join("; "))
    }

    unsafe extern "C" fn callback(level: ggml_log_level, text: *const c_char, _: *mut c_void) {
        if text.is_null() {
            return;
        }
        // SAFETY: llama.cpp passes a NUL-terminated string valid for this call.
        let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
        if VERBOSE.load(Ordering::Relaxed) {
            eprint!("{text}");
        }
        if level == llama_cpp_sys_2::GGML_LOG_LEVEL_ERROR
            && let Ok(mut errors) = ERRORS.lock()
            && errors.len() < KEPT
        {
            errors.push(text.trim().to_string());
        }
    }
}
