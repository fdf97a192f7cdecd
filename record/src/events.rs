//! Event types of the record. See the crate docs for the envelope and ordering.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Energy or power per domain id, in the unit named by the field that holds it.
pub type DomainMap = BTreeMap<String, f64>;

/// One line of a record: `{"type": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
// Repetitions are most of a record's events after samples: boxing them would add
// an allocation per repetition for no saving.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    RunStart(Box<RunStart>),
    Baseline(Baseline),
    Phase(Phase),
    Sample(Sample),
    Repetition(Repetition),
    Notice(Notice),
    RunEnd(RunEnd),
}

/// How an energy figure was obtained. Users trust a number only if it says this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// A hardware energy counter (RAPL, NVML total energy).
    Counter,
    /// Instantaneous power polled and integrated over time (trapezoid rule).
    Integrated,
    /// No sensor: estimated from utilisation and a power model.
    Modelled,
}

impl Provenance {
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Counter => "counter",
            Provenance::Integrated => "integrated",
            Provenance::Modelled => "modelled",
        }
    }

    /// The weakest of several provenances: a sum that contains a modelled part is modelled.
    pub fn weakest(items: impl IntoIterator<Item = Provenance>) -> Option<Provenance> {
        items.into_iter().max()
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of sensor, by the names the command line and the record use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SensorKind {
    /// RAPL energy counters through the perf_event `power` PMU.
    RaplPerf,
    /// RAPL energy counters through powercap sysfs (`energy_uj`).
    RaplPowercap,
    /// NVIDIA GPUs through NVML.
    Nvml,
    /// The labelled CPU power model (utilisation × a published power curve).
    Model,
    /// A kind written by a newer agent than this reader knows.
    #[serde(other)]
    Other,
}

impl SensorKind {
    /// Every kind a user can ask for.
    pub const ALL: [SensorKind; 4] = [
        SensorKind::RaplPerf,
        SensorKind::RaplPowercap,
        SensorKind::Nvml,
        SensorKind::Model,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SensorKind::RaplPerf => "rapl-perf",
            SensorKind::RaplPowercap => "rapl-powercap",
            SensorKind::Nvml => "nvml",
            SensorKind::Model => "model",
            SensorKind::Other => "other",
        }
    }

    /// The kind a user names (`rapl-perf`, `model`, …); `None` for any other name.
    pub fn parse(name: &str) -> Option<SensorKind> {
        SensorKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for SensorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of workload a record measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// A command line, run as a child process.
    Command,
    /// LLM requests (in process, Ollama, or an OpenAI-compatible server).
    Llm,
    /// Search queries.
    Search,
    /// AI-powered search: a search, then an LLM answer written from the top
    /// passages, as one request; its repetitions have the parts `retrieval` and
    /// `generation`.
    AiSearch,
    /// Windows of a program, measured through the measuring library.
    Library,
    /// A kind written by a newer agent than this reader knows.
    #[serde(other)]
    Other,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Command => "command",
            WorkloadKind::Llm => "llm",
            WorkloadKind::Search => "search",
            WorkloadKind::AiSearch => "ai-search",
            WorkloadKind::Library => "library",
            WorkloadKind::Other => "other",
        }
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What part of the machine a domain covers. Used to avoid double counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainKind {
    /// Whole platform (RAPL psys): contains package, DRAM on some parts, and more.
    Psys,
    /// CPU package (RAPL pkg): contains cores, uncore and the integrated GPU.
    Package,
    /// CPU cores only (RAPL pp0): inside package.
    Cores,
    /// Uncore / integrated graphics (RAPL pp1, "gpu" in the power PMU): inside package.
    Uncore,
    /// Memory (RAPL dram).
    Dram,
    /// A discrete GPU board (NVML).
    Gpu,
    /// The modelled CPU when no counter can be read.
    CpuModel,
}

impl DomainKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainKind::Psys => "psys",
            DomainKind::Package => "package",
            DomainKind::Cores => "cores",
            DomainKind::Uncore => "uncore",
            DomainKind::Dram => "dram",
            DomainKind::Gpu => "gpu",
            DomainKind::CpuModel => "cpu_model",
        }
    }
}

/// Settings that identify one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// `MAJOR.MINOR` of the record format.
    pub schema_version: String,
    pub agent_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub host: Host,
    pub gpus: Vec<GpuInfo>,
    /// Every sensor that is measuring in this run.
    pub sensors: Vec<SensorInfo>,
    /// Every domain measured, and whether it is part of the total.
    pub domains: Vec<DomainInfo>,
    /// Why the total is the sum it is.
    pub total_rule: String,
    /// Sensors that were looked for and could not be used, with the reason and fix.
    pub unavailable: Vec<Unavailable>,
    /// The state of the machine when the run started (governor, swap, throttling, …); absent in older records.
    #[serde(default)]
    pub machine_checks: Vec<MachineCheck>,
    pub workload: WorkloadInfo,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub cpu_model: String,
    pub logical_cpus: u32,
    pub memory_bytes: u64,
    /// True when the agent believes it runs in a virtual machine or container.
    pub virtualized: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub uuid: Option<String>,
    pub bus_id: Option<String>,
    pub power_limit_w: Option<f64>,
}

/// One sensor and how it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorInfo {
    pub kind: SensorKind,
    pub provenance: Provenance,
    /// Domain ids this sensor provides.
    pub domains: Vec<String>,
    /// Where it reads from (a sysfs path, a PMU, a library) and how often it updates.
    pub source: String,
    /// Sensor-specific facts: the power model and its parameters for `model`,
    /// the PMU type and scale for `rapl-perf`, and so on.
    #[serde(default)]
    pub details: serde_json::Value,
    /// How often the source's value changes, in seconds: a window shorter than
    /// about 10 of these cannot be resolved. Absent in records written before
    /// it was recorded.
    #[serde(default)]
    pub update_period_s: Option<f64>,
}

/// One measured domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainInfo {
    /// Unique in the run: `package-0`, `dram-1`, `psys`, `gpu-0`, `cpu-model`.
    pub id: String,
    pub kind: DomainKind,
    /// Sensor kind that reads it.
    pub sensor: SensorKind,
    pub provenance: Provenance,
    /// Whether this domain is summed into `total`.
    pub in_total: bool,
    /// Why it is or is not in the total (e.g. "inside package-0").
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub sensor: SensorKind,
    pub reason: String,
    /// The one command or change that fixes it, where there is one.
    pub fix: Option<String>,
}

/// What was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInfo {
    pub kind: WorkloadKind,
    /// One line a person reads: the command line, the model and prompt, the query.
    pub label: String,
    /// How requests are grouped into repetitions when one request is too short to
    /// measure alone (e.g. "auto-calibrated: each repetition lasts at least 0.2 s").
    /// Each repetition's `requests` says how many it did.
    pub batching: Option<String>,
    /// Workload facts: model file, sha256, parameters, quantisation; corpus and index; command argv.
    #[serde(default)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub runs: u32,
    pub warmup: u32,
    pub baseline_s: f64,
    pub interval_s: f64,
    pub ignore_failure: bool,
    pub sysfs_root: String,
}

/// Idle power before the workload, used to compute net energy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub start_s: f64,
    pub duration_s: f64,
    pub energy_j: DomainMap,
    pub power_w: DomainMap,
    /// Power of the domains in the total.
    pub total_power_w: f64,
    /// Standard deviation of the total power over the baseline's sub-windows (the
    /// baseline is read in several slices): a large spread means the machine was not
    /// idle, and every net figure inherits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_power_sd_w: Option<f64>,
    /// Share of all CPUs (0 to 1) that processes other than the agent used during
    /// the baseline, from /proc/stat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cpu_share: Option<f64>,
}

/// A one-off measured phase: model load, index build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    pub start_s: f64,
    pub duration_s: f64,
    pub energy_j: DomainMap,
    pub total_energy_j: f64,
    pub net_energy_j: Option<f64>,
}

/// Which part of the run a sample or window belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunPhase {
    Baseline,
    Prepare,
    Warmup,
    Repetition,
    Between,
}

/// One tick of the time series: mean power per domain since the previous tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the run started (the run_start timestamp).
    pub t_s: f64,
    pub phase: RunPhase,
    /// Repetition index, when `phase` is warm-up or repetition.
    pub repetition: Option<u32>,
    pub power_w: DomainMap,
}

/// Outcome of one repetition of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepetitionStatus {
    Ok,
    Failed,
    Interrupted,
}

/// One warm-up or measured repetition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    /// 0-based, counted separately for warm-ups and measured runs.
    pub index: u32,
    /// The window's name, for windows measured through the measuring library
    /// (several names may share one record); absent for the agent's workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// Set on a probe repetition, which measures part of a request (the prefill of
    /// an LLM request: one generated token) to split its energy; probes are kept
    /// out of the per-request figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    pub warmup: bool,
    pub status: RepetitionStatus,
    pub start_s: f64,
    pub duration_s: f64,
    /// Gross energy per domain over the repetition's window.
    pub energy_j: DomainMap,
    /// Sum of the domains in the total.
    pub total_energy_j: f64,
    /// Gross minus idle baseline power × duration; absent without a baseline.
    pub net_energy_j: Option<f64>,
    /// Domains whose counter wrapped during the window (corrected).
    #[serde(default)]
    pub wraps_corrected: Vec<String>,
    /// Domains in the run's total that this repetition's total misses (their sensor
    /// was lost): the repetition is incomplete and is kept out of the per-request
    /// figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// Domains whose counter was reset inside the window: the interval around the
    /// reset is lost, so the repetition is undercounted and kept out of the
    /// per-request figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undercounted: Vec<String>,
    /// Set when the window was shorter than 10 update periods of the slowest sensor
    /// in the total: its energy is resolved coarsely. Batching fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub too_short: Option<ShortWindow>,
    /// Requests done in this repetition (the batch size).
    pub requests: u64,
    /// Exit code of a command workload.
    pub exit_code: Option<i32>,
    /// What failed, when status is failed.
    pub error: Option<String>,
    #[serde(default)]
    pub metrics: Metrics,
    /// The steady state inside the repetition, for concurrent requests measured
    /// under `--protocol ml-energy`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady: Option<Box<Steady>>,
    /// The parts of a request of several (an AI search: `retrieval`, then
    /// `generation`), each measured over its own window: the sensors are read
    /// between two parts, so the parts are contiguous and cover the repetition,
    /// and their energies add up to the repetition's. A failed repetition keeps
    /// the parts measured before it failed. Absent for a request of one part
    /// (since 2.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// One part of a repetition, measured as the repetition is: gross energy per
/// domain over its window, net = gross − idle baseline power × its duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub name: PartName,
    /// Seconds since the run started.
    pub start_s: f64,
    pub duration_s: f64,
    /// Gross energy per domain over the part's window.
    pub energy_j: DomainMap,
    /// Sum of the domains in the total.
    pub total_energy_j: f64,
    /// Gross minus idle baseline power × duration; absent without a baseline.
    pub net_energy_j: Option<f64>,
    /// Domains of the total not measured over the whole part, or reset inside it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// Set when the part was shorter than 10 update periods of the slowest sensor
    /// in the total: its energy is resolved coarsely (a retrieval of a few
    /// milliseconds is; the request as a whole may not be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub too_short: Option<ShortWindow>,
    /// The part's own metrics: `results` for a retrieval; tokens, time to first
    /// token and output text for a generation.
    #[serde(default)]
    pub metrics: Metrics,
}

/// Which part of a request a [`Part`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartName {
    /// Finding the passages: the search, and reading the top passages' text.
    Retrieval,
    /// The LLM writing the answer from the passages (prompt built, templated,
    /// tokenised, evaluated, and the answer decoded).
    Generation,
    /// A part written by a newer agent than this reader knows.
    #[serde(other)]
    Other,
}

impl PartName {
    pub fn as_str(self) -> &'static str {
        match self {
            PartName::Retrieval => "retrieval",
            PartName::Generation => "generation",
            PartName::Other => "other",
        }
    }
}

impl std::fmt::Display for PartName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The steady state of a repetition of concurrent requests: the window from the
/// moment every request had its first token to the moment the first one ended,
/// when all of them were being generated together (ML.ENERGY's protocol). The
/// sensors are read exactly at both ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steady {
    /// Requests sent at once.
    pub in_flight: u32,
    /// The window, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<SteadyWindow>,
    /// Why there was none: a request ended before the last one had its first
    /// token, so the server never generated all of them together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_none: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SteadyWindow {
    /// Seconds since the run started.
    pub start_s: f64,
    pub duration_s: f64,
    /// Gross energy per domain over the window.
    pub energy_j: DomainMap,
    /// Sum of the domains in the total.
    pub total_energy_j: f64,
    /// Gross minus idle baseline power × duration; absent without a baseline.
    pub net_energy_j: Option<f64>,
    /// Tokens streamed inside the window, over all requests (one per content
    /// chunk).
    pub output_tokens: u64,
    /// Domains of the total not measured over the whole window, or reset inside
    /// it: the window is kept out of the figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

/// What a probe repetition measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// An LLM request cut to one generated token: the prompt's evaluation
    /// (prefill) and the first token, as AI Energy Score measures prefill.
    Prefill,
}

/// Why a window is too short for the sensors that measure it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShortWindow {
    /// 10 update periods of the slowest sensor in the total.
    pub min_window_s: f64,
    /// That sensor.
    pub slowest_sensor: SensorKind,
}

/// Workload metrics of one repetition, summed over its requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_token_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Search hits returned, over all requests of the repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<u64>,
    /// Bytes received from a server, over all requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
    /// With several requests sent to a server at once: the most of them it was
    /// generating at the same time (from streamed first tokens); 1 means it served
    /// them one after another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_generations: Option<u64>,
    /// Which prompt of the workload's prompt set the request asked (0-based), when
    /// it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_index: Option<u64>,
    /// Generated text (LLM) or top hit (search), to check determinism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_text: Option<String>,
}

/// Something a reader of the record should know: a sensor lost, a wrap corrected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub t_s: f64,
    pub level: NoticeLevel,
    /// The sensor it is about, when it is about one.
    pub sensor: Option<SensorKind>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    pub status: RunStatus,
    pub ended_at: String,
    pub duration_s: f64,
    /// Measured repetitions that completed (warm-ups not counted).
    pub repetitions: u32,
    /// CPU time (user + system) the agent itself used, over the whole run.
    pub agent_cpu_s: f64,
    /// Peak resident memory of the agent.
    pub agent_max_rss_bytes: Option<u64>,
    /// Why the run failed or was interrupted.
    pub message: Option<String>,
    /// True when some measured repetition is incomplete or undercounted (a sensor
    /// lost, a counter reset): the run finished, but not every repetition counts.
    #[serde(default)]
    pub degraded: bool,
}

/// One fact about the state of the machine that can disturb an energy measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineCheck {
    pub check: MachineCheckKind,
    /// The observed value, in the form its [`MachineCheckKind`] documents.
    pub value: String,
    /// True when the state is likely to distort the figures; false for information.
    pub concern: bool,
    /// The one line a person reads, e.g. "swap in use: 812 MiB (3.1% of memory);
    /// paging disturbs timing and energy".
    pub message: String,
}

/// What a [`MachineCheck`] looked at, and what its `value` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineCheckKind {
    /// CPU frequency governors in use, distinct, sorted, comma separated (`powersave`).
    Governor,
    /// Turbo / boost: `on` or `off`.
    Turbo,
    /// Swap in use, in KiB (an integer).
    Swap,
    /// Thermal throttling events since boot, cores and packages (an integer).
    ThermalThrottle,
    /// Whether the machine runs on battery: `true` or `false`.
    OnBattery,
    /// Share of all CPUs used by other processes than the agent, 0 to 1.
    OtherCpu,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_start_without_machine_checks_still_reads() {
        let line = r#"{"type":"run_start","data":{"schema_version":"1.0","agent_version":"0.1.0","started_at":"2026-01-01T00:00:00Z","host":{"hostname":"h","os":"linux","kernel":"6","cpu_model":"c","logical_cpus":2,"memory_bytes":1073741824,"virtualized":null},"gpus":[],"sensors":[],"domains":[],"total_rule":"package","unavailable":[],"workload":{"kind":"command","label":"true","batching":null},"settings":{"runs":1,"warmup":0,"baseline_s":0.0,"interval_s":0.1,"ignore_failure":false,"sysfs_root":"/sys"}}}"#;
        let event: Event = serde_json::from_str(line).expect("an old run_start parses");
        let Event::RunStart(start) = event else {
            panic!("parsed as another event: {event:?}");
        };
        assert!(start.machine_checks.is_empty());
    }

    fn part(name: PartName, start_s: f64, total_j: f64) -> Part {
        Part {
            name,
            start_s,
            duration_s: 0.5,
            energy_j: [("package-0".to_string(), total_j)].into(),
            total_energy_j: total_j,
            net_energy_j: Some(total_j - 1.0),
            incomplete: Vec::new(),
            too_short: None,
            metrics: Metrics::default(),
        }
    }

    #[test]
    fn a_repetition_with_parts_round_trips() {
        let mut rep = crate::testdata::repetition(0, 5.0);
        let mut generation = part(PartName::Generation, 1.5, 4.5);
        generation.metrics.output_tokens = Some(8);
        rep.parts = vec![part(PartName::Retrieval, 1.0, 0.5), generation];
        let line = serde_json::to_string(&Event::Repetition(rep.clone())).expect("serialise");
        assert!(line.contains(r#""parts":[{"name":"retrieval""#), "{line}");
        assert!(line.contains(r#""name":"generation""#), "{line}");
        let back: Event = serde_json::from_str(&line).expect("deserialise");
        assert_eq!(back, Event::Repetition(rep));
    }

    #[test]
    fn a_repetition_without_parts_writes_none_and_a_2_0_line_still_reads() {
        let rep = crate::testdata::repetition(0, 5.0);
        let line = serde_json::to_string(&Event::Repetition(rep)).expect("serialise");
        assert!(!line.contains("parts"), "{line}");
        // A repetition as a 2.0 agent wrote it.
        let old = r#"{"type":"repetition","data":{"index":0,"warmup":false,"status":"ok","start_s":1.0,"duration_s":2.0,"energy_j":{"cpu-model":3.0},"total_energy_j":3.0,"net_energy_j":1.0,"wraps_corrected":[],"requests":1,"exit_code":null,"error":null,"metrics":{}}}"#;
        let Event::Repetition(r) = serde_json::from_str::<Event>(old).expect("a 2.0 line reads")
        else {
            panic!("not a repetition");
        };
        assert!(r.parts.is_empty());
        assert_eq!(r.total_energy_j, 3.0);
    }

    #[test]
    fn an_unknown_part_name_reads_as_other() {
        let json = r#"{"name":"reranking","start_s":1.0,"duration_s":0.1,"energy_j":{"package-0":0.2},"total_energy_j":0.2,"net_energy_j":null}"#;
        let p: Part = serde_json::from_str(json).expect("a newer part reads");
        assert_eq!(p.name, PartName::Other);
        assert_eq!(p.total_energy_j, 0.2);
        assert_eq!(
            serde_json::from_str::<WorkloadKind>(r#""ai-search""#).expect("kind"),
            WorkloadKind::AiSearch
        );
        assert_eq!(WorkloadKind::AiSearch.name(), "ai-search");
    }

    #[test]
    fn machine_check_round_trips_in_snake_case() {
        let check = MachineCheck {
            check: MachineCheckKind::ThermalThrottle,
            value: "3".into(),
            concern: true,
            message: "thermal throttling since boot: 3 events".into(),
        };
        let json = serde_json::to_value(&check).expect("serialise");
        assert_eq!(json["check"], "thermal_throttle");
        let back: MachineCheck = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, check);
    }
}
