//! `hoeveel training MODEL...`: case 4.

use super::{Global, GridArgs};
use crate::cases::{self, sites, training};
use crate::output::{Basis, Document};
use crate::profiles::GridChoice;
use crate::stats::Interval;
use anyhow::anyhow;
use hoeveel_record::Samples;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model card ids (`hoeveel profiles list`); default llama-2 and llama-3.1.
    pub models: Vec<String>,
    /// Requests to amortise training over (repeatable); default 1e6, 1e9, 1e12.
    #[arg(long, value_name = "N")]
    pub requests: Vec<f64>,
    /// An LLM record for the break-even; without one, De Vries' 3 Wh stands in.
    #[arg(long, value_name = "RECORD")]
    pub record: Option<PathBuf>,
    /// Site where inference runs, for the break-even.
    #[arg(long, default_value = "ms-nl")]
    pub site: String,
    /// Grid zone of the recomputation, looked up in the --grid dataset (default
    /// US, where Meta trains); a grid entry id (`US/ember-2025-08`) works too.
    #[arg(long, value_name = "ZONE", default_value = training::DEFAULT_ZONE)]
    pub zone: String,
    #[command(flatten)]
    pub grid: GridArgs,
    /// PUE for the recomputation: one value, or LOW-HIGH.
    #[arg(long, value_name = "PUE")]
    pub pue: Option<String>,
}

fn parse_pue(s: &str) -> anyhow::Result<Interval> {
    let parse = |x: &str| {
        x.trim()
            .parse::<f64>()
            .map_err(|e| anyhow!("--pue `{s}`: {e}"))
    };
    let i = match s.split_once('-') {
        Some((lo, hi)) => Interval::new(parse(lo)?, None, parse(hi)?),
        None => Interval::point(parse(s)?),
    };
    if i.low < 1.0 || i.high < i.low {
        return Err(anyhow!(
            "--pue `{s}`: a PUE is at least 1.0, and LOW-HIGH must not be reversed"
        ));
    }
    Ok(i)
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let p = g.profiles()?;
    let grid = a.grid.dataset(&p)?;
    let mut site = training::TrainingSite::on_grid(&p, &a.zone, &grid).ok_or_else(|| {
        anyhow!(
            "--zone: no grid entry for `{}` in dataset {} or {}",
            a.zone,
            grid.id,
            p.default_grid_dataset
        )
    })?;
    if let Some(s) = &a.pue {
        site.pue = parse_pue(s)?;
        site.pue_source = "given with --pue".into();
    }
    let models = if a.models.is_empty() {
        vec!["llama-2".to_string(), "llama-3.1".to_string()]
    } else {
        a.models.clone()
    };
    let requests = if a.requests.is_empty() {
        cases::DEFAULT_REQUESTS.to_vec()
    } else {
        a.requests.clone()
    };
    let mut warnings = Vec::new();
    let llm = match &a.record {
        Some(path) => {
            let r = super::read(path, Samples::Skip)?;
            warnings.extend(super::record_warnings(&r));
            Some(hoeveel_record::PerRequest::auto(&r))
        }
        None => None,
    };
    let (energy, label, basis) = cases::llm_energy(&p, llm.as_ref());
    let inf_site = p
        .site(&a.site)
        .ok_or_else(|| anyhow!("--site: no site `{}`", a.site))?;
    let inference =
        sites::at_site(&p, inf_site, energy, GridChoice::In(&grid)).map(|r| training::Inference {
            g_per_request: r.g_per_request,
            label: format!("{label}; at {}, grid {}", r.name, r.grid_id),
        });
    let mut section = training::section(&p, &models, &site, &requests, inference.as_ref())?;
    let basis = Basis::reference().combine(&basis);
    section.basis = Some(basis.clone());
    let doc = Document {
        title: "hoeveel training".into(),
        basis,
        sections: vec![section],
        warnings,
    };
    super::emit(g, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pue_argument() {
        assert_eq!(parse_pue("1.1").expect("one").low, 1.1);
        let r = parse_pue("1.04-1.58").expect("range");
        assert_eq!((r.low, r.high), (1.04, 1.58));
        assert!(parse_pue("0.9").is_err());
        assert!(parse_pue("1.5-1.2").is_err());
    }
}
