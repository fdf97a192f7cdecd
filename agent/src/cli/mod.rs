//! The command line: one module per subcommand, each with its own `Args`.

pub mod common;
pub mod fetch;
pub mod llm;
pub mod run;
pub mod search;
pub mod sensors;
pub mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "hoeveel-agent",
    version,
    about = "Measures the energy of one request on this machine: RAPL, NVML, or a labelled power model",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What can be measured here, how, and the exact fix for what cannot.
    Sensors(sensors::Args),
    /// Measure a command: idle baseline, warm-ups, repetitions.
    Run(run::Args),
    /// Measure a local LLM query (in-process llama.cpp, or an Ollama/OpenAI server).
    Llm(Box<llm::Args>),
    /// Measure a plain search (built-in BM25 engine, or a search service URL).
    Search(Box<search::Args>),
    /// Download a shipped model or corpus into the cache, verifying its checksum.
    Fetch(fetch::Args),
    /// Serve the sensors' energy as Prometheus metrics until SIGTERM.
    Serve(Box<serve::Args>),
}

/// Runs the parsed command line; the exit code tells a failed or interrupted run apart.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sensors(args) => sensors::run(args),
        Command::Run(args) => run::run(args),
        Command::Llm(args) => llm::run(*args),
        Command::Search(args) => search::run(*args),
        Command::Fetch(args) => fetch::run(args),
        Command::Serve(args) => serve::run(*args),
    }
}
