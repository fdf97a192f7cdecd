//! `hoeveel-agent serve`: the Prometheus exporter (see [`crate::exporter`]).

use super::common::{SensorArgs, parse_duration_s, render_discover_error};
use crate::exporter::{self, DEFAULT_RESOLUTION_S, ServeOptions, SiteFactors};
use crate::sensors::discover;
use hoeveel_profiles::ProfileSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to serve /metrics on. The default is loopback only: say another
    /// address explicitly to serve the network.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9465")]
    pub listen: SocketAddr,
    /// How often the served counters are updated. Finer than 1 s hands every
    /// scraper a power side channel (PLATYPUS, CVE-2020-8694); set it only on
    /// purpose.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_s)]
    pub resolution: f64,
    /// Seconds of idle baseline measured at start and served per domain (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub baseline: f64,
    /// A hosting site id from the profiles (`hoeveel profiles list`): its PUE and
    /// grid intensity are served so PromQL can turn joules into grams.
    #[arg(long, value_name = "ID")]
    pub site: Option<String>,
    /// Extra profile folders, as `hoeveel --profiles`.
    #[arg(long, value_name = "DIR")]
    pub profiles: Vec<PathBuf>,
    #[command(flatten)]
    pub sensor: SensorArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.baseline.is_finite() && args.baseline >= 0.0) {
        anyhow::bail!(
            "--baseline must be 0 or more seconds, not {}",
            args.baseline
        );
    }
    if args.resolution < DEFAULT_RESOLUTION_S {
        eprintln!(
            "hoeveel-agent serve: counters are served every {} s, finer than the default {DEFAULT_RESOLUTION_S} s, as asked: whoever can scrape the endpoint can follow the machine's power that closely",
            args.resolution
        );
    }
    let site = args
        .site
        .as_deref()
        .map(|id| site(id, &args.profiles))
        .transpose()?;
    let inventory =
        discover::discover(&args.sensor.discover_options()?).map_err(render_discover_error)?;
    // No interval check as `run` makes: the exporter reads a counter that could
    // wrap within the resolution as often as it needs (see `exporter::serve`).
    for note in inventory.notes(args.sensor.verbose) {
        eprintln!("hoeveel-agent serve: {note}");
    }
    exporter::serve(
        inventory,
        ServeOptions {
            listen: args.listen,
            resolution_s: args.resolution,
            baseline_s: args.baseline,
            site,
            proc_root: args.sensor.proc_root.clone(),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The site's PUE and grid intensity, from the shipped profiles and any folders given.
fn site(id: &str, extra: &[PathBuf]) -> anyhow::Result<SiteFactors> {
    let profiles = ProfileSet::load(&ProfileSet::user_dirs(extra))?;
    let site = profiles.site(id).ok_or_else(|| {
        let known: Vec<&str> = profiles.sites.iter().map(|(s, _)| s.id.as_str()).collect();
        anyhow::anyhow!("unknown site `{id}` in --site; known: {}", known.join(", "))
    })?;
    let grid = profiles.grid_entry(&site.grid).ok_or_else(|| {
        anyhow::anyhow!(
            "site `{id}` names grid `{}`, which the profiles lack",
            site.grid
        )
    })?;
    Ok(SiteFactors {
        site: site.id.clone(),
        pue: site.pue.interval().centre(),
        grid: grid.id.clone(),
        grid_intensity_g_per_kwh: grid.value,
    })
}
