//! A window's energy from the sampler's running totals at its two ends, and the
//! rules every window obeys: which domains make the total, and how short a window
//! the sensors can resolve.
//!
//! Windows cost nothing to keep open: each is two [`Snapshot`]s, so any number of
//! them may overlap or nest.

use crate::sampler::Snapshot;
use crate::sensors::discover::TotalChoice;
use crate::sensors::{Sensor, SensorKind, total};
use hoeveel_record::{DomainInfo, DomainMap, ShortWindow};

/// The shortest window the sensors in the total resolve: 10 update periods of the
/// slowest of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub min_window_s: f64,
    /// That sensor; `None` when no sensor is in the total.
    pub slowest_sensor: Option<SensorKind>,
}

impl Resolution {
    /// "0.1 s = 10 update periods of the slowest sensor (model, 10 ms)".
    pub fn describe(&self) -> String {
        match self.slowest_sensor {
            None => format!("{} s (no sensor in the total)", round_s(self.min_window_s)),
            Some(sensor) => format!(
                "{} s = 10 update periods of the slowest sensor ({sensor}, {} ms)",
                round_s(self.min_window_s),
                round_s(self.min_window_s / 10.0 * 1e3)
            ),
        }
    }

    /// What the record says of a window of `duration_s` that is too short.
    pub fn short_window(&self, duration_s: f64) -> Option<ShortWindow> {
        let slowest_sensor = self.slowest_sensor?;
        (duration_s < self.min_window_s).then_some(ShortWindow {
            min_window_s: self.min_window_s,
            slowest_sensor,
        })
    }
}

/// Drops the binary noise of a decimal product (10 × 0.001 s), to the nanosecond.
fn round_s(s: f64) -> f64 {
    (s * 1e9).round() / 1e9
}

/// The domains of a measurement as every window sees them.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Every domain, in the sampler's order, with whether it is in the total and why.
    pub domains: Vec<DomainInfo>,
    /// Why the total is the sum it is, in one line.
    pub total_rule: String,
    pub resolution: Resolution,
}

impl Layout {
    /// The layout of `sensors` (in the order the sampler will hold them).
    pub fn of(sensors: &[Box<dyn Sensor>], choice: TotalChoice) -> Layout {
        let domains: Vec<_> = sensors
            .iter()
            .flat_map(|s| s.domains().iter().map(move |d| (d.clone(), s.kind())))
            .collect();
        let (domains, total_rule) = total::decide(&domains, choice);
        let resolution = sensors
            .iter()
            .filter(|s| {
                s.domains()
                    .iter()
                    .any(|d| domains.iter().any(|i| i.id == d.id && i.in_total))
            })
            .map(|s| Resolution {
                min_window_s: 10.0 * s.update_period_s(),
                slowest_sensor: Some(s.kind()),
            })
            .max_by(|a, b| a.min_window_s.total_cmp(&b.min_window_s))
            .unwrap_or(Resolution {
                min_window_s: 0.0,
                slowest_sensor: None,
            });
        Layout {
            domains,
            total_rule,
            resolution,
        }
    }

    /// The energy between two snapshots of the sampler.
    pub fn window(&self, start: &Snapshot, end: &Snapshot) -> Window {
        let mut w = Window {
            duration_s: end.t_s - start.t_s,
            energy_j: DomainMap::new(),
            total_j: 0.0,
            wrapped: Vec::new(),
            missing: Vec::new(),
            reset: Vec::new(),
        };
        for (i, domain) in self.domains.iter().enumerate() {
            let id = &domain.id;
            if !(end.alive[i] && start.alive[i]) {
                if domain.in_total {
                    w.missing.push(id.clone());
                }
                continue;
            }
            let e = end.totals_j[i] - start.totals_j[i];
            w.energy_j.insert(id.clone(), e);
            if domain.in_total {
                w.total_j += e;
            }
            if end.wraps[i] > start.wraps[i] {
                w.wrapped.push(id.clone());
            }
            if end.resets[i] > start.resets[i] {
                w.reset.push(id.clone());
            }
        }
        w
    }
}

/// A measured window: energy per domain, the total, and what went wrong in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub duration_s: f64,
    /// Gross energy of every domain measured over the whole window.
    pub energy_j: DomainMap,
    /// Sum of the domains in the total.
    pub total_j: f64,
    /// Domains whose counter wrapped in the window (corrected).
    pub wrapped: Vec<String>,
    /// Domains of the total not measured over the whole window (sensor lost): the
    /// total misses them.
    pub missing: Vec<String>,
    /// Domains whose counter was reset inside the window: the interval around the
    /// reset is lost.
    pub reset: Vec<String>,
}
