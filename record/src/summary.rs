//! The run summary that both binaries print: the agent at the end of a run, and
//! `hoeveel report` from the file. One routine, so the numbers cannot drift apart.
//!
//! Figures are per request: a repetition's energy divided by the requests it did
//! (1 unless short requests were batched).

use crate::events::{Provenance, Repetition, RunStatus};
use crate::reader::Record;
use std::fmt::Write as _;

/// Location and spread of a set of values. `sd` is absent with fewer than two values.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// None for an empty set.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            n,
            mean,
            sd,
            median,
            min: sorted[0],
            max: sorted[n - 1],
        })
    }
}

/// Per-domain figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainSummary {
    pub id: String,
    pub provenance: Provenance,
    pub in_total: bool,
    pub energy_per_request_j: Spread,
}

/// Everything the summary prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub workload_label: String,
    pub workload_kind: String,
    pub requests_per_repetition: u64,
    pub batching: Option<String>,
    pub status: Option<RunStatus>,
    /// Why the run failed or was interrupted, from `run_end`.
    pub status_message: Option<String>,
    pub measured: usize,
    pub failed: usize,
    pub warmups: usize,
    pub total_provenance: Option<Provenance>,
    pub total_domains: Vec<String>,
    pub baseline_power_w: Option<f64>,
    pub gross_per_request_j: Option<Spread>,
    pub net_per_request_j: Option<Spread>,
    pub duration_per_request_s: Option<Spread>,
    /// Mean total power over the measured repetitions.
    pub mean_power_w: Option<f64>,
    pub domains: Vec<DomainSummary>,
    pub prompt_tokens_per_request: Option<Spread>,
    pub output_tokens_per_request: Option<Spread>,
    pub time_to_first_token_s: Option<Spread>,
    pub tokens_per_s: Option<Spread>,
    /// Net energy (gross where no baseline was taken) over output tokens.
    pub energy_per_output_token_j: Option<Spread>,
    /// Whether `energy_per_output_token_j` is on the net basis.
    pub energy_per_output_token_net: bool,
    pub agent_cpu_s: Option<f64>,
    pub run_duration_s: Option<f64>,
    pub modelled_note: Option<String>,
}

impl Summary {
    pub fn of(record: &Record) -> Summary {
        let start = &record.run_start;
        let ok: Vec<_> = record.measured_ok().collect();
        let per_req = |r: &Repetition, v: f64| v / r.requests.max(1) as f64;
        // The spread of one figure over the measured repetitions that have it.
        let spread = |get: &dyn Fn(&Repetition) -> Option<f64>| {
            let values: Vec<f64> = ok.iter().filter_map(|r| get(r)).collect();
            Spread::of(&values)
        };
        let total_energy: f64 = ok.iter().map(|r| r.total_energy_j).sum();
        let total_time: f64 = ok.iter().map(|r| r.duration_s).sum();
        let domains = start
            .domains
            .iter()
            .filter_map(|d| {
                let values: Vec<f64> = ok
                    .iter()
                    .filter_map(|r| r.energy_j.get(&d.id).map(|e| per_req(r, *e)))
                    .collect();
                Spread::of(&values).map(|s| DomainSummary {
                    id: d.id.clone(),
                    provenance: d.provenance,
                    in_total: d.in_total,
                    energy_per_request_j: s,
                })
            })
            .collect();
        // Per output token on the net basis when every repetition has a net
        // figure (an idle baseline was taken), else on the gross basis.
        let per_token_net = ok.iter().all(|r| r.net_energy_j.is_some());
        let per_token = spread(&|r| match r.metrics.output_tokens {
            Some(t) if t > 0 => {
                let energy_j = if per_token_net {
                    r.net_energy_j?
                } else {
                    r.total_energy_j
                };
                Some(energy_j / t as f64)
            }
            _ => None,
        });
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
        Summary {
            workload_label: start.workload.label.clone(),
            workload_kind: start.workload.kind.clone(),
            requests_per_repetition: ok.first().map(|r| r.requests).unwrap_or(1),
            batching: start.workload.batching.clone(),
            status: record.run_end.as_ref().map(|e| e.status),
            status_message: record.run_end.as_ref().and_then(|e| e.message.clone()),
            measured: record.measured().count(),
            failed: record
                .measured()
                .filter(|r| r.status != crate::events::RepetitionStatus::Ok)
                .count(),
            warmups: record.repetitions.iter().filter(|r| r.warmup).count(),
            total_provenance,
            total_domains: start
                .domains
                .iter()
                .filter(|d| d.in_total)
                .map(|d| d.id.clone())
                .collect(),
            baseline_power_w: record.baseline.as_ref().map(|b| b.total_power_w),
            gross_per_request_j: spread(&|r| Some(per_req(r, r.total_energy_j))),
            net_per_request_j: spread(&|r| r.net_energy_j.map(|n| per_req(r, n))),
            duration_per_request_s: spread(&|r| Some(per_req(r, r.duration_s))),
            mean_power_w: (total_time > 0.0).then(|| total_energy / total_time),
            domains,
            prompt_tokens_per_request: spread(&|r| {
                r.metrics.prompt_tokens.map(|t| per_req(r, t as f64))
            }),
            output_tokens_per_request: spread(&|r| {
                r.metrics.output_tokens.map(|t| per_req(r, t as f64))
            }),
            time_to_first_token_s: spread(&|r| r.metrics.time_to_first_token_s),
            tokens_per_s: spread(&|r| r.metrics.tokens_per_s),
            energy_per_output_token_j: per_token,
            energy_per_output_token_net: per_token_net,
            agent_cpu_s: record.run_end.as_ref().map(|e| e.agent_cpu_s),
            run_duration_s: record.run_end.as_ref().map(|e| e.duration_s),
            modelled_note,
        }
    }

    /// The human summary, hyperfine style.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let prov = |p: Option<Provenance>| p.map(|p| p.as_str()).unwrap_or("none");
        let _ = writeln!(
            out,
            "Workload: {} ({})",
            self.workload_label, self.workload_kind
        );
        let _ = writeln!(
            out,
            "  {} measured run(s), {} warm-up(s), {} failed; status {}",
            self.measured,
            self.warmups,
            self.failed,
            self.status
                .map(|s| s.as_str())
                .unwrap_or("unknown (no run_end)")
        );
        if let Some(m) = &self.status_message {
            let _ = writeln!(out, "  Why: {m}");
        }
        if let Some(b) = self
            .batching
            .as_ref()
            .filter(|_| self.requests_per_repetition > 1)
        {
            let _ = writeln!(
                out,
                "  {} requests per run ({b}); figures below are per request",
                self.requests_per_repetition
            );
        }
        if let Some(p) = self.baseline_power_w {
            let _ = writeln!(
                out,
                "  Idle baseline: {} [{}]",
                fmt_power(p),
                prov(self.total_provenance)
            );
        }
        let _ = writeln!(out);
        let total_label = format!("Total ({})", self.total_domains.join(" + "));
        if let Some(s) = &self.gross_per_request_j {
            let _ = writeln!(out, "  {total_label} [{}]", prov(self.total_provenance));
            let _ = writeln!(out, "    Energy, gross:  {}", fmt_spread(s, fmt_energy));
        }
        if let Some(s) = &self.net_per_request_j {
            let _ = writeln!(out, "    Energy, net:    {}", fmt_spread(s, fmt_energy));
        }
        if let Some(s) = &self.duration_per_request_s {
            let _ = writeln!(out, "    Duration:       {}", fmt_spread(s, fmt_time));
        }
        if let Some(p) = self.mean_power_w {
            let _ = writeln!(out, "    Mean power:     {}", fmt_power(p));
        }
        let one_decimal = |v: f64| format!("{v:.1}");
        if let Some(s) = &self.prompt_tokens_per_request {
            let _ = writeln!(out, "    Prompt tokens:  {}", fmt_spread(s, one_decimal));
        }
        if let Some(s) = &self.output_tokens_per_request {
            let _ = writeln!(out, "    Output tokens:  {}", fmt_spread(s, one_decimal));
        }
        if let Some(s) = &self.time_to_first_token_s {
            let _ = writeln!(out, "    First token:    {}", fmt_spread(s, fmt_time));
        }
        if let Some(s) = &self.tokens_per_s {
            let _ = writeln!(out, "    Tokens/s:       {}", fmt_spread(s, one_decimal));
        }
        if let Some(s) = &self.energy_per_output_token_j {
            let basis = if self.energy_per_output_token_net {
                "net"
            } else {
                "gross"
            };
            let _ = writeln!(
                out,
                "    Energy/token:   {}  ({basis} energy / output tokens)",
                fmt_spread(s, fmt_energy)
            );
        }
        if self.domains.len() > 1 || self.domains.iter().any(|d| !d.in_total) {
            let _ = writeln!(out, "\n  Per domain (gross energy per request):");
            for d in &self.domains {
                let _ = writeln!(
                    out,
                    "    {:<12} {}  [{}]{}",
                    d.id,
                    fmt_spread(&d.energy_per_request_j, fmt_energy),
                    d.provenance,
                    if d.in_total { "" } else { "  (not in total)" }
                );
            }
        }
        if self.gross_per_request_j.is_none() {
            let _ = writeln!(out, "  No measured repetition completed.");
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
            let _ = writeln!(out, "\n  {note}");
        }
        out
    }
}

fn fmt_spread(s: &Spread, unit: fn(f64) -> String) -> String {
    match s.sd {
        Some(sd) => format!(
            "{} ± {}   [{} … {}]",
            unit(s.mean),
            unit(sd),
            unit(s.min),
            unit(s.max)
        ),
        None => format!("{} (one run)", unit(s.mean)),
    }
}

/// Energy with a readable unit, 4 significant digits.
pub fn fmt_energy(j: f64) -> String {
    let a = j.abs();
    if a >= 3600.0 {
        format!("{:.4} Wh", j / 3600.0)
    } else if a >= 1.0 || a == 0.0 {
        format!("{j:.3} J")
    } else if a >= 1e-3 {
        format!("{:.3} mJ", j * 1e3)
    } else {
        format!("{:.3} µJ", j * 1e6)
    }
}

pub fn fmt_time(s: f64) -> String {
    let a = s.abs();
    if a >= 1.0 || a == 0.0 {
        format!("{s:.3} s")
    } else if a >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.3} µs", s * 1e6)
    }
}

pub fn fmt_power(w: f64) -> String {
    format!("{w:.3} W")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_known_values() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0]).expect("non-empty");
        assert_eq!(s.mean, 2.5);
        assert_eq!(s.median, 2.5);
        assert!((s.sd.expect("n>1") - 1.290_994_448_735_805_6).abs() < 1e-12);
        assert_eq!((s.min, s.max), (1.0, 4.0));
        assert_eq!(Spread::of(&[5.0]).expect("one").sd, None);
        assert!(Spread::of(&[]).is_none());
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
        });
        let text = Summary::of(&record).render_text();
        assert!(
            text.contains("status failed\n  Why: `python3` exited with status 1\n"),
            "{text}"
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
