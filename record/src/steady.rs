//! Energy per output token in the steady state of concurrent requests, the way
//! the ML.ENERGY leaderboard measures it: N requests in flight, energy over the
//! window from the moment all N have their first token to the moment the first
//! one ends (no ramp-up, no tail), divided by the tokens streamed inside it.
//!
//! - per output token: each repetition's window energy over its window tokens
//!   (mean over repetitions, 95% Student-t CI);
//! - per response: the per-token figure × the mean output tokens of a response
//!   in the same run, as the leaderboard derives its energy per response;
//! - GPU only: the same over the GPU domains, gross, when a GPU was measured, for
//!   the leaderboard's own boundary.
//!
//! Energies are on the record's basis (net with an idle baseline, else gross).

use crate::events::{DomainKind, Repetition, SteadyWindow};
use crate::per_request::{EnergyBasis, PerRequest};
use crate::prefill::Estimate;
use crate::reader::Record;
use crate::stats::Describe;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SteadyState {
    pub basis: EnergyBasis,
    /// Requests sent at once.
    pub in_flight: u32,
    /// Repetitions measured under the protocol (complete, status ok).
    pub repetitions: usize,
    /// Of those, the ones with a complete steady window holding tokens.
    pub windows: usize,
    /// Mean length of a window.
    pub window_s: Option<f64>,
    /// Energy per output token in the window; `None` without any window.
    pub per_output_token_j: Option<Estimate>,
    /// The same, GPU domains only (gross); `None` without a measured GPU.
    pub gpu_per_output_token_j: Option<Estimate>,
    /// Mean output tokens per response over the run's whole requests.
    pub output_tokens_per_response: Option<f64>,
    /// Energy per response: per output token × output tokens per response.
    pub per_response_j: Option<Estimate>,
    /// Why repetitions had no steady state, each reason once.
    pub why_none: Vec<String>,
}

fn window_energy(w: &SteadyWindow, basis: EnergyBasis) -> Option<f64> {
    match basis {
        EnergyBasis::Net => w.net_energy_j,
        EnergyBasis::Gross => Some(w.total_energy_j),
    }
}

fn scaled(e: &Estimate, k: f64) -> Estimate {
    Estimate {
        mean: e.mean * k,
        ci_low: e.ci_low.map(|v| v * k),
        ci_high: e.ci_high.map(|v| v * k),
        n: e.n,
        ci_method: e.ci_method,
    }
}

impl SteadyState {
    /// The steady-state figures of a record measured under the protocol; `None`
    /// for a record whose repetitions carry no steady state at all.
    pub fn of(record: &Record) -> Option<SteadyState> {
        let whole = PerRequest::auto(record);
        let basis = whole.basis;
        let reps: Vec<&Repetition> = record
            .measured_complete()
            .filter(|r| r.steady.is_some())
            .collect();
        let in_flight = reps
            .iter()
            .filter_map(|r| r.steady.as_ref())
            .next()?
            .in_flight;
        let windows: Vec<&SteadyWindow> = reps
            .iter()
            .filter_map(|r| r.steady.as_ref()?.window.as_ref())
            .filter(|w| w.incomplete.is_empty() && w.output_tokens > 0)
            .collect();
        let per_token: Vec<f64> = windows
            .iter()
            .filter_map(|w| Some(window_energy(w, basis)? / w.output_tokens as f64))
            .collect();
        let gpu_ids: Vec<&str> = record
            .run_start
            .domains
            .iter()
            .filter(|d| d.kind == DomainKind::Gpu)
            .map(|d| d.id.as_str())
            .collect();
        let gpu_per_token: Vec<f64> = windows
            .iter()
            .filter(|_| !gpu_ids.is_empty())
            .map(|w| {
                gpu_ids
                    .iter()
                    .filter_map(|id| w.energy_j.get(*id))
                    .sum::<f64>()
                    / w.output_tokens as f64
            })
            .collect();
        let mut why_none: Vec<String> = Vec::new();
        for why in reps
            .iter()
            .filter_map(|r| r.steady.as_ref()?.why_none.clone())
        {
            if !why_none.contains(&why) {
                why_none.push(why);
            }
        }
        let per_output_token_j = Describe::of(&per_token).map(|d| Estimate::of(&d));
        let output_tokens_per_response = Describe::of(&whole.output_tokens).map(|d| d.mean);
        let per_response_j = per_output_token_j
            .as_ref()
            .zip(output_tokens_per_response)
            .map(|(e, tokens)| scaled(e, tokens));
        let durations: Vec<f64> = windows.iter().map(|w| w.duration_s).collect();
        Some(SteadyState {
            basis,
            in_flight,
            repetitions: reps.len(),
            windows: per_token.len(),
            window_s: Describe::of(&durations).map(|d| d.mean),
            per_output_token_j,
            gpu_per_output_token_j: Describe::of(&gpu_per_token).map(|d| Estimate::of(&d)),
            output_tokens_per_response,
            per_response_j,
            why_none,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Steady;
    use crate::testdata::{record_with, repetition};

    fn with_window(index: u32, window_j: f64, tokens: u64) -> Repetition {
        let mut r = repetition(index, 10.0);
        r.requests = 4;
        r.metrics.output_tokens = Some(40);
        r.steady = Some(Box::new(Steady {
            in_flight: 4,
            window: Some(SteadyWindow {
                start_s: 1.0,
                duration_s: 0.5,
                energy_j: [("cpu-model".to_string(), window_j)].into(),
                total_energy_j: window_j,
                net_energy_j: Some(window_j - 0.5),
                output_tokens: tokens,
                incomplete: Vec::new(),
            }),
            why_none: None,
        }));
        r
    }

    #[test]
    fn energy_per_token_is_the_window_energy_over_the_window_tokens() {
        let record = record_with(
            false,
            vec![with_window(0, 2.0, 20), with_window(1, 3.0, 20)],
        );
        let s = SteadyState::of(&record).expect("a steady state");
        assert_eq!(s.basis, EnergyBasis::Gross);
        assert_eq!((s.in_flight, s.repetitions, s.windows), (4, 2, 2));
        let per_token = s.per_output_token_j.expect("per token");
        assert!((per_token.mean - 0.125).abs() < 1e-12, "{per_token:?}");
        assert!(per_token.ci_low.is_some());
        // 10 output tokens per response (40 over 4 requests).
        assert_eq!(s.output_tokens_per_response, Some(10.0));
        let per_response = s.per_response_j.expect("per response");
        assert!((per_response.mean - 1.25).abs() < 1e-12);
        assert!(s.gpu_per_output_token_j.is_none(), "no GPU was measured");
    }

    #[test]
    fn a_serialising_server_gives_no_figure_and_says_why() {
        let mut r = repetition(0, 10.0);
        r.steady = Some(Box::new(Steady {
            in_flight: 4,
            window: None,
            why_none: Some("served one after another".into()),
        }));
        let mut r2 = r.clone();
        r2.index = 1;
        let s = SteadyState::of(&record_with(true, vec![r, r2])).expect("protocol record");
        assert_eq!(s.windows, 0);
        assert!(s.per_output_token_j.is_none());
        assert_eq!(s.why_none, vec!["served one after another".to_string()]);
        let plain = record_with(true, vec![repetition(0, 1.0)]);
        assert!(SteadyState::of(&plain).is_none());
    }
}
