//! Records built in memory for the unit tests of this crate.

use crate::events::*;
use crate::reader::Record;

/// A run of the modelled CPU with the given repetitions; with a baseline of 1 W
/// over 1 s when `baseline` is set (and each repetition's net is gross − 2 J).
pub fn record_with(baseline: bool, repetitions: Vec<Repetition>) -> Record {
    let text = r#"{"schema_version":"1.1","agent_version":"0.1.0","started_at":"2026-11-28T18:36:17.876Z","host":{"hostname":"test","os":"Linux","kernel":"6","cpu_model":"cpu","logical_cpus":2,"memory_bytes":1,"virtualized":null},"gpus":[],"sensors":[{"kind":"model","provenance":"modelled","domains":["cpu-model"],"source":"power model test","details":{}}],"domains":[{"id":"cpu-model","kind":"cpu_model","sensor":"model","provenance":"modelled","in_total":true,"reason":"test"}],"total_rule":"cpu-model","unavailable":[],"workload":{"kind":"command","label":"test","batching":null,"details":{}},"settings":{"runs":2,"warmup":0,"baseline_s":1.0,"interval_s":0.1,"ignore_failure":false,"sysfs_root":"/sys"}}"#;
    let run_start: RunStart = serde_json::from_str(text).expect("a valid run_start");
    let mut events = Vec::new();
    if baseline {
        events.push(Event::Baseline(Baseline {
            start_s: 0.0,
            duration_s: 1.0,
            energy_j: [("cpu-model".to_string(), 1.0)].into(),
            power_w: [("cpu-model".to_string(), 1.0)].into(),
            total_power_w: 1.0,
            total_power_sd_w: None,
            other_cpu_share: None,
        }));
    }
    for mut r in repetitions {
        if !baseline {
            r.net_energy_j = None;
        }
        events.push(Event::Repetition(r));
    }
    let mut record = Record::from_events(run_start, events);
    record.path = Some("test.jsonl".into());
    record
}

/// A measured, complete repetition of 2 s with `gross_j` and net = gross − 2 J.
pub fn repetition(index: u32, gross_j: f64) -> Repetition {
    Repetition {
        window: None,
        probe: None,
        index,
        warmup: false,
        status: RepetitionStatus::Ok,
        start_s: 1.0 + 2.0 * f64::from(index),
        duration_s: 2.0,
        energy_j: [("cpu-model".to_string(), gross_j)].into(),
        total_energy_j: gross_j,
        net_energy_j: Some(gross_j - 2.0),
        wraps_corrected: Vec::new(),
        incomplete: Vec::new(),
        undercounted: Vec::new(),
        too_short: None,
        requests: 1,
        exit_code: None,
        error: None,
        metrics: Metrics::default(),
        steady: None,
        parts: Vec::new(),
    }
}
