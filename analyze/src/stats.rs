//! Statistics the analysis adds to the per-request figures: intervals and their
//! arithmetic (to combine a measurement's CI with profile ranges), and a bootstrap
//! confidence interval for the ratio of two measurements.
//!
//! Location, spread, the Student-t CI of the mean and the MAD outlier flags are one
//! type, [`Describe`], in the record crate, so the agent's summary and the analysis
//! cannot drift apart. The bootstrap uses its own SplitMix64 generator with a fixed
//! seed, so that a report is deterministic: the same record gives the same interval
//! on every machine.

use serde::Serialize;

pub use hoeveel_record::stats::{
    CONFIDENCE, CiMethod, Describe, Interval, MAD_THRESHOLD, mad_outliers, mean, median, t_cdf,
    t_quantile,
};

/// Bootstrap resamples for a ratio.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
/// Seed of the bootstrap generator (fixed: results are reproducible).
pub const BOOTSTRAP_SEED: u64 = 0x686f_6576_6565_6c21;

/// The 95% CI of a [`Describe`] as an interval with the mean as typical value; a
/// point without a CI.
pub trait CiInterval {
    fn ci(&self) -> Interval;
}

impl CiInterval for Describe {
    fn ci(&self) -> Interval {
        Interval {
            low: self.ci_low.unwrap_or(self.mean),
            typical: Some(self.mean),
            high: self.ci_high.unwrap_or(self.mean),
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and good enough to draw
/// bootstrap indices; seeded so that results are reproducible.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform index below `n` (Lemire's multiply-shift; bias below 2^-32 for our n).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

/// The ratio of two means with a percentile-bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioCi {
    pub ratio: f64,
    /// Absent when either sample has fewer than two values.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub resamples: usize,
    pub seed: u64,
    pub method: String,
}

/// mean(a) / mean(b), with a 95% percentile bootstrap: each sample is resampled
/// with replacement, independently, `BOOTSTRAP_RESAMPLES` times.
pub fn ratio_of_means(a: &[f64], b: &[f64]) -> Option<RatioCi> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let ratio = mean(a) / mean(b);
    let method = format!(
        "ratio of means; 95% percentile bootstrap, {BOOTSTRAP_RESAMPLES} resamples of each measurement independently, SplitMix64 seed {BOOTSTRAP_SEED:#x}"
    );
    if a.len() < 2 || b.len() < 2 {
        return Some(RatioCi {
            ratio,
            ci_low: None,
            ci_high: None,
            resamples: 0,
            seed: BOOTSTRAP_SEED,
            method: "ratio of means; no CI: each measurement needs at least two repetitions".into(),
        });
    }
    let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
    let mut ratios = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    let resample_mean = |rng: &mut SplitMix64, v: &[f64]| {
        (0..v.len()).map(|_| v[rng.below(v.len())]).sum::<f64>() / v.len() as f64
    };
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let ma = resample_mean(&mut rng, a);
        let mb = resample_mean(&mut rng, b);
        if mb != 0.0 {
            ratios.push(ma / mb);
        }
    }
    ratios.sort_by(f64::total_cmp);
    let q = |p: f64| ratios[((ratios.len() - 1) as f64 * p).round() as usize];
    Some(RatioCi {
        ratio,
        ci_low: Some(q((1.0 - CONFIDENCE) / 2.0)),
        ci_high: Some(q(0.5 + CONFIDENCE / 2.0)),
        resamples: ratios.len(),
        seed: BOOTSTRAP_SEED,
        method,
    })
}

/// The method statement printed under every table that shows an interval.
pub fn method_note() -> String {
    format!(
        "Method: mean of the measured repetitions; 95% CI = mean ± t(0.975, n-1) × sd/√n (Student t); \
         outliers flagged when |0.6745 (x - median)/MAD| > {MAD_THRESHOLD} and never removed; \
         CO2e ranges multiply interval bounds (low × low .. high × high) of the energy CI, the PUE range and the grid intensity."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_ratio_is_deterministic_and_brackets_the_ratio() {
        let a = [30.0, 31.0, 29.5, 30.5, 29.0, 30.2];
        let b = [1.0, 1.05, 0.95, 1.02, 0.98, 1.0];
        let r1 = ratio_of_means(&a, &b).expect("ratio");
        let r2 = ratio_of_means(&a, &b).expect("ratio");
        assert_eq!(r1, r2);
        let (lo, hi) = (r1.ci_low.expect("lo"), r1.ci_high.expect("hi"));
        assert!(lo < r1.ratio && r1.ratio < hi, "{lo} {} {hi}", r1.ratio);
        assert!(lo > 28.0 && hi < 32.5, "{lo} {hi}");
        let single = ratio_of_means(&[3.0], &[1.0]).expect("ratio");
        assert_eq!((single.ratio, single.ci_low), (3.0, None));
    }

    #[test]
    fn interval_arithmetic_multiplies_corners() {
        let energy = Interval::new(0.5, Some(1.0), 1.5);
        let pue = Interval::new(1.04, None, 1.15);
        let p = energy.times(pue).times(Interval::point(35.82));
        assert!((p.low - 0.5 * 1.04 * 35.82).abs() < 1e-12);
        assert!((p.high - 1.5 * 1.15 * 35.82).abs() < 1e-12);
        assert_eq!(p.typical, None, "a bare range has no typical value");
        let neg = Interval::new(-0.2, Some(0.1), 0.4).times(Interval::point(2.0));
        assert_eq!((neg.low, neg.high), (0.0, 0.8));
    }
}
