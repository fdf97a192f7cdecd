//! Everything in a record that a reader of its figures must be told: sensor
//! warnings written during the run, repetitions left out or too short for the
//! sensors, a baseline taken on a busy machine, a cut file. The agent's summary
//! and every analysis command print these, so a warning written to the record is
//! never shown nowhere.

use crate::events::{NoticeLevel, Repetition};
use crate::reader::Record;
use serde::Serialize;

/// Share of the machine's CPUs used by other processes during the baseline above
/// which the baseline is called busy: the idle power is subtracted from every
/// repetition, so other load there shrinks every net figure. An idle desktop's
/// daemons stay near 1–2%; above 5% something is working. The agent's machine
/// check uses the same threshold.
pub const BUSY_BASELINE_SHARE: f64 = 0.05;

/// Relative spread (sd / mean) of the baseline's total power above which it is
/// called unsteady.
pub const UNSTEADY_BASELINE_SPREAD: f64 = 0.10;

/// One warning, with the measured repetitions it concerns (empty: the whole run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub message: String,
    pub repetitions: Vec<u32>,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if !self.repetitions.is_empty() {
            write!(f, " [repetitions {}]", list(&self.repetitions))?;
        }
        Ok(())
    }
}

/// The warnings of one record, in the order a reader needs them.
pub fn of(record: &Record) -> Vec<Warning> {
    let mut out: Vec<Warning> = record
        .warnings
        .iter()
        .map(|w| Warning {
            message: w.clone(),
            repetitions: Vec::new(),
        })
        .collect();
    for check in record.run_start.machine_checks.iter().filter(|c| c.concern) {
        out.push(Warning {
            message: format!("machine: {}", check.message),
            repetitions: Vec::new(),
        });
    }
    for notice in record
        .notices
        .iter()
        .filter(|n| n.level == NoticeLevel::Warning)
    {
        let during = record.repetitions.iter().find(|r| {
            r.start_s - 1e-9 <= notice.t_s && notice.t_s <= r.start_s + r.duration_s + 1e-9
        });
        let (when, repetitions) = match during {
            Some(r) if r.warmup => (format!("during warm-up {}", r.index), Vec::new()),
            Some(r) => (format!("during repetition {}", r.index), vec![r.index]),
            None => ("between repetitions".to_string(), Vec::new()),
        };
        let sensor = notice
            .sensor
            .as_ref()
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        out.push(Warning {
            message: format!(
                "at {:.3} s ({when}): {sensor}{}",
                notice.t_s, notice.message
            ),
            repetitions,
        });
    }
    let measured: Vec<&Repetition> = record.measured().collect();
    let left_out: Vec<&Repetition> = measured
        .iter()
        .copied()
        .filter(|r| r.status == crate::events::RepetitionStatus::Ok && !r.is_complete())
        .collect();
    // One warning per reason, naming every repetition it concerns.
    let mut reasons: Vec<(String, Vec<u32>)> = Vec::new();
    for r in &left_out {
        let reason = r.incompleteness();
        match reasons.iter_mut().find(|(why, _)| *why == reason) {
            Some((_, indices)) => indices.push(r.index),
            None => reasons.push((reason, vec![r.index])),
        }
    }
    for (reason, indices) in reasons {
        let (which, verb) = if indices.len() == 1 {
            (format!("repetition {}", indices[0]), "is")
        } else {
            (format!("{} repetitions", indices.len()), "are")
        };
        out.push(Warning {
            message: format!("{which} {verb} {reason}; left out of the per-request figures"),
            repetitions: indices,
        });
    }
    let short: Vec<&Repetition> = measured
        .iter()
        .copied()
        .filter(|r| r.too_short.is_some())
        .collect();
    if let Some(w) = short.first().and_then(|r| r.too_short.as_ref()) {
        out.push(Warning {
            message: format!(
                "{} of {} repetitions lasted less than {} (10 update periods of the slowest sensor in the total, {}): their energy is resolved coarsely. Batch requests so that one repetition lasts longer (`run --batch N` or `--batch auto`)",
                short.len(),
                measured.len(),
                crate::summary::fmt_time(w.min_window_s),
                w.slowest_sensor
            ),
            repetitions: short.iter().map(|r| r.index).collect(),
        });
    }
    if let Some(why) = crate::net::unresolved(record) {
        out.push(Warning {
            message: why,
            repetitions: Vec::new(),
        });
    }
    if let Some(b) = &record.baseline {
        out.extend(of_baseline(b));
    }
    out
}

/// What a reader must know of an idle baseline: taken on a busy machine, or
/// unsteady. The agent's records and the library's windows say the same.
pub fn of_baseline(b: &crate::events::Baseline) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(share) = b.other_cpu_share.filter(|s| *s > BUSY_BASELINE_SHARE) {
        out.push(Warning {
            message: format!(
                "the idle baseline was measured on a busy machine: other processes used {:.1}% of the CPUs (more than {:.0}%), so every net figure is too low. Measure on a quiet machine, or use gross figures",
                100.0 * share,
                100.0 * BUSY_BASELINE_SHARE
            ),
            repetitions: Vec::new(),
        });
    }
    if let Some(sd) = b.total_power_sd_w {
        let spread = sd / b.total_power_w.abs().max(f64::MIN_POSITIVE);
        if spread > UNSTEADY_BASELINE_SPREAD {
            out.push(Warning {
                message: format!(
                    "the idle baseline was unsteady: its power varied by {:.0}% (sd {} over a mean of {}), so net figures carry that uncertainty",
                    100.0 * spread,
                    crate::summary::fmt_power(sd),
                    crate::summary::fmt_power(b.total_power_w)
                ),
                repetitions: Vec::new(),
            });
        }
    }
    out
}

/// `0, 2–5, 7`: indices as short runs.
fn list(indices: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if end > start + 1 {
            format!("{start}–{end}")
        } else if end == start + 1 {
            format!("{start}, {end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Notice, ShortWindow};
    use crate::testdata::{record_with, repetition};

    #[test]
    fn a_warning_notice_names_the_repetition_it_fell_in() {
        let mut record = record_with(true, vec![repetition(0, 10.0), repetition(1, 10.0)]);
        record.notices.push(Notice {
            t_s: 3.5,
            level: NoticeLevel::Warning,
            sensor: Some(crate::SensorKind::Nvml),
            message: "sensor lost".into(),
        });
        record.notices.push(Notice {
            t_s: 3.6,
            level: NoticeLevel::Info,
            sensor: None,
            message: "batched".into(),
        });
        let w = of(&record);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(
            w[0].to_string(),
            "at 3.500 s (during repetition 1): nvml: sensor lost [repetitions 1]"
        );
    }

    #[test]
    fn left_out_short_and_busy_are_each_named() {
        let mut lost = repetition(1, 3.0);
        lost.incomplete = vec!["gpu-0".into()];
        let mut reps = vec![repetition(0, 10.0), lost];
        for r in &mut reps {
            r.too_short = Some(ShortWindow {
                min_window_s: 1.0,
                slowest_sensor: crate::SensorKind::Nvml,
            });
        }
        let mut record = record_with(true, reps);
        if let Some(b) = record.baseline.as_mut() {
            b.other_cpu_share = Some(0.4);
            b.total_power_sd_w = Some(0.5);
        }
        let text: Vec<String> = of(&record).iter().map(|w| w.to_string()).collect();
        assert!(
            text[0].starts_with("repetition 1 is incomplete: gpu-0 not measured"),
            "{text:?}"
        );
        assert!(text[1].starts_with("2 of 2 repetitions lasted less than 1.000 s (10 update periods of the slowest sensor in the total, nvml)"), "{text:?}");
        assert!(text[1].ends_with("[repetitions 0, 1]"), "{text:?}");
        assert!(
            text[2].contains("other processes used 40.0% of the CPUs"),
            "{text:?}"
        );
        assert!(text[3].contains("varied by 50%"), "{text:?}");
    }

    #[test]
    fn index_lists_are_short() {
        assert_eq!(list(&[0, 1, 2, 3, 5, 7, 8]), "0–3, 5, 7, 8");
    }
}
