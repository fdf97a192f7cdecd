//! The command line of `hoeveel`.

use clap::{Parser, Subcommand};
use hoeveel_record::summary::Summary;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "hoeveel",
    version,
    about = "Turns measured energy into CO2e per request, with sources"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarise one or more records.
    Report {
        /// Record files (JSON Lines written by hoeveel-agent).
        #[arg(required = true)]
        records: Vec<PathBuf>,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Report { records } => {
            for path in records {
                let record = hoeveel_record::read_record(&path)?;
                for w in &record.warnings {
                    eprintln!("hoeveel: warning: {w}");
                }
                print!("{}", Summary::of(&record).render_text());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
