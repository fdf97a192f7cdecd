//! Workloads: what the run loop measures. One repetition runs one request, or a
//! batch of requests when one alone is too short for the sensors to resolve.

pub mod ai_search;
pub mod batch;
pub mod command;
pub mod fetch;
pub mod llm;
pub mod search;

use hoeveel_measure::sampler::Snapshot;
use hoeveel_record::{Metrics, PartName, Probe, WorkloadInfo};
use std::sync::atomic::AtomicBool;

/// What a repetition did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Requests done (1, or the batch size).
    pub requests: u64,
    pub metrics: Metrics,
    /// Exit code of a command.
    pub exit_code: Option<i32>,
    /// The steady state inside the repetition, for concurrent requests measured
    /// under a protocol that asks for one.
    pub steady: Option<SteadyMarks>,
    /// The parts of a request of several (an AI search's retrieval and
    /// generation), marked by the workload through [`RunContext::mark`];
    /// `None` for a request of one part.
    pub parts: Option<PartMarks>,
}

/// Where a request of several parts was split. The sensors are read at the end
/// of every part but the last, which ends with the repetition; the run loop turns
/// the readings into one window per part, so the parts are contiguous and their
/// energies add up to the repetition's.
#[derive(Debug, Clone, PartialEq)]
pub struct PartMarks {
    /// Every part before the last, in order, each with the reading at its end.
    pub ended: Vec<EndedPart>,
    /// The last part: it runs from the last reading to the repetition's end.
    pub last: PartName,
    pub last_metrics: Metrics,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndedPart {
    pub name: PartName,
    pub metrics: Metrics,
    /// The sensors read when the part ended.
    pub end: Snapshot,
}

/// The steady state of concurrent requests, marked by the workload through
/// [`RunContext::mark`] while they ran.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyMarks {
    /// Requests sent at once.
    pub in_flight: u32,
    /// The readings at its start and end, with the tokens streamed between them;
    /// or why there was no steady state.
    pub window: Result<SteadyReadings, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SteadyReadings {
    pub start: Snapshot,
    pub end: Snapshot,
    pub output_tokens: u64,
}

/// Why a repetition did not complete.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The request failed (non-zero exit, server error). With `--ignore-failure`
    /// the run goes on; otherwise it ends with status failed.
    #[error("{message}")]
    Failed {
        message: String,
        exit_code: Option<i32>,
    },
    /// A request of several parts failed in one of them: the repetition is failed
    /// as with `Failed`, and the parts measured up to the failure are kept (an AI
    /// search whose generation failed keeps its retrieval).
    #[error("{message}")]
    FailedInPart {
        message: String,
        parts: Box<PartMarks>,
    },
    /// Ctrl-C arrived while the request was running.
    #[error("interrupted")]
    Interrupted,
    /// The workload cannot continue at all (model vanished, corpus unreadable).
    #[error(transparent)]
    Fatal(#[from] anyhow::Error),
}

/// Reads every sensor at once, as the run loop does at a window's ends.
pub type Mark<'a> = &'a (dyn Fn() -> anyhow::Result<Snapshot> + Sync);

/// Shared with the workload while it runs.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    /// Set by the Ctrl-C handler. Long requests check it and return `Interrupted`.
    pub interrupted: &'a AtomicBool,
    /// Marks inside a repetition (the ends of a steady state), from any thread;
    /// `None` where nothing is being measured.
    pub mark: Option<Mark<'a>>,
}

impl<'a> RunContext<'a> {
    /// A context without marks.
    pub fn new(interrupted: &'a AtomicBool) -> Self {
        Self {
            interrupted,
            mark: None,
        }
    }
}

/// A batch size chosen at run time, with the reason, for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub requests_per_repetition: u64,
    pub note: String,
}

/// How long a repetition must last for the sensors to resolve it.
pub use hoeveel_measure::window::Resolution;

pub trait Workload {
    /// What goes into the record's `run_start`.
    fn info(&self) -> WorkloadInfo;

    /// Name of the measured phase for [`Workload::prepare`] (`model_load`,
    /// `index_build`), or `None` to run it without measuring it.
    fn prepare_phase(&self) -> Option<&'static str> {
        None
    }

    /// One-off work before any repetition: load a model, build an index.
    fn prepare(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Chooses a batch size after `prepare`, unmeasured, so that a repetition
    /// lasts at least `target`. `None`: one request per repetition. Stops, with
    /// an error, between requests once `interrupted` is set.
    fn calibrate(
        &mut self,
        _target: &Resolution,
        _interrupted: &AtomicBool,
    ) -> anyhow::Result<Option<Calibration>> {
        Ok(None)
    }

    /// Runs one repetition.
    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError>;

    /// The probe to measure after the repetitions, as many times as there are
    /// repetitions, to split a request's energy (an LLM's prefill); `None`: none.
    fn probe(&self) -> Option<Probe> {
        None
    }

    /// Runs one probe repetition.
    fn run_probe(&mut self, probe: Probe, _ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        Err(WorkloadError::Fatal(anyhow::anyhow!(
            "this workload has no {probe:?} probe"
        )))
    }
}
