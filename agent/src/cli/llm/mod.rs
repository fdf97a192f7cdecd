//! `hoeveel-agent llm`: measures local LLM requests, in-process through llama.cpp
//! or through an Ollama or OpenAI-compatible server (`--endpoint`).

use crate::cli::common::{self, MeasureArgs};
use crate::privilege::UserPaths;
use crate::privilege::user_workload::PreparedAsUser;
use crate::workload::Workload;
use crate::workload::llm::prompts::PromptSet;
use crate::workload::llm::{self, ModelSpec, Sampling};
use std::process::ExitCode;

mod sweep;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Api {
    /// Ollama's native API (/api/chat, or /api/generate with --generate).
    Ollama,
    /// OpenAI-compatible chat completions (<endpoint>/chat/completions).
    Openai,
}

/// Published measurement protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// AI Energy Score text generation: batch 1, exactly 10 new tokens, greedy.
    AiEnergyScore,
    /// ML.ENERGY leaderboard: N requests in flight at a server, energy per output
    /// token over the steady state.
    MlEnergy,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::AiEnergyScore => "ai-energy-score",
            Protocol::MlEnergy => "ml-energy",
        }
    }
}

/// New tokens per query under AI Energy Score.
pub const AI_ENERGY_SCORE_NEW_TOKENS: u32 = 10;

/// Requests in flight under `--protocol ml-energy` without `--concurrency`: the
/// smallest batch the leaderboard publishes.
pub const ML_ENERGY_DEFAULT_CONCURRENCY: u32 = 8;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub measure: MeasureArgs,

    /// In-process: `smollm2-135m` (default), `gemma3-270m`, a .gguf file, or
    /// `ollama:NAME[:TAG]` (a model already pulled with Ollama). With --endpoint:
    /// the server's model name. Give it several times to measure each model under
    /// the same settings and prompts, one record each, and compare them in a table
    /// (with --output, a folder for the records).
    #[arg(short = 'm', long = "model", value_name = "MODEL")]
    pub models: Vec<String>,
    /// The question asked in every repetition.
    #[arg(short = 'p', long, default_value = llm::DEFAULT_PROMPT)]
    pub prompt: String,
    /// A prompt set instead of one prompt: the shipped `everyday` (20 questions),
    /// or a file with one prompt per line or JSON Lines with a `prompt` field.
    /// Repetitions take the prompts in turn, so a figure averages over them.
    #[arg(long, value_name = "SET|FILE", conflicts_with = "prompt")]
    pub prompts: Option<String>,
    /// Most tokens generated per request.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_tokens: u32,
    /// Also measure the prefill: after the requests, as many probes that generate
    /// one token, so the summary splits energy per input token (prefill) from
    /// energy per output token (decode), as AI Energy Score does.
    #[arg(long)]
    pub split_prefill: bool,
    /// Follow a published protocol. `ai-energy-score`: batch 1, exactly 10 new
    /// tokens per query (past end of generation), greedy, prefill probes; the
    /// report restates the result in Wh per 1,000 queries next to the published
    /// figure of the nearest model. In-process only. `ml-energy`: --concurrency N
    /// requests (default 8) streamed from a server at once; energy per output
    /// token over the steady state, from when all N have their first token to
    /// when the first ends, and per response; next to the leaderboard's figure.
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    pub protocol: Option<Protocol>,
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
    /// Show llama.cpp's own log on stderr.
    #[arg(short = 'v', long)]
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
    /// Requests sent to the server at once in each repetition (one thread each);
    /// the repetition's energy is shared by them. The record says how many the
    /// server generated together (from streamed answers: use --stream). Default 1,
    /// or 8 under --protocol ml-energy.
    #[arg(long, value_name = "N", requires = "endpoint")]
    pub concurrency: Option<u32>,
    /// Seconds one server request may take.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600.0,
        requires = "endpoint"
    )]
    pub timeout: f64,
}

#[cfg(feature = "llm")]
/// In-process context size when `--ctx` is not given: room for a chat turn and
/// its answer, small enough for any machine.
const DEFAULT_CONTEXT_TOKENS: u32 = 2048;

#[cfg(feature = "llm")]
/// "Every layer" in llama.cpp's convention (`-ngl 999`): more layers than any model has.
const ALL_LAYERS: u32 = 999;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.models.len() > 1 {
        return sweep::run(&args);
    }
    let mut workload = build(&args, args.models.first().map(String::as_str))?;
    common::measure(&args.measure, "llm", workload.as_mut())
}

/// The workload the options describe, for `model` (the default model when `None`).
pub fn build(args: &Args, model: Option<&str>) -> anyhow::Result<Box<dyn Workload>> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        anyhow::bail!("--temperature must be 0 or more, not {}", args.temperature);
    }
    let protocol = args.protocol;
    let steady_state = protocol == Some(Protocol::MlEnergy);
    if steady_state && args.endpoint.is_none() {
        anyhow::bail!(
            "--protocol ml-energy measures a server with several requests in flight; the in-process engine runs one at a time. Start a server (llama.cpp's llama-server, Ollama, vLLM) and give --endpoint URL --model NAME"
        );
    }
    if protocol == Some(Protocol::AiEnergyScore) {
        if args.endpoint.is_some() {
            anyhow::bail!(
                "--protocol ai-energy-score needs exactly {AI_ENERGY_SCORE_NEW_TOKENS} new tokens per query, which only the in-process engine can guarantee (a server stops at its end-of-generation token); drop --endpoint"
            );
        }
        if args.temperature > 0.0 {
            anyhow::bail!("--protocol ai-energy-score decodes greedily: drop --temperature");
        }
        if args.max_tokens != AI_ENERGY_SCORE_NEW_TOKENS {
            eprintln!(
                "hoeveel-agent: --protocol ai-energy-score generates exactly {AI_ENERGY_SCORE_NEW_TOKENS} new tokens per query (--max-tokens {} is not used)",
                args.max_tokens
            );
        }
    }
    let sampling = Sampling {
        temperature: args.temperature,
        seed: args.seed,
        max_tokens: if protocol == Some(Protocol::AiEnergyScore) {
            AI_ENERGY_SCORE_NEW_TOKENS
        } else {
            args.max_tokens
        },
    };
    // Files the user names are read with the rights of the user who ran sudo.
    let user_paths = UserPaths::from_env()?;
    let prompts = match &args.prompts {
        Some(set) => {
            user_paths.check_readable(std::path::Path::new(set))?;
            user_paths.as_user(|| PromptSet::load(set))??
        }
        None => PromptSet::single(&args.prompt),
    };
    let Some(endpoint) = &args.endpoint else {
        let spec = ModelSpec::parse(model.unwrap_or(llm::ShippedModel::Smollm2_135m.name()));
        let ModelSpec::File(path) = &spec else {
            // A shipped model or Ollama's store: the agent's own cache, not a
            // path the user named.
            return in_process(args, spec, sampling, prompts);
        };
        // Its header and hash are read as the user, and llama.cpp loads it
        // as the user (in `prepare`) too.
        user_paths.check_readable(path)?;
        let workload = user_paths.as_user(|| in_process(args, spec, sampling, prompts))??;
        return Ok(Box::new(PreparedAsUser::new(workload, user_paths)));
    };
    let model = model.map(str::to_string).ok_or_else(|| {
        anyhow::anyhow!("--endpoint needs --model NAME: the model as the server names it")
    })?;
    let concurrency = args.concurrency.unwrap_or(if steady_state {
        ML_ENERGY_DEFAULT_CONCURRENCY
    } else {
        1
    });
    if concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    if steady_state && concurrency < 2 {
        anyhow::bail!(
            "--protocol ml-energy measures a steady state of several requests in flight: give --concurrency 2 or more (the leaderboard publishes 8 to 512)"
        );
    }
    if steady_state && !args.stream {
        eprintln!(
            "hoeveel-agent: --protocol ml-energy streams the answers (as --stream), to see when each request has its first token"
        );
    }
    let stream = args.stream || steady_state;
    if args.gpu_layers.is_some() {
        anyhow::bail!("--gpu-layers applies in-process only; the server decides its offload");
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        anyhow::bail!("--timeout must be more than 0 seconds");
    }
    Ok(match args.api {
        Api::Ollama => Box::new(llm::http_ollama::OllamaClient::new(
            llm::http_ollama::Settings {
                endpoint: endpoint.clone(),
                model,
                prompts: prompts.clone(),
                split_prefill: args.split_prefill,
                concurrency,
                steady_state,
                sampling,
                stream,
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
                    prompts: prompts.clone(),
                    split_prefill: args.split_prefill,
                    concurrency,
                    steady_state,
                    sampling,
                    stream,
                    timeout_s: args.timeout,
                },
            )?)
        }
    })
}

#[cfg(feature = "llm")]
fn in_process(
    args: &Args,
    spec: ModelSpec,
    sampling: Sampling,
    prompts: PromptSet,
) -> anyhow::Result<Box<dyn Workload>> {
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
            prompts,
            split_prefill: args.split_prefill || args.protocol.is_some(),
            ignore_eos: args.protocol == Some(Protocol::AiEnergyScore),
            protocol: args.protocol.map(|p| p.name().to_string()),
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
    _args: &Args,
    spec: ModelSpec,
    _sampling: Sampling,
    _prompts: PromptSet,
) -> anyhow::Result<Box<dyn Workload>> {
    anyhow::bail!(
        "this build of hoeveel-agent cannot run {} in-process: it was built without the `llm` \
         cargo feature (llama.cpp). Rebuild with default features, or measure a server with \
         --endpoint URL --api ollama|openai --model NAME",
        spec.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("llm").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn server_options_need_an_endpoint() {
        assert!(parse(&["--stream"]).is_err());
        assert!(parse(&["--api", "openai"]).is_err());
        assert!(parse(&["--endpoint", "http://127.0.0.1:1", "--stream"]).is_ok());
    }

    #[test]
    fn an_endpoint_needs_a_model_name() {
        let args = parse(&["--endpoint", "http://127.0.0.1:1"]).expect("parses");
        let err = build(&args, args.models.first().map(String::as_str))
            .err()
            .expect("refused");
        assert!(err.to_string().contains("--model"), "{err}");
    }

    #[test]
    fn openai_refuses_in_process_options() {
        let args = parse(&[
            "--endpoint",
            "http://127.0.0.1:1/v1",
            "--api",
            "openai",
            "--model",
            "m",
            "--threads",
            "2",
        ])
        .expect("parses");
        assert!(build(&args, args.models.first().map(String::as_str)).is_err());
    }
}
