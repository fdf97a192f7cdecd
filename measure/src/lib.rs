//! hoeveel-measure: the energy of windows of code, measured on real hardware.
//!
//! The measuring core of hoeveel, on its own: sensors, discovery, the meter, the
//! sampler and measurement windows. It knows nothing of workloads, LLMs or
//! search; the `hoeveel-agent` binary and the Python package `hoeveel` are built
//! on it.
//!
//! Data flows one way:
//!
//! ```text
//! sensors --readings--> meter --running totals--> sampler --snapshots--> window
//!  (RAPL perf,           (wraps corrected,         (background ticks     (energy per domain,
//!   RAPL powercap,        counters, power,          + exact marks at      total, net, provenance,
//!   NVML, model)          modelled power)           each window end)      warnings)
//! ```
//!
//! - [`sensors`]: one module per source, and [`sensors::discover`], which picks the
//!   best available and keeps the reason and fix for each one it could not use.
//!   Nothing here elevates its privileges: a sensor that cannot be read says the
//!   one command that fixes it (`setcap cap_perfmon+ep`, a sysctl, a udev rule).
//! - [`meter`]: pure arithmetic from successive readings to energy.
//! - [`sampler`]: owns the sensors and their meters; reads them on a timer and at
//!   every mark.
//! - [`window`]: a window's energy from two snapshots, which domains are in the
//!   total, and how short a window the sensors resolve.
//! - [`baseline`]: the idle power, for net energy.
//! - [`monitor`]: the API for programs: named windows that may overlap and nest,
//!   optionally written into a record that `hoeveel report` reads.
//! - [`machine_checks`], [`host`], [`clock`]: the machine's state and the
//!   measurer's own load, for the record.
//!
//! # Example
//!
//! ```
//! use hoeveel_measure::{Monitor, MonitorOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The machine's best sensors: RAPL where it can be read, else a labelled model.
//! let monitor = Monitor::start(MonitorOptions::default())?;
//! monitor.begin("sum")?;
//! let total: u64 = (0..10_000_000u64).sum();
//! let window = monitor.end("sum")?;
//! println!(
//!     "sum {total}: {:.3} J in {:.3} s ({})",
//!     window.total_j,
//!     window.duration_s,
//!     window.provenance.map_or("no sensor", |p| p.as_str())
//! );
//! for warning in &window.warnings {
//!     println!("  warning: {warning}");
//! }
//! # Ok(())
//! # }
//! ```

pub mod baseline;
pub mod clock;
pub mod host;
pub mod machine_checks;
pub mod meter;
pub mod monitor;
pub mod sampler;
pub mod sensors;
pub mod window;

pub use monitor::{Monitor, MonitorError, MonitorOptions, WindowResult};
pub use sensors::SensorKind;
pub use sensors::discover::{DiscoverError, DiscoverOptions, TotalChoice};
