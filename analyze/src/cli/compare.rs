//! `hoeveel compare A B [C …]`

use super::{BasisArgs, Global};
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Two records: the ratio of the first to the second (e.g. an LLM record and a
    /// search record), next to the published figures. Three or more: every record
    /// side by side with its ratio to the first, and energy per output token
    /// against parameter count.
    #[arg(required = true, num_args = 2.., value_name = "RECORD")]
    pub records: Vec<PathBuf>,
    #[command(flatten)]
    pub basis: BasisArgs,
    /// With two records: show every published figure, not only the few of the same kind.
    #[arg(long)]
    pub all: bool,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let records = a
        .records
        .iter()
        .map(|p| super::read(p, Samples::Skip))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let doc = match records.as_slice() {
        [ra, rb] => crate::report::compare(&profiles, ra, rb, a.basis.basis(), a.all)?,
        many => crate::compare_many::compare_many(many, a.basis.basis())?,
    };
    super::emit(g, &doc)
}
