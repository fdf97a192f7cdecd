//! `hoeveel-agent run -- COMMAND...`: measures a command.

use super::common::{self, MeasureArgs};
use crate::workload::command::CommandWorkload;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Show the command's stdout and stderr (hidden by default, as in hyperfine).
    #[arg(long)]
    pub show_output: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut workload = CommandWorkload::new(args.command, args.show_output)?;
    common::measure(&args.measure, "command", &mut workload)
}
