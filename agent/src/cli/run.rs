//! `hoeveel-agent run -- COMMAND...`: measures a command.

use super::common::{self, MeasureArgs};
use crate::workload::batch::BatchPolicy;
use crate::workload::command::CommandWorkload;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Show the command's stdout and stderr (hidden by default, as in hyperfine).
    #[arg(long)]
    pub show_output: bool,
    /// Run the command N times back to back per repetition and divide the energy by
    /// N; `auto` runs it as many times as last 10 update periods of the slowest
    /// sensor, for commands too short to measure alone.
    #[arg(long, value_name = "N|auto", default_value = "1", value_parser = parse_batch)]
    pub batch: BatchPolicy,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `auto`, or a whole number of runs of at least 1.
fn parse_batch(text: &str) -> Result<BatchPolicy, String> {
    if text == "auto" {
        return Ok(BatchPolicy::Auto {
            min_repetition_s: None,
        });
    }
    match text.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(BatchPolicy::Fixed(n)),
        _ => Err(format!(
            "`{text}` is not a batch size: give a whole number of runs (at least 1) or `auto`"
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut workload = CommandWorkload::new(args.command, args.show_output)?.batched(args.batch)?;
    common::measure(&args.measure, "command", &mut workload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_parse_as_a_number_or_auto() {
        assert_eq!(parse_batch("3"), Ok(BatchPolicy::Fixed(3)));
        assert_eq!(
            parse_batch("auto"),
            Ok(BatchPolicy::Auto {
                min_repetition_s: None
            })
        );
        assert!(parse_batch("0").is_err());
        assert!(parse_batch("-2").is_err());
        assert!(parse_batch("many").is_err());
    }
}
