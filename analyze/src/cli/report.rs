//! `hoeveel report RECORD...`

use super::{BasisArgs, Global, GridArgs};
use crate::report::ReportOptions;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Record files (JSON Lines written by hoeveel-agent).
    #[arg(required = true)]
    pub records: Vec<PathBuf>,
    /// Site (profile id) for the CO2e figure.
    #[arg(long, default_value = "ms-nl")]
    pub site: String,
    #[command(flatten)]
    pub basis: BasisArgs,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let records = super::read_each_window(&a.records, g.chart_samples())?;
    let opts = ReportOptions {
        site: a.site,
        basis: a.basis.basis(),
        grid: a.grid.dataset(&profiles)?,
    };
    let doc = crate::report::report(&profiles, &records, &opts)?;
    super::emit(g, &doc)
}
