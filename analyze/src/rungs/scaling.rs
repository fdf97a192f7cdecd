//! Power laws fitted to measurements: y = k · x^b on log axes.
//!
//! Used for search energy per query against corpus size and energy per output
//! token against model size. The exponent's 95% interval comes from a percentile
//! bootstrap over each point's repetitions (fixed seed, so a report is
//! reproducible). A fit used outside the x range it was measured on is
//! *extrapolated*, and says so.

use crate::stats::{BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, SplitMix64, mean};
use serde::Serialize;

/// One measured point: x (documents, parameters) and the per-request values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub x: f64,
    pub y: Vec<f64>,
    /// Which record it came from.
    pub record: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// b in y = k · x^b.
    pub exponent: f64,
    pub exponent_low: f64,
    pub exponent_high: f64,
    /// ln k.
    pub ln_k: f64,
    pub x_min: f64,
    pub x_max: f64,
    pub points: Vec<Point>,
}

/// Why no fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{0} point(s) with positive values; a fit needs at least {1}")]
    TooFewPoints(usize, usize),
    #[error("the points span {0:.2} decades of x; at least {1} is needed")]
    TooNarrow(f64, f64),
}

/// Least-squares slope and intercept of ln y on ln x over the points' means.
fn ols(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let b = sxy / sxx;
    (b, my - b * mx)
}

/// Fits y = k · x^b to `points`, which need `min_points` distinct x with positive
/// means spanning at least `min_decades` decades.
pub fn fit(points: Vec<Point>, min_points: usize, min_decades: f64) -> Result<Fit, FitError> {
    let mut points: Vec<Point> = points
        .into_iter()
        .filter(|p| p.x > 0.0 && !p.y.is_empty() && mean(&p.y) > 0.0)
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    points.dedup_by(|a, b| a.x == b.x);
    if points.len() < min_points.max(2) {
        return Err(FitError::TooFewPoints(points.len(), min_points.max(2)));
    }
    let (x_min, x_max) = (points[0].x, points[points.len() - 1].x);
    let decades = (x_max / x_min).log10();
    if decades < min_decades {
        return Err(FitError::TooNarrow(decades, min_decades));
    }
    let lx: Vec<f64> = points.iter().map(|p| p.x.ln()).collect();
    let ly: Vec<f64> = points.iter().map(|p| mean(&p.y).ln()).collect();
    let (b, a) = ols(&lx, &ly);
    let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
    let mut slopes = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let ys: Vec<f64> = points
            .iter()
            .map(|p| {
                let m = (0..p.y.len())
                    .map(|_| p.y[rng.below(p.y.len())])
                    .sum::<f64>()
                    / p.y.len() as f64;
                m.max(f64::MIN_POSITIVE).ln()
            })
            .collect();
        slopes.push(ols(&lx, &ys).0);
    }
    slopes.sort_by(f64::total_cmp);
    let at = |q: f64| slopes[((slopes.len() - 1) as f64 * q).round() as usize];
    Ok(Fit {
        exponent: b,
        exponent_low: at(0.025),
        exponent_high: at(0.975),
        ln_k: a,
        x_min,
        x_max,
        points,
    })
}

/// What the fit says of going from `x_from` to `x_to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scaled {
    /// (x_to / x_from)^b, with the exponent's interval.
    pub factor: f64,
    pub factor_low: f64,
    pub factor_high: f64,
    /// Either end lies outside the measured range.
    pub extrapolated: bool,
}

impl Fit {
    pub fn scale(&self, x_from: f64, x_to: f64) -> Scaled {
        let r = x_to / x_from;
        let (a, b) = (r.powf(self.exponent_low), r.powf(self.exponent_high));
        let inside = |x: f64| x >= self.x_min * (1.0 - 1e-9) && x <= self.x_max * (1.0 + 1e-9);
        Scaled {
            factor: r.powf(self.exponent),
            factor_low: a.min(b),
            factor_high: a.max(b),
            extrapolated: !(inside(x_from) && inside(x_to)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: &[f64]) -> Point {
        Point {
            x,
            y: y.to_vec(),
            record: format!("{x}.jsonl"),
        }
    }

    #[test]
    fn an_exact_power_law_is_recovered() {
        // y = 2 x^0.5, with a little noise that averages out at each point.
        let pts = [100.0, 1_000.0, 10_000.0]
            .map(|x: f64| point(x, &[2.0 * x.sqrt() * 0.99, 2.0 * x.sqrt() * 1.01]));
        let f = fit(pts.to_vec(), 3, 1.0).expect("fit");
        assert!((f.exponent - 0.5).abs() < 1e-12, "{}", f.exponent);
        assert!(f.exponent_low <= 0.5 && f.exponent_high >= 0.5);
        let s = f.scale(10_000.0, 1e11);
        assert!(s.extrapolated);
        assert!((s.factor - 1e7f64.sqrt()).abs() / s.factor < 1e-9);
        assert!(!f.scale(100.0, 1_000.0).extrapolated);
    }

    #[test]
    fn too_few_or_too_close_points_are_refused() {
        let two = vec![point(100.0, &[1.0]), point(1_000.0, &[2.0])];
        assert_eq!(fit(two, 3, 1.0), Err(FitError::TooFewPoints(2, 3)));
        let close = vec![
            point(100.0, &[1.0]),
            point(200.0, &[2.0]),
            point(300.0, &[3.0]),
        ];
        assert!(matches!(fit(close, 3, 1.0), Err(FitError::TooNarrow(..))));
    }
}
