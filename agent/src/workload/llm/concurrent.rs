//! Several requests to a server at once: `--concurrency N` sends N requests
//! together in one repetition (one thread each), so the repetition's energy is
//! shared by N requests, as a server under load shares it.
//!
//! Whether the server really generated them together is read from the answers:
//! with a streamed answer each request's generation runs from its first token to
//! its end, and the most such intervals that overlap is recorded
//! (`metrics.concurrent_generations`); 1 means the server served them one after
//! another.
//!
//! Under `--protocol ml-energy` the repetition also marks its steady state: the
//! sensors are read when the last of the N requests streams its first token and
//! again when the first one ends, and the tokens streamed in between are counted
//! (one per content chunk). When a request ends before the last one has begun,
//! the server never generated all N together, and the record says so instead.

use super::Generation;
use super::prompts::PromptSet;
use crate::workload::{Mark, Outcome, RunContext, SteadyMarks, SteadyReadings, WorkloadError};
use hoeveel_measure::sampler::Snapshot;
use hoeveel_record::Metrics;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// One request's answer and when it ran.
struct Timed {
    generation: Generation,
    start: Instant,
    end: Instant,
}

/// One repetition of `n` requests sent at once, asking the prompts of `prompts`
/// from the `first`-th on, each through `ask(prompt, on_token)`, which calls
/// `on_token` at every streamed content chunk. With `steady`, the steady state
/// is marked through `ctx.mark`.
pub fn ask_set<F>(
    prompts: &PromptSet,
    first: u64,
    n: u32,
    steady: bool,
    ctx: &RunContext<'_>,
    ask: F,
) -> Result<Outcome, WorkloadError>
where
    F: Fn(&str, &(dyn Fn() + Sync)) -> Result<Generation, WorkloadError> + Sync,
{
    let tracker = match (steady, ctx.mark) {
        (false, _) => None,
        (true, Some(mark)) => Some(SteadyTracker::new(n, mark)),
        (true, None) => {
            return Err(WorkloadError::Fatal(anyhow::anyhow!(
                "a steady state needs the sensors read inside the repetition, and this run reads none"
            )));
        }
    };
    let tracker = tracker.as_ref();
    let timed = run(n, |i| {
        let on_token = move || {
            if let Some(t) = tracker {
                t.token(i);
            }
        };
        let generation = ask(prompts.nth(first + u64::from(i)), &on_token);
        if let Some(t) = tracker {
            t.ended(i);
        }
        generation
    })?;
    let mut out = outcome(&timed);
    if let Some(t) = tracker {
        out.steady = Some(SteadyMarks {
            in_flight: n,
            window: t.readings()?,
        });
    }
    Ok(out)
}

/// Runs `n` requests at once, `ask(i)` in thread `i`. Any failure fails the
/// repetition (its energy was spent on all of them), with how many failed and
/// how many of those were empty or cut answers.
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
    together(results)
}

/// The requests' results as one: an interruption or a fatal error first, then
/// the failures, counted.
fn together(results: Vec<Result<Timed, WorkloadError>>) -> Result<Vec<Timed>, WorkloadError> {
    let n = results.len();
    let mut failed = Vec::new();
    let mut timed = Vec::with_capacity(n);
    for result in results {
        match result {
            Ok(t) => timed.push(t),
            Err(WorkloadError::Failed { message, .. }) => failed.push(message),
            Err(other) => return Err(other),
        }
    }
    let Some(first) = failed.first() else {
        return Ok(timed);
    };
    if n == 1 {
        return Err(super::http::failed(first.clone()));
    }
    let empty = failed
        .iter()
        .filter(|m| m.contains(super::http::EMPTY_ANSWER))
        .count();
    let cut = failed
        .iter()
        .filter(|m| m.contains(super::http::CUT_ANSWER))
        .count();
    Err(super::http::failed(format!(
        "{} of {n} requests failed ({empty} answered empty, {cut} cut by the server, {} otherwise); the first: {first}",
        failed.len(),
        failed.len() - empty - cut
    )))
}

/// Marks the steady state of `n` requests in flight as their tokens stream in.
struct SteadyTracker<'a> {
    n: u32,
    mark: Mark<'a>,
    state: Mutex<TrackerState>,
}

#[derive(Default)]
struct TrackerState {
    /// Which requests have streamed their first token.
    started: Vec<bool>,
    with_first_token: u32,
    start: Option<Snapshot>,
    end: Option<Snapshot>,
    /// Set when the first request ended (or a mark failed): nothing more counts.
    closed: bool,
    /// Tokens streamed after the start mark.
    tokens: u64,
    why_none: Option<String>,
    mark_error: Option<String>,
}

impl<'a> SteadyTracker<'a> {
    fn new(n: u32, mark: Mark<'a>) -> Self {
        Self {
            n,
            mark,
            state: Mutex::new(TrackerState {
                started: vec![false; n as usize],
                ..TrackerState::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Request `i` streamed a token. The mark is taken under the lock, so no token
    /// of another request is counted on the wrong side of it.
    fn token(&self, i: u32) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        if s.start.is_some() {
            s.tokens += 1;
            return;
        }
        let Some(started) = s.started.get_mut(i as usize) else {
            return;
        };
        if !*started {
            *started = true;
            s.with_first_token += 1;
            if s.with_first_token == self.n {
                match (self.mark)() {
                    Ok(snapshot) => s.start = Some(snapshot),
                    Err(e) => {
                        s.mark_error = Some(format!("{e:#}"));
                        s.closed = true;
                    }
                }
            }
        }
    }

    /// Request `i` ended: the first to end closes the steady state.
    fn ended(&self, i: u32) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        s.closed = true;
        if s.start.is_some() {
            match (self.mark)() {
                Ok(snapshot) => s.end = Some(snapshot),
                Err(e) => s.mark_error = Some(format!("{e:#}")),
            }
        } else {
            s.why_none = Some(format!(
                "request {} of {} ended when {} of the {} had streamed a first token: the server never generated all of them at once",
                i + 1,
                self.n,
                s.with_first_token,
                self.n
            ));
        }
    }

    fn readings(&self) -> Result<Result<SteadyReadings, String>, WorkloadError> {
        let mut s = self.lock();
        if let Some(e) = s.mark_error.take() {
            return Err(WorkloadError::Fatal(anyhow::anyhow!(
                "reading the sensors at the steady state's edge: {e}"
            )));
        }
        Ok(match (s.start.take(), s.end.take()) {
            (Some(start), Some(end)) => Ok(SteadyReadings {
                start,
                end,
                output_tokens: s.tokens,
            }),
            _ => Err(s
                .why_none
                .take()
                .unwrap_or_else(|| "no request streamed a token".to_string())),
        })
    }
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
        steady: None,
        parts: None,
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

    /// A mark that reads a made-up sensor: `t_s` is the number of marks taken.
    fn counting_mark() -> impl Fn() -> anyhow::Result<Snapshot> + Sync {
        let taken = std::sync::atomic::AtomicU32::new(0);
        move || {
            let n = taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Ok(Snapshot {
                t_s: f64::from(n),
                totals_j: vec![f64::from(n) * 10.0],
                wraps: vec![0],
                resets: vec![0],
                alive: vec![true],
            })
        }
    }

    #[test]
    fn the_steady_state_runs_from_the_last_first_token_to_the_first_end() {
        let mark = counting_mark();
        let t = SteadyTracker::new(3, &mark);
        t.token(0);
        t.token(1);
        t.token(0); // before the last request began: ramp-up, not counted
        t.token(2); // the last first token: the start mark
        for i in [0, 1, 2, 0, 1] {
            t.token(i);
        }
        t.ended(1); // the first end: the end mark
        t.token(0); // the tail, not counted
        t.ended(0);
        let r = t.readings().expect("marks read").expect("a steady state");
        assert_eq!((r.start.t_s, r.end.t_s), (1.0, 2.0));
        assert_eq!(r.output_tokens, 5);
    }

    #[test]
    fn a_request_that_ends_before_the_last_begins_leaves_no_steady_state() {
        let mark = counting_mark();
        let t = SteadyTracker::new(2, &mark);
        t.token(0);
        t.token(0);
        t.ended(0); // served alone: the second had not begun
        t.token(1);
        t.ended(1);
        let why = t
            .readings()
            .expect("marks read")
            .expect_err("no steady state");
        assert!(
            why.contains("request 1 of 2 ended when 1 of the 2"),
            "{why}"
        );
        assert!(why.contains("never generated all of them at once"), "{why}");
    }

    #[test]
    fn ask_set_marks_the_steady_state_only_when_asked_and_able() {
        let flag = std::sync::atomic::AtomicBool::new(false);
        let prompts = PromptSet::single("q");
        let ask = |_: &str, on_token: &(dyn Fn() + Sync)| {
            for _ in 0..3 {
                on_token();
            }
            Ok(Generation {
                output_tokens: Some(3),
                ..Generation::default()
            })
        };
        let plain = ask_set(&prompts, 0, 2, false, &RunContext::new(&flag), ask).expect("runs");
        assert!(plain.steady.is_none());
        let refused = ask_set(&prompts, 0, 2, true, &RunContext::new(&flag), ask);
        assert!(matches!(refused, Err(WorkloadError::Fatal(_))));
        let mark = counting_mark();
        let ctx = RunContext {
            interrupted: &flag,
            mark: Some(&mark),
        };
        let marked = ask_set(&prompts, 0, 2, true, &ctx, ask).expect("runs");
        let steady = marked.steady.expect("steady marks");
        assert_eq!(steady.in_flight, 2);
        // Whether the two threads overlapped is up to the scheduler; either way
        // the outcome says which.
        match steady.window {
            Ok(r) => assert!(r.end.t_s > r.start.t_s),
            Err(why) => assert!(why.contains("never generated"), "{why}"),
        }
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
