//! `hoeveel cases [RECORD...]`: the four workshop cases.

use super::{Global, GridArgs};
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records of an `llm` and a `search` workload; without them, reference inputs are used.
    pub records: Vec<PathBuf>,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let p = g.profiles()?;
    let records = super::read_each_window(&a.records, Samples::Skip)?;
    let grid = a.grid.dataset(&p)?;
    let doc = crate::cases::all(&p, &records, &grid)?;
    super::emit(g, &doc)
}
