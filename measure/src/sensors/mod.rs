//! Energy sensors. Each module reads one kind of source and does all the I/O;
//! the arithmetic lives in [`crate::meter`].
//!
//! A sensor owns one or more domains (a powercap tree has a package and a DRAM
//! zone per socket; an NVML sensor has one GPU). Each call to [`Sensor::sample`]
//! reads every domain once, in the order of [`Sensor::domains`].

pub mod discover;
pub mod modelled;
pub mod nvml;
pub mod rapl_perf;
pub mod rapl_powercap;
pub mod total;

use hoeveel_record::{DomainKind, Provenance, SensorInfo};
use std::path::PathBuf;

/// How often the RAPL energy status MSRs change, in seconds: about every
/// millisecond (Intel SDM vol. 3B, 14.10 "Platform Specific Power Management
/// Support"; measured in Khan et al. 2018, "RAPL in Action", ACM TOMPECS 3(2)).
/// perf and powercap read the same MSRs, so both sensors share it.
pub const RAPL_UPDATE_PERIOD_S: f64 = 0.001;

/// One reading of one domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// A cumulative energy counter in microjoules. It may wrap at the domain's
    /// `wrap_range_uj`; the meter corrects that.
    Counter { energy_uj: u64 },
    /// Instantaneous power in milliwatts; the meter integrates it (trapezoid rule).
    Power { power_mw: f64 },
    /// Mean power since the previous reading, in milliwatts (utilisation models,
    /// which can only know an interval's average); the meter multiplies by the interval.
    MeanPower { power_mw: f64 },
    /// Instantaneous power in milliwatts, for the time series only, from a sensor
    /// whose energy comes from a counter it reads less often (NVML): the meter
    /// keeps counting from the counter and ignores it.
    SeriesPower { power_mw: f64 },
}

/// A domain as a sensor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    /// Unique in a run: `package-0`, `dram-1`, `psys`, `gpu-0`, `cpu-model`.
    pub id: String,
    pub kind: DomainKind,
    pub provenance: Provenance,
    /// Counter range after which it wraps to 0 (powercap `max_energy_range_uj`).
    /// `None` when the counter does not wrap in practice (perf's 64-bit counts).
    pub wrap_range_uj: Option<u64>,
    /// Physical package (socket) for CPU domains, GPU index for GPUs.
    pub unit: Option<u32>,
}

/// How fast a counter can wrap, and why: its range at the highest power its
/// domain can draw.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapTime {
    pub domain: String,
    pub range_j: f64,
    pub max_power_w: f64,
    /// Where `max_power_w` comes from (a power limit the zone declares, or the
    /// ceiling assumed when it declares none).
    pub power_source: String,
}

impl WrapTime {
    pub fn seconds(&self) -> f64 {
        self.range_j / self.max_power_w
    }
}

/// The kinds of sensor, as named on the command line (`--sensors`) and in the record.
pub use hoeveel_record::SensorKind;

/// Why a sensor cannot be read. Callers branch on these: permission problems
/// print the fix, unavailable sensors are skipped, transient errors are retried.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error("permission denied reading {path}")]
    PermissionDenied {
        path: PathBuf,
        /// The one command that fixes it.
        fix: String,
    },
    #[error("{0}")]
    Unavailable(String),
    #[error("transient: {0}")]
    Transient(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
}

impl SensorError {
    /// The fix to print, for errors that have one.
    pub fn fix(&self) -> Option<&str> {
        match self {
            SensorError::PermissionDenied { fix, .. } => Some(fix),
            _ => None,
        }
    }
}

/// A source of energy readings.
pub trait Sensor: Send {
    /// `rapl-perf`, `rapl-powercap`, `nvml`, `model`.
    fn kind(&self) -> SensorKind;

    /// The domains this sensor reads, in the order `sample` returns them.
    fn domains(&self) -> &[Domain];

    /// What goes into the record's sensor inventory.
    fn info(&self) -> SensorInfo;

    /// How often the source's value changes, in seconds: a window shorter than
    /// about 10 of these cannot be resolved.
    fn update_period_s(&self) -> f64;

    /// The shortest time one of its counters can take to wrap (its range at the
    /// highest power its domain can draw), or `None` when none wraps in practice
    /// (64-bit counts). The sampler must read more often than this: a counter that
    /// wraps twice between two readings loses the second wrap without a trace.
    fn shortest_wrap_s(&self) -> Option<WrapTime> {
        None
    }

    /// Reads every domain once and appends one reading per domain to `out`,
    /// in the order of [`Sensor::domains`]. On error nothing is appended.
    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError>;

    /// A reading between window marks, for the time series and to keep counters
    /// from wrapping unseen. A sensor whose counter is dear to read may answer
    /// with [`Reading::SeriesPower`] here, as long as it still reads its counter
    /// often enough for [`Sensor::shortest_wrap_s`]; the default reads as
    /// [`Sensor::sample`] does.
    fn sample_between_marks(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        self.sample(out)
    }
}
