//! The options of an LLM request that every workload asking an LLM shares (`llm`,
//! `search --answer`), and the one routine that turns them into a backend:
//! in-process llama.cpp, or an Ollama or OpenAI-compatible server.

use crate::workload::llm::prompts::PromptSet;
use crate::workload::llm::{self, LlmBackend, ModelSpec, Sampling};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// Ollama's native API (/api/chat, or /api/generate with --generate).
    Ollama,
    /// OpenAI-compatible chat completions (<endpoint>/chat/completions).
    Openai,
}

#[derive(Debug, Clone, clap::Args)]
pub struct GenerationArgs {
    /// Most tokens generated per request.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_tokens: u32,
    /// Sampling temperature; 0 decodes greedily, so every repetition gives the same text.
    #[arg(long, value_name = "T", default_value_t = 0.0)]
    pub temperature: f32,
    /// Seed of the sampler when the temperature is above 0 (sent to servers too).
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Context size in tokens (in-process default 2048; sent to Ollama as num_ctx).
    #[arg(long = "ctx", value_name = "TOKENS")]
    pub context_tokens: Option<u32>,
    /// CPU threads (in-process default: all logical CPUs; sent to Ollama as num_thread).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Layers to offload to the GPU (builds with the `cuda` feature; default: all there, 0 otherwise).
    #[arg(long, value_name = "N")]
    pub gpu_layers: Option<u32>,
    /// Measure loading the model as its own phase (`model_load`), before the requests.
    #[arg(long)]
    pub include_load: bool,
    /// llama.cpp's own log on stderr: set from the shared `--verbose`
    /// ([`crate::cli::common::SensorArgs::verbose`]), which every measuring
    /// command has.
    #[arg(skip)]
    pub verbose: bool,

    /// Measure requests to a server at this URL instead of running the model in-process
    /// (e.g. http://127.0.0.1:11434, or http://127.0.0.1:8080/v1 with --api openai).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The server's API.
    #[arg(long, value_enum, default_value_t = Api::Ollama, requires = "endpoint")]
    pub api: Api,
    /// Stream the answer (gives time to first token).
    #[arg(long, requires = "endpoint")]
    pub stream: bool,
    /// Ollama: use /api/generate (a raw prompt) instead of /api/chat.
    #[arg(long, requires = "endpoint")]
    pub generate: bool,
    /// Seconds one server request may take.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        requires = "endpoint"
    )]
    pub timeout: f64,
}

/// What the workload asks of the backend beyond the shared options.
#[derive(Debug, Clone)]
pub struct Request {
    /// The prompts the backend asks when it is measured on its own.
    pub prompts: PromptSet,
    /// Most tokens per request (a protocol may fix it).
    pub max_tokens: u32,
    pub split_prefill: bool,
    /// Generate exactly `max_tokens`, past end of generation (in-process only).
    pub ignore_eos: bool,
    /// The published protocol followed, for the record.
    pub protocol: Option<String>,
    /// Requests sent to a server at once.
    pub concurrency: u32,
    pub steady_state: bool,
    pub stream: bool,
}

impl Request {
    /// One request at a time, no probes, no protocol: what a workload that asks
    /// the LLM as part of its own request needs.
    pub fn single(prompts: PromptSet, args: &GenerationArgs) -> Request {
        Request {
            prompts,
            max_tokens: args.max_tokens,
            split_prefill: false,
            ignore_eos: false,
            protocol: None,
            concurrency: 1,
            steady_state: false,
            stream: args.stream,
        }
    }
}

#[cfg(feature = "llm")]
/// In-process context size when `--ctx` is not given: room for a chat turn and
/// its answer, small enough for any machine.
const DEFAULT_CONTEXT_TOKENS: u32 = 2048;

#[cfg(feature = "llm")]
/// "Every layer" in llama.cpp's convention (`-ngl 999`): more layers than any model has.
const ALL_LAYERS: u32 = 999;

/// The backend for `model` (in-process: the default model when `None`; with
/// `--endpoint`: required, the server's name for it).
/// [`build`], with a model file the user named (`--model FILE`), or one in the
/// Ollama store (`ollama:NAME`, found through the user's `OLLAMA_MODELS` or
/// home under `sudo -E`), read as the user who ran sudo: its manifest, header
/// and hash here, and llama.cpp's load in `prepare`. A shipped model is the
/// agent's own cache (checked to be root's under sudo), and a server reads
/// nothing here.
pub fn build_as_user(
    args: &GenerationArgs,
    model: Option<&str>,
    request: Request,
    user_paths: crate::privilege::UserPaths,
) -> anyhow::Result<Box<dyn LlmBackend>> {
    let spec = ModelSpec::parse(model.unwrap_or(llm::ShippedModel::Smollm2_135m.name()));
    let users =
        args.endpoint.is_none() && matches!(spec, ModelSpec::File(_) | ModelSpec::Ollama(_));
    if !users {
        return build(args, model, request);
    }
    if let ModelSpec::File(path) = &spec {
        user_paths.check_readable(path)?;
    }
    let backend = user_paths.as_user(|| build(args, model, request))??;
    Ok(Box::new(
        crate::privilege::user_workload::PreparedAsUser::new(backend, user_paths),
    ))
}

pub fn build(
    args: &GenerationArgs,
    model: Option<&str>,
    request: Request,
) -> anyhow::Result<Box<dyn LlmBackend>> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        anyhow::bail!("--temperature must be 0 or more, not {}", args.temperature);
    }
    let sampling = Sampling {
        temperature: args.temperature,
        seed: args.seed,
        max_tokens: request.max_tokens,
    };
    let Some(endpoint) = &args.endpoint else {
        let spec = ModelSpec::parse(model.unwrap_or(llm::ShippedModel::Smollm2_135m.name()));
        return in_process(args, spec, sampling, request);
    };
    let model = model.map(str::to_string).ok_or_else(|| {
        anyhow::anyhow!("--endpoint needs --model NAME: the model as the server names it")
    })?;
    if args.gpu_layers.is_some() {
        anyhow::bail!("--gpu-layers applies in-process only; the server decides its offload");
    }
    let most_s = crate::cli::common::MAX_DURATION_S;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= most_s) {
        anyhow::bail!("--timeout must be more than 0 and at most {most_s} seconds (a day)");
    }
    Ok(match args.api {
        Api::Ollama => Box::new(llm::http_ollama::OllamaClient::new(
            llm::http_ollama::Settings {
                endpoint: endpoint.clone(),
                model,
                prompts: request.prompts,
                split_prefill: request.split_prefill,
                concurrency: request.concurrency,
                steady_state: request.steady_state,
                sampling,
                stream: request.stream,
                generate: args.generate,
                context_tokens: args.context_tokens,
                threads: args.threads,
                include_load: args.include_load,
                timeout_s: args.timeout,
            },
        )?),
        Api::Openai => {
            if args.generate {
                anyhow::bail!("--generate is for --api ollama");
            }
            if args.include_load || args.context_tokens.is_some() || args.threads.is_some() {
                anyhow::bail!(
                    "--include-load, --ctx and --threads do not apply to an OpenAI-compatible \
                     server: it loads its model and sets its context and threads when it starts"
                );
            }
            Box::new(llm::http_openai::OpenAiClient::new(
                llm::http_openai::Settings {
                    endpoint: endpoint.clone(),
                    model,
                    prompts: request.prompts,
                    split_prefill: request.split_prefill,
                    concurrency: request.concurrency,
                    steady_state: request.steady_state,
                    sampling,
                    stream: request.stream,
                    timeout_s: args.timeout,
                },
            )?)
        }
    })
}

#[cfg(feature = "llm")]
fn in_process(
    args: &GenerationArgs,
    spec: ModelSpec,
    sampling: Sampling,
    request: Request,
) -> anyhow::Result<Box<dyn LlmBackend>> {
    let threads = match args.threads {
        Some(n) => n,
        None => std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(4),
    };
    let gpu_layers = args.gpu_layers.unwrap_or(if cfg!(feature = "cuda") {
        ALL_LAYERS
    } else {
        0
    });
    Ok(Box::new(llm::in_process::InProcess::new(
        spec,
        llm::in_process::Settings {
            prompts: request.prompts,
            split_prefill: request.split_prefill,
            ignore_eos: request.ignore_eos,
            protocol: request.protocol,
            sampling,
            context_tokens: args.context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS),
            threads,
            gpu_layers,
            include_load: args.include_load,
            verbose: args.verbose,
        },
    )?))
}

#[cfg(not(feature = "llm"))]
fn in_process(
    _args: &GenerationArgs,
    spec: ModelSpec,
    _sampling: Sampling,
    _request: Request,
) -> anyhow::Result<Box<dyn LlmBackend>> {
    anyhow::bail!(
        "this build of hoeveel-agent cannot run {} in-process: it was built without the `llm` \
         cargo feature (llama.cpp). Rebuild with default features, or measure a server with \
         --endpoint URL --api ollama|openai --model NAME",
        spec.describe()
    )
}
