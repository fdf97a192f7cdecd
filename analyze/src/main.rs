use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = hoeveel::cli::Cli::parse();
    match hoeveel::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hoeveel: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
