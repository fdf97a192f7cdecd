//! The run summary that both binaries print: the agent at the end of a run, and
//! `hoeveel report` from the file. One routine, so the numbers cannot drift apart.
//!
//! Figures are per request, from [`crate::per_request`]: a repetition's energy
//! divided by the requests it did (1 unless short requests were batched), over the
//! complete measured repetitions only, on the record's one energy basis.

use crate::events::{Provenance, RunStatus, WorkloadKind};
use crate::per_request::{EnergyBasis, LeftOut, PerRequest};
use crate::printable::line;
use crate::reader::Record;
use crate::stats::Describe;
use crate::warnings::Warning;
use std::fmt::Write as _;

/// Per-domain figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainSummary {
    pub id: String,
    pub provenance: Provenance,
    pub in_total: bool,
    pub energy_per_request_j: Describe,
}

/// Everything the summary prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub workload_label: String,
    pub workload_kind: WorkloadKind,
    pub requests_per_repetition: u64,
    pub batching: Option<String>,
    pub status: Option<RunStatus>,
    /// Why the run failed or was interrupted, from `run_end`.
    pub status_message: Option<String>,
    pub measured: usize,
    pub failed: usize,
    /// Measured repetitions stopped by Ctrl-C or a signal (not counted as failed).
    pub interrupted: usize,
    pub warmups: usize,
    /// Completed repetitions kept out of the figures (incomplete, undercounted).
    pub left_out: Vec<LeftOut>,
    /// The run finished but some repetition is incomplete or undercounted.
    pub degraded: bool,
    pub total_provenance: Option<Provenance>,
    pub total_domains: Vec<String>,
    /// The boundary rung the total reaches, and the parts it holds.
    pub rung: crate::Rung,
    pub rung_parts: String,
    pub baseline_power_w: Option<f64>,
    /// Spread of the baseline's power over its slices.
    pub baseline_power_sd_w: Option<f64>,
    /// Share of all CPUs other processes used during the baseline.
    pub baseline_other_cpu_share: Option<f64>,
    /// The machine's state at the start (governor, turbo, swap, throttling,
    /// battery), one short item each.
    pub machine: Vec<String>,
    pub gross_per_request_j: Option<Describe>,
    pub net_per_request_j: Option<Describe>,
    /// The record has net figures, but they are not resolved (see
    /// [`crate::net::unresolved`]): the summary says so instead of a number.
    pub net_unresolved: bool,
    pub duration_per_request_s: Option<Describe>,
    /// Mean total power over the measured repetitions.
    pub mean_power_w: Option<f64>,
    pub domains: Vec<DomainSummary>,
    pub prompt_tokens_per_request: Option<Describe>,
    pub output_tokens_per_request: Option<Describe>,
    pub time_to_first_token_s: Option<Describe>,
    pub tokens_per_s: Option<Describe>,
    /// Energy on `basis` over output tokens.
    pub energy_per_output_token_j: Option<Describe>,
    /// Prefill and decode apart, when the run measured prefill probes.
    pub prefill_decode: Option<crate::prefill::PrefillDecode>,
    /// The steady state of concurrent requests, when the run marked one.
    pub steady: Option<crate::steady::SteadyState>,
    /// The request's parts apart (an AI search's retrieval and generation).
    pub parts: Option<crate::parts::PartsSplit>,
    /// The record's energy basis: net where it has an idle baseline, else gross.
    pub basis: EnergyBasis,
    pub agent_cpu_s: Option<f64>,
    pub run_duration_s: Option<f64>,
    pub modelled_note: Option<String>,
    /// Everything a reader of these figures must be told.
    pub warnings: Vec<Warning>,
}

impl Summary {
    pub fn of(record: &Record) -> Summary {
        let start = &record.run_start;
        let per_request = PerRequest::auto(record);
        let net_unresolved = crate::net::unresolved(record).is_some();
        let complete: Vec<_> = record.measured_complete().collect();
        let total_energy: f64 = complete.iter().map(|r| r.total_energy_j).sum();
        let total_time: f64 = complete.iter().map(|r| r.duration_s).sum();
        let domains = start
            .domains
            .iter()
            .filter_map(|d| {
                let values: Vec<f64> = complete
                    .iter()
                    .filter_map(|r| r.energy_j.get(&d.id).map(|e| e / r.requests.max(1) as f64))
                    .collect();
                Describe::of(&values).map(|s| DomainSummary {
                    id: d.id.clone(),
                    provenance: d.provenance,
                    in_total: d.in_total,
                    energy_per_request_j: s,
                })
            })
            .collect();
        let total_provenance = record.total_provenance();
        let modelled_note = (total_provenance == Some(Provenance::Modelled)).then(|| {
            let models: Vec<String> = start
                .sensors
                .iter()
                .filter(|s| s.provenance == Provenance::Modelled)
                .map(|s| s.source.clone())
                .collect();
            let in_total = |modelled: bool| -> Vec<&str> {
                start
                    .domains
                    .iter()
                    .filter(|d| d.in_total && (d.provenance == Provenance::Modelled) == modelled)
                    .map(|d| d.id.as_str())
                    .collect()
            };
            let measured = in_total(false);
            if measured.is_empty() {
                format!(
                    "MODELLED: no energy sensor was read; these figures are estimates from {}",
                    models.join("; ")
                )
            } else {
                format!(
                    "PARTLY MODELLED: {} measured, {} estimated from {}; the total is labelled modelled",
                    measured.join(" + "),
                    in_total(true).join(" + "),
                    models.join("; ")
                )
            }
        });
        let p = &per_request;
        Summary {
            workload_label: start.workload.label.clone(),
            workload_kind: start.workload.kind,
            requests_per_repetition: p.requests_per_repetition,
            batching: start.workload.batching.clone(),
            status: record.run_end.as_ref().map(|e| e.status),
            status_message: record.run_end.as_ref().and_then(|e| e.message.clone()),
            measured: record.measured().count(),
            failed: p.failed,
            interrupted: p.interrupted,
            warmups: record.repetitions.iter().filter(|r| r.warmup).count(),
            left_out: p.left_out.clone(),
            degraded: record.run_end.as_ref().is_some_and(|e| e.degraded)
                || !p.left_out.is_empty()
                || net_unresolved,
            total_provenance,
            total_domains: start
                .domains
                .iter()
                .filter(|d| d.in_total)
                .map(|d| d.id.clone())
                .collect(),
            rung: crate::MeasuredParts::of(start).rung(),
            rung_parts: crate::MeasuredParts::of(start).describe(),
            baseline_power_w: record.baseline.as_ref().map(|b| b.total_power_w),
            baseline_power_sd_w: record.baseline.as_ref().and_then(|b| b.total_power_sd_w),
            baseline_other_cpu_share: record.baseline.as_ref().and_then(|b| b.other_cpu_share),
            machine: start
                .machine_checks
                .iter()
                .map(|c| {
                    let flag = if c.concern { "!" } else { "" };
                    format!("{flag}{} {}", machine_check_name(c.check), c.value)
                })
                .collect(),
            gross_per_request_j: Describe::of_positive(&p.gross_j),
            // An unresolved net figure is no measurement: not printed as one.
            net_per_request_j: (!net_unresolved).then(|| Describe::of(&p.net_j)).flatten(),
            net_unresolved,
            duration_per_request_s: Describe::of_positive(&p.duration_s),
            // Not printed when it is no number: a window of almost no time.
            mean_power_w: Some(total_energy / total_time)
                .filter(|p| total_time > 0.0 && p.is_finite()),
            domains,
            prompt_tokens_per_request: Describe::of_positive(&p.prompt_tokens),
            output_tokens_per_request: Describe::of_positive(&p.output_tokens),
            time_to_first_token_s: Describe::of_positive(&p.time_to_first_token_s),
            tokens_per_s: Describe::of_positive(&p.tokens_per_s),
            energy_per_output_token_j: p.per_token_stats(),
            prefill_decode: crate::prefill::PrefillDecode::of(record),
            steady: crate::steady::SteadyState::of(record),
            parts: crate::parts::PartsSplit::of(record, p.basis),
            basis: p.basis,
            agent_cpu_s: record.run_end.as_ref().map(|e| e.agent_cpu_s),
            run_duration_s: record.run_end.as_ref().map(|e| e.duration_s),
            modelled_note,
            warnings: crate::warnings::of(record),
        }
    }

    /// The human summary, hyperfine style. Every string from the record is
    /// printed through [`line()`], so none can move the cursor or forge a line.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let prov = |p: Option<Provenance>| p.map(|p| p.as_str()).unwrap_or("none");
        let _ = writeln!(
            out,
            "Workload: {} ({})",
            line(&self.workload_label),
            self.workload_kind
        );
        let interrupted = if self.interrupted > 0 {
            format!(", {} interrupted", self.interrupted)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {} measured run(s), {} warm-up(s), {} failed{interrupted}; status {}{}",
            self.measured,
            self.warmups,
            self.failed,
            self.status
                .map(|s| s.as_str())
                .unwrap_or("unknown (no run_end)"),
            if self.degraded { " (degraded)" } else { "" }
        );
        if let Some(m) = &self.status_message {
            let _ = writeln!(out, "  Why: {}", line(m));
        }
        if let Some(b) = self
            .batching
            .as_ref()
            .filter(|_| self.requests_per_repetition > 1)
        {
            let _ = writeln!(
                out,
                "  {} requests per run ({}); figures below are per request",
                self.requests_per_repetition,
                line(b)
            );
        }
        if let Some(p) = self.baseline_power_w {
            let spread = self
                .baseline_power_sd_w
                .map(|sd| format!(" ± {}", fmt_power(sd)))
                .unwrap_or_default();
            let others = self
                .baseline_other_cpu_share
                .map(|s| {
                    format!(
                        "; other processes used {:.1}% of the CPUs meanwhile",
                        100.0 * s
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  Idle baseline: {}{spread} [{}]{others}",
                fmt_power(p),
                prov(self.total_provenance)
            );
        }
        if !self.machine.is_empty() {
            let _ = writeln!(out, "  Machine: {}", line(&self.machine.join("; ")));
        }
        let _ = writeln!(out);
        let total_label = format!("Total ({})", line(&self.total_domains.join(" + ")));
        if let Some(s) = &self.gross_per_request_j {
            let _ = writeln!(out, "  {total_label} [{}]", prov(self.total_provenance));
            let _ = writeln!(
                out,
                "    Boundary:       rung {} ({}): not the whole machine, its PSU or a datacentre",
                self.rung,
                line(&self.rung_parts)
            );
            let _ = writeln!(out, "    Energy, gross:  {}", fmt_spread(s, energy_unit));
        }
        if let Some(s) = &self.net_per_request_j {
            let _ = writeln!(out, "    Energy, net:    {}", fmt_spread(s, energy_unit));
        } else if self.net_unresolved {
            let _ = writeln!(
                out,
                "    Energy, net:    not resolved (see the warning); the figures are gross"
            );
        }
        if let Some(s) = &self.duration_per_request_s {
            let _ = writeln!(out, "    Duration:       {}", fmt_spread(s, time_unit));
        }
        if let Some(p) = self.mean_power_w {
            let _ = writeln!(out, "    Mean power:     {}", fmt_power(p));
        }
        if let Some(s) = &self.prompt_tokens_per_request {
            let _ = writeln!(out, "    Prompt tokens:  {}", fmt_spread(s, count_unit));
        }
        if let Some(s) = &self.output_tokens_per_request {
            let _ = writeln!(out, "    Output tokens:  {}", fmt_spread(s, count_unit));
        }
        if let Some(s) = &self.time_to_first_token_s {
            let _ = writeln!(out, "    First token:    {}", fmt_spread(s, time_unit));
        }
        if let Some(s) = &self.tokens_per_s {
            let _ = writeln!(out, "    Tokens/s:       {}", fmt_spread(s, count_unit));
        }
        if let Some(s) = &self.energy_per_output_token_j {
            let basis = self.basis.name();
            let _ = writeln!(
                out,
                "    Energy/token:   {}  ({basis} energy / output tokens)",
                fmt_spread(s, energy_unit)
            );
        }
        let est = |e: &crate::prefill::Estimate| match (e.ci_low, e.ci_high) {
            (Some(lo), Some(hi)) => format!(
                "{} (95% CI{} {} to {})",
                fmt_energy(e.mean),
                match e.ci_method {
                    crate::stats::CiMethod::StudentT => "",
                    crate::stats::CiMethod::LogNormalCox => ", log-normal",
                },
                fmt_energy(lo),
                fmt_energy(hi)
            ),
            _ => fmt_energy(e.mean),
        };
        if let Some(p) = &self.prefill_decode {
            let _ = writeln!(
                out,
                "    Prefill:        {} per query, {}  (probes of 1 generated token, n = {})",
                est(&p.prefill_j),
                p.prefill_per_input_token_j.as_ref().map_or_else(
                    || "no prompt token count for a per-token figure".to_string(),
                    |e| format!("{} per input token", est(e))
                ),
                p.prefill_j.n
            );
            let _ = writeln!(
                out,
                "    Decode:         {} per output token  (whole request minus prefill, over the tokens after the first; {} energy)",
                est(&p.decode_per_output_token_j),
                p.basis.name()
            );
        }
        if let Some(st) = &self.steady {
            match (&st.per_output_token_j, &st.per_response_j) {
                (Some(token), response) => {
                    let _ = writeln!(
                        out,
                        "    Steady state:   {} per output token{}  ({} requests in flight; {} of {} repetitions had one, mean window {}; {} energy)",
                        est(token),
                        response
                            .as_ref()
                            .map_or_else(String::new, |r| format!(", {} per response", est(r))),
                        st.in_flight,
                        st.windows,
                        st.repetitions,
                        st.window_s.map_or_else(|| "–".to_string(), fmt_time),
                        st.basis.name()
                    );
                }
                (None, _) => {
                    let _ = writeln!(
                        out,
                        "    Steady state:   none in {} repetitions of {} requests in flight: {}",
                        st.repetitions,
                        st.in_flight,
                        line(
                            st.why_none
                                .first()
                                .map_or("no window held a token", String::as_str)
                        )
                    );
                }
            }
        }
        if let Some(split) = &self.parts {
            for part in &split.parts {
                let share = part.share.map_or_else(String::new, |s| {
                    format!(", {:.1}% of the request", 100.0 * s)
                });
                let label = format!("{}:", capitalised(part.name.as_str()));
                let _ = writeln!(
                    out,
                    "    {label:<15} {} {} per request{share}  [{}]",
                    fmt_energy(part.energy_j.mean),
                    split.basis.name(),
                    prov(self.total_provenance)
                );
            }
        }
        if self.domains.len() > 1 || self.domains.iter().any(|d| !d.in_total) {
            let _ = writeln!(out, "\n  Per domain (gross energy per request):");
            for d in &self.domains {
                let _ = writeln!(
                    out,
                    "    {:<12} {}  [{}]{}",
                    line(&d.id),
                    fmt_spread(&d.energy_per_request_j, energy_unit),
                    d.provenance,
                    if d.in_total { "" } else { "  (not in total)" }
                );
            }
        }
        if self.gross_per_request_j.is_none() {
            let _ = writeln!(out, "  No measured repetition completed.");
        }
        if !self.left_out.is_empty() {
            let _ = writeln!(
                out,
                "\n  Left out of the figures above ({} of {} measured runs):",
                self.left_out.len(),
                self.measured
            );
            for l in &self.left_out {
                let _ = writeln!(
                    out,
                    "    run {:<3} {} gross  ({})",
                    l.index,
                    fmt_energy(l.gross_j),
                    line(&l.reason)
                );
            }
        }
        if let (Some(cpu), Some(wall)) = (self.agent_cpu_s, self.run_duration_s) {
            let _ = writeln!(
                out,
                "\n  Agent overhead: {} CPU over a {} run ({:.2}% of one core)",
                fmt_time(cpu),
                fmt_time(wall),
                if wall > 0.0 { 100.0 * cpu / wall } else { 0.0 }
            );
        }
        if let Some(note) = &self.modelled_note {
            let _ = writeln!(out, "\n  {}", line(note));
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\n  Warnings:");
            for w in &self.warnings {
                let _ = writeln!(out, "    ! {}", line(&w.to_string()));
            }
        }
        out
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A short name for a machine check in the summary's one line.
fn machine_check_name(kind: crate::events::MachineCheckKind) -> &'static str {
    use crate::events::MachineCheckKind as K;
    match kind {
        K::Governor => "governor",
        K::Turbo => "turbo",
        K::Swap => "swap KiB",
        K::ThermalThrottle => "throttle events",
        K::OnBattery => "on battery",
        K::OtherCpu => "other CPU share",
    }
}

fn fmt_spread(s: &Describe, unit: fn(f64) -> Scaled) -> String {
    // One unit for the figure and its spread, chosen by the mean (or the largest
    // value when the mean is zero): "9.967 J ± 0.788 J", never "9.967 J ± 787.9 mJ".
    let reference = if s.mean != 0.0 {
        s.mean
    } else {
        s.max.abs().max(s.min.abs())
    };
    let scaled = unit(reference);
    let f = |v: f64| scaled.format(v);
    match s.sd {
        Some(sd) => format!("{} ± {}   [{} … {}]", f(s.mean), f(sd), f(s.min), f(s.max)),
        None => format!("{} (one run)", f(s.mean)),
    }
}

/// A unit picked for one value, to format others in the same unit.
#[derive(Debug, Clone, Copy)]
pub struct Scaled {
    pub unit: &'static str,
    pub per_unit: f64,
    pub decimals: usize,
}

impl Scaled {
    pub fn format(&self, v: f64) -> String {
        let sep = if self.unit.is_empty() { "" } else { " " };
        format!("{:.*}{sep}{}", self.decimals, v / self.per_unit, self.unit)
    }
}

/// The unit an energy reads best in.
pub fn energy_unit(j: f64) -> Scaled {
    let a = j.abs();
    let (unit, per_unit, decimals) = if a >= 3600.0 {
        ("Wh", 3600.0, 4)
    } else if a >= 1.0 || a == 0.0 {
        ("J", 1.0, 3)
    } else if a >= 1e-3 {
        ("mJ", 1e-3, 3)
    } else {
        ("µJ", 1e-6, 3)
    };
    Scaled {
        unit,
        per_unit,
        decimals,
    }
}

/// The unit a duration reads best in.
pub fn time_unit(s: f64) -> Scaled {
    let a = s.abs();
    let (unit, per_unit) = if a >= 1.0 || a == 0.0 {
        ("s", 1.0)
    } else if a >= 1e-3 {
        ("ms", 1e-3)
    } else {
        ("µs", 1e-6)
    };
    Scaled {
        unit,
        per_unit,
        decimals: 3,
    }
}

fn count_unit(_: f64) -> Scaled {
    Scaled {
        unit: "",
        per_unit: 1.0,
        decimals: 1,
    }
}

/// Energy with a readable unit, 4 significant digits.
pub fn fmt_energy(j: f64) -> String {
    energy_unit(j).format(j)
}

pub fn fmt_time(s: f64) -> String {
    time_unit(s).format(s)
}

pub fn fmt_power(w: f64) -> String {
    format!("{w:.3} W")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_and_its_spread_share_one_unit() {
        let d = Describe::of(&[9.2, 10.8, 9.9]).expect("values");
        let text = fmt_spread(&d, energy_unit);
        assert!(text.starts_with("9.967 J ± 0.80"), "{text}");
        assert!(!text.contains("mJ"), "{text}");
    }

    #[test]
    fn energy_units_scale() {
        assert_eq!(fmt_energy(0.0123), "12.300 mJ");
        assert_eq!(fmt_energy(7200.0), "2.0000 Wh");
    }
    /// Two measured LLM repetitions with known metrics, as the agent writes them.
    fn llm_record(with_baseline: bool) -> Record {
        let mut text = String::from(
            r#"{"type":"run_start","data":{"schema_version":"1.0","agent_version":"0.1.0","started_at":"2026-11-28T18:36:17.876Z","host":{"hostname":"test","os":"Linux","kernel":"6","cpu_model":"cpu","logical_cpus":2,"memory_bytes":1,"virtualized":null},"gpus":[],"sensors":[{"kind":"model","provenance":"modelled","domains":["cpu-model"],"source":"power model test","details":{}}],"domains":[{"id":"cpu-model","kind":"cpu_model","sensor":"model","provenance":"modelled","in_total":true,"reason":"test"}],"total_rule":"cpu-model","unavailable":[],"workload":{"kind":"llm","label":"test-model","batching":null,"details":{}},"settings":{"runs":2,"warmup":0,"baseline_s":1.0,"interval_s":0.1,"ignore_failure":false,"sysfs_root":"/sys"}}}"#,
        );
        text.push('\n');
        if with_baseline {
            text.push_str(r#"{"type":"baseline","data":{"start_s":0.0,"duration_s":1.0,"energy_j":{"cpu-model":1.0},"power_w":{"cpu-model":1.0},"total_power_w":1.0}}"#);
            text.push('\n');
        }
        for (i, (gross, ttft, rate)) in [(10.0, 0.05, 40.0), (14.0, 0.07, 60.0)].iter().enumerate()
        {
            let net = if with_baseline {
                format!("{}", gross - 2.0)
            } else {
                "null".into()
            };
            text.push_str(&format!(
                r#"{{"type":"repetition","data":{{"index":{i},"warmup":false,"status":"ok","start_s":1.0,"duration_s":2.0,"energy_j":{{"cpu-model":{gross}}},"total_energy_j":{gross},"net_energy_j":{net},"wraps_corrected":[],"requests":1,"exit_code":null,"error":null,"metrics":{{"prompt_tokens":8,"output_tokens":100,"time_to_first_token_s":{ttft},"tokens_per_s":{rate}}}}}}}"#
            ));
            text.push('\n');
        }
        crate::reader::read_record_str(&text, std::path::Path::new("llm.jsonl")).expect("parses")
    }

    #[test]
    fn strings_from_the_record_cannot_forge_a_line_or_reach_the_terminal() {
        let mut record =
            crate::testdata::record_with(false, vec![crate::testdata::repetition(0, 5.0)]);
        record.run_start.workload.label = "x\n    Energy, gross:  0.000 J\u{1b}[2J".into();
        record.run_start.domains[0].id = "cpu\u{9b}1m".into();
        record.warnings.push("cut\rshort\u{7}".into());
        let text = Summary::of(&record).render_text();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.starts_with("Workload: x\\x0a    Energy, gross:  0.000 J\\x1b[2J (command)\n"),
            "{text}"
        );
        assert_eq!(text.matches("Energy, gross:").count(), 2, "{text}");
        assert!(text.contains("Total (cpu\\u{9b}1m)"), "{text}");
        assert!(text.contains("! cut\\x0dshort\\x07"), "{text}");
    }

    #[test]
    fn a_mean_power_that_is_not_a_finite_number_is_not_printed() {
        // Built in memory, past the reader's bounds: 1 PJ in 1e-310 s.
        let mut r = crate::testdata::repetition(0, 1e15);
        r.duration_s = 1e-310;
        let record = crate::testdata::record_with(false, vec![r]);
        let text = Summary::of(&record).render_text();
        assert!(text.contains("Energy, gross:"), "{text}");
        assert!(!text.contains("Mean power"), "{text}");
        assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
    }

    #[test]
    fn llm_metrics_are_printed() {
        let summary = Summary::of(&llm_record(true));
        let text = summary.render_text();
        for line in [
            "Prompt tokens:  8.0 ± 0.0",
            "Output tokens:  100.0 ± 0.0",
            "First token:    60.000 ms ± 14.142 ms   [50.000 ms … 70.000 ms]",
            "Tokens/s:       50.0 ± 14.1   [40.0 … 60.0]",
            // net: (8 J and 12 J) / 100 tokens
            "Energy/token:   100.000 mJ ± 28.284 mJ   [80.000 mJ … 120.000 mJ]  (net energy / output tokens)",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
    }

    #[test]
    fn a_total_with_a_measured_gpu_and_a_modelled_cpu_says_partly_modelled() {
        let mut record = llm_record(true);
        let text = Summary::of(&record).render_text();
        assert!(text.contains("MODELLED: no energy sensor was read; these figures are estimates from power model test"), "{text}");
        let mut gpu = record.run_start.domains[0].clone();
        gpu.id = "gpu-0".into();
        gpu.kind = crate::events::DomainKind::Gpu;
        gpu.provenance = Provenance::Counter;
        record.run_start.domains.push(gpu);
        let text = Summary::of(&record).render_text();
        assert!(
            text.contains("PARTLY MODELLED: gpu-0 measured, cpu-model estimated from power model test; the total is labelled modelled"),
            "{text}"
        );
        assert!(!text.contains("no energy sensor was read"), "{text}");
    }

    #[test]
    fn why_a_run_failed_is_printed() {
        let mut record = llm_record(true);
        assert!(!Summary::of(&record).render_text().contains("Why:"));
        record.run_end = Some(crate::events::RunEnd {
            status: RunStatus::Failed,
            ended_at: "2026-11-28T18:41:51.746Z".into(),
            duration_s: 2.0,
            repetitions: 2,
            agent_cpu_s: 0.01,
            agent_max_rss_bytes: None,
            message: Some("`python3` exited with status 1".into()),
            degraded: false,
        });
        let text = Summary::of(&record).render_text();
        assert!(
            text.contains("status failed\n  Why: `python3` exited with status 1\n"),
            "{text}"
        );
    }

    #[test]
    fn the_baseline_line_gives_its_spread_and_other_load_and_the_machine_line_its_state() {
        let mut record = llm_record(true);
        if let Some(b) = record.baseline.as_mut() {
            b.total_power_sd_w = Some(0.05);
            b.other_cpu_share = Some(0.021);
        }
        record.run_start.machine_checks = vec![
            crate::events::MachineCheck {
                check: crate::events::MachineCheckKind::Governor,
                value: "powersave".into(),
                concern: false,
                message: "governor powersave".into(),
            },
            crate::events::MachineCheck {
                check: crate::events::MachineCheckKind::OnBattery,
                value: "true".into(),
                concern: true,
                message: "on battery: the power limits and frequencies differ from mains".into(),
            },
        ];
        let text = Summary::of(&record).render_text();
        assert!(
            text.contains("  Idle baseline: 1.000 W ± 0.050 W [modelled]; other processes used 2.1% of the CPUs meanwhile\n"),
            "{text}"
        );
        assert!(
            text.contains("  Machine: governor powersave; !on battery true\n"),
            "{text}"
        );
        assert!(
            text.contains("! machine: on battery: the power limits"),
            "a concern is also a warning: {text}"
        );
    }

    #[test]
    fn energy_per_token_without_baseline_says_gross() {
        let text = Summary::of(&llm_record(false)).render_text();
        assert!(
            text.contains("Energy/token:   120.000 mJ ± 28.284 mJ   [100.000 mJ … 140.000 mJ]  (gross energy / output tokens)"),
            "{text}"
        );
    }
}
