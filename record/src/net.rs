//! Whether a record's net energy is resolved at all.
//!
//! Net energy is gross minus the idle baseline's power × duration. On a machine
//! that other work keeps busy, or with the CPU power model at its cap, the idle
//! baseline already draws what the repetitions draw, and every net figure comes
//! out as zero or noise (`0.000 µJ`, then `1.47e-18 g CO2e`): a number with no
//! measurement in it. So where the repetitions' mean power stands no further
//! above the baseline's than the baseline's own spread (its standard deviation
//! over its slices), or than [`NET_FLOOR_SHARE`] of the baseline's power when
//! that spread is smaller (a model at its cap does not vary), the net figure is
//! called unresolved: the summary says so instead of printing it, figures fall
//! back to gross, and the agent exits 3 (degraded).

use crate::events::Baseline;
use crate::reader::Record;

/// The least share of the baseline's power by which the repetitions must
/// exceed it for a net figure to be resolved.
pub const NET_FLOOR_SHARE: f64 = 0.01;

/// Why the net energy of `record` is not resolved; `None` where it is, or where
/// the record has no baseline (and so no net figure to judge).
pub fn unresolved(record: &Record) -> Option<String> {
    let baseline = record.baseline.as_ref()?;
    let (mut net_j, mut gross_j, mut duration_s) = (0.0, 0.0, 0.0);
    for r in record.measured_complete() {
        net_j += r.net_energy_j?;
        gross_j += r.total_energy_j;
        duration_s += r.duration_s;
    }
    if duration_s <= 0.0 {
        return None;
    }
    judge(gross_j / duration_s, net_j / duration_s, baseline)
}

/// Why a mean power of `gross_w`, `net_w` above `baseline`, resolves no net
/// figure; `None` where it does. For a record ([`unresolved`]) and for one
/// window of the measuring library alike.
pub fn judge(gross_w: f64, net_w: f64, baseline: &Baseline) -> Option<String> {
    let spread_w = baseline.total_power_sd_w.unwrap_or(0.0);
    let floor_w = NET_FLOOR_SHARE * baseline.total_power_w.abs();
    let margin_w = spread_w.max(floor_w);
    if net_w > margin_w {
        return None;
    }
    let fmt = crate::summary::fmt_power;
    let margin = if spread_w >= floor_w {
        format!("its spread, {}", fmt(spread_w))
    } else {
        format!("{:.0}% of it", 100.0 * NET_FLOOR_SHARE)
    };
    Some(format!(
        "net energy is not resolved: the repetitions drew {} on average, {} above the idle baseline's {}, which is within {margin}. The baseline already drew what the workload did (a machine kept busy by other work, or the power model at its cap), so no net figure is a measurement here; the figures are gross. Measure on a quiet machine",
        fmt(gross_w),
        fmt(net_w),
        fmt(baseline.total_power_w),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{record_with, repetition};

    fn record(baseline_w: f64, sd_w: Option<f64>, rep_w: &[f64]) -> Record {
        let mut record = record_with(
            true,
            rep_w
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let mut r = repetition(i as u32, *w);
                    r.duration_s = 1.0;
                    r.net_energy_j = Some(w - baseline_w);
                    r
                })
                .collect(),
        );
        let b = record
            .baseline
            .as_mut()
            .expect("the test record has a baseline");
        b.total_power_w = baseline_w;
        b.total_power_sd_w = sd_w;
        record
    }

    #[test]
    fn a_baseline_at_the_repetitions_power_leaves_net_unresolved() {
        // The CPU model at its cap: baseline and repetitions at 7.0 W.
        let why = unresolved(&record(7.0, Some(0.0), &[7.0, 7.0, 7.0])).expect("unresolved");
        assert!(why.starts_with("net energy is not resolved"), "{why}");
        assert!(why.contains("within 1% of it"), "{why}");
        // A busy, unsteady baseline: 0.3 W above it, within its 0.5 W spread.
        let why = unresolved(&record(20.0, Some(0.5), &[20.2, 20.4, 20.3])).expect("unresolved");
        assert!(why.contains("within its spread"), "{why}");
    }

    #[test]
    fn a_workload_clearly_above_the_baseline_is_resolved() {
        assert_eq!(
            unresolved(&record(20.0, Some(0.5), &[25.0, 26.0, 24.5])),
            None
        );
    }
}
