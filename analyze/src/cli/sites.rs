//! `hoeveel sites RECORD`: case 2 for a measured request.

use super::{BasisArgs, Global, GridArgs};
use crate::output::{Basis, Document};
use crate::stats::CiInterval;
use anyhow::anyhow;
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record of the request to host.
    pub record: PathBuf,
    /// Only the workshop's six options.
    #[arg(long)]
    pub workshop: bool,
    #[command(flatten)]
    pub basis: BasisArgs,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let grid = a.grid.dataset(&profiles)?;
    let record = super::read(&a.record, Samples::Skip)?;
    let m = hoeveel_record::PerRequest::of(&record, a.basis.basis())?;
    let d = m
        .stats()
        .ok_or_else(|| anyhow!("{}: no measured repetition completed", m.record))?;
    let label = format!(
        "`{}` ({}), {}, mean and 95% CI, {}",
        m.label,
        m.record,
        m.basis.as_str(),
        m.provenance_label()
    );
    let mut section = crate::cases::sites::section(&profiles, d.ci(), &label, a.workshop, &grid);
    section.basis = Some(Basis::measured(m.provenance));
    let doc = Document {
        title: format!("hoeveel sites: {}", m.record),
        basis: Basis::measured(m.provenance),
        sections: vec![section],
        warnings: super::record_warnings(&record),
    };
    super::emit(g, &doc)
}
