//! The command line of `hoeveel`: one module per subcommand, each with its own
//! `Args`; the global options choose the profiles and the output format.

pub mod cases;
pub mod compare;
pub mod plot;
pub mod profiles;
pub mod report;
pub mod scenario;
pub mod sites;
pub mod training;

use crate::output::text::TextLayout;
use crate::output::{self, Document, Format};
use crate::profiles::ProfileSet;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hoeveel_record::EnergyBasis;
use hoeveel_record::{Record, Samples};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "hoeveel",
    version,
    about = "Turns measured energy into CO2e per request, with sources"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// A folder of profile files that override or extend the shipped ones (repeatable;
    /// also HOEVEEL_PROFILES and $XDG_CONFIG_HOME/hoeveel/profiles).
    #[arg(long = "profiles", global = true, value_name = "DIR")]
    pub profiles: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true, conflicts_with_all = ["csv", "markdown"])]
    pub json: bool,
    /// Print CSV (one block per table; ranges as low/typical/high columns).
    #[arg(long, global = true, conflicts_with = "markdown")]
    pub csv: bool,
    /// Print Markdown.
    #[arg(long, global = true)]
    pub markdown: bool,
    /// Also write a self-contained HTML report with charts to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Keep one line per table row, however wide. Without it, text output fits the
    /// terminal (or COLUMNS, or 100 columns when stdout is not a terminal).
    #[arg(long, global = true)]
    pub wide: bool,
}

impl Global {
    /// What `report`, the one command with a power chart, keeps of the
    /// records' time series: the chart's points where the output can hold
    /// one (HTML, JSON), else nothing. The other commands skip the series.
    pub fn chart_samples(&self) -> Samples {
        if self.html.is_some() || self.json {
            crate::plot::CHART_SAMPLES
        } else {
            Samples::Skip
        }
    }

    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.csv {
            Format::Csv
        } else if self.markdown {
            Format::Markdown
        } else {
            Format::Text
        }
    }

    /// How wide the text format may be.
    pub fn text_layout(&self) -> TextLayout {
        if self.wide {
            TextLayout::WIDE
        } else {
            TextLayout::for_stdout()
        }
    }

    pub fn profiles(&self) -> anyhow::Result<ProfileSet> {
        Ok(ProfileSet::load(&ProfileSet::user_dirs(&self.profiles))?)
    }
}

/// `--net` / `--gross`, shared by the commands that compute from energy.
#[derive(Debug, Clone, Args)]
pub struct BasisArgs {
    /// Use gross energy (everything the measured domains used). Default: net where
    /// the record has an idle baseline, else gross.
    #[arg(long, conflicts_with = "net")]
    pub gross: bool,
    /// Use net energy (gross minus idle baseline x duration).
    #[arg(long)]
    pub net: bool,
}

impl BasisArgs {
    pub fn basis(&self) -> Option<EnergyBasis> {
        if self.gross {
            Some(EnergyBasis::Gross)
        } else if self.net {
            Some(EnergyBasis::Net)
        } else {
            None
        }
    }
}

/// `--grid DATASET`, shared by the commands that print CO2e.
#[derive(Debug, Clone, Args)]
pub struct GridArgs {
    /// The grid dataset for every CO2e figure (`hoeveel profiles list` shows the
    /// datasets after the `/` of each grid id; `workshop` is the workshop's own
    /// values). Default: the grid file's default_dataset, the newest. A site or
    /// scenario names its own grid entry; its zone is looked up in DATASET, and
    /// where DATASET has no such zone the named entry is used and a note says so.
    /// Case 2's workshop check always uses the named entries (the workshop's values).
    #[arg(long = "grid", value_name = "DATASET")]
    pub dataset: Option<String>,
}

impl GridArgs {
    /// The chosen dataset; an unknown one is refused, naming the known ones.
    pub fn dataset(&self, p: &ProfileSet) -> anyhow::Result<crate::profiles::GridDataset> {
        p.grid_dataset(self.dataset.as_deref()).context("--grid")
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-request energy with CI, per token, CO2e at a site, everyday equivalents.
    Report(report::Args),
    /// The ratio of two measurements with a 95% CI, next to the published figures.
    Compare(compare::Args),
    /// Case 2: every hosting site ranked, g CO2e per request and per 1,000 requests.
    Sites(sites::Args),
    /// Case 3: a scenario file (the municipal web page vs desk visits).
    Scenario(scenario::Args),
    /// Case 4: training emissions from the model cards, recomputed and amortised.
    Training(training::Args),
    /// All four workshop cases, each next to the workshop's figure and its source.
    Cases(cases::Args),
    /// The shipped data: list, show one entry, check every file.
    Profiles(profiles::Args),
    /// Write a chart as SVG or PNG.
    Plot(plot::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Report(a) => report::run(g, a),
        Command::Compare(a) => compare::run(g, a),
        Command::Sites(a) => sites::run(g, a),
        Command::Scenario(a) => scenario::run(g, a),
        Command::Training(a) => training::run(g, a),
        Command::Cases(a) => cases::run(g, a),
        Command::Profiles(a) => profiles::run(g, a),
        Command::Plot(a) => plot::run(g, a),
    }
}

/// Reads a record. What the reader tolerated (a cut last line, no run_end) is
/// among [`record_warnings`], which every command prints with its output.
/// Commands that take one record refuse one that holds several named windows
/// (from the measuring library), which measure different things: `report` shows
/// each of them.
pub fn read(path: &Path, samples: Samples) -> anyhow::Result<Record> {
    let record = hoeveel_record::read_record_with(path, samples)?;
    let names = record.window_names();
    if names.len() > 1 {
        anyhow::bail!(
            "{}: holds {} windows ({}), which measure different things; `hoeveel report {}` shows each of them",
            path.display(),
            names.len(),
            names.join(", "),
            path.display()
        );
    }
    Ok(record)
}

/// Reads records for commands that take several, splitting a record of named
/// windows into one record per window name ([`Record::by_window`]).
pub fn read_each_window(
    paths: &[std::path::PathBuf],
    samples: Samples,
) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    for path in paths {
        records.extend(hoeveel_record::read_record_with(path, samples)?.by_window());
    }
    Ok(records)
}

/// Every warning of a record ([`hoeveel_record::warnings::of`]), each prefixed
/// with the record's name, for a document's warnings.
pub fn record_warnings(record: &Record) -> Vec<String> {
    hoeveel_record::warnings::of(record)
        .iter()
        .map(|w| format!("{}: {w}", record.name()))
        .collect()
}

/// Prints the document in the chosen format and writes the HTML file if asked.
pub fn emit(g: &Global, doc: &Document) -> anyhow::Result<ExitCode> {
    // A record given twice (`compare r.jsonl r.jsonl`) warns once.
    let mut doc = doc.clone();
    let mut seen = std::collections::HashSet::new();
    doc.warnings.retain(|w| seen.insert(w.clone()));
    if let Some(path) = &g.html {
        std::fs::write(path, crate::html::render(&doc)?)
            .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
        eprintln!("hoeveel: wrote {}", path.display());
    }
    print_out(&output::render_with(&doc, g.format(), g.text_layout()))
}

/// Writes to stdout; a closed pipe (`hoeveel ... | head`) ends quietly.
pub fn print_out(text: &str) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
