//! Options every measuring subcommand shares (`run`, `llm`, `search`), and the
//! one routine that turns them into a measured, recorded, summarised run.

use crate::privilege::UserPaths;
use crate::run_loop::{self, LoopSettings};
use crate::sensors::discover::{self, DiscoverError, DiscoverOptions, TotalChoice};
use crate::workload::Workload;
use anyhow::Context;
use hoeveel_record::summary::Summary;
use hoeveel_record::{RecordWriter, RunStatus};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which sensors to read and where: shared by the measuring subcommands and `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct SensorArgs {
    /// Root of sysfs, for containers with the host's /sys mounted elsewhere.
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs_root: PathBuf,
    /// Root of procfs, for the machine checks (swap, other processes' CPU use).
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// Sensors to use, comma separated: rapl-perf, rapl-powercap, nvml, model.
    /// Default: the best available for the CPU, and NVML for GPUs.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub sensors: Option<Vec<String>>,
    /// What the total is: `package` (package + DRAM + GPUs) or `psys` (platform).
    #[arg(long, value_enum, default_value_t = TotalArg::Package)]
    pub total: TotalArg,
    /// NVML library to load instead of the system's libnvidia-ml.so.1.
    #[arg(long, value_name = "FILE", env = "HOEVEEL_NVML_LIBRARY")]
    pub nvml_library: Option<PathBuf>,
    /// More on stderr: each sensor not used and why, and llama.cpp's own log.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

impl SensorArgs {
    pub fn discover_options(&self) -> anyhow::Result<DiscoverOptions> {
        self.check_roots()?;
        DiscoverOptions::from_names(
            self.sysfs_root.clone(),
            self.sensors.as_deref(),
            self.nvml_library_to_load()?,
            self.total.into(),
        )
        .map_err(|e| match e {
            DiscoverError::UnknownSensor { name } => anyhow::anyhow!(
                "unknown sensor `{name}` in --sensors; known: rapl-perf, rapl-powercap, nvml, model"
            ),
            other => other.into(),
        })
    }

    /// Under sudo, the sysfs and procfs roots must be root's (see
    /// [`crate::privilege::roots`]).
    pub fn check_roots(&self) -> anyhow::Result<()> {
        if crate::privilege::invoking_user_from_env()?.is_some() {
            crate::privilege::roots::check_roots(&self.sysfs_root, &self.proc_root)?;
        }
        Ok(())
    }

    fn nvml_library_to_load(&self) -> anyhow::Result<Option<PathBuf>> {
        nvml_library_to_load(self.nvml_library.as_deref())
    }
}

/// `--nvml-library` as it may be loaded: under sudo only a library root owns
/// and only root can change, by its resolved path (see
/// [`crate::privilege::library`]); as given otherwise.
pub fn nvml_library_to_load(path: Option<&std::path::Path>) -> anyhow::Result<Option<PathBuf>> {
    match path {
        Some(path) if crate::privilege::invoking_user_from_env()?.is_some() => {
            Ok(Some(crate::privilege::library::check_library(path)?))
        }
        other => Ok(other.map(std::path::Path::to_path_buf)),
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct MeasureArgs {
    /// Measured repetitions.
    #[arg(short = 'r', long, default_value_t = 10)]
    pub runs: u32,
    /// Warm-up repetitions, run first and left out of the results.
    #[arg(short = 'w', long, default_value_t = 1)]
    pub warmup: u32,
    /// Seconds of idle baseline before the workload (0 disables it, and net energy with it).
    #[arg(long, value_name = "SECS", default_value_t = 3.0, value_parser = parse_baseline_s)]
    pub baseline: f64,
    /// Sampling interval of the time series, e.g. 100ms or 0.5s.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration_s)]
    pub interval: f64,
    /// Where the record goes (default: ./runs/WORKLOAD-TIMESTAMP.jsonl).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub sensor: SensorArgs,
    /// Keep going when a repetition fails (non-zero exit, server error).
    #[arg(long)]
    pub ignore_failure: bool,
    /// Do not write the sampled time series into the record.
    #[arg(long)]
    pub no_samples: bool,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

/// `--total`, as clap parses it; the measuring crate's [`TotalChoice`] has no
/// command-line dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TotalArg {
    /// Package + DRAM of every socket, plus every GPU.
    Package,
    /// RAPL psys (the whole platform as the SoC sees it), plus every GPU.
    Psys,
}

impl From<TotalArg> for TotalChoice {
    fn from(arg: TotalArg) -> TotalChoice {
        match arg {
            TotalArg::Package => TotalChoice::Package,
            TotalArg::Psys => TotalChoice::Psys,
        }
    }
}

/// The longest duration an option takes (`--interval`, `--min-repetition-time`,
/// `serve --resolution`, `llm --timeout`): a day.
pub const MAX_DURATION_S: f64 = 86_400.0;

/// The longest idle baseline: an hour, far above the seconds a baseline needs.
pub const MAX_BASELINE_S: f64 = 3_600.0;

/// Parses `100ms`, `0.5s`, `2s` or a bare number of milliseconds into seconds,
/// from 1 ms to [`MAX_DURATION_S`].
pub fn parse_duration_s(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        (text, 1e-3)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 100ms, 0.5s)"))?;
    let seconds = value * scale;
    if !(seconds.is_finite() && seconds >= 0.001) {
        return Err(format!(
            "`{text}` is too short: the interval must be at least 1ms"
        ));
    }
    if seconds > MAX_DURATION_S {
        return Err(format!(
            "`{text}` is too long: at most {MAX_DURATION_S}s (a day)"
        ));
    }
    Ok(seconds)
}

/// Parses `--baseline`: seconds, from 0 (no baseline) to [`MAX_BASELINE_S`].
pub fn parse_baseline_s(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(seconds.is_finite() && (0.0..=MAX_BASELINE_S).contains(&seconds)) {
        return Err(format!(
            "`{text}`: the baseline is 0 to {MAX_BASELINE_S} seconds"
        ));
    }
    Ok(seconds)
}

impl MeasureArgs {
    pub fn loop_settings(&self) -> anyhow::Result<LoopSettings> {
        self.sensor.check_roots()?;
        if self.runs == 0 {
            anyhow::bail!("--runs must be at least 1");
        }
        if !(self.baseline.is_finite() && self.baseline >= 0.0) {
            anyhow::bail!(
                "--baseline must be 0 or more seconds, not {}",
                self.baseline
            );
        }
        Ok(LoopSettings {
            runs: self.runs,
            warmup: self.warmup,
            baseline_s: self.baseline,
            interval_s: self.interval,
            ignore_failure: self.ignore_failure,
            write_samples: !self.no_samples,
            progress: !self.no_progress,
            sysfs_root: self.sensor.sysfs_root.clone(),
            proc_root: self.sensor.proc_root.clone(),
            lock_file: Some(run_loop::lock::lock_path()),
        })
    }

    /// The record path: `--output`, or `./runs/STEM-UTCTIME.jsonl` (see
    /// [`unused_name`]).
    pub fn output_path(&self, stem: &str) -> PathBuf {
        self.output.clone().unwrap_or_else(|| {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            unused_name(&PathBuf::from("runs").join(format!("{stem}-{stamp}.jsonl")))
        })
    }
}

/// `path`, or with `-2`, `-3`, … before its extension when that name is taken
/// (a run started in the same second): for the names the agent chooses
/// itself. A record is never overwritten; a name the user chose that is taken
/// is refused when the record is created.
pub fn unused_name(path: &std::path::Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let extension = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    std::iter::once(path.to_path_buf())
        .chain((2..1000).map(|n| path.with_file_name(format!("{stem}-{n}{extension}"))))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| path.to_path_buf())
}

/// Discovers sensors, opens the record (failing before anything is measured when
/// it cannot be written), measures the workload, and prints the summary.
/// `stem` names the default record file (`command`, `llm`, `search`).
pub fn measure(
    args: &MeasureArgs,
    stem: &str,
    workload: &mut dyn Workload,
) -> anyhow::Result<ExitCode> {
    let path = args.output_path(stem);
    let (code, _) = measure_into(args, &path, workload)?;
    Ok(ExitCode::from(code))
}

/// [`measure`] into the record at `path`; returns the exit status and the record
/// as measured.
pub fn measure_into(
    args: &MeasureArgs,
    path: &std::path::Path,
    workload: &mut dyn Workload,
) -> anyhow::Result<(u8, hoeveel_record::Record)> {
    let settings = args.loop_settings()?;
    let options = args.sensor.discover_options()?;
    let inventory = discover::discover(&options).map_err(render_discover_error)?;
    check_interval(settings.interval_s, &inventory)?;
    // Still before anything is measured: a path that cannot be written fails
    // here. Created as the user who ran sudo, if one did, and never over an
    // existing file or through a link.
    let file = UserPaths::from_env()?
        .create_record(path)
        .with_context(|| format!("cannot create the record file {}", path.display()))?;
    let writer = RecordWriter::to_writer(path, Box::new(file));
    for note in inventory.notes(args.sensor.verbose) {
        eprintln!("hoeveel-agent: {note}");
    }
    let interrupted = run_loop::install_interrupt_handler()?;
    let measured = run_loop::measure(inventory, workload, &settings, writer, interrupted)
        .with_context(|| format!("measuring into {}", path.display()))?;
    let record = measured.record;
    print!("{}", Summary::of(&record).render_text());
    if let Some(error) = &measured.write_error {
        // Said once, after the summary of what was measured before it.
        println!(
            "\n  Record: {} is incomplete; the figures above are all that was measured",
            path.display()
        );
        // Measuring had started, so this is a failed run (1), not bad input (2).
        eprintln!("hoeveel-agent: error: {error}; measuring stopped there");
        return Ok((1, record));
    }
    println!("\n  Record: {}", path.display());
    Ok((exit_code(&record), record))
}

/// Discovery's error as the CLI says it: the sysfs root by its flag, and the fix
/// on a line of its own.
pub fn render_discover_error(e: DiscoverError) -> anyhow::Error {
    let fix = e.fix().map(|f| format!("\n  fix: {f}")).unwrap_or_default();
    match e {
        DiscoverError::SysfsRootMissing { path } => {
            anyhow::anyhow!("--sysfs-root {} is not a directory", path.display())
        }
        other => anyhow::anyhow!("{other}{fix}"),
    }
}

/// Refuses a sampling interval at which a counter could wrap twice between two
/// readings: the meter corrects one wrap per interval, a second would be lost.
pub fn check_interval(
    interval_s: f64,
    inventory: &crate::sensors::discover::Inventory,
) -> anyhow::Result<()> {
    let shortest = inventory
        .sensors
        .iter()
        .filter_map(|s| s.shortest_wrap_s().map(|w| (s.kind().name(), w)))
        .min_by(|a, b| a.1.seconds().total_cmp(&b.1.seconds()));
    if let Some((sensor, w)) = shortest.filter(|(_, w)| interval_s >= w.seconds()) {
        anyhow::bail!(
            "--interval {interval_s} s is too long for {sensor}: the {} counter can wrap every {:.3} s ({:.1} J range at {:.0} W, {}), so it could wrap twice between samples and the second wrap would be lost. Use an --interval below {:.3} s",
            w.domain,
            w.seconds(),
            w.range_j,
            w.max_power_w,
            w.power_source,
            w.seconds() / 2.0
        );
    }
    Ok(())
}

/// The documented exit status of a measured run: 0 ok, 1 a repetition failed, 3
/// finished but degraded (some repetition incomplete or undercounted, or a net
/// energy the idle baseline leaves unresolved), 128 + the
/// signal's number when a signal stopped it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).
/// Errors before measuring exit with 2 (in `main`).
pub fn exit_code(record: &hoeveel_record::Record) -> u8 {
    match record.run_end.as_ref() {
        Some(end)
            if end.status == RunStatus::Ok
                && (end.degraded || hoeveel_record::net::unresolved(record).is_some()) =>
        {
            3
        }
        Some(end) if end.status == RunStatus::Ok => 0,
        Some(end) if end.status == RunStatus::Interrupted => run_loop::signals::exit_code(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_duration_s, unused_name};

    #[test]
    fn a_taken_name_the_agent_chose_gets_a_number() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("llm-m.jsonl");
        assert_eq!(unused_name(&path), path);
        std::fs::write(&path, "").expect("write");
        assert_eq!(unused_name(&path), dir.path().join("llm-m-2.jsonl"));
        std::fs::write(dir.path().join("llm-m-2.jsonl"), "").expect("write");
        assert_eq!(unused_name(&path), dir.path().join("llm-m-3.jsonl"));
    }

    #[test]
    fn durations_parse_to_seconds() {
        assert_eq!(parse_duration_s("100ms"), Ok(0.1));
        assert_eq!(parse_duration_s("0.5s"), Ok(0.5));
        assert_eq!(parse_duration_s("250"), Ok(0.25));
        assert!(parse_duration_s("0ms").is_err());
        assert!(parse_duration_s("fast").is_err());
    }
}
