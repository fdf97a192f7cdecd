//! `hoeveel cases [RECORD...]`: the four workshop cases.

use super::Global;
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records of an `llm` and a `search` workload; without them, reference inputs are used.
    pub records: Vec<PathBuf>,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let p = g.profiles()?;
    let records = super::read_each_window(&a.records, Samples::Skip)?;
    let doc = crate::cases::all(&p, &records)?;
    super::emit(g, &doc)
}
