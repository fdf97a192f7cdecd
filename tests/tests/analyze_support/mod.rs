//! Builds records for the analysis tests with the record crate's own writer, so the
//! tests read exactly what the agent writes, without waiting for a real run.

#![allow(dead_code)]

use hoeveel_record::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn hoeveel() -> Command {
    let mut c = Command::new(hoeveel_e2e::bin("hoeveel"));
    // Keep a developer's own profile folders out of the tests.
    c.env_remove("HOEVEEL_PROFILES");
    c.env("XDG_CONFIG_HOME", "/nonexistent-hoeveel-test-config");
    c
}

pub fn run(args: &[&str]) -> Output {
    hoeveel().args(args).output().expect("run hoeveel")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What a synthetic record contains.
#[derive(Clone)]
pub struct Spec {
    pub kind: WorkloadKind,
    pub label: &'static str,
    pub provenance: Provenance,
    /// Gross energy per repetition (J), one value per measured repetition.
    pub energy_j: Vec<f64>,
    pub requests: u64,
    pub duration_s: f64,
    /// Idle power; net = gross - baseline x duration.
    pub baseline_w: Option<f64>,
    pub output_tokens: Option<u64>,
    /// Samples of the time series.
    pub samples: usize,
    pub run_end: bool,
}

impl Spec {
    pub fn new(kind: WorkloadKind, energy_j: Vec<f64>) -> Spec {
        Spec {
            kind,
            label: if kind == WorkloadKind::Llm {
                "smollm2-135m: What is a life cycle assessment?"
            } else {
                "search: waste collection"
            },
            provenance: Provenance::Counter,
            energy_j,
            requests: 1,
            duration_s: 1.0,
            baseline_w: Some(2.0),
            output_tokens: None,
            samples: 20,
            run_end: true,
        }
    }
}

pub fn run_start(spec: &Spec) -> RunStart {
    let (sensor, domain_kind, id) = match spec.provenance {
        Provenance::Modelled => (SensorKind::Model, DomainKind::CpuModel, "cpu-model"),
        _ => (SensorKind::RaplPowercap, DomainKind::Package, "package-0"),
    };
    RunStart {
        schema_version: SCHEMA_VERSION.to_string(),
        agent_version: "test".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        host: Host {
            hostname: "test".into(),
            os: "linux".into(),
            kernel: "6".into(),
            cpu_model: "test cpu".into(),
            logical_cpus: 2,
            memory_bytes: 1 << 30,
            virtualized: Some(true),
        },
        gpus: vec![],
        sensors: vec![SensorInfo {
            kind: sensor,
            provenance: spec.provenance,
            domains: vec![id.into()],
            source: if spec.provenance == Provenance::Modelled {
                "utilisation x a per-vCPU power model".into()
            } else {
                "powercap".into()
            },
            details: serde_json::Value::Null,
            update_period_s: Some(if spec.provenance == Provenance::Modelled {
                0.01
            } else {
                0.001
            }),
        }],
        domains: vec![DomainInfo {
            id: id.into(),
            kind: domain_kind,
            sensor,
            provenance: spec.provenance,
            in_total: true,
            reason: "the only domain".into(),
        }],
        total_rule: "package".into(),
        unavailable: vec![],
        machine_checks: vec![],
        workload: WorkloadInfo {
            kind: spec.kind,
            label: spec.label.into(),
            batching: (spec.requests > 1).then(|| "auto-calibrated".to_string()),
            details: serde_json::Value::Null,
        },
        settings: Settings {
            runs: spec.energy_j.len() as u32,
            warmup: 1,
            baseline_s: 1.0,
            interval_s: 0.1,
            ignore_failure: false,
            sysfs_root: "/sys".into(),
        },
    }
}

fn domain_id(spec: &Spec) -> &'static str {
    if spec.provenance == Provenance::Modelled {
        "cpu-model"
    } else {
        "package-0"
    }
}

/// All events of the record, in the order the agent writes them.
pub fn events(spec: &Spec) -> Vec<Event> {
    let id = domain_id(spec);
    let mut ev = vec![Event::RunStart(Box::new(run_start(spec)))];
    let map = |v: f64| BTreeMap::from([(id.to_string(), v)]);
    if let Some(b) = spec.baseline_w {
        ev.push(Event::Baseline(Baseline {
            start_s: 0.0,
            duration_s: 1.0,
            energy_j: map(b),
            power_w: map(b),
            total_power_w: b,
            total_power_sd_w: None,
            other_cpu_share: None,
        }));
    }
    let total_t = 1.0 + spec.duration_s * (spec.energy_j.len() + 1) as f64;
    for i in 0..spec.samples {
        let t = total_t * i as f64 / spec.samples.max(1) as f64;
        let phase = if t < 1.0 {
            RunPhase::Baseline
        } else if t < 1.0 + spec.duration_s {
            RunPhase::Warmup
        } else {
            RunPhase::Repetition
        };
        ev.push(Event::Sample(Sample {
            t_s: t,
            phase,
            repetition: None,
            power_w: map(2.0 + (i % 7) as f64),
        }));
    }
    let rep = |index: u32, warmup: bool, e: f64, start: f64| Repetition {
        window: None,
        probe: None,
        index,
        warmup,
        status: RepetitionStatus::Ok,
        start_s: start,
        duration_s: spec.duration_s,
        energy_j: map(e),
        total_energy_j: e,
        net_energy_j: spec.baseline_w.map(|b| e - b * spec.duration_s),
        wraps_corrected: vec![],
        incomplete: vec![],
        undercounted: vec![],
        too_short: None,
        requests: spec.requests,
        exit_code: Some(0),
        error: None,
        metrics: Metrics {
            output_tokens: spec.output_tokens,
            ..Metrics::default()
        },
        steady: None,
        parts: Vec::new(),
    };
    ev.push(Event::Repetition(rep(
        0,
        true,
        spec.energy_j.first().copied().unwrap_or(1.0),
        1.0,
    )));
    for (i, e) in spec.energy_j.iter().enumerate() {
        ev.push(Event::Repetition(rep(
            i as u32,
            false,
            *e,
            1.0 + spec.duration_s * (i + 1) as f64,
        )));
    }
    if spec.run_end {
        ev.push(Event::RunEnd(RunEnd {
            status: RunStatus::Ok,
            ended_at: "2026-01-01T00:01:00Z".into(),
            duration_s: total_t,
            repetitions: spec.energy_j.len() as u32,
            agent_cpu_s: 0.05,
            agent_max_rss_bytes: Some(10 << 20),
            message: None,
            degraded: false,
        }));
    }
    ev
}

pub fn write(dir: &Path, name: &str, spec: &Spec) -> PathBuf {
    let path = dir.join(name);
    let mut w = RecordWriter::create(&path).expect("create record");
    for e in events(spec) {
        w.write(&e).expect("write event");
    }
    path
}

/// An LLM record (about 30 J per request, 50 tokens) and a search record (about 1 J).
pub fn llm_and_search(dir: &Path, provenance: Provenance) -> (PathBuf, PathBuf) {
    let mut llm = Spec::new(WorkloadKind::Llm, vec![32.0, 31.0, 33.5, 32.5, 31.5, 32.0]);
    llm.provenance = provenance;
    llm.output_tokens = Some(50);
    // Search: batches of 100 requests, 102-103 J per batch, 2 W idle x 1 s.
    let mut search = Spec::new(
        WorkloadKind::Search,
        vec![103.0, 102.5, 103.2, 102.8, 103.1, 102.9],
    );
    search.provenance = provenance;
    search.requests = 100;
    (
        write(dir, "llm.jsonl", &llm),
        write(dir, "search.jsonl", &search),
    )
}
