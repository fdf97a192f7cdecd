//! Statistics for per-request energy: location and spread, a 95% confidence
//! interval of the mean (Student t), MAD outlier warnings, a bootstrap confidence
//! interval for the ratio of two measurements, and interval arithmetic to combine
//! a measurement's interval with profile ranges.
//!
//! The t quantile is computed here from the regularised incomplete beta function
//! (continued fraction, Lentz's method) and the Lanczos log-gamma, inverted by
//! bisection. That is about 80 lines, tested against published table values, and
//! saves a statistics crate for one function. The bootstrap uses its own
//! SplitMix64 generator with a fixed seed, so that a report is deterministic: the
//! same record gives the same interval on every machine.

use serde::Serialize;

/// Confidence level of every interval hoeveel prints.
pub const CONFIDENCE: f64 = 0.95;
/// Bootstrap resamples for a ratio.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;
/// Seed of the bootstrap generator (fixed: results are reproducible).
pub const BOOTSTRAP_SEED: u64 = 0x686f_6576_6565_6c21;
/// Modified z-score above which a value is flagged (Iglewicz and Hoaglin 1993).
pub const MAD_THRESHOLD: f64 = 3.5;

/// A closed interval with an optional typical value inside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub typical: Option<f64>,
    pub high: f64,
}

impl Interval {
    pub fn point(v: f64) -> Interval {
        Interval {
            low: v,
            typical: Some(v),
            high: v,
        }
    }

    pub fn new(low: f64, typical: Option<f64>, high: f64) -> Interval {
        Interval { low, typical, high }
    }

    pub fn scale(self, k: f64) -> Interval {
        let (a, b) = (self.low * k, self.high * k);
        Interval {
            low: a.min(b),
            typical: self.typical.map(|t| t * k),
            high: a.max(b),
        }
    }

    /// Product of two intervals of non-negative quantities: low x low .. high x high
    /// (interval arithmetic; both factors are energies, PUEs or intensities, which are
    /// never negative, so the corners are the bounds). A negative lower bound (a net
    /// energy below zero) is clamped to zero first, since no site turns energy into
    /// negative emissions.
    pub fn times(self, other: Interval) -> Interval {
        let a = self.clamp_non_negative();
        let b = other.clamp_non_negative();
        Interval {
            low: a.low * b.low,
            typical: a.typical.zip(b.typical).map(|(x, y)| x * y),
            high: a.high * b.high,
        }
    }

    pub fn plus(self, other: Interval) -> Interval {
        Interval {
            low: self.low + other.low,
            typical: self.typical.zip(other.typical).map(|(x, y)| x + y),
            high: self.high + other.high,
        }
    }

    fn clamp_non_negative(self) -> Interval {
        Interval {
            low: self.low.max(0.0),
            typical: self.typical.map(|t| t.max(0.0)),
            high: self.high.max(0.0),
        }
    }

    /// The value to rank by: the typical value, else the midpoint.
    pub fn centre(&self) -> f64 {
        self.typical.unwrap_or((self.low + self.high) / 2.0)
    }

    pub fn is_point(&self) -> bool {
        self.low == self.high
    }
}

/// Descriptive statistics of one set of per-request values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Describe {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    /// Sample standard deviation; absent with one value.
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
    /// 95% CI of the mean (Student t); absent with one value.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Indices of values flagged by the MAD rule (reported, never removed).
    pub outliers: Vec<usize>,
}

impl Describe {
    pub fn of(values: &[f64]) -> Option<Describe> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = mean(values);
        let sd = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let median = median(values);
        let ci = sd.map(|sd| {
            let half = t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt();
            (mean - half, mean + half)
        });
        Some(Describe {
            n,
            mean,
            median,
            sd,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            outliers: mad_outliers(values),
        })
    }

    /// The CI as an interval with the mean as typical value; a point without a CI.
    pub fn ci(&self) -> Interval {
        Interval {
            low: self.ci_low.unwrap_or(self.mean),
            typical: Some(self.mean),
            high: self.ci_high.unwrap_or(self.mean),
        }
    }
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

pub fn median(values: &[f64]) -> f64 {
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Indices whose modified z-score 0.6745 (x - median) / MAD exceeds 3.5
/// (Iglewicz and Hoaglin, "How to Detect and Handle Outliers", 1993; hyperfine uses
/// the same rule). With MAD = 0 (most values equal) nothing is flagged.
pub fn mad_outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < 3 {
        return Vec::new();
    }
    let med = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&deviations);
    if mad <= 0.0 {
        return Vec::new();
    }
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| (0.6745 * (*v - med) / mad).abs() > MAD_THRESHOLD)
        .map(|(i, _)| i)
        .collect()
}

/// Quantile `p` of Student's t distribution with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// CDF of Student's t: for t >= 0, 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t²).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, x);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Regularised incomplete beta I_x(a, b), by its continued fraction.
fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Continued fraction of the incomplete beta (modified Lentz's method).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
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
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values from standard t tables.
        for (df, t) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (4.0, 2.7764),
            (9.0, 2.2622),
            (29.0, 2.0452),
            (1000.0, 1.9623),
        ] {
            assert!(
                (t_quantile(0.975, df) - t).abs() < 1e-3,
                "df {df}: {}",
                t_quantile(0.975, df)
            );
        }
        assert!((t_quantile(0.025, 9.0) + 2.2622).abs() < 1e-3);
        assert!((t_cdf(0.0, 5.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn describe_known_values() {
        let d = Describe::of(&[10.0, 12.0, 11.0, 13.0, 9.0]).expect("values");
        assert_eq!(d.mean, 11.0);
        assert_eq!(d.median, 11.0);
        let sd = d.sd.expect("sd");
        assert!((sd - 1.581_138_830_084_19).abs() < 1e-12);
        // t(0.975, 4) = 2.776445 → half width 2.776445 × 1.5811388 / √5 = 1.963243.
        assert!((d.ci_low.expect("ci") - (11.0 - 1.963_243)).abs() < 1e-4);
        assert!((d.ci_high.expect("ci") - (11.0 + 1.963_243)).abs() < 1e-4);
        let one = Describe::of(&[5.0]).expect("one");
        assert_eq!((one.sd, one.ci_low), (None, None));
        assert!(Describe::of(&[]).is_none());
    }

    #[test]
    fn mad_flags_but_keeps_outliers() {
        let v = [10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 30.0];
        assert_eq!(mad_outliers(&v), vec![6]);
        let d = Describe::of(&v).expect("values");
        assert_eq!(d.n, 7, "outliers are never removed");
        assert_eq!(d.outliers, vec![6]);
        assert!(
            mad_outliers(&[1.0, 1.0, 1.0, 5.0]).is_empty(),
            "MAD 0 flags nothing"
        );
    }

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
