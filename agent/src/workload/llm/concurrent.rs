//! Several requests to a server at once: `--concurrency N` sends N requests
//! together in one repetition (one thread each), so the repetition's energy is
//! shared by N requests, as a server under load shares it.
//!
//! Whether the server really generated them together is read from the answers:
//! with a streamed answer each request's generation runs from its first token to
//! its end, and the most such intervals that overlap is recorded
//! (`metrics.concurrent_generations`); 1 means the server served them one after
//! another.

use super::Generation;
use super::prompts::PromptSet;
use crate::workload::{Outcome, WorkloadError};
use hoeveel_record::Metrics;
use std::time::Instant;

/// One request's answer and when it ran.
struct Timed {
    generation: Generation,
    start: Instant,
    end: Instant,
}

/// One repetition of `n` requests sent at once, asking the prompts of `prompts`
/// from the `first`-th on, each through `ask`.
pub fn ask_set<F>(prompts: &PromptSet, first: u64, n: u32, ask: F) -> Result<Outcome, WorkloadError>
where
    F: Fn(&str) -> Result<Generation, WorkloadError> + Sync,
{
    let timed = run(n, |i| ask(prompts.nth(first + u64::from(i))))?;
    Ok(outcome(&timed))
}

/// Runs `n` requests at once, `ask(i)` in thread `i`; the first error fails all.
fn run<F>(n: u32, ask: F) -> Result<Vec<Timed>, WorkloadError>
where
    F: Fn(u32) -> Result<Generation, WorkloadError> + Sync,
{
    let ask = &ask;
    let results: Vec<Result<Timed, WorkloadError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                scope.spawn(move || {
                    let start = Instant::now();
                    let generation = ask(i)?;
                    Ok(Timed {
                        generation,
                        start,
                        end: Instant::now(),
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(WorkloadError::Fatal(anyhow::anyhow!(
                        "a request thread panicked"
                    )))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// The most generation intervals (first token to end) that overlap; `None`
/// when a request has no first-token time (an answer that was not streamed).
fn most_overlapping(timed: &[Timed]) -> Option<u64> {
    let intervals: Vec<(f64, f64)> = timed
        .iter()
        .map(|t| {
            let origin = timed.iter().map(|x| x.start).min().unwrap_or(t.start);
            let first = t.generation.time_to_first_token_s?;
            let start = (t.start - origin).as_secs_f64() + first;
            Some((start, (t.end - origin).as_secs_f64()))
        })
        .collect::<Option<_>>()?;
    intervals
        .iter()
        .map(|(a, _)| intervals.iter().filter(|(s, e)| s <= a && a < e).count() as u64)
        .max()
}

fn sum(values: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    values.sum()
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// One repetition of `timed.len()` requests: tokens and bytes summed, time to
/// first token and decode rate the mean of the requests', and the overlap.
fn outcome(timed: &[Timed]) -> Outcome {
    let g = || timed.iter().map(|t| &t.generation);
    Outcome {
        requests: timed.len() as u64,
        metrics: Metrics {
            prompt_tokens: sum(g().map(|g| g.prompt_tokens)),
            output_tokens: sum(g().map(|g| g.output_tokens)),
            time_to_first_token_s: mean(g().map(|g| g.time_to_first_token_s)),
            tokens_per_s: mean(g().map(|g| g.tokens_per_s)),
            response_bytes: sum(g().map(|g| g.response_bytes)),
            output_text: g().next().map(|g| g.text.clone()),
            concurrent_generations: most_overlapping(timed),
            ..Metrics::default()
        },
        exit_code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timed(origin: Instant, start_s: f64, first_s: Option<f64>, end_s: f64) -> Timed {
        Timed {
            generation: Generation {
                output_tokens: Some(5),
                time_to_first_token_s: first_s,
                ..Generation::default()
            },
            start: origin + Duration::from_secs_f64(start_s),
            end: origin + Duration::from_secs_f64(end_s),
        }
    }

    #[test]
    fn a_serial_server_shows_one_generation_at_a_time() {
        let o = Instant::now();
        // Sent together; the second starts generating when the first has ended.
        let t = [timed(o, 0.0, Some(0.1), 1.0), timed(o, 0.0, Some(1.1), 2.0)];
        assert_eq!(most_overlapping(&t), Some(1));
        let out = outcome(&t);
        assert_eq!(out.requests, 2);
        assert_eq!(out.metrics.output_tokens, Some(10));
    }

    #[test]
    fn a_batching_server_shows_them_together_and_unstreamed_answers_say_nothing() {
        let o = Instant::now();
        let t = [
            timed(o, 0.0, Some(0.2), 1.0),
            timed(o, 0.0, Some(0.3), 1.1),
            timed(o, 0.0, Some(0.25), 0.9),
        ];
        assert_eq!(most_overlapping(&t), Some(3));
        let t = [timed(o, 0.0, None, 1.0), timed(o, 0.0, Some(0.3), 1.1)];
        assert_eq!(most_overlapping(&t), None);
    }
}
