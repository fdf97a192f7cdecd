//! Measuring from inside a program: named windows that may overlap and nest.
//!
//! A [`Monitor`] discovers the sensors once, reads them in the background (so
//! that no counter wraps twice unseen) and reads every sensor exactly at each
//! window's [`begin`](Monitor::begin) and [`end`](Monitor::end). A window is two
//! snapshots of running totals, so any number of windows may be open at once.
//!
//! With [`MonitorOptions::record`] every ended window is written at once as a
//! repetition of a record that `hoeveel report` reads (one entry per window name);
//! a program that dies keeps every window it ended.

use crate::baseline;
use crate::clock::max_rss_bytes;
use crate::machine_checks;
use crate::sampler::{Sampler, Snapshot};
use crate::sensors::SensorKind;
use crate::sensors::discover::{self, DiscoverError, DiscoverOptions};
use crate::window::Layout;
use hoeveel_record::{
    Baseline, DomainMap, Event, Notice, NoticeLevel, Provenance, RecordWriter, Repetition,
    RepetitionStatus, RunEnd, RunStart, RunStatus, SCHEMA_VERSION, Settings, ShortWindow,
    WorkloadInfo, WorkloadKind,
};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// The longest time between two background readings.
pub const DEFAULT_INTERVAL_S: f64 = 0.5;

/// How to measure.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Which sensors, from which sysfs root and NVML library, and what the total is.
    pub discover: DiscoverOptions,
    /// Seconds between background readings. They only keep counters from wrapping
    /// twice unseen (windows are read exactly at their ends); a shorter time than
    /// half the fastest counter's wrap time is used when that is shorter.
    pub interval_s: f64,
    /// Root of procfs (`/proc`), for the machine checks and the baseline's CPU share.
    pub proc_root: PathBuf,
    /// Write a record (JSON Lines) here, one repetition per ended window.
    pub record: Option<PathBuf>,
    /// The record's workload label.
    pub label: String,
}

impl Default for MonitorOptions {
    fn default() -> MonitorOptions {
        MonitorOptions {
            discover: DiscoverOptions::default(),
            interval_s: DEFAULT_INTERVAL_S,
            proc_root: PathBuf::from("/proc"),
            record: None,
            label: "windows measured from a program".to_string(),
        }
    }
}

impl MonitorOptions {
    /// Only these sensors, by the names the command line uses (`rapl-perf`,
    /// `rapl-powercap`, `nvml`, `model`); each must then be usable.
    pub fn sensors(mut self, names: &[&str]) -> Result<MonitorOptions, MonitorError> {
        let kinds = names
            .iter()
            .map(|n| {
                SensorKind::parse(n.trim()).ok_or_else(|| DiscoverError::UnknownSensor {
                    name: (*n).to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.discover.only = Some(kinds);
        Ok(self)
    }

    pub fn sysfs_root(mut self, root: impl Into<PathBuf>) -> MonitorOptions {
        self.discover.sysfs_root = root.into();
        self
    }

    pub fn record(mut self, path: impl Into<PathBuf>) -> MonitorOptions {
        self.record = Some(path.into());
        self
    }
}

/// What went wrong. Callers branch on the variant; [`MonitorError::fix`] gives
/// the one command that fixes a sensor that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("window `{name}` is already open: end it before beginning it again")]
    AlreadyOpen { name: String },
    /// A name that could not be shown or stored as one line: `shown` is it
    /// with its control characters escaped.
    #[error("window name {shown} {why}")]
    BadWindowName { shown: String, why: &'static str },
    #[error("window `{name}` was never begun")]
    NotBegun { name: String },
    #[error("window `{name}` has already ended")]
    AlreadyEnded { name: String },
    #[error("the idle baseline cannot be measured while window `{name}` is open")]
    BaselineDuringWindow { name: String },
    #[error("{what} must be a positive number of seconds, not {value}")]
    BadDuration { what: &'static str, value: f64 },
    #[error("writing the record {}: {message}", path.display())]
    Record { path: PathBuf, message: String },
    #[error("reading the sensors: {0}")]
    Sensors(String),
}

impl MonitorError {
    pub fn fix(&self) -> Option<&str> {
        match self {
            MonitorError::Discover(e) => e.fix(),
            _ => None,
        }
    }
}

/// The longest window name, in characters.
pub const MAX_WINDOW_NAME_CHARS: usize = 200;

/// A window name is one line of text that reads back as it was given: not
/// empty, no NUL, newline or other control character (they would reach the
/// terminal and the reports), at most [`MAX_WINDOW_NAME_CHARS`].
pub fn check_window_name(name: &str) -> Result<(), MonitorError> {
    let why = if name.trim().is_empty() {
        Some("is empty")
    } else if name.contains('\0') {
        Some("holds a NUL character")
    } else if name.contains(['\n', '\r']) {
        Some("holds a line break")
    } else if name.chars().any(char::is_control) {
        Some("holds a control character")
    } else if name.chars().count() > MAX_WINDOW_NAME_CHARS {
        Some("is longer than 200 characters")
    } else {
        None
    };
    match why {
        Some(why) => Err(MonitorError::BadWindowName {
            shown: format!(
                "{:?}",
                name.chars().take(MAX_WINDOW_NAME_CHARS).collect::<String>()
            ),
            why,
        }),
        None => Ok(()),
    }
}

/// One ended window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowResult {
    pub name: String,
    /// Seconds from the monitor's start to the window's begin.
    pub start_s: f64,
    pub duration_s: f64,
    /// Gross energy of every domain measured over the whole window.
    pub energy_j: DomainMap,
    /// Sum of the domains in the total (see [`Monitor::layout`]).
    pub total_j: f64,
    /// Total minus the idle baseline's power × duration; `None` without a baseline.
    pub net_j: Option<f64>,
    /// How the total was obtained: a counter, integrated power, or modelled.
    pub provenance: Option<Provenance>,
    /// Domains whose counter wrapped in the window (corrected).
    pub wraps_corrected: Vec<String>,
    /// Domains of the total that were lost during the window: the total misses them.
    pub incomplete: Vec<String>,
    /// Domains whose counter was reset in the window: the total is too low.
    pub undercounted: Vec<String>,
    /// Set when the window is shorter than the sensors resolve.
    pub too_short: Option<ShortWindow>,
    /// Everything a reader of this figure should know, one sentence each.
    pub warnings: Vec<String>,
}

/// Background readings: the sampler and the flag that stops its thread.
struct Shared {
    sampler: Sampler,
    stop: AtomicBool,
}

/// Windows open and ended, the baseline, and the record.
struct Book {
    open: HashMap<String, Snapshot>,
    ended: BTreeSet<String>,
    ended_count: u32,
    baseline: Option<Baseline>,
    notices: Vec<Notice>,
    writer: Option<RecordWriter>,
    closed: bool,
}

/// Measures named windows. See the [crate docs](crate) for an example.
pub struct Monitor {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<f64>>,
    layout: Layout,
    run_start: RunStart,
    proc_root: PathBuf,
    started: Instant,
    book: Mutex<Book>,
}

impl Monitor {
    /// Discovers the sensors, takes the first reading and starts reading in the
    /// background. With a record path, its `run_start` is written now, so a path
    /// that cannot be written fails before anything is measured.
    pub fn start(options: MonitorOptions) -> Result<Monitor, MonitorError> {
        if !(options.interval_s.is_finite() && options.interval_s > 0.0) {
            return Err(MonitorError::BadDuration {
                what: "the interval",
                value: options.interval_s,
            });
        }
        let inventory = discover::discover(&options.discover)?;
        // Half the fastest wrap time, so a counter never wraps twice between readings.
        let interval_s = inventory
            .sensors
            .iter()
            .filter_map(|s| s.shortest_wrap_s())
            .map(|w| w.seconds() / 2.0)
            .fold(options.interval_s, f64::min);
        let layout = Layout::of(&inventory.sensors, inventory.total);
        let run_start = RunStart {
            schema_version: SCHEMA_VERSION.to_string(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            host: crate::host::describe(),
            gpus: inventory.gpus.clone(),
            sensors: inventory.sensors.iter().map(|s| s.info()).collect(),
            domains: layout.domains.clone(),
            total_rule: layout.total_rule.clone(),
            unavailable: inventory.unavailable.clone(),
            machine_checks: machine_checks::check_all(
                &options.discover.sysfs_root,
                &options.proc_root,
            ),
            workload: WorkloadInfo {
                kind: WorkloadKind::Library,
                label: options.label.clone(),
                batching: None,
                details: serde_json::json!({ "library": "hoeveel-measure" }),
            },
            settings: Settings {
                runs: 0,
                warmup: 0,
                baseline_s: 0.0,
                interval_s,
                ignore_failure: false,
                sysfs_root: options.discover.sysfs_root.display().to_string(),
            },
        };
        let writer = match &options.record {
            Some(path) => {
                let mut w = RecordWriter::create(path).map_err(|e| MonitorError::Record {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                w.write(&Event::RunStart(Box::new(run_start.clone())))
                    .map_err(|e| MonitorError::Record {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                Some(w)
            }
            None => None,
        };
        let started = Instant::now();
        let shared = Arc::new(Shared {
            sampler: Sampler::new(inventory.sensors, started),
            stop: AtomicBool::new(false),
        });
        // The first reading of every meter: windows start from here.
        shared.sampler.mark().map_err(sensors_error)?;
        let ticker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("hoeveel-sampler".into())
                .spawn(move || shared.sampler.tick_until(&shared.stop, interval_s, None))
                .map_err(|e| MonitorError::Sensors(format!("starting the sampler thread: {e}")))?
        };
        Ok(Monitor {
            shared,
            ticker: Some(ticker),
            layout,
            run_start,
            proc_root: options.proc_root,
            started,
            book: Mutex::new(Book {
                open: HashMap::new(),
                ended: BTreeSet::new(),
                ended_count: 0,
                baseline: None,
                notices: Vec::new(),
                writer,
                closed: false,
            }),
        })
    }

    /// The domains measured, which are in the total and why, and the shortest
    /// window the sensors resolve.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// What the record's `run_start` says: the sensors, the host, what could not
    /// be used and why.
    pub fn run_start(&self) -> &RunStart {
        &self.run_start
    }

    /// True when a domain in the total is modelled rather than measured.
    pub fn is_modelled(&self) -> bool {
        self.layout
            .domains
            .iter()
            .any(|d| d.in_total && d.provenance == Provenance::Modelled)
    }

    /// Measures the idle power for `duration_s`; every window that ends after it
    /// gets a net energy. No window may be open meanwhile.
    pub fn measure_baseline(&self, duration_s: f64) -> Result<Baseline, MonitorError> {
        if !(duration_s.is_finite() && duration_s > 0.0) {
            return Err(MonitorError::BadDuration {
                what: "the baseline",
                value: duration_s,
            });
        }
        let mut book = self.book();
        if let Some(name) = book.open.keys().next() {
            return Err(MonitorError::BaselineDuringWindow { name: name.clone() });
        }
        let never = AtomicBool::new(false);
        let measured = baseline::measure(
            &self.shared.sampler,
            &self.layout,
            duration_s,
            &self.proc_root,
            &never,
        )
        .map_err(sensors_error)?;
        let baseline =
            measured.ok_or_else(|| MonitorError::Sensors("baseline interrupted".into()))?;
        self.gather_notices(&mut book)?;
        write(&mut book, &Event::Baseline(baseline.clone()))?;
        book.baseline = Some(baseline.clone());
        Ok(baseline)
    }

    /// Begins the window `name`. Windows may overlap and nest; a name can be used
    /// again once its window has ended.
    pub fn begin(&self, name: &str) -> Result<(), MonitorError> {
        check_window_name(name)?;
        let mut book = self.book();
        if book.open.contains_key(name) {
            return Err(MonitorError::AlreadyOpen {
                name: name.to_string(),
            });
        }
        let start = self.shared.sampler.mark().map_err(sensors_error)?;
        book.ended.remove(name);
        book.open.insert(name.to_string(), start);
        Ok(())
    }

    /// Ends the window `name` and returns its energy. With a record, the window is
    /// written to it before this returns.
    pub fn end(&self, name: &str) -> Result<WindowResult, MonitorError> {
        let mut book = self.book();
        let Some(start) = book.open.remove(name) else {
            return Err(if book.ended.contains(name) {
                MonitorError::AlreadyEnded {
                    name: name.to_string(),
                }
            } else {
                MonitorError::NotBegun {
                    name: name.to_string(),
                }
            });
        };
        let end = self.shared.sampler.mark().map_err(sensors_error)?;
        book.ended.insert(name.to_string());
        self.gather_notices(&mut book)?;
        let result = self.result(name, &start, &end, &book);
        let index = book.ended_count;
        book.ended_count += 1;
        let repetition = Repetition {
            index,
            window: Some(name.to_string()),
            probe: None,
            warmup: false,
            status: RepetitionStatus::Ok,
            start_s: result.start_s,
            duration_s: result.duration_s,
            energy_j: result.energy_j.clone(),
            total_energy_j: result.total_j,
            // The record keeps the raw net figure, resolved or not: a reader
            // judges it as the window did (`hoeveel_record::net`).
            net_energy_j: book
                .baseline
                .as_ref()
                .map(|b| result.total_j - b.total_power_w * result.duration_s),
            wraps_corrected: result.wraps_corrected.clone(),
            incomplete: result.incomplete.clone(),
            undercounted: result.undercounted.clone(),
            too_short: result.too_short.clone(),
            requests: 1,
            exit_code: None,
            error: None,
            metrics: Default::default(),
            steady: None,
            parts: Vec::new(),
        };
        write(&mut book, &Event::Repetition(repetition))?;
        Ok(result)
    }

    /// Names of the windows open now, sorted.
    pub fn open_windows(&self) -> Vec<String> {
        let mut names: Vec<String> = self.book().open.keys().cloned().collect();
        names.sort();
        names
    }

    /// Stops the background readings and, with a record, writes its `run_end`.
    /// Windows still open are not measured; the record says which. Dropping the
    /// monitor does the same, ignoring errors.
    pub fn close(mut self) -> Result<(), MonitorError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), MonitorError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        let sampler_cpu_s = match self.ticker.take() {
            Some(t) => {
                t.thread().unpark();
                t.join().unwrap_or(0.0)
            }
            None => 0.0,
        };
        let mut book = self.book();
        if book.closed {
            return Ok(());
        }
        book.closed = true;
        let t_s = self.started.elapsed().as_secs_f64();
        let mut still_open: Vec<String> = book.open.keys().cloned().collect();
        still_open.sort();
        if !still_open.is_empty() {
            write(
                &mut book,
                &Event::Notice(Notice {
                    t_s,
                    level: NoticeLevel::Warning,
                    sensor: None,
                    message: format!(
                        "windows still open when the monitor closed are not measured: {}",
                        still_open.join(", ")
                    ),
                }),
            )?;
        }
        self.gather_notices(&mut book)?;
        let run_end = RunEnd {
            status: RunStatus::Ok,
            ended_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_s: t_s,
            repetitions: book.ended_count,
            // The background sampler's CPU: the measuring library's own load.
            agent_cpu_s: sampler_cpu_s,
            agent_max_rss_bytes: max_rss_bytes(),
            message: None,
            degraded: false,
        };
        write(&mut book, &Event::RunEnd(run_end))
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        // A panic while the book was held leaves it consistent (each change is one
        // insert or remove), so a poisoned lock is still usable.
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the sampler's notices (sensors lost, counter resets) into the book
    /// and the record.
    fn gather_notices(&self, book: &mut Book) -> Result<(), MonitorError> {
        for notice in self.shared.sampler.take_notices() {
            write(book, &Event::Notice(notice.clone()))?;
            book.notices.push(notice);
        }
        Ok(())
    }

    fn result(&self, name: &str, start: &Snapshot, end: &Snapshot, book: &Book) -> WindowResult {
        let w = self.layout.window(start, end);
        let provenance = Provenance::weakest(
            self.layout
                .domains
                .iter()
                .filter(|d| d.in_total && w.energy_j.contains_key(&d.id))
                .map(|d| d.provenance),
        );
        let mut warnings = Vec::new();
        let mut net_j = None;
        if let Some(b) = &book.baseline {
            let net = w.total_j - b.total_power_w * w.duration_s;
            let seconds = w.duration_s.max(f64::MIN_POSITIVE);
            // A net figure the baseline does not resolve is no measurement:
            // it is left out, and the window says why, as the CLI does.
            match hoeveel_record::net::judge(w.total_j / seconds, net / seconds, b) {
                Some(why) => warnings.push(why),
                None => net_j = Some(net),
            }
            warnings.extend(
                hoeveel_record::warnings::of_baseline(b)
                    .into_iter()
                    .map(|w| w.message),
            );
        }
        let too_short = self.layout.resolution.short_window(w.duration_s);
        if provenance == Some(Provenance::Modelled) {
            warnings.push(
                "MODELLED: no energy counter could be read, so the CPU's energy is estimated from its utilisation and a power model".to_string(),
            );
        }
        if let Some(short) = &too_short {
            warnings.push(format!(
                "the window lasted {:.4} s, less than {:.4} s (10 update periods of {}): its energy is resolved coarsely; measure a longer window or several calls in one",
                w.duration_s, short.min_window_s, short.slowest_sensor
            ));
        }
        if !w.missing.is_empty() {
            warnings.push(format!(
                "incomplete: {} stopped being measured during the window, so the total misses it",
                w.missing.join(", ")
            ));
        }
        if !w.reset.is_empty() {
            warnings.push(format!(
                "undercounted: the counter of {} was reset during the window",
                w.reset.join(", ")
            ));
        }
        warnings.extend(
            book.notices
                .iter()
                .filter(|n| n.level == NoticeLevel::Warning)
                .filter(|n| start.t_s <= n.t_s && n.t_s <= end.t_s)
                .map(|n| n.message.clone()),
        );
        WindowResult {
            name: name.to_string(),
            start_s: start.t_s,
            duration_s: w.duration_s,
            energy_j: w.energy_j,
            total_j: w.total_j,
            net_j,
            provenance,
            wraps_corrected: w.wrapped,
            incomplete: w.missing,
            undercounted: w.reset,
            too_short,
            warnings,
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn sensors_error(e: anyhow::Error) -> MonitorError {
    MonitorError::Sensors(format!("{e:#}"))
}

fn write(book: &mut Book, event: &Event) -> Result<(), MonitorError> {
    let Some(w) = book.writer.as_mut() else {
        return Ok(());
    };
    w.write(event).map_err(|e| MonitorError::Record {
        path: w.path().to_path_buf(),
        message: e.to_string(),
    })
}
