//! A profile number that is either known (`1.14`) or only bounded
//! (`{ low = 1.04, high = 1.15 }`), so that unknown values are carried as ranges
//! instead of being replaced by a guess.

use hoeveel_record::stats::Interval;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    Value(f64),
    Range {
        low: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        typical: Option<f64>,
        high: f64,
    },
}

impl Quantity {
    pub fn low(&self) -> f64 {
        match *self {
            Quantity::Value(v) => v,
            Quantity::Range { low, .. } => low,
        }
    }

    pub fn high(&self) -> f64 {
        match *self {
            Quantity::Value(v) => v,
            Quantity::Range { high, .. } => high,
        }
    }

    /// The typical value where one is given; absent for a bare range, because the
    /// midpoint of a bound is not a measurement.
    pub fn typical(&self) -> Option<f64> {
        match *self {
            Quantity::Value(v) => Some(v),
            Quantity::Range { typical, .. } => typical,
        }
    }

    pub fn is_range(&self) -> bool {
        matches!(self, Quantity::Range { .. })
    }

    pub fn interval(&self) -> Interval {
        Interval {
            low: self.low(),
            typical: self.typical(),
            high: self.high(),
        }
    }

    /// Every number in it, for range checks.
    pub fn values(&self) -> Vec<f64> {
        match *self {
            Quantity::Value(v) => vec![v],
            Quantity::Range { low, typical, high } => {
                let mut v = vec![low, high];
                v.extend(typical);
                v
            }
        }
    }

    /// Readable: `1.14` or `1.04–1.15`.
    pub fn display(&self, digits: usize) -> String {
        match *self {
            Quantity::Value(v) => format!("{v:.digits$}"),
            Quantity::Range {
                low,
                typical: Some(t),
                high,
            } => format!("{t:.digits$} ({low:.digits$}–{high:.digits$})"),
            Quantity::Range { low, high, .. } => format!("{low:.digits$}–{high:.digits$}"),
        }
    }
}
