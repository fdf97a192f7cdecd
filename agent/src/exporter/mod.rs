//! `hoeveel-agent serve`: a long-running Prometheus exporter on the measuring
//! crate.
//!
//! ```text
//! sensors --> sampler (retries lost sensors) --every resolution--> Published
//!                                                                      |
//!                       GET /metrics --> metrics::encode (a snapshot) <-+
//! ```
//!
//! A background thread reads the sensors (more often than the resolution when a
//! counter could otherwise wrap twice unseen) and publishes running totals at most
//! once per resolution (default 1 s): finer counters would hand any scraper a power
//! side channel (PLATYPUS, CVE-2020-8694). The HTTP side ([`http`]) only reads the
//! last publication; it runs no workload and serves nothing taken from a request.

pub mod connections;
pub mod http;
pub mod metrics;
pub mod opening;
pub mod tracked;

use crate::sensors::discover::Inventory;
use hoeveel_measure::baseline;
use hoeveel_measure::clock::{process_cpu_time_s, resident_bytes};
use hoeveel_measure::sampler::{Down, Sampler};
use hoeveel_measure::window::Layout;
use hoeveel_record::{DomainInfo, DomainMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The default resolution of the served counters, in seconds.
pub const DEFAULT_RESOLUTION_S: f64 = 1.0;

/// A hosting site's factors, from the profiles, served so PromQL can turn joules
/// into grams.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteFactors {
    pub site: String,
    /// The PUE's typical value (the midpoint of a range without one).
    pub pue: f64,
    pub grid: String,
    pub grid_intensity_g_per_kwh: f64,
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub resolution_s: f64,
    pub baseline_s: f64,
    pub site: Option<SiteFactors>,
    pub proc_root: PathBuf,
}

/// What a scrape sees: the state at the last publication.
#[derive(Debug, Clone, Default)]
pub struct Published {
    pub domains: Vec<DomainInfo>,
    /// Running energy per domain since the exporter started, wraps corrected.
    pub energy_j: Vec<f64>,
    /// Mean power over the last published interval; `None` before the second
    /// publication or while the domain is down.
    pub power_w: Vec<Option<f64>>,
    /// Why each domain is not measured now; `None` when it is.
    pub down: Vec<Option<Down>>,
    pub baseline_power_w: Option<DomainMap>,
    pub site: Option<SiteFactors>,
    pub resolution_s: f64,
    pub exporter_cpu_s: f64,
    pub exporter_resident_bytes: Option<u64>,
}

/// Publishes the sampler's totals every `resolution_s` until `stop` is set.
struct Publisher {
    sampler: Sampler,
    published: Arc<RwLock<Published>>,
    /// Seconds between two sensor readings (≤ the resolution).
    read_every_s: f64,
    resolution_s: f64,
}

impl Publisher {
    /// Reads on a fixed grid of `resolution / n` seconds and publishes every n-th
    /// reading, so publications stay on a 1 × resolution grid from the start and
    /// a scraper at the same period sees one publication per scrape, never two or
    /// none (which would alias a rate by a whole period). A late wake-up reads at
    /// once and the grid goes on.
    fn run(&self, stop: &AtomicBool) {
        let per_publish = (self.resolution_s / self.read_every_s).ceil().max(1.0) as u64;
        let read_every_s = self.resolution_s / per_publish as f64;
        let start = Instant::now();
        let mut tick: u64 = 0;
        let mut last_epoch: Option<u64> = None;
        let mut last_publish: Option<(f64, Vec<f64>)> = None;
        while !stop.load(Ordering::SeqCst) {
            let due = start + Duration::from_secs_f64(tick as f64 * read_every_s);
            let now = Instant::now();
            if now < due {
                std::thread::park_timeout(due - now);
                continue;
            }
            // Ticks missed while late are skipped, not made up in a burst.
            tick = tick.max((now - start).as_secs_f64().div_euclid(read_every_s) as u64);
            let epoch = tick / per_publish;
            tick += 1;
            let snapshot = match self.sampler.mark() {
                Ok(s) => s,
                // Only a poisoned sampler fails here: say so rather than serve
                // stale counters without a word.
                Err(e) => {
                    eprintln!(
                        "hoeveel-agent serve: the sampler stopped ({e:#}); counters are no longer updated"
                    );
                    break;
                }
            };
            for notice in self.sampler.take_notices() {
                eprintln!("hoeveel-agent serve: {}", notice.message);
            }
            if last_epoch.is_some_and(|e| e >= epoch) {
                continue;
            }
            last_epoch = Some(epoch);
            let down = self.sampler.health();
            let power_w = match &last_publish {
                Some((t, totals)) if snapshot.t_s > *t => snapshot
                    .totals_j
                    .iter()
                    .zip(totals)
                    .zip(&down)
                    .map(|((now, before), down)| {
                        down.is_none().then(|| (now - before) / (snapshot.t_s - t))
                    })
                    .collect(),
                _ => vec![None; snapshot.totals_j.len()],
            };
            if let Ok(mut p) = self.published.write() {
                p.energy_j.clone_from(&snapshot.totals_j);
                p.power_w = power_w;
                p.down = down;
                p.exporter_cpu_s = process_cpu_time_s();
                p.exporter_resident_bytes = resident_bytes();
            }
            last_publish = Some((snapshot.t_s, snapshot.totals_j));
        }
    }
}

/// Measures the baseline when asked, then serves until SIGTERM or SIGINT.
pub fn serve(inventory: Inventory, options: ServeOptions) -> anyhow::Result<()> {
    let layout = Layout::of(&inventory.sensors, inventory.total);
    let read_every_s = inventory
        .sensors
        .iter()
        .filter_map(|s| s.shortest_wrap_s())
        .map(|w| w.seconds() / 2.0)
        .fold(options.resolution_s, f64::min);
    let sampler = Sampler::new(inventory.sensors, Instant::now()).retrying_lost_sensors();
    sampler.mark()?; // the first reading of every meter
    let baseline_power_w = if options.baseline_s > 0.0 {
        eprintln!(
            "hoeveel-agent serve: measuring the idle baseline for {} s",
            options.baseline_s
        );
        let never = AtomicBool::new(false);
        baseline::measure(
            &sampler,
            &layout,
            options.baseline_s,
            &options.proc_root,
            &never,
        )?
        .map(|b| b.power_w)
    } else {
        None
    };
    let domain_count = layout.domains.len();
    let published = Arc::new(RwLock::new(Published {
        domains: layout.domains.clone(),
        energy_j: vec![0.0; domain_count],
        power_w: vec![None; domain_count],
        down: vec![None; domain_count],
        baseline_power_w,
        site: options.site.clone(),
        resolution_s: options.resolution_s,
        exporter_cpu_s: process_cpu_time_s(),
        exporter_resident_bytes: resident_bytes(),
    }));
    let publisher = Publisher {
        sampler,
        published: published.clone(),
        read_every_s,
        resolution_s: options.resolution_s,
    };
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| publisher.run(&stop));
        let served = http::serve(options.listen, published);
        stop.store(true, Ordering::SeqCst);
        reader.thread().unpark();
        let _ = reader.join();
        served
    })
}
