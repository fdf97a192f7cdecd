//! `hoeveel plot RECORD… --output FILE.svg|FILE.png`

use super::Global;
use crate::plot::{Chart, PowerChart, svg};
use crate::stats::CiInterval;
use anyhow::{Context, anyhow, bail};
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Power over time per domain, with baseline, warm-up and repetitions marked.
    Power,
    /// g CO2e per 1,000 requests at every site, with ranges.
    Sites,
    /// Energy per output token against parameter count (log axes), one point per
    /// record: give the records of several model sizes.
    Tokens,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record (`power`, `sites`), or several (`tokens`).
    #[arg(required = true, value_name = "RECORD")]
    pub records: Vec<PathBuf>,
    /// The file to write: .svg, or .png (rendered with the system's fonts).
    #[arg(long, short)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value = "power")]
    pub chart: Kind,
    /// For `--chart sites`.
    #[command(flatten)]
    pub grid: super::GridArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let png = match a.output.extension().and_then(|e| e.to_str()) {
        Some("svg") => false,
        Some("png") => true,
        _ => bail!(
            "{}: the output must end in .svg or .png",
            a.output.display()
        ),
    };
    if a.records.len() > 1 && !matches!(a.chart, Kind::Tokens) {
        bail!("--chart power and sites plot one record; --chart tokens plots several");
    }
    let record = super::read(&a.records[0], crate::plot::CHART_SAMPLES)?;
    let chart = match a.chart {
        Kind::Tokens => {
            let mut records = vec![record];
            for path in &a.records[1..] {
                records.push(super::read(path, crate::plot::CHART_SAMPLES)?);
            }
            let doc = crate::compare_many::compare_many(&records, None)?;
            doc.sections
                    .into_iter()
                    .flat_map(|s| s.charts)
                    .next()
                    .ok_or_else(|| {
                        anyhow!(
                            "nothing to plot: it takes two or more records whose model has a parameter count and whose requests have output tokens"
                        )
                    })?
        }
        Kind::Power => Chart::Power(PowerChart::of(&record).ok_or_else(|| {
            anyhow!(
                "{}: the record has no samples to plot",
                a.records[0].display()
            )
        })?),
        Kind::Sites => {
            let p = g.profiles()?;
            let m = hoeveel_record::PerRequest::auto(&record);
            let d = m
                .stats()
                .ok_or_else(|| anyhow!("{}: no measured repetition completed", m.record))?;
            let label = format!("{} ({}, {})", m.record, m.basis, m.provenance_label());
            let grid = a.grid.dataset(&p)?;
            let s = crate::cases::sites::section(&p, d.ci(), &label, false, &grid);
            s.charts
                .into_iter()
                .next()
                .ok_or_else(|| anyhow!("no sites to plot"))?
        }
    };
    let drawn = svg(&chart)?;
    let bytes = if png {
        crate::raster::png(&drawn)?
    } else {
        drawn.into_bytes()
    };
    std::fs::write(&a.output, bytes)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    eprintln!("hoeveel: wrote {}", a.output.display());
    Ok(ExitCode::SUCCESS)
}
