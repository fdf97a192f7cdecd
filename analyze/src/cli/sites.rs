//! `hoeveel sites RECORD`: case 2 for a measured request.

use super::{BasisArgs, Global};
use crate::measure::Measurement;
use crate::output::{Basis, Document};
use anyhow::anyhow;
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
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let record = super::read(&a.record)?;
    let m = Measurement::of(&record);
    let basis = a.basis.basis().unwrap_or_else(|| m.default_basis());
    let d = m
        .describe(basis)
        .ok_or_else(|| anyhow!("{}: no measured repetition completed", m.name))?;
    let label = format!(
        "`{}` ({}), {}, mean and 95% CI, {}",
        m.label,
        m.name,
        basis.as_str(),
        m.provenance_label()
    );
    let mut section = crate::cases::sites::section(&profiles, d.ci(), &label, a.workshop);
    section.basis = Some(Basis::measured(m.provenance));
    let doc = Document {
        title: format!("hoeveel sites: {}", m.name),
        basis: Basis::measured(m.provenance),
        sections: vec![section],
        warnings: record.warnings.clone(),
    };
    super::emit(g, &doc)
}
