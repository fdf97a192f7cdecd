use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = hoeveel_agent::cli::Cli::parse();
    match hoeveel_agent::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hoeveel-agent: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
