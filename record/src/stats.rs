//! Statistics of per-request values: location, spread, a 95% confidence interval
//! of the mean (Student t) and MAD outlier flags, in one type, [`Describe`], that
//! the agent's summary and every analysis command use.
//!
//! The t quantile is computed here from the regularised incomplete beta function
//! (continued fraction, Lentz's method) and the Lanczos log-gamma, inverted by
//! bisection. That is about 80 lines, tested against published table values, and
//! saves a statistics crate for one function.

use serde::Serialize;

/// Confidence level of every interval hoeveel prints.
pub const CONFIDENCE: f64 = 0.95;
/// Modified z-score above which a value is flagged: 3.5, the cut-off Iglewicz and
/// Hoaglin (1993) recommend for the modified z-score.
pub const MAD_THRESHOLD: f64 = 3.5;

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
    /// How the interval was found.
    pub ci_method: CiMethod,
}

/// How a 95% interval of a mean was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiMethod {
    /// mean ± t(0.975, n−1) × sd/√n.
    StudentT,
    /// For a quantity that cannot be negative (a duration, a rate, a gross
    /// energy, a token count) whose Student-t interval would reach below zero,
    /// as at n = 3: the modified Cox interval of a log-normal mean (Olsson 2005,
    /// J. Stat. Educ. 13(1)), exp(ȳ + s²/2 ± t(0.975, n−1) × √(s²/n + s⁴/(2(n−1))))
    /// over y = ln x, which stays above zero.
    LogNormalCox,
}

impl CiMethod {
    /// What the output says of an interval found this way.
    pub fn describe(self) -> &'static str {
        match self {
            CiMethod::StudentT => "Student t",
            CiMethod::LogNormalCox => {
                "log-normal (modified Cox), as the Student-t interval of this quantity, which cannot be negative, would reach below zero"
            }
        }
    }
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
            ci_method: CiMethod::StudentT,
        })
    }

    /// [`Describe::of`] for a quantity that cannot be negative: where every
    /// value is above zero and the Student-t interval would reach zero or below,
    /// the interval is the log-normal one ([`CiMethod::LogNormalCox`]).
    pub fn of_positive(values: &[f64]) -> Option<Describe> {
        let mut d = Describe::of(values)?;
        let reaches_zero = d.ci_low.is_some_and(|low| low <= 0.0);
        if !reaches_zero || values.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
            return Some(d);
        }
        if let Some((low, high)) = cox_interval(values) {
            d.ci_low = Some(low);
            d.ci_high = Some(high);
            d.ci_method = CiMethod::LogNormalCox;
        }
        Some(d)
    }
}

/// The modified Cox 95% interval of a log-normal mean, from values above zero.
fn cox_interval(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let logs: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let y = mean(&logs);
    let s2 = logs.iter().map(|l| (l - y).powi(2)).sum::<f64>() / (n - 1) as f64;
    let nf = n as f64;
    let half = t_quantile(0.5 + CONFIDENCE / 2.0, nf - 1.0)
        * (s2 / nf + s2 * s2 / (2.0 * (nf - 1.0))).sqrt();
    let centre = y + s2 / 2.0;
    let (low, high) = ((centre - half).exp(), (centre + half).exp());
    (low.is_finite() && high.is_finite()).then_some((low, high))
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

/// Indices whose modified z-score 0.6745 (x - median) / MAD exceeds
/// [`MAD_THRESHOLD`] (Iglewicz and Hoaglin, "How to Detect and Handle Outliers",
/// 1993). With MAD = 0 (most values equal) nothing is flagged.
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
    fn an_interval_of_a_quantity_that_cannot_be_negative_stays_above_zero() {
        // tokens/s at n = 3, as a busy server gave them: Student t reaches
        // below zero (the report used to print `23.7 (-9.2–56.5)`).
        let rates = [8.0, 24.0, 39.1];
        let t = Describe::of(&rates).expect("values");
        assert!(t.ci_low.expect("an interval") < 0.0);
        let d = Describe::of_positive(&rates).expect("values");
        assert_eq!(d.ci_method, CiMethod::LogNormalCox);
        let (low, high) = (d.ci_low.expect("low"), d.ci_high.expect("high"));
        assert!(
            low > 0.0 && low < d.mean && d.mean < high,
            "{low} {} {high}",
            d.mean
        );
        // Where Student t stays above zero nothing changes.
        let tight = [9.2, 10.8, 9.9];
        assert_eq!(Describe::of_positive(&tight), Describe::of(&tight));
        // A zero or negative value (a net energy) keeps Student t.
        let net = [-1.0, 5.0, 12.0];
        assert_eq!(
            Describe::of_positive(&net).expect("values").ci_method,
            CiMethod::StudentT
        );
    }

    #[test]
    fn the_cox_interval_matches_its_formula_on_known_values() {
        // ln values 0, ln 2, ln 4: ȳ = ln 2, s² = (ln 2)², n = 3, t = 4.3027.
        let (low, high) = cox_interval(&[1.0, 2.0, 4.0]).expect("an interval");
        let l2 = std::f64::consts::LN_2;
        let s2 = l2 * l2;
        let half = 4.302_652_7 * (s2 / 3.0 + s2 * s2 / 4.0).sqrt();
        assert!((low - (l2 + s2 / 2.0 - half).exp()).abs() < 1e-5, "{low}");
        assert!((high - (l2 + s2 / 2.0 + half).exp()).abs() < 1e-4, "{high}");
    }
}
