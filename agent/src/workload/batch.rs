//! How many requests one repetition runs.
//!
//! A request shorter than about 10 update periods of the slowest sensor in the
//! total (RAPL about every 1 ms, NVML about every 100 ms, the model at the kernel's
//! 10 ms tick) cannot be resolved, so a repetition runs a batch of requests that
//! lasts at least that long, the [`Resolution`], and the energy is divided by
//! the batch size, as hyperfine runs a short command many times. The batch size is
//! calibrated once, unmeasured, before the repetitions. The search and the command
//! workloads share this.

use super::{Calibration, Resolution};
use std::time::Instant;

/// How the batch size is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchPolicy {
    /// As many requests as last at least the [`Resolution`], or at least
    /// `min_repetition_s` when given (`--min-repetition-time`), measured before the
    /// repetitions.
    Auto { min_repetition_s: Option<f64> },
    /// A fixed number of requests per repetition.
    Fixed(u64),
}

impl BatchPolicy {
    /// The record's one-line description (`WorkloadInfo.batching`). It is written
    /// before calibration, so for the automatic policy it names the rule; the
    /// seconds chosen go into the calibration note.
    pub fn describe(&self) -> String {
        match self {
            BatchPolicy::Auto {
                min_repetition_s: None,
            } => "auto-calibrated to 10 update periods of the slowest sensor in the total: \
                  each repetition runs a batch of requests lasting at least that long (the \
                  seconds are in the calibration notice); energy per request = repetition \
                  energy / requests"
                .to_string(),
            BatchPolicy::Auto {
                min_repetition_s: Some(s),
            } => format!(
                "auto-calibrated: each repetition runs a batch of requests lasting at least \
                 {s} s (--min-repetition-time); energy per request = repetition energy / requests"
            ),
            BatchPolicy::Fixed(n) => format!(
                "fixed: {n} requests per repetition (--batch); energy per request = \
                 repetition energy / requests"
            ),
        }
    }

    /// Checks the policy before anything runs.
    pub fn validate(&self) -> anyhow::Result<()> {
        match *self {
            BatchPolicy::Fixed(0) => anyhow::bail!("--batch must be at least 1"),
            BatchPolicy::Auto {
                min_repetition_s: Some(s),
            } if s.is_nan() || s <= 0.0 => {
                anyhow::bail!("--min-repetition-time must be more than 0")
            }
            _ => Ok(()),
        }
    }

    /// Chooses the batch size. `run` does one request; `cycle` is the number of
    /// requests in one cycle of the workload's inputs (the queries), 1 when there is
    /// none: an automatic batch is rounded up to whole cycles ([`whole_cycles`]).
    pub fn calibrate<E>(
        &self,
        target: &Resolution,
        cycle: u64,
        run: impl FnMut() -> Result<(), E>,
    ) -> Result<Calibration, E> {
        let (min_repetition_s, why) = match *self {
            BatchPolicy::Fixed(n) => {
                return Ok(Calibration {
                    requests_per_repetition: n,
                    note: "fixed with --batch".to_string(),
                });
            }
            BatchPolicy::Auto {
                min_repetition_s: Some(s),
            } => (s, format!("{s} s (--min-repetition-time)")),
            BatchPolicy::Auto {
                min_repetition_s: None,
            } => (target.min_window_s, target.describe()),
        };
        let per_request_s = seconds_per_request(min_repetition_s, run)?;
        let n = whole_cycles(batch_size(min_repetition_s, per_request_s), cycle);
        let rounded = if cycle > 1 {
            ", rounded up to whole cycles of the queries"
        } else {
            ""
        };
        Ok(Calibration {
            requests_per_repetition: n,
            note: format!(
                "auto-calibrated: one request took {} before the run, so {n} requests \
                 last at least {why} (with a {MARGIN}x margin{rounded})",
                duration(per_request_s)
            ),
        })
    }
}

/// A request's duration in the unit that reads best.
fn duration(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// Calibration runs doubling batches until one lasts at least this share of the target.
const PROBE_SHARE: f64 = 0.25;

/// The batch is this much longer than the calibration says is needed, so that a
/// repetition still reaches the target when requests run a little faster than they did.
pub const MARGIN: f64 = 1.2;

/// Seconds per request, from doubling batches of `run` (one request per call) until a
/// batch lasts at least a quarter of `min_repetition_s`.
pub fn seconds_per_request<E>(
    min_repetition_s: f64,
    mut run: impl FnMut() -> Result<(), E>,
) -> Result<f64, E> {
    let mut n: u64 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            run()?;
        }
        let elapsed_s = start.elapsed().as_secs_f64();
        if elapsed_s >= min_repetition_s * PROBE_SHARE || n >= 1 << 30 {
            // The fastest of a few probes of this size: a batch sized on a slow
            // probe (a cold cache, a busy neighbour) falls short of the target
            // once requests run at their usual speed; a long batch costs nothing.
            let mut fastest_s = elapsed_s;
            for _ in 1..PROBES {
                let start = Instant::now();
                for _ in 0..n {
                    run()?;
                }
                fastest_s = fastest_s.min(start.elapsed().as_secs_f64());
            }
            return Ok(fastest_s / n as f64);
        }
        n *= 2;
    }
}

/// Probes of the final batch size; the fastest sizes the batch.
const PROBES: u32 = 3;

/// Requests per repetition so that one lasts at least `min_repetition_s` (with [`MARGIN`]).
pub fn batch_size(min_repetition_s: f64, seconds_per_request: f64) -> u64 {
    if seconds_per_request.is_nan() || seconds_per_request <= 0.0 {
        return 1;
    }
    let n = (min_repetition_s * MARGIN / seconds_per_request).ceil();
    if n.is_finite() { (n as u64).max(1) } else { 1 }
}

/// Rounds `n` up to whole cycles of `queries` when it holds at least one cycle, so that
/// every repetition runs the same mix of queries (and ends on the same one); a batch
/// shorter than the cycle is kept, and the cycle then continues across repetitions.
/// Rounding adds fewer than `queries` requests, so at most doubles the batch.
pub fn whole_cycles(n: u64, queries: u64) -> u64 {
    if queries <= 1 || n < queries {
        n
    } else {
        n.div_ceil(queries) * queries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_target() -> Resolution {
        Resolution {
            min_window_s: 10.0 * 0.01,
            slowest_sensor: Some(hoeveel_record::SensorKind::Model),
        }
    }

    #[test]
    fn batches_cover_the_target_with_margin() {
        // 5 µs per query, 0.2 s target: 0.24 s / 5 µs = 48,000 queries.
        assert_eq!(batch_size(0.2, 5e-6), 48_000);
        // A slow service (0.5 s per request): one request per repetition.
        assert_eq!(batch_size(0.2, 0.5), 1);
        assert_eq!(batch_size(0.2, 0.0), 1);
        assert_eq!(batch_size(0.2, f64::NAN), 1);
        // No sensor in the total: nothing to wait for.
        assert_eq!(batch_size(0.0, 5e-6), 1);
    }

    #[test]
    fn batches_hold_whole_query_cycles() {
        assert_eq!(whole_cycles(778, 3), 780);
        assert_eq!(whole_cycles(780, 3), 780);
        assert_eq!(whole_cycles(5, 1), 5);
        // Fewer requests than queries: the cycle spans repetitions.
        assert_eq!(whole_cycles(2, 100), 2);
    }

    #[test]
    fn calibration_stops_at_the_first_error() {
        let mut calls = 0;
        let result: Result<f64, &str> = seconds_per_request(0.2, || {
            calls += 1;
            if calls == 3 { Err("down") } else { Ok(()) }
        });
        assert_eq!(result, Err("down"));
        assert_eq!(calls, 3);
    }

    #[test]
    fn descriptions_name_the_policy() {
        assert!(
            BatchPolicy::Auto {
                min_repetition_s: Some(0.2)
            }
            .describe()
            .contains("at least 0.2 s (--min-repetition-time)")
        );
        assert!(
            BatchPolicy::Auto {
                min_repetition_s: None
            }
            .describe()
            .contains("auto-calibrated to 10 update periods of the slowest sensor")
        );
        assert!(BatchPolicy::Fixed(500).describe().contains("500 requests"));
    }

    #[test]
    fn the_target_names_the_slowest_sensor_and_its_period() {
        assert_eq!(
            model_target().describe(),
            "0.1 s = 10 update periods of the slowest sensor (model, 10 ms)"
        );
        let nvml = Resolution {
            min_window_s: 10.0 * 0.1,
            slowest_sensor: Some(hoeveel_record::SensorKind::Nvml),
        };
        assert_eq!(
            nvml.describe(),
            "1 s = 10 update periods of the slowest sensor (nvml, 100 ms)"
        );
    }

    #[test]
    fn auto_aims_at_the_target_and_an_override_beats_it() {
        // Each request sleeps 1 ms: the model's 0.1 s target needs about 100 of them
        // (120 with the margin); sleeping overshoots, so allow fewer.
        let sleep = || -> Result<(), ()> {
            std::thread::sleep(std::time::Duration::from_millis(1));
            Ok(())
        };
        let auto = BatchPolicy::Auto {
            min_repetition_s: None,
        };
        let c = auto.calibrate(&model_target(), 1, sleep).expect("no error");
        assert!((20..=120).contains(&c.requests_per_repetition), "{c:?}");
        assert!(
            c.note
                .contains("0.1 s = 10 update periods of the slowest sensor (model, 10 ms)"),
            "{}",
            c.note
        );
        let explicit = BatchPolicy::Auto {
            min_repetition_s: Some(0.02),
        };
        let c = explicit
            .calibrate(&model_target(), 1, sleep)
            .expect("no error");
        assert!((4..=24).contains(&c.requests_per_repetition), "{c:?}");
        assert!(
            c.note.contains("0.02 s (--min-repetition-time)"),
            "{}",
            c.note
        );
    }

    #[test]
    fn fixed_batches_run_nothing_to_calibrate() {
        let c = BatchPolicy::Fixed(7)
            .calibrate(&model_target(), 3, || -> Result<(), ()> {
                panic!("a fixed batch needs no timing")
            })
            .expect("fixed");
        assert_eq!(c.requests_per_repetition, 7);
    }

    #[test]
    fn invalid_policies_are_refused() {
        assert!(BatchPolicy::Fixed(0).validate().is_err());
        assert!(
            BatchPolicy::Auto {
                min_repetition_s: Some(0.0)
            }
            .validate()
            .is_err()
        );
        assert!(
            BatchPolicy::Auto {
                min_repetition_s: None
            }
            .validate()
            .is_ok()
        );
    }
}
