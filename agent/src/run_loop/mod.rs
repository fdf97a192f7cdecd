//! The run loop: idle baseline, optional measured preparation, warm-ups and
//! repetitions of a workload, with a background sampler for the time series.
//!
//! Every sensor is read exactly at each window's start and end (`Sampler::mark`),
//! not only at sampling ticks; the ticks in between give the time series and keep
//! counters from wrapping twice unseen. Each domain's [`Meter`](crate::meter::Meter) keeps a running
//! total, so a window's energy is the total at its end minus the total at its start.
//!
//! Events are written to the record as they happen (the writer flushes each line),
//! so an interrupted or killed run keeps every repetition measured before it.

pub mod kept;
pub mod lock;
pub mod signals;

use crate::host;
use crate::sensors::discover::Inventory;
use crate::workload::{PartMarks, RunContext, SteadyMarks, Workload, WorkloadError};
use anyhow::Context;
use hoeveel_measure::baseline;
use hoeveel_measure::clock;
use hoeveel_measure::sampler::{Sampler, Snapshot};
use hoeveel_measure::window::{Layout, Window};
use hoeveel_record::{
    Event, Metrics, Notice, NoticeLevel, Part, PartName, Phase, Probe, Record, RecordWriter,
    Repetition, RepetitionStatus, RunEnd, RunStart, RunStatus, SCHEMA_VERSION, Settings, Steady,
    SteadyWindow,
};
use indicatif::{ProgressBar, ProgressStyle};
use kept::Kept;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use hoeveel_measure::clock::thread_cpu_time_s;
pub(crate) use signals::CURRENT_CHILD;

#[derive(Debug, Clone)]
pub struct LoopSettings {
    pub runs: u32,
    pub warmup: u32,
    pub baseline_s: f64,
    pub interval_s: f64,
    pub ignore_failure: bool,
    pub write_samples: bool,
    pub progress: bool,
    pub sysfs_root: PathBuf,
    /// Root of procfs (`/proc`), for the machine checks.
    pub proc_root: PathBuf,
    /// The lock file other agents on this machine hold while they measure
    /// ([`lock::lock_path`]); `None` looks for none.
    pub lock_file: Option<PathBuf>,
}

/// Installs the handler for Ctrl-C, SIGTERM and SIGHUP and returns the flag it sets.
pub fn install_interrupt_handler() -> anyhow::Result<&'static AtomicBool> {
    signals::install().context("installing the signal handlers")
}

/// What a run produced: the record as measured (without the sample series), and
/// whether the record file could be written to the end.
#[derive(Debug)]
pub struct Measured {
    pub record: Record,
    /// Why writing the record file failed, when it did. Measuring stopped there;
    /// `record` still holds everything measured, for the summary.
    pub write_error: Option<String>,
}

/// Where the run is, for the events it writes.
struct Run<'a> {
    writer: Arc<Mutex<RecordWriter>>,
    /// Every event but samples, for the summary at the end.
    events: Kept,
    sampler: &'a Sampler,
    layout: Layout,
    baseline_total_w: Option<f64>,
    main_thread_workload_cpu_s: f64,
    /// Set when the record file could not be written; nothing more is written then.
    write_error: Option<String>,
}

impl Run<'_> {
    /// Writes an event and keeps it for the summary. After the first failed write
    /// nothing more goes to the file, and the error stops the run.
    fn write(&mut self, event: Event) -> anyhow::Result<()> {
        if let Some(e) = &self.write_error {
            self.events.push(event);
            anyhow::bail!("{e}");
        }
        let result = write_locked(&self.writer, &event);
        self.events.push(event);
        if let Err(e) = result {
            self.write_error = Some(format!("{e:#}"));
            return Err(e);
        }
        Ok(())
    }

    fn window(&self, start: &Snapshot, end: &Snapshot) -> Window {
        self.layout.window(start, end)
    }

    fn notices_from_sampler(&mut self) -> anyhow::Result<()> {
        for notice in self.sampler.take_notices() {
            self.write(Event::Notice(notice))?;
        }
        Ok(())
    }
}

fn write_locked(writer: &Mutex<RecordWriter>, event: &Event) -> anyhow::Result<()> {
    let mut w = writer
        .lock()
        .map_err(|_| anyhow::anyhow!("record writer poisoned"))?;
    w.write(event)?;
    Ok(())
}

/// Measures `workload` with the sensors of `inventory`, writing every event to
/// `writer`. Returns the record as measured (without the sample series); when the
/// file could not be written, measuring stops and the error comes with the record.
pub fn measure(
    inventory: Inventory,
    workload: &mut dyn Workload,
    settings: &LoopSettings,
    writer: RecordWriter,
    interrupted: &AtomicBool,
) -> anyhow::Result<Measured> {
    let run_clock = Instant::now();
    let main_cpu_start = thread_cpu_time_s();
    let layout = Layout::of(&inventory.sensors, inventory.total);
    let run_start = RunStart {
        schema_version: SCHEMA_VERSION.to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        host: host::describe(),
        gpus: inventory.gpus.clone(),
        sensors: inventory.sensors.iter().map(|s| s.info()).collect(),
        domains: layout.domains.clone(),
        total_rule: layout.total_rule.clone(),
        unavailable: inventory.unavailable.clone(),
        machine_checks: crate::machine_checks::check_all(&settings.sysfs_root, &settings.proc_root),
        workload: workload.info(),
        settings: Settings {
            runs: settings.runs,
            warmup: settings.warmup,
            baseline_s: settings.baseline_s,
            interval_s: settings.interval_s,
            ignore_failure: settings.ignore_failure,
            sysfs_root: settings.sysfs_root.display().to_string(),
        },
    };
    let writer = Arc::new(Mutex::new(writer));
    write_locked(&writer, &Event::RunStart(Box::new(run_start.clone())))?;
    // Held until the run ends: another agent that starts meanwhile is warned.
    let (_measuring_lock, shared_with) = match settings
        .lock_file
        .as_deref()
        .map(|p| (p, lock::try_lock(p)))
    {
        None => (None, None),
        Some((_, lock::Found::Alone(held))) => (Some(held), None),
        Some((path, lock::Found::Another)) => (None, Some(lock::another_agent_warning(path))),
        Some((_, lock::Found::Unknown(why))) => {
            eprintln!("hoeveel-agent: cannot tell whether another agent is measuring ({why})");
            (None, None)
        }
    };

    let sampler = Sampler::new(inventory.sensors, run_clock);
    let progress = progress_bar(settings);
    let mut run = Run {
        writer: writer.clone(),
        events: Kept::new(),
        sampler: &sampler,
        layout,
        baseline_total_w: None,
        main_thread_workload_cpu_s: 0.0,
        write_error: None,
    };
    if let Some(message) = shared_with {
        eprintln!("hoeveel-agent: warning: {message}");
        run.write(Event::Notice(Notice {
            t_s: run_clock.elapsed().as_secs_f64(),
            level: NoticeLevel::Warning,
            sensor: None,
            message,
        }))?;
    }

    // Throttling since boot, to compare with the count at the end of the run.
    let throttle_at_start = crate::machine_checks::throttle_count(&settings.sysfs_root);
    let stop = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let sample_writer = settings.write_samples.then(|| writer.clone());
        let (sampler, stop) = (&sampler, &stop);
        let ticker =
            scope.spawn(move || sampler.tick_until(stop, settings.interval_s, sample_writer));
        let result = run_phases(&mut run, workload, settings, interrupted, &progress);
        stop.store(true, Ordering::SeqCst);
        ticker.thread().unpark();
        let sampler_cpu_s = ticker.join().unwrap_or(0.0);
        (result, sampler_cpu_s)
    });
    let (result, sampler_cpu_s) = outcome;
    progress.finish_and_clear();
    let _ = run.notices_from_sampler();
    let _ = note_throttling(&mut run, throttle_at_start, settings, run_clock);

    let (status, message) = match &result {
        Ok(RunStatus::Interrupted) => (
            RunStatus::Interrupted,
            Some(format!(
                "interrupted by {}; repetitions measured before it are kept",
                signals::received().unwrap_or("a signal")
            )),
        ),
        Ok(RunStatus::Failed) => (
            RunStatus::Failed,
            run.events.last_error().map(str::to_string),
        ),
        Ok(RunStatus::Ok) => (RunStatus::Ok, None),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    let main_cpu_s =
        (thread_cpu_time_s() - main_cpu_start - run.main_thread_workload_cpu_s).max(0.0);
    let repetitions = run.events.measured_ok();
    let degraded = run.events.degraded();
    if let Some(note) = run.events.spill_failed() {
        eprintln!("hoeveel-agent: {note}");
    }
    let run_end = Event::RunEnd(RunEnd {
        status,
        ended_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_s: run_clock.elapsed().as_secs_f64(),
        repetitions,
        agent_cpu_s: main_cpu_s + sampler_cpu_s,
        agent_max_rss_bytes: clock::max_rss_bytes(),
        message,
        degraded,
    });
    // A record that cannot be written keeps its run_end in memory only.
    let _ = run.write(run_end);
    let events = std::mem::take(&mut run.events)
        .into_events()
        .context("reading back the repetitions kept for the summary")?;
    Ok(Measured {
        record: Record::from_events(run_start, events),
        write_error: run.write_error.take(),
    })
}

/// A warning when the CPU throttled during the run: its count of thermal
/// throttling events grew between the start and now.
fn note_throttling(
    run: &mut Run<'_>,
    at_start: Option<u64>,
    settings: &LoopSettings,
    run_clock: Instant,
) -> anyhow::Result<()> {
    let now = crate::machine_checks::throttle_count(&settings.sysfs_root);
    let Some(events) = at_start.zip(now).map(|(a, b)| b.saturating_sub(a)) else {
        return Ok(());
    };
    if events == 0 {
        return Ok(());
    }
    run.write(Event::Notice(Notice {
        t_s: run_clock.elapsed().as_secs_f64(),
        level: NoticeLevel::Warning,
        sensor: None,
        message: format!(
            "the CPU throttled for heat during the run ({events} thermal throttling events, cores and packages): it ran slower than a cool machine would, so time and energy per request are not those of the machine at its rated speed"
        ),
    }))
}

fn progress_bar(settings: &LoopSettings) -> ProgressBar {
    if !settings.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(settings.runs + settings.warmup));
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<24} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn run_phases(
    run: &mut Run<'_>,
    workload: &mut dyn Workload,
    settings: &LoopSettings,
    interrupted: &AtomicBool,
    progress: &ProgressBar,
) -> anyhow::Result<RunStatus> {
    run.sampler.mark()?; // first reading of every meter
    if settings.baseline_s > 0.0 {
        progress.set_message("idle baseline");
        if !measure_baseline(run, settings, interrupted)? {
            return Ok(RunStatus::Interrupted);
        }
    }
    run.notices_from_sampler()?;
    if !prepare(run, workload, interrupted, progress)? {
        return Ok(RunStatus::Interrupted);
    }
    let sampler = run.sampler;
    let mark = move || sampler.mark();
    let ctx = RunContext {
        interrupted,
        mark: Some(&mark),
    };
    let plan = (0..settings.warmup)
        .map(|i| (true, i))
        .chain((0..settings.runs).map(|i| (false, i)));
    for (warmup, index) in plan {
        if interrupted.load(Ordering::SeqCst) {
            return Ok(RunStatus::Interrupted);
        }
        progress.set_message(if warmup {
            format!("warm-up {}/{}", index + 1, settings.warmup)
        } else {
            format!("run {}/{}", index + 1, settings.runs)
        });
        let stop = repetition(run, workload, &ctx, settings, warmup, index, None)?;
        progress.inc(1);
        if let Some(status) = stop {
            return Ok(status);
        }
    }
    // Probes after the whole requests, as many as there were repetitions.
    if let Some(probe) = workload.probe() {
        progress.inc_length(u64::from(settings.runs));
        for index in 0..settings.runs {
            if interrupted.load(Ordering::SeqCst) {
                return Ok(RunStatus::Interrupted);
            }
            progress.set_message(format!("probe {}/{}", index + 1, settings.runs));
            let stop = repetition(run, workload, &ctx, settings, false, index, Some(probe))?;
            progress.inc(1);
            if let Some(status) = stop {
                return Ok(status);
            }
        }
    }
    if interrupted.load(Ordering::SeqCst) {
        return Ok(RunStatus::Interrupted);
    }
    Ok(RunStatus::Ok)
}

/// The idle baseline, written to the record. Returns false when interrupted.
fn measure_baseline(
    run: &mut Run<'_>,
    settings: &LoopSettings,
    interrupted: &AtomicBool,
) -> anyhow::Result<bool> {
    let Some(b) = baseline::measure(
        run.sampler,
        &run.layout,
        settings.baseline_s,
        &settings.proc_root,
        interrupted,
    )?
    else {
        return Ok(false);
    };
    run.baseline_total_w = Some(b.total_power_w);
    run.write(Event::Baseline(b))?;
    Ok(true)
}

/// The workload's one-off preparation (measured as a phase when it names one) and
/// its batch calibration (unmeasured). Returns false when a signal stopped
/// either.
fn prepare(
    run: &mut Run<'_>,
    workload: &mut dyn Workload,
    interrupted: &AtomicBool,
    progress: &ProgressBar,
) -> anyhow::Result<bool> {
    let sampler = run.sampler;
    // CPU the workload's own preparation and calibration use is not agent overhead.
    let cpu_before = thread_cpu_time_s();
    match workload.prepare_phase() {
        Some(name) => {
            progress.set_message(name.replace('_', " "));
            let start = sampler.mark()?;
            match workload.prepare() {
                Err(_) if interrupted.load(Ordering::SeqCst) => return Ok(false),
                prepared => prepared.with_context(|| format!("workload {name}"))?,
            }
            let end = sampler.mark()?;
            let duration_s = end.t_s - start.t_s;
            let w = run.window(&start, &end);
            let net_energy_j = run.baseline_total_w.map(|p| w.total_j - p * duration_s);
            run.write(Event::Phase(Phase {
                name: name.to_string(),
                start_s: start.t_s,
                duration_s,
                energy_j: w.energy_j,
                total_energy_j: w.total_j,
                net_energy_j,
            }))?;
        }
        // A preparation a signal cut short (a first request to a server that
        // does not answer) ends the run as interrupted, as a repetition would.
        None => match workload.prepare() {
            Err(_) if interrupted.load(Ordering::SeqCst) => return Ok(false),
            prepared => prepared.context("preparing the workload")?,
        },
    }
    let calibration = match workload.calibrate(&run.layout.resolution, interrupted) {
        Err(_) if interrupted.load(Ordering::SeqCst) => return Ok(false),
        calibrated => calibrated.context("calibrating the batch size")?,
    };
    run.main_thread_workload_cpu_s += thread_cpu_time_s() - cpu_before;
    if let Some(calibration) = calibration {
        let t_s = sampler.mark()?.t_s;
        run.write(Event::Notice(Notice {
            t_s,
            level: NoticeLevel::Info,
            sensor: None,
            message: format!(
                "batched {} requests per repetition: {}",
                calibration.requests_per_repetition, calibration.note
            ),
        }))?;
    }
    Ok(true)
}

/// One warm-up or measured repetition, written to the record. Returns the run's
/// status when the run must stop here.
fn repetition(
    run: &mut Run<'_>,
    workload: &mut dyn Workload,
    ctx: &RunContext<'_>,
    settings: &LoopSettings,
    warmup: bool,
    index: u32,
    probe: Option<Probe>,
) -> anyhow::Result<Option<RunStatus>> {
    let sampler = run.sampler;
    let start = sampler.mark()?;
    let cpu_before = thread_cpu_time_s();
    let result = match probe {
        Some(p) => workload.run_probe(p, ctx),
        None => workload.run_once(ctx),
    };
    run.main_thread_workload_cpu_s += thread_cpu_time_s() - cpu_before;
    let end = sampler.mark()?;
    let duration_s = end.t_s - start.t_s;
    let w = run.window(&start, &end);
    let net_energy_j = run.baseline_total_w.map(|p| w.total_j - p * duration_s);
    let mut repetition = Repetition {
        index,
        window: None,
        probe,
        warmup,
        status: RepetitionStatus::Ok,
        start_s: start.t_s,
        duration_s,
        energy_j: w.energy_j,
        total_energy_j: w.total_j,
        net_energy_j,
        wraps_corrected: w.wrapped,
        incomplete: w.missing,
        undercounted: w.reset,
        too_short: run.layout.resolution.short_window(duration_s),
        requests: 1,
        exit_code: None,
        error: None,
        metrics: Default::default(),
        steady: None,
        parts: Vec::new(),
    };
    // A request or command that failed because a signal stopped it (a server
    // request cut while it waited) was interrupted, not failed.
    let result = match result {
        Err(WorkloadError::Failed { .. } | WorkloadError::FailedInPart { .. })
            if ctx.interrupted.load(Ordering::SeqCst) =>
        {
            Err(WorkloadError::Interrupted)
        }
        other => other,
    };
    let stop = match result {
        Ok(outcome) => {
            repetition.requests = outcome.requests.max(1);
            repetition.metrics = outcome.metrics;
            repetition.exit_code = outcome.exit_code;
            repetition.steady = outcome.steady.map(|m| Box::new(steady(run, m)));
            repetition.parts = outcome
                .parts
                .map(|m| parts(run, &start, &end, m))
                .unwrap_or_default();
            None
        }
        Err(WorkloadError::Interrupted) => {
            repetition.status = RepetitionStatus::Interrupted;
            Some(RunStatus::Interrupted)
        }
        Err(WorkloadError::Failed { message, exit_code }) => {
            repetition.status = RepetitionStatus::Failed;
            repetition.exit_code = exit_code;
            repetition.error = Some(message);
            (!settings.ignore_failure).then_some(RunStatus::Failed)
        }
        Err(WorkloadError::FailedInPart {
            message,
            parts: marks,
        }) => {
            repetition.status = RepetitionStatus::Failed;
            repetition.error = Some(message);
            repetition.parts = parts(run, &start, &end, *marks);
            (!settings.ignore_failure).then_some(RunStatus::Failed)
        }
        Err(WorkloadError::Fatal(e)) => {
            repetition.status = RepetitionStatus::Failed;
            repetition.error = Some(format!("{e:#}"));
            Some(RunStatus::Failed)
        }
    };
    run.write(Event::Repetition(repetition))?;
    run.notices_from_sampler()?;
    Ok(stop)
}

/// One window per part, from the repetition's start through the workload's
/// readings to its end: contiguous, so the parts' energies add up to the
/// repetition's (the same running totals are subtracted; only rounding differs).
fn parts(run: &Run<'_>, start: &Snapshot, end: &Snapshot, marks: PartMarks) -> Vec<Part> {
    let mut out = Vec::with_capacity(marks.ended.len() + 1);
    let mut from = start.clone();
    for p in marks.ended {
        out.push(part(run, &from, &p.end, p.name, p.metrics));
        from = p.end;
    }
    out.push(part(run, &from, end, marks.last, marks.last_metrics));
    out
}

/// One part's window, with the repetition's arithmetic: net = gross − baseline
/// power × the part's duration.
fn part(run: &Run<'_>, from: &Snapshot, to: &Snapshot, name: PartName, metrics: Metrics) -> Part {
    let w = run.window(from, to);
    let duration_s = to.t_s - from.t_s;
    let net_energy_j = run.baseline_total_w.map(|p| w.total_j - p * duration_s);
    let mut incomplete = w.missing;
    incomplete.extend(w.reset);
    Part {
        name,
        start_s: from.t_s,
        duration_s,
        energy_j: w.energy_j,
        total_energy_j: w.total_j,
        net_energy_j,
        incomplete,
        too_short: run.layout.resolution.short_window(duration_s),
        metrics,
    }
}

/// The record's steady state from the workload's marks.
fn steady(run: &Run<'_>, marks: SteadyMarks) -> Steady {
    let (window, why_none) = match marks.window {
        Ok(r) => {
            let w = run.window(&r.start, &r.end);
            let net_energy_j = run.baseline_total_w.map(|p| w.total_j - p * w.duration_s);
            let mut incomplete = w.missing;
            incomplete.extend(w.reset);
            (
                Some(SteadyWindow {
                    start_s: r.start.t_s,
                    duration_s: w.duration_s,
                    energy_j: w.energy_j,
                    total_energy_j: w.total_j,
                    net_energy_j,
                    output_tokens: r.output_tokens,
                    incomplete,
                }),
                None,
            )
        }
        Err(why) => (None, Some(why)),
    };
    Steady {
        in_flight: marks.in_flight,
        window,
        why_none,
    }
}

#[cfg(test)]
mod tests;
