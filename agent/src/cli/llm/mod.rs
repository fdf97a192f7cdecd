//! `hoeveel-agent llm`: measures local LLM requests, in-process through llama.cpp
//! or through an Ollama or OpenAI-compatible server (`--endpoint`).

use crate::cli::common::{self, MeasureArgs};
use crate::privilege::UserPaths;
use crate::workload::llm::prompts::PromptSet;
use crate::workload::llm::{self, LlmBackend};
use std::process::ExitCode;

pub mod backend;
mod sweep;

pub use backend::{Api, GenerationArgs};

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
    #[command(flatten)]
    pub generation: GenerationArgs,
    /// Requests sent to the server at once in each repetition (one thread each);
    /// the repetition's energy is shared by them. The record says how many the
    /// server generated together (from streamed answers: use --stream). Default 1,
    /// or 8 under --protocol ml-energy.
    #[arg(long, value_name = "N", requires = "endpoint")]
    pub concurrency: Option<u32>,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    args.generation.verbose = args.measure.sensor.verbose;
    if args.models.len() > 1 {
        return sweep::run(&args);
    }
    let mut workload = build(&args, args.models.first().map(String::as_str))?;
    common::measure(&args.measure, "llm", workload.as_mut())
}

/// The workload the options describe, for `model` (the default model when `None`).
pub fn build(args: &Args, model: Option<&str>) -> anyhow::Result<Box<dyn LlmBackend>> {
    let g = &args.generation;
    let protocol = args.protocol;
    let steady_state = protocol == Some(Protocol::MlEnergy);
    if steady_state && g.endpoint.is_none() {
        anyhow::bail!(
            "--protocol ml-energy measures a server with several requests in flight; the in-process engine runs one at a time. Start a server (llama.cpp's llama-server, Ollama, vLLM) and give --endpoint URL --model NAME"
        );
    }
    if protocol == Some(Protocol::AiEnergyScore) {
        if g.endpoint.is_some() {
            anyhow::bail!(
                "--protocol ai-energy-score needs exactly {AI_ENERGY_SCORE_NEW_TOKENS} new tokens per query, which only the in-process engine can guarantee (a server stops at its end-of-generation token); drop --endpoint"
            );
        }
        if g.temperature > 0.0 {
            anyhow::bail!("--protocol ai-energy-score decodes greedily: drop --temperature");
        }
        if g.max_tokens != AI_ENERGY_SCORE_NEW_TOKENS {
            eprintln!(
                "hoeveel-agent: --protocol ai-energy-score generates exactly {AI_ENERGY_SCORE_NEW_TOKENS} new tokens per query (--max-tokens {} is not used)",
                g.max_tokens
            );
        }
    }
    // Files the user names are read with the rights of the user who ran sudo.
    let user_paths = UserPaths::from_env()?;
    let prompts = match &args.prompts {
        Some(set) => {
            user_paths.check_readable(std::path::Path::new(set))?;
            user_paths.as_user(|| PromptSet::load(set))??
        }
        None => PromptSet::single(&args.prompt),
    };
    let concurrency = args.concurrency.unwrap_or(if steady_state {
        ML_ENERGY_DEFAULT_CONCURRENCY
    } else {
        1
    });
    if g.endpoint.is_some() {
        if concurrency == 0 {
            anyhow::bail!("--concurrency must be at least 1");
        }
        if steady_state && concurrency < 2 {
            anyhow::bail!(
                "--protocol ml-energy measures a steady state of several requests in flight: give --concurrency 2 or more (the leaderboard publishes 8 to 512)"
            );
        }
        if steady_state && !g.stream {
            eprintln!(
                "hoeveel-agent: --protocol ml-energy streams the answers (as --stream), to see when each request has its first token"
            );
        }
    }
    let request = backend::Request {
        prompts,
        max_tokens: if protocol == Some(Protocol::AiEnergyScore) {
            AI_ENERGY_SCORE_NEW_TOKENS
        } else {
            g.max_tokens
        },
        // AI Energy Score measures prefill with probes, as --split-prefill does.
        split_prefill: args.split_prefill || protocol == Some(Protocol::AiEnergyScore),
        ignore_eos: protocol == Some(Protocol::AiEnergyScore),
        protocol: protocol.map(|p| p.name().to_string()),
        concurrency,
        steady_state,
        stream: g.stream || steady_state,
    };
    backend::build_as_user(g, model, request, user_paths)
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
