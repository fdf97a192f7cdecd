//! `hoeveel cases [RECORD...]`: the four workshop cases.

use super::{Global, GridArgs};
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records: an `ai-search` (`hoeveel-agent search --answer`) or `llm` record and a
    /// plain `search` record for case 1; search records at several corpus sizes
    /// (`--corpus-docs`) and records of several models add measured scaling. Without
    /// records, reference inputs are used.
    pub records: Vec<PathBuf>,
    /// Show every published figure in case 1, not only the few of the same kind.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let p = g.profiles()?;
    let records = super::read_each_window(&a.records, Samples::Skip)?;
    let grid = a.grid.dataset(&p)?;
    let doc = crate::cases::all(&p, &records, &grid, a.all)?;
    super::emit(g, &doc)
}
