//! `hoeveel scenario FILE`: case 3.

use super::{Global, GridArgs};
use crate::cases::municipality::{self, Scenario};
use crate::output::{Basis, Document};
use crate::stats::CiInterval;
use anyhow::anyhow;
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML), e.g. profiles/scenarios/municipality.toml.
    pub scenario: PathBuf,
    /// A record of serving one page view (e.g. `hoeveel-agent run` of a client
    /// fetching the page from a local server); replaces the hosting profile.
    #[arg(long, value_name = "RECORD")]
    pub hosting_record: Option<PathBuf>,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let scenario = Scenario::load(&a.scenario)?;
    let grid = a.grid.dataset(&profiles)?;
    let mut basis = Basis::reference();
    let mut warnings = Vec::new();
    let hosting = match &a.hosting_record {
        Some(path) => {
            let r = super::read(path, Samples::Skip)?;
            warnings.extend(super::record_warnings(&r));
            let m = hoeveel_record::PerRequest::auto(&r);
            let d = m
                .stats()
                .ok_or_else(|| anyhow!("{}: no measured repetition completed", m.record))?;
            basis = Basis::measured(m.provenance);
            Some((
                d.ci(),
                format!("{}, {}, {}", m.record, m.basis, m.provenance_label()),
            ))
        }
        None => None,
    };
    let mut section = municipality::section(&profiles, &scenario, hosting, &grid)?;
    section.basis = Some(basis.clone());
    let doc = Document {
        title: format!("hoeveel scenario: {}", scenario.name),
        basis,
        sections: vec![section],
        warnings,
    };
    super::emit(g, &doc)
}
