//! The `hoeveel` binary: the command line ([`hoeveel::cli`]), and an error as
//! one message on stderr with exit status 2.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = hoeveel::cli::Cli::parse();
    match hoeveel::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // A message may quote a record; its control characters stay out
            // of the terminal.
            let message = format!("{err:#}");
            eprintln!(
                "hoeveel: error: {}",
                hoeveel_record::printable::text(&message)
            );
            ExitCode::from(2)
        }
    }
}
