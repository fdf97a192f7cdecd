//! Chooses the sensors for a run: the best available for the CPU (perf_event RAPL,
//! then powercap RAPL, then the labelled model) and NVML for GPUs, or exactly the
//! ones the user names. Everything looked for and not usable is kept, with the
//! reason and the fix, so that the output can say what is not measured and why.

use super::modelled::ModelledCpu;
use super::nvml;
use super::rapl_perf::RaplPerfSensor;
use super::rapl_powercap::RaplPowercapSensor;
use super::{Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, GpuInfo, Unavailable};
use std::path::PathBuf;

/// What the total is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalChoice {
    /// Package + DRAM of every socket, plus every GPU.
    #[default]
    Package,
    /// RAPL psys (the whole platform as the SoC sees it), plus every GPU.
    Psys,
}

impl TotalChoice {
    pub fn name(self) -> &'static str {
        match self {
            TotalChoice::Package => "package",
            TotalChoice::Psys => "psys",
        }
    }
}

impl std::str::FromStr for TotalChoice {
    type Err = DiscoverError;

    fn from_str(name: &str) -> Result<TotalChoice, DiscoverError> {
        match name.trim() {
            "package" => Ok(TotalChoice::Package),
            "psys" => Ok(TotalChoice::Psys),
            other => Err(DiscoverError::UnknownTotal {
                name: other.to_string(),
            }),
        }
    }
}

/// Why no set of sensors could be chosen. Callers branch on the variant (the CLI
/// names its own flag, the Python package raises its own exception) and print
/// [`DiscoverError::fix`] when there is one.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("unknown sensor `{name}`; known: rapl-perf, rapl-powercap, nvml, model")]
    UnknownSensor { name: String },
    #[error("unknown total `{name}`; known: package, psys")]
    UnknownTotal { name: String },
    #[error("the sysfs root {} is not a directory", path.display())]
    SysfsRootMissing { path: PathBuf },
    #[error("sensor {} was asked for but cannot be used: {source}", kind.name())]
    Requested {
        kind: SensorKind,
        #[source]
        source: SensorError,
    },
    #[error("no sensor can be used: {}", no_sensor_reasons(unavailable))]
    NoSensor { unavailable: Vec<Unavailable> },
    #[error("the CPU power model cannot be used: {0}")]
    Model(String),
}

impl DiscoverError {
    /// The one command or setting that fixes it, when there is one.
    pub fn fix(&self) -> Option<&str> {
        match self {
            DiscoverError::Requested { source, .. } => source.fix(),
            DiscoverError::NoSensor { unavailable } => {
                unavailable.iter().find_map(|u| u.fix.as_deref())
            }
            _ => None,
        }
    }
}

fn no_sensor_reasons(unavailable: &[Unavailable]) -> String {
    unavailable
        .iter()
        .map(|u| format!("{}: {}", u.sensor, u.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    pub sysfs_root: PathBuf,
    /// `None`: choose automatically. `Some`: exactly these, and fail if one cannot be used.
    pub only: Option<Vec<SensorKind>>,
    pub nvml_library: Option<PathBuf>,
    pub total: TotalChoice,
}

impl Default for DiscoverOptions {
    /// The machine's own sensors, chosen automatically, the package total.
    fn default() -> DiscoverOptions {
        DiscoverOptions {
            sysfs_root: PathBuf::from("/sys"),
            only: None,
            nvml_library: None,
            total: TotalChoice::Package,
        }
    }
}

impl DiscoverOptions {
    /// Options from sensor names as a user types them (`rapl-perf`, `model`, …).
    pub fn from_names(
        sysfs_root: PathBuf,
        names: Option<&[String]>,
        nvml_library: Option<PathBuf>,
        total: TotalChoice,
    ) -> Result<DiscoverOptions, DiscoverError> {
        let only = match names {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| {
                        SensorKind::parse(n.trim())
                            .ok_or_else(|| DiscoverError::UnknownSensor { name: n.clone() })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(DiscoverOptions {
            sysfs_root,
            only,
            nvml_library,
            total,
        })
    }

    fn wants(&self, kind: SensorKind) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(&kind))
    }

    fn explicit(&self, kind: SensorKind) -> bool {
        self.only.as_ref().is_some_and(|o| o.contains(&kind))
    }
}

/// The sensors chosen for a run, and what could not be used.
pub struct Inventory {
    pub sensors: Vec<Box<dyn Sensor>>,
    pub unavailable: Vec<Unavailable>,
    pub gpus: Vec<GpuInfo>,
    pub total: TotalChoice,
}

impl Inventory {
    /// What is not measured, said once at the start: with `verbose` a line for
    /// each sensor not used, with why and the fix; else one line naming them
    /// (the record keeps every reason, and `hoeveel-agent sensors` prints them).
    pub fn notes(&self, verbose: bool) -> Vec<String> {
        let mut notes: Vec<String> = if verbose {
            self.unavailable
                .iter()
                .map(|u| match &u.fix {
                    Some(fix) => format!("{} not used: {} (fix: {fix})", u.sensor, u.reason),
                    None => format!("{} not used: {}", u.sensor, u.reason),
                })
                .collect()
        } else {
            self.unavailable_line().into_iter().collect()
        };
        if self.sensors.iter().any(|s| s.kind() == SensorKind::Model) {
            notes.push(
                "CPU energy is MODELLED from utilisation (no RAPL counter could be read); results say so"
                    .to_string(),
            );
        }
        notes
    }
}

impl Inventory {
    /// `not used: rapl-perf, nvml (…)`: each sensor once, in one line.
    fn unavailable_line(&self) -> Option<String> {
        let mut names: Vec<String> = Vec::new();
        for u in &self.unavailable {
            let name = u.sensor.to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        (!names.is_empty()).then(|| {
            format!(
                "not used: {} (`hoeveel-agent sensors`, or --verbose, says why and the fix for each)",
                names.join(", ")
            )
        })
    }
}

fn unavailable(kind: SensorKind, err: &SensorError) -> Unavailable {
    Unavailable {
        sensor: kind,
        reason: err.to_string(),
        fix: err.fix().map(str::to_string),
    }
}

/// Whether a RAPL sensor measures the CPU package, or the platform around it;
/// a sensor with only DRAM, cores or uncore leaves the CPU to the model.
fn covers_cpu(sensor: &dyn Sensor) -> bool {
    sensor
        .domains()
        .iter()
        .any(|d| matches!(d.kind, DomainKind::Package | DomainKind::Psys))
}

/// Looks for every sensor the options allow.
pub fn discover(options: &DiscoverOptions) -> Result<Inventory, DiscoverError> {
    if !options.sysfs_root.is_dir() {
        return Err(DiscoverError::SysfsRootMissing {
            path: options.sysfs_root.clone(),
        });
    }
    let mut sensors: Vec<Box<dyn Sensor>> = Vec::new();
    let mut missing = Vec::new();
    let mut gpus = Vec::new();
    // A RAPL sensor was found; and one of them measures the CPU (else the model
    // stands in for it).
    let mut rapl_found = false;
    let mut cpu_covered = false;

    // A sensor the user named must be used; one chosen automatically may be missing.
    let fail_if_explicit =
        |kind: SensorKind, err: SensorError| -> Result<SensorError, DiscoverError> {
            if options.explicit(kind) {
                return Err(DiscoverError::Requested { kind, source: err });
            }
            Ok(err)
        };

    if options.wants(SensorKind::RaplPerf) {
        match RaplPerfSensor::discover(&options.sysfs_root) {
            Ok(s) => {
                cpu_covered = covers_cpu(&s);
                rapl_found = true;
                sensors.push(Box::new(s));
            }
            Err(e) => {
                let e = fail_if_explicit(SensorKind::RaplPerf, e)?;
                missing.push(unavailable(SensorKind::RaplPerf, &e));
            }
        }
    }
    // powercap reads the same RAPL counters: use it only when perf could not, or
    // when the user asks for it by name.
    if options.wants(SensorKind::RaplPowercap)
        && (!rapl_found || options.explicit(SensorKind::RaplPowercap))
    {
        match RaplPowercapSensor::discover(&options.sysfs_root) {
            Ok(s) => {
                cpu_covered |= covers_cpu(&s);
                sensors.push(Box::new(s));
            }
            Err(e) => {
                let e = fail_if_explicit(SensorKind::RaplPowercap, e)?;
                missing.push(unavailable(SensorKind::RaplPowercap, &e));
            }
        }
    }
    if options.wants(SensorKind::Nvml) {
        match nvml::discover(options.nvml_library.as_deref()) {
            Ok(found) => {
                gpus = found.gpus;
                missing.extend(found.unavailable);
                sensors.extend(
                    found
                        .sensors
                        .into_iter()
                        .map(|s| Box::new(s) as Box<dyn Sensor>),
                );
            }
            Err(e) => {
                let e = fail_if_explicit(SensorKind::Nvml, e)?;
                missing.push(unavailable(SensorKind::Nvml, &e));
            }
        }
    }
    if options.wants(SensorKind::Model) && (!cpu_covered || options.explicit(SensorKind::Model)) {
        let model =
            ModelledCpu::for_this_host().map_err(|e| DiscoverError::Model(format!("{e:#}")))?;
        sensors.push(Box::new(model));
    }
    if sensors.is_empty() {
        return Err(DiscoverError::NoSensor {
            unavailable: missing,
        });
    }
    Ok(Inventory {
        sensors,
        unavailable: missing,
        gpus,
        total: options.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoeveel_sysfs_fixture::{PmuSpec, build_power_pmu};

    /// A sysfs root holding only a power PMU backed by the kernel's software
    /// PMU (see [`PmuSpec::software_backed`]): config 0 (`cpu-clock`) moves,
    /// config 9 (`dummy`) stays still. Fails first, saying what is missing,
    /// where this process may not open counters system-wide.
    fn root_with_pmu(events: &[(&str, &str)]) -> tempfile::TempDir {
        crate::sensors::rapl_perf::system_wide::require_system_wide_perf();
        let dir = tempfile::tempdir().expect("tempdir");
        build_power_pmu(dir.path(), &PmuSpec::software_backed(events)).expect("build");
        dir
    }

    fn kinds(root: &std::path::Path) -> (Vec<SensorKind>, Vec<String>) {
        let options = DiscoverOptions::from_names(
            root.to_path_buf(),
            None,
            Some(root.join("no-nvml.so")),
            TotalChoice::Package,
        )
        .expect("options");
        let inventory = discover(&options).expect("discover");
        (
            inventory.sensors.iter().map(|s| s.kind()).collect(),
            inventory
                .unavailable
                .iter()
                .map(|u| u.reason.clone())
                .collect(),
        )
    }

    #[test]
    fn psys_alone_covers_the_cpu_so_the_model_is_not_used() {
        let root = root_with_pmu(&[("energy-psys", "event=0x00")]);
        let (kinds, _) = kinds(root.path());
        assert_eq!(kinds, [SensorKind::RaplPerf]);
    }

    #[test]
    fn dram_alone_leaves_the_cpu_to_the_model() {
        let root = root_with_pmu(&[("energy-ram", "event=0x00")]);
        let (kinds, _) = kinds(root.path());
        assert_eq!(kinds, [SensorKind::RaplPerf, SensorKind::Model]);
    }

    #[test]
    fn a_pmu_that_counts_nothing_leaves_the_cpu_to_the_model() {
        let root = root_with_pmu(&[("energy-pkg", "event=0x09"), ("energy-psys", "event=0x09")]);
        let (kinds, unavailable) = kinds(root.path());
        assert_eq!(kinds, [SensorKind::Model]);
        assert!(
            unavailable.iter().any(|r| r.contains("stayed still")),
            "{unavailable:?}"
        );
    }
}
