//! RAPL through the perf_event `power` PMU (`<sysfs-root>/bus/event_source/devices/power`).
//!
//! Preferred over powercap: the kernel reads the 32-bit RAPL MSRs often enough
//! to accumulate them into 64-bit counts (arch/x86/events/rapl.c), so there is
//! no wrap to correct, and CAP_PERFMON is enough where powercap's `energy_uj`
//! needs root. Each event counts in units of its `.scale` joules (2^-32 J for
//! RAPL), for a whole package: it is opened once per CPU in the PMU's
//! `cpumask` (one per package); `psys` covers the platform and is opened once.
//!
//! Two parts, tested apart: [`power_pmu`] parses the PMU's sysfs description
//! (tested on fake trees), [`system_wide`] opens and reads any dynamic PMU
//! event (tested on the kernel's software PMU, which every Linux machine has,
//! VMs without RAPL included).

pub mod power_pmu;
pub mod system_wide;

use super::{Domain, RAPL_UPDATE_PERIOD_S, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, Provenance, SensorInfo};
use power_pmu::{PowerPmu, package_numbers};
use serde_json::json;
use std::io;
use std::path::{Path, PathBuf};
use system_wide::{PmuEvent, SystemWideCounter, open_error};

/// Counts × scale, in µJ. The count is converted whole every time (not
/// summed per interval), so rounding never accumulates.
pub fn counts_to_uj(count: u64, scale_j_per_count: f64) -> u64 {
    // `as` saturates; a 64-bit count of 2^-32 J units stays far below u64::MAX µJ.
    (count as f64 * scale_j_per_count * 1e6) as u64
}

struct OpenDomain {
    counter: SystemWideCounter,
    scale_j_per_count: f64,
    /// The event file, for error messages.
    path: PathBuf,
}

pub struct RaplPerfSensor {
    domains: Vec<Domain>,
    counters: Vec<OpenDomain>,
    info: SensorInfo,
}

impl RaplPerfSensor {
    /// Discovers the power PMU under `<sysfs_root>/bus/event_source/devices/power`
    /// and opens every RAPL domain on one CPU per package.
    pub fn discover(sysfs_root: &Path) -> Result<RaplPerfSensor, SensorError> {
        std::fs::read_dir(sysfs_root).map_err(|e| {
            SensorError::Unavailable(format!(
                "sysfs root {} cannot be read: {e}",
                sysfs_root.display()
            ))
        })?;
        let pmu = PowerPmu::read(&sysfs_root.join("bus/event_source/devices/power"))?;
        let (packages, numbering) = package_numbers(sysfs_root, &pmu.cpus);

        let mut domains = Vec::new();
        let mut counters = Vec::new();
        let mut skipped = Vec::new();
        let mut first_error: Option<SensorError> = None;
        for (position, (&cpu, &package)) in pmu.cpus.iter().zip(&packages).enumerate() {
            for event in &pmu.events {
                // psys is one counter for the platform; every CPU would read the same.
                let (id, unit) = if event.kind == DomainKind::Psys {
                    if position > 0 {
                        continue;
                    }
                    ("psys".to_string(), None)
                } else {
                    (format!("{}-{package}", event.id_prefix), Some(package))
                };
                let pmu_event = PmuEvent {
                    pmu_type: pmu.pmu_type,
                    config: event.config,
                };
                let what = format!("power/{}", event.name);
                match SystemWideCounter::open(pmu_event, cpu) {
                    Ok(counter) => {
                        domains.push(Domain {
                            id,
                            kind: event.kind,
                            provenance: Provenance::Counter,
                            wrap_range_uj: None,
                            unit,
                        });
                        counters.push(OpenDomain {
                            counter,
                            scale_j_per_count: event.scale_j_per_count,
                            path: event.path.clone(),
                        });
                    }
                    Err(e) => {
                        let err = open_error(e, &what, &event.path, pmu_event, cpu);
                        // The same permission applies to every event: the user must act.
                        if matches!(err, SensorError::PermissionDenied { .. }) {
                            return Err(err);
                        }
                        skipped.push(json!({"domain": id, "event": what, "cpu": cpu, "reason": err.to_string()}));
                        first_error.get_or_insert(err);
                    }
                }
            }
        }
        let still = drop_still_counters(&mut domains, &mut counters);
        if domains.is_empty() && !still.is_empty() {
            return Err(SensorError::Unavailable(format!(
                "every counter of the power PMU in {} stayed still over {} ms ({}): the PMU is there but counts no energy, as in a VM that does not pass RAPL through",
                pmu.dir.display(),
                STILL_WINDOW.as_millis(),
                still
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for (id, path) in still {
            skipped.push(json!({"domain": id, "event_file": path.display().to_string(), "reason": format!("counter stayed still over {} ms: the event exists but counts no energy", STILL_WINDOW.as_millis())}));
        }
        if domains.is_empty() {
            return Err(first_error.unwrap_or_else(|| {
                SensorError::Unavailable(format!(
                    "the power PMU in {} lists no CPU to open its events on",
                    pmu.dir.display()
                ))
            }));
        }

        let cpus = pmu
            .cpus
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let events: Vec<_> = pmu
            .events
            .iter()
            .map(|e| {
                json!({
                    "event": e.name,
                    "config": format!("{:#x}", e.config),
                    "config_text": e.config_text,
                    "scale_j_per_count": e.scale_j_per_count,
                    "unit": e.unit,
                })
            })
            .collect();
        let info = SensorInfo {
            kind: SensorKind::RaplPerf,
            provenance: Provenance::Counter,
            domains: domains.iter().map(|d| d.id.clone()).collect(),
            source: format!(
                "perf_event power PMU type {} on CPUs {cpus}, RAPL updates ~1 ms",
                pmu.pmu_type
            ),
            update_period_s: Some(RAPL_UPDATE_PERIOD_S),
            details: json!({
                "pmu": pmu.dir.display().to_string(),
                "pmu_type": pmu.pmu_type,
                "cpus": pmu.cpus,
                "packages": packages,
                "package_numbering": numbering,
                "events": events,
                "events_ignored": pmu.events_ignored,
                "domains_skipped": skipped,
                "overflow": "64-bit counts accumulated by the kernel; no wrap correction needed",
            }),
        };
        Ok(RaplPerfSensor {
            domains,
            counters,
            info,
        })
    }
}

/// How long discovery watches each counter. RAPL updates about every 1 ms and
/// even an idle DRAM domain (~0.5 W) moves hundreds of its 2^-16 J units in
/// this time, so a counter that does not move here counts nothing at all.
const STILL_WINDOW: std::time::Duration = std::time::Duration::from_millis(25);

/// Removes the counters that do not advance over [`STILL_WINDOW`] (some VMs
/// expose the power PMU, and its events open, but every read is 0) and returns
/// their domain ids and event files. A counter that cannot be read here is
/// kept: sampling reports its error the usual way.
fn drop_still_counters(
    domains: &mut Vec<Domain>,
    counters: &mut Vec<OpenDomain>,
) -> Vec<(String, PathBuf)> {
    let first: Vec<Option<u64>> = counters
        .iter_mut()
        .map(|c| c.counter.read_count().ok())
        .collect();
    std::thread::sleep(STILL_WINDOW);
    let moved: Vec<bool> = counters
        .iter_mut()
        .zip(&first)
        .map(|(c, before)| match (before, c.counter.read_count().ok()) {
            (Some(a), Some(b)) => *a != b,
            _ => true,
        })
        .collect();
    let mut still = Vec::new();
    for i in (0..moved.len()).rev() {
        if !moved[i] {
            let domain = domains.remove(i);
            still.push((domain.id, counters.remove(i).path));
        }
    }
    still.reverse();
    still
}

/// Maps an error from reading an open counter.
fn read_error(path: &Path, err: io::Error) -> SensorError {
    match (err.kind(), err.raw_os_error()) {
        // perf returns 0 bytes when it could not schedule the event this time.
        (io::ErrorKind::UnexpectedEof, _) => SensorError::Transient(format!(
            "{}: the kernel could not schedule the counter: {err}",
            path.display()
        )),
        (_, Some(libc::ENODEV)) => SensorError::Unavailable(format!(
            "{}: the counter's CPU or PMU went away: {err}",
            path.display()
        )),
        _ => SensorError::Io {
            path: path.to_path_buf(),
            source: err,
        },
    }
}

impl Sensor for RaplPerfSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::RaplPerf
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
    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        let start = out.len();
        for d in &mut self.counters {
            match d.counter.read_count() {
                Ok(count) => out.push(Reading::Counter {
                    energy_uj: counts_to_uj(count, d.scale_j_per_count),
                }),
                Err(e) => {
                    out.truncate(start);
                    return Err(read_error(&d.path, e));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
