//! Reads the description of the perf_event `power` PMU from sysfs: its `type`,
//! the `cpumask` (one CPU per package), the `format` that says which bits of
//! `config` each term sets, and the RAPL events with their `.scale` (joules per
//! count) and `.unit`. The formats follow the kernel's ABI documents
//! (Documentation/ABI/testing/sysfs-bus-event_source-devices-format and
//! -events). Pure parsing: tested on fake trees.

use crate::sensors::SensorError;
use hoeveel_record::DomainKind;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The RAPL events of the power PMU (arch/x86/events/rapl.c), the domain each
/// measures, and the prefix of its domain id.
pub const RAPL_EVENTS: [(&str, DomainKind, &str); 5] = [
    ("energy-pkg", DomainKind::Package, "package"),
    ("energy-cores", DomainKind::Cores, "cores"),
    ("energy-gpu", DomainKind::Uncore, "uncore"),
    ("energy-ram", DomainKind::Dram, "dram"),
    ("energy-psys", DomainKind::Psys, "psys"),
];

/// Which bits of which config word a format term sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatField {
    /// 0 for `config`, 1 for `config1`, 2 for `config2`.
    pub word: u8,
    pub lo: u32,
    /// Inclusive.
    pub hi: u32,
}

/// One energy event of the PMU.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyEvent {
    /// `energy-pkg` etc.
    pub name: String,
    pub kind: DomainKind,
    /// Prefix of the domain id (`package`, `dram`...).
    pub id_prefix: &'static str,
    pub config: u64,
    /// The event file as written, e.g. `event=0x02`.
    pub config_text: String,
    pub scale_j_per_count: f64,
    pub unit: String,
    /// The event's file, for error messages.
    pub path: PathBuf,
}

/// The power PMU as sysfs describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerPmu {
    pub dir: PathBuf,
    pub pmu_type: u32,
    /// One CPU per package (or die), ascending.
    pub cpus: Vec<usize>,
    pub events: Vec<EnergyEvent>,
    /// `energy-*` events this agent does not know, left unread.
    pub events_ignored: Vec<String>,
}

impl PowerPmu {
    /// Reads the PMU in `dir` (`<sysfs-root>/bus/event_source/devices/power`).
    pub fn read(dir: &Path) -> Result<PowerPmu, SensorError> {
        match fs::metadata(dir) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SensorError::Unavailable(format!(
                    "{} does not exist: no perf_event power PMU (the kernel's RAPL perf driver is not loaded, or this CPU or VM has no RAPL)",
                    dir.display()
                )));
            }
            Err(e) => {
                return Err(SensorError::Unavailable(format!(
                    "{} cannot be read: {e}",
                    dir.display()
                )));
            }
        }
        let type_path = dir.join("type");
        let pmu_type = read_trimmed(&type_path)?
            .parse()
            .map_err(|e| malformed(&type_path, format!("PMU type is not a number: {e}")))?;
        let cpumask_path = dir.join("cpumask");
        let cpumask = read_trimmed(&cpumask_path)?;
        let cpus = parse_cpu_list(&cpumask).ok_or_else(|| {
            malformed(
                &cpumask_path,
                format!("not a CPU list of CPUs 0 to {MAX_CPU}: {cpumask:?}"),
            )
        })?;
        let format = read_format(&dir.join("format"))?;

        let events_dir = dir.join("events");
        let mut events = Vec::new();
        for (name, kind, id_prefix) in RAPL_EVENTS {
            let path = events_dir.join(name);
            if !path.exists() {
                continue;
            }
            let config_text = read_trimmed(&path)?;
            let config = event_config(&config_text, &format).map_err(|m| malformed(&path, m))?;
            let scale_path = events_dir.join(format!("{name}.scale"));
            let scale_text = read_trimmed(&scale_path)?;
            let scale_j_per_count = parse_scale(&scale_text).ok_or_else(|| {
                malformed(&scale_path, format!("not a positive scale: {scale_text:?}"))
            })?;
            let unit_path = events_dir.join(format!("{name}.unit"));
            let unit = read_trimmed(&unit_path)?;
            if unit != "Joules" {
                return Err(malformed(
                    &unit_path,
                    format!("unit is {unit:?}; the scale is only known for \"Joules\""),
                ));
            }
            events.push(EnergyEvent {
                name: name.to_string(),
                kind,
                id_prefix,
                config,
                config_text,
                scale_j_per_count,
                unit,
                path,
            });
        }
        let events_ignored = ignored_events(&events_dir)?;
        if events.is_empty() {
            return Err(SensorError::Unavailable(format!(
                "the power PMU in {} has no RAPL energy event",
                dir.display()
            )));
        }
        Ok(PowerPmu {
            dir: dir.to_path_buf(),
            pmu_type,
            cpus,
            events,
            events_ignored,
        })
    }
}

/// `energy-*` event files that are not in [`RAPL_EVENTS`].
fn ignored_events(events_dir: &Path) -> Result<Vec<String>, SensorError> {
    let entries = fs::read_dir(events_dir).map_err(|e| SensorError::Io {
        path: events_dir.to_path_buf(),
        source: e,
    })?;
    let mut ignored = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SensorError::Io {
            path: events_dir.to_path_buf(),
            source: e,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("energy-")
            && !name.contains('.')
            && !RAPL_EVENTS.iter().any(|(known, _, _)| *known == name)
        {
            ignored.push(name);
        }
    }
    ignored.sort();
    Ok(ignored)
}

/// Reads every file of a PMU's `format` directory: term name -> bits.
pub fn read_format(dir: &Path) -> Result<BTreeMap<String, FormatField>, SensorError> {
    let entries = fs::read_dir(dir).map_err(|e| SensorError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut format = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| SensorError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = entry.path();
        let text = read_trimmed(&path)?;
        let field = parse_format_field(&text)
            .ok_or_else(|| malformed(&path, format!("not a format like `config:0-7`: {text:?}")))?;
        format.insert(entry.file_name().to_string_lossy().into_owned(), field);
    }
    Ok(format)
}

/// Parses `config:0-7`, `config1:3`, `config2:0-63`.
pub fn parse_format_field(text: &str) -> Option<FormatField> {
    let (word, bits) = text.split_once(':')?;
    let word = match word {
        "config" => 0,
        "config1" => 1,
        "config2" => 2,
        _ => return None,
    };
    let (lo, hi) = match bits.split_once('-') {
        Some((lo, hi)) => (lo.parse().ok()?, hi.parse().ok()?),
        None => {
            let bit = bits.parse().ok()?;
            (bit, bit)
        }
    };
    (lo <= hi && hi < 64).then_some(FormatField { word, lo, hi })
}

/// The `config` value of an event file like `event=0x02` or `event=0x3c,umask=0x1`,
/// by the PMU's format. A term without a value sets 1. Terms that go to
/// `config1`/`config2` are refused: RAPL and msr events use `config` only.
pub fn event_config(text: &str, format: &BTreeMap<String, FormatField>) -> Result<u64, String> {
    let mut config = 0u64;
    for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (name, value) = match term.split_once('=') {
            Some((name, "?")) => return Err(format!("term `{name}` needs a value from the user")),
            Some((name, value)) => (
                name,
                parse_number(value).ok_or_else(|| format!("`{term}`: not a number"))?,
            ),
            None => (term, 1),
        };
        let field = format
            .get(name)
            .ok_or_else(|| format!("term `{name}` is not in the PMU's format"))?;
        if field.word != 0 {
            return Err(format!(
                "term `{name}` sets config{}, which is not supported",
                field.word
            ));
        }
        let width = field.hi - field.lo + 1;
        if width < 64 && value >> width != 0 {
            return Err(format!("`{term}` does not fit in {width} bits"));
        }
        config |= value << field.lo;
    }
    Ok(config)
}

/// Parses an event's `.scale` (joules per count, e.g. `2.3283064365386962890625e-10`):
/// a finite number above 0.
pub fn parse_scale(text: &str) -> Option<f64> {
    text.parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The highest CPU number a CPU list may name: far above the 8192 CPUs an x86
/// kernel can be built for (`NR_CPUS` with `MAXSMP`, arch/x86/Kconfig), and low
/// enough that a damaged list cannot ask for a range of billions of CPUs.
pub const MAX_CPU: usize = 65_535;

/// Parses a kernel CPU list like `0`, `0,28` or `0-3,8`, ascending and without
/// duplicates; `None` if it is empty or malformed, or names a CPU above [`MAX_CPU`].
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let cpu = |text: &str| text.parse().ok().filter(|n: &usize| *n <= MAX_CPU);
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (cpu(lo)?, cpu(hi)?);
                if lo > hi {
                    return None;
                }
                cpus.extend(lo..=hi);
            }
            None => cpus.push(cpu(part)?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// The package number of each CPU in `cpus`: `physical_package_id` from
/// `<sysfs-root>/devices/system/cpu/cpuN/topology` when every CPU has one and
/// they differ; otherwise the position in the cpumask (the kernel lists one CPU
/// per package in package order, but on multi-die parts one per die). The
/// second value says which numbering was used, for the record.
pub fn package_numbers(sysfs_root: &Path, cpus: &[usize]) -> (Vec<u32>, &'static str) {
    let from_topology: Option<Vec<u32>> = cpus
        .iter()
        .map(|cpu| {
            let path = sysfs_root.join(format!(
                "devices/system/cpu/cpu{cpu}/topology/physical_package_id"
            ));
            fs::read_to_string(path).ok()?.trim().parse().ok()
        })
        .collect();
    if let Some(ids) = from_topology {
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() == ids.len() {
            return (ids, "physical_package_id");
        }
    }
    let by_position = (0..cpus.len())
        .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect();
    (by_position, "position in cpumask")
}

fn read_trimmed(path: &Path) -> Result<String, SensorError> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| SensorError::Io {
            path: path.to_path_buf(),
            source: e,
        })
}

fn malformed(path: &Path, message: String) -> SensorError {
    SensorError::Malformed {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoeveel_sysfs_fixture::{PmuEventSpec, PmuSpec, build_power_pmu};

    fn rapl_format() -> BTreeMap<String, FormatField> {
        BTreeMap::from([
            (
                "event".to_string(),
                FormatField {
                    word: 0,
                    lo: 0,
                    hi: 7,
                },
            ),
            (
                "umask".to_string(),
                FormatField {
                    word: 0,
                    lo: 8,
                    hi: 15,
                },
            ),
            (
                "edge".to_string(),
                FormatField {
                    word: 0,
                    lo: 18,
                    hi: 18,
                },
            ),
            (
                "ldlat".to_string(),
                FormatField {
                    word: 1,
                    lo: 0,
                    hi: 15,
                },
            ),
        ])
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("0,28\n"), Some(vec![0, 28]));
        assert_eq!(parse_cpu_list("0-3,8"), Some(vec![0, 1, 2, 3, 8]));
        assert_eq!(parse_cpu_list("28,0"), Some(vec![0, 28]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
    }

    #[test]
    fn cpu_lists_naming_impossible_cpus_are_refused() {
        // Found by fuzzing (fuzz/regressions/sysfs/): each range asked for
        // gigabytes, or more than a vector can hold, before anything checked it.
        assert_eq!(parse_cpu_list("888888-8888888888"), None);
        assert_eq!(parse_cpu_list("81-2888888888888888888"), None);
        assert_eq!(parse_cpu_list("0-222222222\t\t\t"), None);
        assert_eq!(parse_cpu_list("65536"), None);
        let all = parse_cpu_list("0-65535").expect("the largest list");
        assert_eq!((all.len(), all.last()), (65_536, Some(&65_535)));
    }

    #[test]
    fn format_fields() {
        assert_eq!(
            parse_format_field("config:0-7"),
            Some(FormatField {
                word: 0,
                lo: 0,
                hi: 7
            })
        );
        assert_eq!(
            parse_format_field("config:0-63"),
            Some(FormatField {
                word: 0,
                lo: 0,
                hi: 63
            })
        );
        assert_eq!(
            parse_format_field("config1:5"),
            Some(FormatField {
                word: 1,
                lo: 5,
                hi: 5
            })
        );
        assert_eq!(parse_format_field("config:7-0"), None);
        assert_eq!(parse_format_field("config:0-64"), None);
        assert_eq!(parse_format_field("config3:0-7"), None);
        assert_eq!(parse_format_field("event"), None);
    }

    #[test]
    fn event_configs() {
        let f = rapl_format();
        assert_eq!(event_config("event=0x02", &f), Ok(0x02));
        assert_eq!(event_config("event=0x3c,umask=0x1", &f), Ok(0x13c));
        assert_eq!(event_config("event=5,edge", &f), Ok(5 | 1 << 18));
        assert!(
            event_config("event=0x100", &f).is_err(),
            "does not fit in 8 bits"
        );
        assert!(event_config("event=?", &f).is_err());
        assert!(event_config("cmask=1", &f).is_err());
        assert!(event_config("ldlat=3", &f).is_err());
        assert!(event_config("event=zz", &f).is_err());
    }

    #[test]
    fn reads_a_two_socket_pmu() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pmu_dir = build_power_pmu(dir.path(), &PmuSpec::two_socket(23)).expect("build");
        let pmu = PowerPmu::read(&pmu_dir).expect("read");
        assert_eq!(pmu.pmu_type, 23);
        assert_eq!(pmu.cpus, [0, 28]);
        let names: Vec<_> = pmu.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["energy-pkg", "energy-ram"]);
        assert_eq!(pmu.events[0].config, 0x02);
        assert_eq!(pmu.events[0].kind, DomainKind::Package);
        assert_eq!(pmu.events[0].scale_j_per_count, 2f64.powi(-32));
        assert_eq!(pmu.events[1].config, 0x03);
        assert_eq!(pmu.events[1].kind, DomainKind::Dram);
        assert_eq!(pmu.events[1].scale_j_per_count, 2f64.powi(-16));
        assert_eq!(pmu.events[1].unit, "Joules");
        assert_eq!(
            package_numbers(dir.path(), &pmu.cpus),
            (vec![0, 1], "physical_package_id")
        );
    }

    #[test]
    fn reads_a_client_pmu_and_ignores_unknown_events() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut spec = PmuSpec::client(31);
        spec.events
            .push(PmuEventSpec::rapl("energy-future", "event=0x09"));
        let pmu_dir = build_power_pmu(dir.path(), &spec).expect("build");
        let pmu = PowerPmu::read(&pmu_dir).expect("read");
        let kinds: Vec<_> = pmu
            .events
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.config))
            .collect();
        assert_eq!(
            kinds,
            [
                ("energy-pkg", DomainKind::Package, 2),
                ("energy-cores", DomainKind::Cores, 1),
                ("energy-gpu", DomainKind::Uncore, 4),
                ("energy-psys", DomainKind::Psys, 5),
            ]
        );
        assert_eq!(pmu.events_ignored, ["energy-future"]);
    }

    #[test]
    fn package_numbers_fall_back_to_cpumask_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No topology at all.
        assert_eq!(
            package_numbers(dir.path(), &[0, 28]),
            (vec![0, 1], "position in cpumask")
        );
        // Two dies of one package: same physical_package_id.
        let mut spec = PmuSpec::two_socket(23);
        spec.packages = vec![(0, 0), (28, 0)];
        build_power_pmu(dir.path(), &spec).expect("build");
        assert_eq!(
            package_numbers(dir.path(), &[0, 28]),
            (vec![0, 1], "position in cpumask")
        );
    }

    #[test]
    fn missing_pmu_is_unavailable_with_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err =
            PowerPmu::read(&dir.path().join("bus/event_source/devices/power")).expect_err("no PMU");
        assert!(
            matches!(&err, SensorError::Unavailable(m) if m.contains("devices/power does not exist")),
            "{err}"
        );
    }

    #[test]
    fn bad_scale_or_unit_is_malformed() {
        for (scale, unit) in [
            (Some("0"), Some("Joules")),
            (Some("x"), Some("Joules")),
            (None, Some("Joules")),
            (Some("1e-6"), Some("Watts")),
            (Some("1e-6"), None),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut spec = PmuSpec::client(31);
            spec.events = vec![PmuEventSpec {
                name: "energy-pkg".into(),
                config: "event=0x02".into(),
                scale: scale.map(str::to_string),
                unit: unit.map(str::to_string),
            }];
            let pmu_dir = build_power_pmu(dir.path(), &spec).expect("build");
            let err = PowerPmu::read(&pmu_dir).expect_err("bad scale or unit");
            let text = err.to_string();
            assert!(text.contains("energy-pkg."), "{scale:?} {unit:?}: {text}");
        }
    }

    #[test]
    fn bad_type_or_cpumask_is_malformed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pmu_dir = build_power_pmu(dir.path(), &PmuSpec::client(31)).expect("build");
        fs::write(pmu_dir.join("cpumask"), "\n").expect("write");
        assert!(
            matches!(PowerPmu::read(&pmu_dir), Err(SensorError::Malformed { path, .. }) if path.ends_with("cpumask"))
        );
        fs::write(pmu_dir.join("type"), "power\n").expect("write");
        assert!(
            matches!(PowerPmu::read(&pmu_dir), Err(SensorError::Malformed { path, .. }) if path.ends_with("type"))
        );
    }
}
