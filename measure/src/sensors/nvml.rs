//! NVIDIA GPUs through NVML (the driver's management library), by way of the
//! nvml-wrapper crate, which loads `libnvidia-ml.so.1` at run time: the agent
//! builds and runs on machines without the NVIDIA driver, and says there that
//! GPUs are not measured.
//!
//! Each GPU is one [`NvmlSensor`] with one domain, `gpu-N`, read one of two ways:
//!
//! - **Energy counter** (Volta and newer): `nvmlDeviceGetTotalEnergyConsumption`,
//!   millijoules since the driver was loaded, 64 bits wide, so it does not wrap
//!   in practice. Provenance `counter`.
//! - **Power integration** (older GPUs, where the counter answers
//!   `NVML_ERROR_NOT_SUPPORTED`): `nvmlDeviceGetPowerUsage` in milliwatts,
//!   polled and integrated by the meter with the trapezoid rule. Provenance
//!   `integrated`, and the record says why.
//!
//! A GPU that supports neither is listed as unavailable with the reason; it is
//! never measured as 0. NVML refreshes both readings every ~10–100 ms (DESIGN.md,
//! "Short requests"), so repetitions shorter than about a second are batched by
//! the run loop.
//!
//! nvml-wrapper's `Device` borrows the `Nvml` handle, which does not fit a
//! sensor that must own what it reads. Every sensor therefore holds the shared
//! `Arc<Nvml>` (NVML is thread-safe; the library stays loaded until the last
//! sensor is dropped) and looks its device up by index on each sample; the
//! criterion bench `nvml` measures what that look-up costs.

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, GpuInfo, Provenance, SensorInfo, Unavailable};
use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;
use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;

/// The library nvml-wrapper loads when no path is given.
const DEFAULT_LIBRARY: &str = "libnvidia-ml.so.1";

/// How a GPU's energy is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPath {
    /// `nvmlDeviceGetTotalEnergyConsumption` (mJ): provenance `counter`.
    EnergyCounter,
    /// `nvmlDeviceGetPowerUsage` (mW), integrated: provenance `integrated`.
    PowerIntegration,
}

impl ReadPath {
    fn provenance(self) -> Provenance {
        match self {
            ReadPath::EnergyCounter => Provenance::Counter,
            ReadPath::PowerIntegration => Provenance::Integrated,
        }
    }

    /// How often the value read this way changes, in seconds.
    pub fn update_period_s(self) -> f64 {
        match self {
            // Measured on an H200: the total-energy counter moved every 99.9 ms
            // (median gap over 1.5 s; README, "Checked on a real GPU").
            ReadPath::EnergyCounter => 0.1,
            // This path is taken only by GPUs without the counter (pre-Volta),
            // whose refresh nobody here has measured; NVML documents no rate,
            // and on Ampere and newer the value is even a 1 s average. Assume
            // the counter's 100 ms rather than claim a finer resolution than
            // is known.
            ReadPath::PowerIntegration => 0.1,
        }
    }

    /// How the record and `sensors` name this path.
    pub fn as_str(self) -> &'static str {
        match self {
            ReadPath::EnergyCounter => "energy counter",
            ReadPath::PowerIntegration => "power integration",
        }
    }
}

/// One GPU.
pub struct NvmlSensor {
    nvml: Arc<Nvml>,
    index: u32,
    path: ReadPath,
    /// Why the energy counter is not used, when it is not.
    counter_unavailable: Option<String>,
    gpu: GpuInfo,
    library: String,
    driver_version: Option<String>,
    domains: Vec<Domain>,
    /// When the energy counter was last read.
    last_counter_read: Option<std::time::Instant>,
    /// Whether the power reading can fill the series between counter reads.
    power_for_series: bool,
}

/// Every GPU NVML reports, with what the record says about each.
pub struct NvmlDiscovery {
    /// One sensor per GPU that can be measured.
    pub sensors: Vec<NvmlSensor>,
    /// Every GPU NVML reports, measured or not.
    pub gpus: Vec<GpuInfo>,
    /// GPUs that are present but cannot be measured, with the reason.
    pub unavailable: Vec<Unavailable>,
}

/// Loads NVML (from `library` when given, else the system's `libnvidia-ml.so.1`)
/// and opens every GPU. A missing library is `Unavailable`, not a failure; so is
/// a machine without any GPU that can be measured.
pub fn discover(library: Option<&Path>) -> Result<NvmlDiscovery, SensorError> {
    let library_name =
        library.map_or_else(|| DEFAULT_LIBRARY.to_string(), |p| p.display().to_string());
    let nvml = Arc::new(init(library, &library_name)?);
    let count = nvml.device_count().map_err(|e| {
        SensorError::Unavailable(format!(
            "NVML ({library_name}) cannot count GPUs: {e}; GPUs are not measured"
        ))
    })?;
    if count == 0 {
        return Err(SensorError::Unavailable(format!(
            "NVML ({library_name}) reports no GPU; GPUs are not measured"
        )));
    }
    let driver_version = nvml.sys_driver_version().ok();

    let mut found = NvmlDiscovery {
        sensors: Vec::new(),
        gpus: Vec::new(),
        unavailable: Vec::new(),
    };
    for index in 0..count {
        match probe(&nvml, index) {
            Probe::Measured {
                gpu,
                path,
                counter_unavailable,
            } => {
                found.gpus.push(gpu.clone());
                found.sensors.push(NvmlSensor {
                    nvml: Arc::clone(&nvml),
                    index,
                    path,
                    counter_unavailable,
                    domains: vec![Domain {
                        id: domain_id(index),
                        kind: DomainKind::Gpu,
                        provenance: path.provenance(),
                        // 64-bit millijoules: ~584 million years at 1 kW.
                        wrap_range_uj: None,
                        unit: Some(index),
                    }],
                    gpu,
                    library: library_name.clone(),
                    driver_version: driver_version.clone(),
                    last_counter_read: None,
                    power_for_series: true,
                });
            }
            Probe::Unmeasurable { gpu, reason } => {
                if let Some(gpu) = gpu {
                    found.gpus.push(gpu);
                }
                found.unavailable.push(Unavailable {
                    sensor: SensorKind::Nvml,
                    reason,
                    fix: None,
                });
            }
        }
    }
    if found.sensors.is_empty() {
        let reasons: Vec<&str> = found
            .unavailable
            .iter()
            .map(|u| u.reason.as_str())
            .collect();
        return Err(SensorError::Unavailable(format!(
            "no GPU can be measured: {}",
            reasons.join("; ")
        )));
    }
    Ok(found)
}

fn init(library: Option<&Path>, library_name: &str) -> Result<Nvml, SensorError> {
    let mut builder = Nvml::builder();
    if let Some(path) = library {
        builder.lib_path(path.as_os_str());
    } else {
        builder.lib_path(OsStr::new(DEFAULT_LIBRARY));
    }
    builder.init().map_err(|e| match e {
        NvmlError::LibloadingError(_) if library.is_none() => SensorError::Unavailable(format!(
            "NVML library not found ({DEFAULT_LIBRARY}): no NVIDIA driver; GPUs are not measured"
        )),
        NvmlError::LibloadingError(cause) => SensorError::Unavailable(format!(
            "NVML library {library_name} cannot be loaded: {cause}; GPUs are not measured"
        )),
        NvmlError::DriverNotLoaded => SensorError::Unavailable(format!(
            "NVML ({library_name}) is installed but the NVIDIA kernel driver is not loaded; GPUs are not measured"
        )),
        other => SensorError::Unavailable(format!(
            "NVML ({library_name}) failed to initialise: {other}; GPUs are not measured"
        )),
    })
}

fn domain_id(index: u32) -> String {
    format!("gpu-{index}")
}

enum Probe {
    Measured {
        gpu: GpuInfo,
        path: ReadPath,
        counter_unavailable: Option<String>,
    },
    Unmeasurable {
        gpu: Option<GpuInfo>,
        reason: String,
    },
}

/// Reads what the record says about GPU `index` and finds how to measure it.
fn probe(nvml: &Nvml, index: u32) -> Probe {
    let id = domain_id(index);
    let device = match nvml.device_by_index(index) {
        Ok(d) => d,
        Err(e) => {
            return Probe::Unmeasurable {
                gpu: None,
                reason: format!("{id}: NVML cannot open it: {e}"),
            };
        }
    };
    let name = match device.name() {
        Ok(n) => n,
        Err(e) => {
            return Probe::Unmeasurable {
                gpu: None,
                reason: format!("{id}: NVML cannot read its name: {e}"),
            };
        }
    };
    let gpu = GpuInfo {
        index,
        name,
        uuid: device.uuid().ok().filter(|u| !u.is_empty()),
        bus_id: device
            .pci_info()
            .ok()
            .map(|p| p.bus_id)
            .filter(|b| !b.is_empty()),
        // The enforced limit takes every limiter into account; older drivers
        // only know the management limit.
        power_limit_w: device
            .enforced_power_limit()
            .or_else(|_| device.power_management_limit())
            .ok()
            .map(|mw| f64::from(mw) / 1000.0),
    };
    let label = format!("{id} ({})", gpu.name);

    match device.total_energy_consumption() {
        Ok(_) => Probe::Measured {
            gpu,
            path: ReadPath::EnergyCounter,
            counter_unavailable: None,
        },
        Err(NvmlError::NotSupported) => match device.power_usage() {
            Ok(_) => Probe::Measured {
                gpu,
                path: ReadPath::PowerIntegration,
                counter_unavailable: Some(
                    "the total-energy counter is not supported (it needs a Volta or newer GPU)"
                        .to_string(),
                ),
            },
            Err(e) => Probe::Unmeasurable {
                reason: format!(
                    "{label}: neither the total-energy counter (not supported) nor the power reading ({e}) can be read; this GPU is not measured"
                ),
                gpu: Some(gpu),
            },
        },
        Err(e) => Probe::Unmeasurable {
            reason: format!(
                "{label}: the total-energy counter cannot be read ({e}); this GPU is not measured"
            ),
            gpu: Some(gpu),
        },
    }
}

/// Sorts an NVML error met while sampling: a GPU that is gone (or a library
/// that no longer answers) is `Unavailable`, anything that may pass is `Transient`.
fn sample_error(label: &str, e: NvmlError) -> SensorError {
    match e {
        NvmlError::GpuLost
        | NvmlError::ResetRequired
        | NvmlError::DriverNotLoaded
        | NvmlError::Uninitialized
        | NvmlError::NotSupported
        | NvmlError::NoPermission
        | NvmlError::InvalidArg
        | NvmlError::NotFound
        | NvmlError::LibRmVersionMismatch
        | NvmlError::OperatingSystem
        | NvmlError::FailedToLoadSymbol(_)
        | NvmlError::LibloadingError(_) => {
            SensorError::Unavailable(format!("{label}: NVML reading failed: {e}"))
        }
        other => SensorError::Transient(format!("{label}: NVML reading failed: {other}")),
    }
}

impl NvmlSensor {
    /// How this GPU's energy is read.
    pub fn read_path(&self) -> ReadPath {
        self.path
    }

    /// What the record says about this GPU.
    pub fn gpu(&self) -> &GpuInfo {
        &self.gpu
    }

    /// How errors name this GPU: its domain and model.
    fn label(&self) -> String {
        format!("{} ({})", self.domains[0].id, self.gpu.name)
    }

    fn read(&self) -> Result<Reading, NvmlError> {
        let device = self.nvml.device_by_index(self.index)?;
        Ok(match self.path {
            ReadPath::EnergyCounter => Reading::Counter {
                energy_uj: device.total_energy_consumption()?.saturating_mul(1000),
            },
            ReadPath::PowerIntegration => Reading::Power {
                power_mw: f64::from(device.power_usage()?),
            },
        })
    }
}

impl Sensor for NvmlSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::Nvml
    }

    fn domains(&self) -> &[Domain] {
        &self.domains
    }

    fn update_period_s(&self) -> f64 {
        self.path.update_period_s()
    }

    fn info(&self) -> SensorInfo {
        let source = match self.path {
            ReadPath::EnergyCounter => format!(
                "NVML nvmlDeviceGetTotalEnergyConsumption through {} (mJ since the driver loaded; updates every ~10-100 ms) at every window mark; between marks the time series takes nvmlDeviceGetPowerUsage, the counter read at most every {COUNTER_READ_PERIOD_S} s",
                self.library
            ),
            // NVML API reference, nvmlDeviceGetPowerUsage: on Ampere (except
            // GA100) and newer GPUs the value is averaged over 1 s.
            ReadPath::PowerIntegration => format!(
                "NVML nvmlDeviceGetPowerUsage through {}, polled and integrated (trapezoid rule; updates every ~10-100 ms, a 1 s average on some GPUs)",
                self.library
            ),
        };
        SensorInfo {
            kind: SensorKind::Nvml,
            provenance: self.path.provenance(),
            domains: self.domains.iter().map(|d| d.id.clone()).collect(),
            source,
            update_period_s: Some(self.update_period_s()),
            details: serde_json::json!({
                "index": self.gpu.index,
                "name": self.gpu.name,
                "uuid": self.gpu.uuid,
                "bus_id": self.gpu.bus_id,
                "power_limit_w": self.gpu.power_limit_w,
                "read_path": self.path.as_str(),
                "energy_counter_unavailable": self.counter_unavailable,
                "driver_version": self.driver_version,
            }),
        }
    }

    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        let reading = self.read().map_err(|e| sample_error(&self.label(), e))?;
        if self.path == ReadPath::EnergyCounter {
            self.last_counter_read = Some(std::time::Instant::now());
        }
        out.push(reading);
        Ok(())
    }

    /// Between marks the energy counter is read at most every
    /// [`COUNTER_READ_PERIOD_S`] (it costs milliseconds of CPU on some drivers);
    /// the ticks in between read the power, for the time series only.
    fn sample_between_marks(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        let counter_due = self
            .last_counter_read
            .is_none_or(|t| t.elapsed().as_secs_f64() >= COUNTER_READ_PERIOD_S);
        if self.path != ReadPath::EnergyCounter || counter_due || !self.power_for_series {
            return self.sample(out);
        }
        let power = self
            .nvml
            .device_by_index(self.index)
            .and_then(|d| d.power_usage());
        match power {
            Ok(mw) => {
                out.push(Reading::SeriesPower {
                    power_mw: f64::from(mw),
                });
                Ok(())
            }
            // No power reading on this GPU: the counter serves the series too.
            Err(NvmlError::NotSupported) => {
                self.power_for_series = false;
                self.sample(out)
            }
            Err(e) => Err(sample_error(&self.label(), e)),
        }
    }
}

/// Between window marks, the NVML energy counter is read at most this often;
/// the power reading fills the time series in between. Window energies need
/// the counter only at the marks (64-bit millijoules never wrap), so between
/// them it only shows the sensor is alive: on an H200 one read cost 3.8 ms of
/// CPU (README, "Checked on a real GPU"), 0.19% of a core at this period.
pub const COUNTER_READ_PERIOD_S: f64 = 2.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_library_path_names_the_path() {
        let path = Path::new("/nonexistent/libnvidia-ml.so.1");
        let Err(SensorError::Unavailable(message)) = discover(Some(path)) else {
            panic!("a missing library must be Unavailable");
        };
        assert!(
            message.contains("/nonexistent/libnvidia-ml.so.1"),
            "{message}"
        );
        assert!(message.contains("GPUs are not measured"), "{message}");
    }

    #[test]
    fn lost_gpu_is_unavailable_and_a_timeout_is_transient() {
        assert!(matches!(
            sample_error("gpu-0", NvmlError::GpuLost),
            SensorError::Unavailable(m) if m.contains("gpu-0")
        ));
        assert!(matches!(
            sample_error("gpu-0", NvmlError::Timeout),
            SensorError::Transient(_)
        ));
        assert!(matches!(
            sample_error("gpu-0", NvmlError::Unknown),
            SensorError::Transient(_)
        ));
    }

    #[test]
    fn read_paths_update_every_100_ms() {
        assert_eq!(ReadPath::EnergyCounter.update_period_s(), 0.1);
        assert_eq!(ReadPath::PowerIntegration.update_period_s(), 0.1);
    }

    #[test]
    fn read_paths_carry_their_provenance() {
        assert_eq!(ReadPath::EnergyCounter.provenance(), Provenance::Counter);
        assert_eq!(
            ReadPath::PowerIntegration.provenance(),
            Provenance::Integrated
        );
    }
}
