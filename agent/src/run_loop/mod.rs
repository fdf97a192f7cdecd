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

mod clock;
mod sampler;

use crate::host;
use crate::sensors::discover::Inventory;
use crate::sensors::total;
use crate::workload::{RunContext, Workload, WorkloadError};
use anyhow::Context;
use hoeveel_record::{
    Baseline, DomainMap, Event, Notice, NoticeLevel, Phase, Record, RecordWriter, Repetition,
    RepetitionStatus, RunEnd, RunPhase, RunStart, RunStatus, SCHEMA_VERSION, Settings,
};
use indicatif::{ProgressBar, ProgressStyle};
use sampler::{Sampler, Snapshot};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use clock::thread_cpu_time_s;

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
}

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Process id of the command being measured, so Ctrl-C can stop it too.
pub(crate) static CURRENT_CHILD: std::sync::atomic::AtomicI32 =
    std::sync::atomic::AtomicI32::new(0);

/// Installs the Ctrl-C handler once and returns the flag it sets. The handler
/// also passes SIGINT on to a running command (which, started outside a
/// terminal, would not get it otherwise).
pub fn install_interrupt_handler() -> anyhow::Result<Arc<AtomicBool>> {
    if let Some(flag) = INTERRUPTED.get() {
        return Ok(flag.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        handler_flag.store(true, Ordering::SeqCst);
        let pid = CURRENT_CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) with a pid we started; failure (already gone) is harmless.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
    })
    .context("installing the Ctrl-C handler")?;
    Ok(INTERRUPTED.get_or_init(|| flag).clone())
}

/// Where the run is, for the events it writes.
struct Run<'a> {
    writer: Arc<Mutex<RecordWriter>>,
    /// Every event but samples, for the summary at the end.
    events: Vec<Event>,
    sampler: &'a Sampler,
    in_total: Vec<bool>,
    domain_ids: Vec<String>,
    baseline_total_w: Option<f64>,
    main_thread_workload_cpu_s: f64,
    /// 10 update periods of the slowest sensor in the total, and that sensor: a
    /// shorter window is flagged.
    min_window_s: f64,
    slowest_sensor: String,
}

impl Run<'_> {
    fn write(&mut self, event: Event) -> anyhow::Result<()> {
        write_locked(&self.writer, &event)?;
        self.events.push(event);
        Ok(())
    }

    fn window(&self, start: &Snapshot, end: &Snapshot) -> (DomainMap, f64, Vec<String>) {
        let mut energy = DomainMap::new();
        let mut total = 0.0;
        let mut wrapped = Vec::new();
        for (i, id) in self.domain_ids.iter().enumerate() {
            if !(end.alive[i] && start.alive[i]) {
                continue;
            }
            let e = end.totals_j[i] - start.totals_j[i];
            energy.insert(id.clone(), e);
            if self.in_total[i] {
                total += e;
            }
            if end.wraps[i] > start.wraps[i] {
                wrapped.push(id.clone());
            }
        }
        (energy, total, wrapped)
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
/// `writer`. Returns the record as written (without the sample series).
pub fn measure(
    inventory: Inventory,
    workload: &mut dyn Workload,
    settings: &LoopSettings,
    writer: RecordWriter,
    interrupted: &AtomicBool,
) -> anyhow::Result<Record> {
    let run_clock = Instant::now();
    let main_cpu_start = thread_cpu_time_s();
    let domains: Vec<_> = inventory
        .sensors
        .iter()
        .flat_map(|s| {
            s.domains()
                .iter()
                .map(move |d| (d.clone(), s.kind().name()))
        })
        .collect();
    let (domain_infos, total_rule) = total::decide(&domains, inventory.total);
    let (min_window_s, slowest_sensor) = min_window(&inventory, &domain_infos);
    let run_start = RunStart {
        schema_version: SCHEMA_VERSION.to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        host: host::describe(),
        gpus: inventory.gpus.clone(),
        sensors: inventory.sensors.iter().map(|s| s.info()).collect(),
        domains: domain_infos.clone(),
        total_rule,
        unavailable: inventory.unavailable.clone(),
        machine_checks: crate::machine_checks::check_all(
            &settings.sysfs_root,
            &settings.proc_root,
        ),
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

    let sampler = Sampler::new(inventory.sensors, run_clock);
    let progress = progress_bar(settings);
    let mut run = Run {
        writer: writer.clone(),
        events: Vec::new(),
        sampler: &sampler,
        in_total: domain_infos.iter().map(|d| d.in_total).collect(),
        domain_ids: domain_infos.iter().map(|d| d.id.clone()).collect(),
        baseline_total_w: None,
        main_thread_workload_cpu_s: 0.0,
        min_window_s,
        slowest_sensor,
    };

    let stop = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let sample_writer = settings.write_samples.then(|| writer.clone());
        let (sampler, stop) = (&sampler, &stop);
        let ticker =
            scope.spawn(move || sampler.tick_until(stop, settings.interval_s, sample_writer));
        let result = run_phases(&mut run, workload, settings, interrupted, &progress);
        stop.store(true, Ordering::SeqCst);
        let sampler_cpu_s = ticker.join().unwrap_or(0.0);
        (result, sampler_cpu_s)
    });
    let (result, sampler_cpu_s) = outcome;
    progress.finish_and_clear();
    run.notices_from_sampler()?;

    let (status, message) = match &result {
        Ok(status) => (
            *status,
            match status {
                RunStatus::Interrupted => Some(
                    "interrupted by Ctrl-C; repetitions measured before it are kept".to_string(),
                ),
                RunStatus::Failed => run.events.iter().rev().find_map(|e| match e {
                    Event::Repetition(r) => r.error.clone(),
                    _ => None,
                }),
                RunStatus::Ok => None,
            },
        ),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    let main_cpu_s =
        (thread_cpu_time_s() - main_cpu_start - run.main_thread_workload_cpu_s).max(0.0);
    let repetitions = run
        .events
        .iter()
        .filter(
            |e| matches!(e, Event::Repetition(r) if !r.warmup && r.status == RepetitionStatus::Ok),
        )
        .count() as u32;
    run.write(Event::RunEnd(RunEnd {
        status,
        ended_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        duration_s: run_clock.elapsed().as_secs_f64(),
        repetitions,
        agent_cpu_s: main_cpu_s + sampler_cpu_s,
        agent_max_rss_bytes: clock::max_rss_bytes(),
        message,
    }))?;
    Ok(Record::from_events(
        run_start,
        std::mem::take(&mut run.events),
    ))
}

/// 10 update periods of the slowest sensor with a domain in the total, and its name.
fn min_window(inventory: &Inventory, domains: &[hoeveel_record::DomainInfo]) -> (f64, String) {
    inventory
        .sensors
        .iter()
        .filter(|s| {
            s.domains()
                .iter()
                .any(|d| domains.iter().any(|i| i.id == d.id && i.in_total))
        })
        .map(|s| (10.0 * s.update_period_s(), s.kind().name().to_string()))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, String::new()))
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

/// Sleeps `seconds` in short steps so that Ctrl-C is seen quickly. Returns false
/// when interrupted.
fn idle(seconds: f64, interrupted: &AtomicBool) -> bool {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until {
        if interrupted.load(Ordering::SeqCst) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    !interrupted.load(Ordering::SeqCst)
}

fn run_phases(
    run: &mut Run<'_>,
    workload: &mut dyn Workload,
    settings: &LoopSettings,
    interrupted: &AtomicBool,
    progress: &ProgressBar,
) -> anyhow::Result<RunStatus> {
    let sampler = run.sampler;
    sampler.mark()?; // first reading of every meter
    if settings.baseline_s > 0.0 {
        progress.set_message("idle baseline");
        sampler.set_phase(RunPhase::Baseline, None);
        let start = sampler.mark()?;
        if !idle(settings.baseline_s, interrupted) {
            return Ok(RunStatus::Interrupted);
        }
        let end = sampler.mark()?;
        let duration_s = end.t_s - start.t_s;
        let (energy_j, total_j, _) = run.window(&start, &end);
        let power_w: DomainMap = energy_j
            .iter()
            .map(|(k, e)| (k.clone(), e / duration_s))
            .collect();
        let total_power_w = total_j / duration_s;
        run.baseline_total_w = Some(total_power_w);
        run.write(Event::Baseline(Baseline {
            start_s: start.t_s,
            duration_s,
            energy_j,
            power_w,
            total_power_w,
        }))?;
    }
    run.notices_from_sampler()?;

    sampler.set_phase(RunPhase::Prepare, None);
    // CPU the workload's own preparation and calibration use is not agent overhead.
    let cpu_before = thread_cpu_time_s();
    match workload.prepare_phase() {
        Some(name) => {
            progress.set_message(name.replace('_', " "));
            let start = sampler.mark()?;
            workload
                .prepare()
                .with_context(|| format!("workload {name}"))?;
            let end = sampler.mark()?;
            let duration_s = end.t_s - start.t_s;
            let (energy_j, total_energy_j, _) = run.window(&start, &end);
            let net_energy_j = run
                .baseline_total_w
                .map(|p| total_energy_j - p * duration_s);
            run.write(Event::Phase(Phase {
                name: name.to_string(),
                start_s: start.t_s,
                duration_s,
                energy_j,
                total_energy_j,
                net_energy_j,
            }))?;
        }
        None => workload.prepare().context("preparing the workload")?,
    }
    let target = crate::workload::CalibrationTarget {
        min_window_s: run.min_window_s,
        slowest_sensor: run.slowest_sensor.clone(),
    };
    let calibration = workload.calibrate(&target).context("calibrating the batch size")?;
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

    let ctx = RunContext { interrupted };
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
        sampler.set_phase(
            if warmup {
                RunPhase::Warmup
            } else {
                RunPhase::Repetition
            },
            Some(index),
        );
        let start = sampler.mark()?;
        let cpu_before = thread_cpu_time_s();
        let result = workload.run_once(&ctx);
        run.main_thread_workload_cpu_s += thread_cpu_time_s() - cpu_before;
        let end = sampler.mark()?;
        sampler.set_phase(RunPhase::Between, None);
        let duration_s = end.t_s - start.t_s;
        let (energy_j, total_energy_j, wraps_corrected) = run.window(&start, &end);
        let net_energy_j = run
            .baseline_total_w
            .map(|p| total_energy_j - p * duration_s);
        let mut repetition = Repetition {
            index,
            warmup,
            status: RepetitionStatus::Ok,
            start_s: start.t_s,
            duration_s,
            energy_j,
            total_energy_j,
            net_energy_j,
            wraps_corrected,
            requests: 1,
            exit_code: None,
            error: None,
            metrics: Default::default(),
        };
        let stop = match result {
            Ok(outcome) => {
                repetition.requests = outcome.requests.max(1);
                repetition.metrics = outcome.metrics;
                repetition.exit_code = outcome.exit_code;
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
            Err(WorkloadError::Fatal(e)) => {
                repetition.status = RepetitionStatus::Failed;
                repetition.error = Some(format!("{e:#}"));
                Some(RunStatus::Failed)
            }
        };
        run.write(Event::Repetition(repetition))?;
        run.notices_from_sampler()?;
        progress.inc(1);
        if let Some(status) = stop {
            return Ok(status);
        }
    }
    if interrupted.load(Ordering::SeqCst) {
        return Ok(RunStatus::Interrupted);
    }
    Ok(RunStatus::Ok)
}

#[cfg(test)]
mod tests;
