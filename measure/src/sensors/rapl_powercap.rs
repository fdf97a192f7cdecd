//! RAPL through powercap sysfs: `<sysfs-root>/class/powercap/intel-rapl:*`.
//!
//! The kernel's powercap framework (Documentation/power/powercap/powercap.rst)
//! exposes one zone per package (`intel-rapl:N`, name `package-N`), subzones
//! for its parts (`intel-rapl:N:M`: `core`, `uncore`, `dram`) and, on client
//! parts, the platform (`psys`). AMD Zen CPUs use the same driver and tree.
//! Each zone has a cumulative `energy_uj` that wraps to 0 after
//! `max_energy_range_uj`; the [`crate::meter::Meter`] corrects that with the
//! range this sensor reports as `wrap_range_uj`, so the sampler must read more
//! often than the counter wraps (minutes at full power).
//!
//! `intel-rapl-mmio:*` zones (Tiger Lake and later) read the same package
//! counter through MMIO: where the MSR twin exists they are not opened, so a
//! package is never counted twice. `info().details` lists the twins skipped.
//!
//! Each `energy_uj` is opened once and re-read (`energy_file`). It is root-only
//! since CVE-2020-8694; a permission error carries the commands that fix it.

mod energy_file;

pub use energy_file::{EnergyFile, open_error, parse_uj};

use super::{Domain, RAPL_UPDATE_PERIOD_S, Reading, Sensor, SensorError, SensorKind, WrapTime};
use hoeveel_record::{DomainKind, Provenance, SensorInfo};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where a zone sits in the tree, parsed from its directory name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ZoneAddress {
    /// `intel-rapl-mmio:*` rather than `intel-rapl:*`.
    pub mmio: bool,
    /// The `N` of `intel-rapl:N`.
    pub zone: u32,
    /// The `M` of `intel-rapl:N:M`.
    pub subzone: Option<u32>,
}

impl ZoneAddress {
    /// Parses `intel-rapl:0`, `intel-rapl:0:1`, `intel-rapl-mmio:0`; `None` for
    /// anything else (the `intel-rapl` control type, other powercap drivers).
    pub fn parse(dir_name: &str) -> Option<ZoneAddress> {
        let (mmio, rest) = if let Some(rest) = dir_name.strip_prefix("intel-rapl-mmio:") {
            (true, rest)
        } else {
            (false, dir_name.strip_prefix("intel-rapl:")?)
        };
        let mut parts = rest.split(':');
        let zone = parts.next()?.parse().ok()?;
        let subzone = match parts.next() {
            None => None,
            Some(s) => Some(s.parse().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(ZoneAddress {
            mmio,
            zone,
            subzone,
        })
    }

    fn dir_name(self) -> String {
        let prefix = if self.mmio {
            "intel-rapl-mmio"
        } else {
            "intel-rapl"
        };
        match self.subzone {
            None => format!("{prefix}:{}", self.zone),
            Some(s) => format!("{prefix}:{}:{s}", self.zone),
        }
    }
}

/// The domain a zone measures, from its `name` and its parent's `name`.
/// `Err` says why a zone is not used.
pub fn classify(
    name: &str,
    parent_name: Option<&str>,
) -> Result<(String, DomainKind, Option<u32>), String> {
    match parent_name {
        None => {
            if name == "psys" {
                return Ok(("psys".to_string(), DomainKind::Psys, None));
            }
            let package = package_number(name)
                .ok_or_else(|| format!("top-level zone named `{name}` is not a package or psys"))?;
            Ok((
                format!("package-{package}"),
                DomainKind::Package,
                Some(package),
            ))
        }
        Some(parent) => {
            let package = package_number(parent)
                .ok_or_else(|| format!("subzone `{name}` of `{parent}`, which is not a package"))?;
            let (prefix, kind) = match name {
                "core" => ("cores", DomainKind::Cores),
                "uncore" => ("uncore", DomainKind::Uncore),
                "dram" => ("dram", DomainKind::Dram),
                _ => return Err(format!("unknown subzone `{name}` of `{parent}`")),
            };
            Ok((format!("{prefix}-{package}"), kind, Some(package)))
        }
    }
}

fn package_number(name: &str) -> Option<u32> {
    name.strip_prefix("package-")?.parse().ok()
}

/// A zone found in the tree, before it is opened.
#[derive(Debug, Clone)]
struct FoundZone {
    address: ZoneAddress,
    dir: PathBuf,
    name: String,
}

/// A zone being read.
#[derive(Debug)]
struct OpenZone {
    file: EnergyFile,
}

pub struct RaplPowercapSensor {
    domains: Vec<Domain>,
    zones: Vec<OpenZone>,
    info: SensorInfo,
    shortest_wrap: Option<WrapTime>,
}

/// The power assumed for a zone that declares no power limit, to bound how fast
/// its counter can wrap: 1 kW, twice the TDP of the largest server CPUs of 2025
/// (500 W, AMD EPYC 9965), so the bound errs on the safe side.
pub const ZONE_POWER_CEILING_W: f64 = 1000.0;

/// The highest power a zone declares in its constraints
/// (`constraint_N_max_power_uw`, else `constraint_N_power_limit_uw`; PL2, the
/// short-term limit, is usually the highest), with the file it came from.
fn declared_max_power_w(zone_dir: &Path) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for n in 0..4 {
        for file in [
            format!("constraint_{n}_max_power_uw"),
            format!("constraint_{n}_power_limit_uw"),
        ] {
            let Ok(text) = fs::read_to_string(zone_dir.join(&file)) else {
                continue;
            };
            let Some(uw) = parse_uj(text.as_bytes()).filter(|uw| *uw > 0) else {
                continue;
            };
            let w = uw as f64 * 1e-6;
            if best.as_ref().is_none_or(|(b, _)| w > *b) {
                best = Some((w, file));
            }
        }
    }
    best
}

impl RaplPowercapSensor {
    /// Discovers `<sysfs_root>/class/powercap/intel-rapl:*` zones and subzones
    /// (MMIO twins recognised), opening each energy_uj file once.
    pub fn discover(sysfs_root: &Path) -> Result<RaplPowercapSensor, SensorError> {
        fs::read_dir(sysfs_root).map_err(|e| {
            SensorError::Unavailable(format!(
                "sysfs root {} cannot be read: {e}",
                sysfs_root.display()
            ))
        })?;
        let class = sysfs_root.join("class/powercap");
        let found = find_zones(&class)?;

        let names: BTreeMap<ZoneAddress, &str> =
            found.iter().map(|z| (z.address, z.name.as_str())).collect();
        let mut skipped: Vec<serde_json::Value> = Vec::new();
        let mut twins_skipped: Vec<serde_json::Value> = Vec::new();
        let mut mmio_used: Vec<String> = Vec::new();
        let mut chosen: Vec<(&FoundZone, Domain)> = Vec::new();
        let mut msr_ids: BTreeMap<String, ZoneAddress> = BTreeMap::new();

        // MSR zones first (sorted), so that MMIO zones can be checked against them.
        for zone in &found {
            let parent_name = zone.address.subzone.map(|_| {
                let parent = ZoneAddress {
                    subzone: None,
                    ..zone.address
                };
                names.get(&parent).copied().unwrap_or("")
            });
            let (id, kind, unit) = match classify(&zone.name, parent_name) {
                Ok(c) => c,
                Err(reason) => {
                    skipped.push(json!({"zone": zone.address.dir_name(), "reason": reason}));
                    continue;
                }
            };
            if zone.address.mmio {
                if let Some(twin) = msr_ids.get(&id) {
                    twins_skipped.push(json!({
                        "zone": zone.address.dir_name(),
                        "twin_of": twin.dir_name(),
                        "domain": id,
                    }));
                    continue;
                }
                mmio_used.push(zone.address.dir_name());
            } else if let Some(other) = msr_ids.insert(id.clone(), zone.address) {
                return Err(SensorError::Malformed {
                    path: zone.dir.clone(),
                    message: format!(
                        "zone is `{}`, like {}: two zones for domain {id}",
                        zone.name,
                        other.dir_name()
                    ),
                });
            }
            let domain = Domain {
                id,
                kind,
                provenance: Provenance::Counter,
                wrap_range_uj: None,
                unit,
            };
            chosen.push((zone, domain));
        }

        let mut domains = Vec::with_capacity(chosen.len());
        let mut zones = Vec::with_capacity(chosen.len());
        let mut zone_details = Vec::with_capacity(chosen.len());
        let mut shortest_wrap: Option<WrapTime> = None;
        for (zone, mut domain) in chosen {
            match open_zone(zone) {
                Ok((open, max_energy_range_uj)) => {
                    domain.wrap_range_uj = Some(max_energy_range_uj);
                    let (max_power_w, power_source) = declared_max_power_w(&zone.dir).unwrap_or((
                        ZONE_POWER_CEILING_W,
                        "no power limit declared: the 1 kW ceiling".to_string(),
                    ));
                    let wrap = WrapTime {
                        domain: domain.id.clone(),
                        range_j: max_energy_range_uj as f64 * 1e-6,
                        max_power_w,
                        power_source,
                    };
                    if shortest_wrap
                        .as_ref()
                        .is_none_or(|s| wrap.seconds() < s.seconds())
                    {
                        shortest_wrap = Some(wrap);
                    }
                    zone_details.push(json!({
                        "domain": domain.id,
                        "zone": zone.address.dir_name(),
                        "name": zone.name,
                        "max_energy_range_uj": max_energy_range_uj,
                    }));
                    domains.push(domain);
                    zones.push(open);
                }
                // Root-only files: every zone is the same, and the user must act.
                Err(e @ SensorError::PermissionDenied { .. }) => return Err(e),
                // One unreadable zone (some platforms refuse a DRAM or psys
                // read) does not hide the others; the record says which.
                Err(e) => {
                    skipped.push(json!({"zone": zone.address.dir_name(), "reason": e.to_string()}));
                }
            }
        }
        if domains.is_empty() {
            return Err(SensorError::Unavailable(format!(
                "no readable RAPL zone under {}: {}",
                class.display(),
                serde_json::Value::Array(skipped)
            )));
        }

        let info = SensorInfo {
            kind: SensorKind::RaplPowercap,
            provenance: Provenance::Counter,
            domains: domains.iter().map(|d| d.id.clone()).collect(),
            source: format!("powercap sysfs {}, RAPL updates ~1 ms", class.display()),
            update_period_s: Some(RAPL_UPDATE_PERIOD_S),
            details: json!({
                "zones": zone_details,
                "mmio_twins_skipped": twins_skipped,
                "mmio_zones_used": mmio_used,
                "zones_skipped": skipped,
                "wraparound": "corrected with max_energy_range_uj; each correction is flagged",
            }),
        };
        Ok(RaplPowercapSensor {
            domains,
            zones,
            info,
            shortest_wrap,
        })
    }
}

/// Lists the RAPL zones under `class`, MSR zones first, each sorted by address.
fn find_zones(class: &Path) -> Result<Vec<FoundZone>, SensorError> {
    let entries = fs::read_dir(class).map_err(|e| {
        let why = if e.kind() == io::ErrorKind::NotFound {
            "does not exist: the kernel exposes no powercap zones (no intel_rapl driver, or a VM without RAPL)".to_string()
        } else {
            format!("cannot be read: {e}")
        };
        SensorError::Unavailable(format!("{} {why}", class.display()))
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SensorError::Io {
            path: class.to_path_buf(),
            source: e,
        })?;
        let file_name = entry.file_name();
        let Some(address) = file_name.to_str().and_then(ZoneAddress::parse) else {
            continue;
        };
        let dir = entry.path();
        let name_path = dir.join("name");
        let name = fs::read_to_string(&name_path)
            .map_err(|e| SensorError::Io {
                path: name_path,
                source: e,
            })?
            .trim()
            .to_string();
        found.push(FoundZone { address, dir, name });
    }
    if found.is_empty() {
        return Err(SensorError::Unavailable(format!(
            "no intel-rapl zone under {} (the intel_rapl_msr driver is not loaded, or this CPU or VM has no RAPL)",
            class.display()
        )));
    }
    found.sort_by_key(|z| z.address);
    Ok(found)
}

/// Opens a zone's `energy_uj`, reads it once to prove it can be read, and
/// reads its range.
fn open_zone(zone: &FoundZone) -> Result<(OpenZone, u64), SensorError> {
    let mut file = EnergyFile::open(&zone.dir.join("energy_uj"))?;
    file.read_uj()?;
    let range_path = zone.dir.join("max_energy_range_uj");
    let text = fs::read_to_string(&range_path).map_err(|e| open_error(&range_path, e))?;
    let max_energy_range_uj = parse_uj(text.as_bytes()).ok_or_else(|| SensorError::Malformed {
        path: range_path.clone(),
        message: format!("not a decimal µJ range: {:?}", text),
    })?;
    if max_energy_range_uj == 0 {
        return Err(SensorError::Malformed {
            path: range_path,
            message: "a range of 0 µJ cannot count anything".to_string(),
        });
    }
    Ok((OpenZone { file }, max_energy_range_uj))
}

impl Sensor for RaplPowercapSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::RaplPowercap
    }
    fn domains(&self) -> &[Domain] {
        &self.domains
    }
    fn info(&self) -> SensorInfo {
        self.info.clone()
    }
    fn update_period_s(&self) -> f64 {
        RAPL_UPDATE_PERIOD_S
    }
    fn shortest_wrap_s(&self) -> Option<WrapTime> {
        self.shortest_wrap.clone()
    }
    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        let start = out.len();
        for zone in &mut self.zones {
            match zone.file.read_uj() {
                Ok(energy_uj) => out.push(Reading::Counter { energy_uj }),
                Err(e) => {
                    out.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

impl RaplPowercapSensor {
    /// The `energy_uj` file read for each domain, in the order of `domains()`.
    pub fn energy_paths(&self) -> impl Iterator<Item = &Path> {
        self.zones.iter().map(|z| z.file.path())
    }
}

#[cfg(test)]
mod tests;
