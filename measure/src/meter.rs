//! Turns successive readings of one domain into energy. Pure arithmetic, no I/O.
//!
//! - Counters: the difference between two readings; when the new reading is
//!   below the old one the counter wrapped, and the difference is corrected with
//!   the domain's range (powercap `max_energy_range_uj`, see the kernel's
//!   Documentation/power/powercap/powercap.rst) and flagged.
//! - Instantaneous power: the trapezoid rule between two readings.
//! - Mean power since the previous reading: power × interval.
//!
//! The meter keeps a running total, so the energy of any window is the total at
//! its end minus the total at its start.

use crate::sensors::Reading;

/// What one reading added.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub energy_j: f64,
    pub duration_s: f64,
    /// The counter wrapped in this interval and the energy was corrected.
    pub wrapped: bool,
}

/// Why a reading could not be turned into energy.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum MeterError {
    /// The counter went backwards and the domain has no known range: a reset,
    /// not a wrap. The interval is dropped rather than guessed.
    #[error(
        "counter went backwards ({previous_uj} µJ to {current_uj} µJ) and its wrap range is unknown"
    )]
    CounterReset { previous_uj: u64, current_uj: u64 },
    /// The reading kind changed between two samples (a sensor bug).
    #[error("the reading kind changed between samples")]
    KindChanged,
    /// Time went backwards.
    #[error("time went backwards between two readings")]
    TimeReversed,
}

/// The energy arithmetic of one domain.
#[derive(Debug, Clone)]
pub struct Meter {
    wrap_range_uj: Option<u64>,
    last: Option<(f64, Reading)>,
    total_j: f64,
    wraps: u32,
}

impl Meter {
    pub fn new(wrap_range_uj: Option<u64>) -> Meter {
        Meter {
            wrap_range_uj,
            last: None,
            total_j: 0.0,
            wraps: 0,
        }
    }

    /// Energy since the first reading.
    pub fn total_j(&self) -> f64 {
        self.total_j
    }

    /// Wraps corrected since the first reading.
    pub fn wraps(&self) -> u32 {
        self.wraps
    }

    /// Takes the reading at `t_s` (seconds on any monotonic clock). The first
    /// reading only sets the starting point and returns `None`.
    pub fn update(&mut self, t_s: f64, reading: Reading) -> Result<Option<Interval>, MeterError> {
        if let Reading::SeriesPower { .. } = reading {
            return Ok(None); // for the time series only
        }
        let Some((last_t, last)) = self.last else {
            self.last = Some((t_s, reading));
            return Ok(None);
        };
        let dt = t_s - last_t;
        if dt < 0.0 {
            return Err(MeterError::TimeReversed);
        }
        let (energy_j, wrapped) = match (last, reading) {
            (Reading::Counter { energy_uj: a }, Reading::Counter { energy_uj: b }) => {
                counter_delta_uj(a, b, self.wrap_range_uj).map(|(d, w)| (d as f64 * 1e-6, w))?
            }
            (Reading::Power { power_mw: a }, Reading::Power { power_mw: b }) => {
                ((a + b) / 2.0 * 1e-3 * dt, false)
            }
            (Reading::MeanPower { .. }, Reading::MeanPower { power_mw }) => {
                (power_mw * 1e-3 * dt, false)
            }
            _ => return Err(MeterError::KindChanged),
        };
        // A failed update keeps the old starting point, so that a reset is not
        // counted twice; a good one moves it.
        self.last = Some((t_s, reading));
        self.total_j += energy_j;
        if wrapped {
            self.wraps += 1;
        }
        Ok(Some(Interval {
            energy_j,
            duration_s: dt,
            wrapped,
        }))
    }

    /// When the last reading was taken (seconds on the run's clock), if any.
    pub fn last_t_s(&self) -> Option<f64> {
        self.last.map(|(t, _)| t)
    }

    /// Forgets the last reading, e.g. after a reset the meter refused: the next
    /// reading starts afresh.
    pub fn restart(&mut self) {
        self.last = None;
    }
}

/// Difference of two counter readings in µJ, corrected for one wrap.
/// Returns the difference and whether it wrapped.
pub fn counter_delta_uj(
    previous_uj: u64,
    current_uj: u64,
    wrap_range_uj: Option<u64>,
) -> Result<(u64, bool), MeterError> {
    if current_uj >= previous_uj {
        return Ok((current_uj - previous_uj, false));
    }
    match wrap_range_uj {
        // powercap counts from 0 to max_energy_range_uj inclusive, then wraps to 0.
        Some(range) if previous_uj <= range => Ok((range - previous_uj + current_uj + 1, true)),
        _ => Err(MeterError::CounterReset {
            previous_uj,
            current_uj,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(uj: u64) -> Reading {
        Reading::Counter { energy_uj: uj }
    }

    #[test]
    fn first_reading_only_starts() {
        let mut m = Meter::new(None);
        assert_eq!(m.update(0.0, counter(5)), Ok(None));
        assert_eq!(m.total_j(), 0.0);
    }

    #[test]
    fn counter_difference_in_joules() {
        let mut m = Meter::new(Some(u64::MAX));
        m.update(0.0, counter(1_000_000)).expect("first");
        let i = m
            .update(1.0, counter(13_500_000))
            .expect("ok")
            .expect("interval");
        assert_eq!(i.energy_j, 12.5);
        assert!(!i.wrapped);
        assert_eq!(m.total_j(), 12.5);
    }

    #[test]
    fn wrap_is_corrected_and_flagged() {
        // Range 262 143 328 850 µJ, as on many Intel parts; counter goes from
        // 10 J below the top to 5 J past zero: 15 J (plus the 1 µJ step to zero).
        let range = 262_143_328_850;
        let mut m = Meter::new(Some(range));
        m.update(0.0, counter(range - 10_000_000)).expect("first");
        let i = m
            .update(1.0, counter(5_000_000))
            .expect("ok")
            .expect("interval");
        assert!(i.wrapped);
        assert!((i.energy_j - 15.000_001).abs() < 1e-9);
        assert_eq!(m.wraps(), 1);
    }

    #[test]
    fn backwards_without_range_is_a_reset_not_energy() {
        let mut m = Meter::new(None);
        m.update(0.0, counter(100)).expect("first");
        assert!(matches!(
            m.update(1.0, counter(50)),
            Err(MeterError::CounterReset { .. })
        ));
        assert_eq!(m.total_j(), 0.0);
    }

    #[test]
    fn power_uses_trapezoid_rule() {
        let mut m = Meter::new(None);
        m.update(0.0, Reading::Power { power_mw: 10_000.0 })
            .expect("first");
        m.update(2.0, Reading::Power { power_mw: 20_000.0 })
            .expect("ok");
        // (10 W + 20 W) / 2 × 2 s = 30 J
        assert_eq!(m.total_j(), 30.0);
    }

    #[test]
    fn mean_power_times_interval() {
        let mut m = Meter::new(None);
        m.update(0.0, Reading::MeanPower { power_mw: 0.0 })
            .expect("first");
        m.update(0.5, Reading::MeanPower { power_mw: 8_000.0 })
            .expect("ok");
        assert_eq!(m.total_j(), 4.0);
    }

    #[test]
    fn mixed_kinds_are_refused() {
        let mut m = Meter::new(None);
        m.update(0.0, counter(1)).expect("first");
        assert_eq!(
            m.update(1.0, Reading::Power { power_mw: 1.0 }),
            Err(MeterError::KindChanged)
        );
    }
}
