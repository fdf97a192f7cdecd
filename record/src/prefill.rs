//! An LLM request's energy split into the prompt (prefill) and the generated
//! tokens (decode), the way AI Energy Score does it: probe repetitions that
//! generate one token measure the prefill; the rest of a whole request is decode.
//!
//! - prefill per query: the probes' energy per request (mean, 95% Student-t CI);
//! - per input token: each probe's energy over its prompt tokens;
//! - decode per output token: (mean whole request − mean prefill) / (mean output
//!   tokens − 1), the probe having generated the first token; the interval comes
//!   from the difference of two independent means (Welch: standard error
//!   √(s₁²/n₁ + s₂²/n₂), Welch–Satterthwaite degrees of freedom), divided by the
//!   same token count.
//!
//! Energies are on the record's basis (net with an idle baseline, else gross).

use crate::events::{Probe, Repetition};
use crate::per_request::{EnergyBasis, PerRequest};
use crate::reader::Record;
use crate::stats::{CONFIDENCE, CiMethod, Describe, t_quantile};
use serde::Serialize;

/// A mean with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Repetitions it rests on.
    pub n: usize,
    /// How the interval was found.
    pub ci_method: CiMethod,
}

impl Estimate {
    pub(crate) fn of(d: &Describe) -> Estimate {
        Estimate {
            mean: d.mean,
            ci_low: d.ci_low,
            ci_high: d.ci_high,
            n: d.n,
            ci_method: d.ci_method,
        }
    }
}

/// Statistics of probe energies on `basis`: gross ones cannot be negative.
fn describe_on(basis: EnergyBasis, values: &[f64]) -> Option<Describe> {
    match basis {
        EnergyBasis::Gross => Describe::of_positive(values),
        EnergyBasis::Net => Describe::of(values),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefillDecode {
    pub basis: EnergyBasis,
    /// Energy of the prompt's evaluation and the first token, per query.
    pub prefill_j: Estimate,
    /// `None` when the probes carry no prompt token count (a server that does
    /// not report it).
    pub prefill_per_input_token_j: Option<Estimate>,
    /// Energy per generated token after the first.
    pub decode_per_output_token_j: Estimate,
}

fn energy(r: &Repetition, basis: EnergyBasis) -> Option<f64> {
    let n = r.requests.max(1) as f64;
    match basis {
        EnergyBasis::Net => r.net_energy_j.map(|e| e / n),
        EnergyBasis::Gross => Some(r.total_energy_j / n),
    }
}

impl PrefillDecode {
    /// The split, when the record has prefill probes and whole requests with
    /// token counts; `None` otherwise.
    pub fn of(record: &Record) -> Option<PrefillDecode> {
        let whole = PerRequest::auto(record);
        let basis = whole.basis;
        let probes: Vec<&Repetition> = record.probes(Probe::Prefill).collect();
        let prefill: Vec<f64> = probes.iter().filter_map(|r| energy(r, basis)).collect();
        let per_input: Vec<f64> = probes
            .iter()
            .filter_map(|r| {
                let tokens = r.metrics.prompt_tokens.filter(|t| *t > 0)? as f64;
                Some(energy(r, basis)? / tokens)
            })
            .collect();
        let prefill_d = describe_on(basis, &prefill)?;
        let whole_d = Describe::of(&whole.energy_j)?;
        let output = Describe::of(&whole.output_tokens)?;
        let decoded_tokens = output.mean - 1.0;
        if decoded_tokens <= 0.0 {
            return None;
        }
        let diff = whole_d.mean - prefill_d.mean;
        let (ci_low, ci_high) = match (whole_d.sd, prefill_d.sd) {
            (Some(s1), Some(s2)) => {
                let (n1, n2) = (whole_d.n as f64, prefill_d.n as f64);
                let (v1, v2) = (s1 * s1 / n1, s2 * s2 / n2);
                let se = (v1 + v2).sqrt();
                let df = (v1 + v2).powi(2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
                let t = if df.is_finite() && df > 0.0 {
                    t_quantile(0.5 + CONFIDENCE / 2.0, df)
                } else {
                    f64::NAN
                };
                if (t * se).is_finite() {
                    (
                        Some((diff - t * se) / decoded_tokens),
                        Some((diff + t * se) / decoded_tokens),
                    )
                } else {
                    (None, None)
                }
            }
            _ => (None, None),
        };
        Some(PrefillDecode {
            basis,
            prefill_j: Estimate::of(&prefill_d),
            prefill_per_input_token_j: describe_on(basis, &per_input).map(|d| Estimate::of(&d)),
            decode_per_output_token_j: Estimate {
                mean: diff / decoded_tokens,
                ci_low,
                ci_high,
                n: whole_d.n.min(prefill_d.n),
                ci_method: CiMethod::StudentT,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{record_with, repetition};

    fn llm(index: u32, gross_j: f64, prompt: u64, output: u64, probe: bool) -> Repetition {
        let mut r = repetition(index, gross_j);
        r.metrics.prompt_tokens = Some(prompt);
        r.metrics.output_tokens = Some(output);
        r.probe = probe.then_some(Probe::Prefill);
        r
    }

    #[test]
    fn prefill_and_decode_come_from_probes_and_whole_requests() {
        // Net = gross − 2 J (testdata's baseline). Whole requests: 11 tokens,
        // net 12 and 14 J; probes (1 token, 20 prompt tokens): net 2 and 4 J.
        let record = record_with(
            true,
            vec![
                llm(0, 14.0, 20, 11, false),
                llm(1, 16.0, 20, 11, false),
                llm(0, 4.0, 20, 1, true),
                llm(1, 6.0, 20, 1, true),
            ],
        );
        let p = PrefillDecode::of(&record).expect("split");
        assert_eq!(p.basis, EnergyBasis::Net);
        assert!((p.prefill_j.mean - 3.0).abs() < 1e-12);
        let per_input = p.prefill_per_input_token_j.expect("prompt tokens counted");
        assert!((per_input.mean - 0.15).abs() < 1e-12);
        // (13 − 3) / (11 − 1) = 1 J per output token.
        assert!((p.decode_per_output_token_j.mean - 1.0).abs() < 1e-12);
        let (lo, hi) = (
            p.decode_per_output_token_j.ci_low.expect("an interval"),
            p.decode_per_output_token_j.ci_high.expect("an interval"),
        );
        // Welch: se = √(2/2 + 2/2) = √2, df = 2, t(0.975, 2) = 4.303.
        let half = 4.302_652_729_911_275 * 2f64.sqrt() / 10.0;
        assert!((hi - 1.0 - half).abs() < 1e-6, "{lo}..{hi}");
        assert!((1.0 - lo - half).abs() < 1e-6, "{lo}..{hi}");
        // Probes are not requests.
        assert_eq!(record.measured().count(), 2);
    }

    #[test]
    fn probes_without_a_prompt_token_count_give_no_per_token_prefill() {
        let mut probe = llm(0, 4.0, 20, 1, true);
        probe.metrics.prompt_tokens = None;
        let record = record_with(true, vec![llm(0, 14.0, 20, 11, false), probe]);
        let p = PrefillDecode::of(&record).expect("split");
        assert_eq!(p.prefill_per_input_token_j, None);
        assert!((p.prefill_j.mean - 2.0).abs() < 1e-12);
        let text = crate::summary::Summary::of(&record).render_text();
        assert!(
            text.contains("no prompt token count for a per-token figure"),
            "{text}"
        );
        assert!(!text.contains("NaN"), "{text}");
    }

    #[test]
    fn no_probes_no_split() {
        let record = record_with(true, vec![llm(0, 14.0, 20, 11, false)]);
        assert_eq!(PrefillDecode::of(&record), None);
    }
}
