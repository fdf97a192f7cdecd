//! `hoeveel-agent fetch` (placeholder: being implemented).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`hoeveel-agent fetch` is not implemented yet")
}
