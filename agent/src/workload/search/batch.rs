//! How many searches one repetition runs.
//!
//! One query of the built-in engine takes microseconds, far below what RAPL (updated
//! about every 1 ms) or NVML (10-100 ms) resolve, so a repetition runs a batch of
//! queries that lasts at least `--min-repetition-time` and the energy is divided by the
//! batch size. The batch size is calibrated once, unmeasured, before the repetitions.

use std::time::Instant;

/// How the batch size is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchPolicy {
    /// As many requests as last at least this long, measured before the repetitions.
    Auto { min_repetition_s: f64 },
    /// A fixed number of requests per repetition.
    Fixed(u64),
}

impl BatchPolicy {
    /// The record's one-line description.
    pub fn describe(&self) -> String {
        match self {
            BatchPolicy::Auto { min_repetition_s } => format!(
                "auto-calibrated: each repetition runs a batch of requests lasting at least \
                 {min_repetition_s} s; energy per request = repetition energy / requests"
            ),
            BatchPolicy::Fixed(n) => format!(
                "fixed: {n} requests per repetition (--batch); energy per request = \
                 repetition energy / requests"
            ),
        }
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
            return Ok(elapsed_s / n as f64);
        }
        n *= 2;
    }
}

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

    #[test]
    fn batches_cover_the_target_with_margin() {
        // 5 µs per query, 0.2 s target: 0.24 s / 5 µs = 48,000 queries.
        assert_eq!(batch_size(0.2, 5e-6), 48_000);
        // A slow service (0.5 s per request): one request per repetition.
        assert_eq!(batch_size(0.2, 0.5), 1);
        assert_eq!(batch_size(0.2, 0.0), 1);
        assert_eq!(batch_size(0.2, f64::NAN), 1);
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
                min_repetition_s: 0.2
            }
            .describe()
            .contains("at least 0.2 s")
        );
        assert!(BatchPolicy::Fixed(500).describe().contains("500 requests"));
    }
}
