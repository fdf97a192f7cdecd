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
    /// Print only this case (1 ask or search, 2 hosting sites, 3 the municipality, 4 training).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub case: Option<u8>,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let p = g.profiles()?;
    let records = super::read_each_window(&a.records, Samples::Skip)?;
    let grid = a.grid.dataset(&p)?;
    let mut doc = crate::cases::all(&p, &records, &grid, a.all)?;
    if let Some(n) = a.case {
        // The sections are the four cases, in order.
        doc.sections = doc
            .sections
            .into_iter()
            .skip(usize::from(n) - 1)
            .take(1)
            .collect();
        doc.title = format!("hoeveel cases: case {n}");
        if let Some(b) = doc.sections.first().and_then(|s| s.basis.clone()) {
            doc.basis = b;
        }
    }
    super::emit(g, &doc)
}
