//! Benchmark: read and summarise a record of 1,000,000 samples, as `hoeveel report`
//! does (read the file, the run summary, the statistics, CO2e at a site, the power
//! chart), and print the time and the peak memory.
//!
//! A bench binary rather than criterion, because the figure that matters besides
//! time is peak resident memory, which criterion does not measure; the process's
//! high-water mark (`VmHWM` in /proc/self/status) does.
//!
//! Run: `cargo bench -p hoeveel --bench read_summarise` (optionally `-- SAMPLES`).

use hoeveel_record::*;
use std::collections::BTreeMap;
use std::time::Instant;

fn status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn write_record(path: &std::path::Path, samples: usize) -> std::io::Result<()> {
    let mut w = RecordWriter::create(path).map_err(std::io::Error::other)?;
    let domains = ["package-0", "dram-0"];
    let start = RunStart {
        schema_version: SCHEMA_VERSION.into(),
        agent_version: "bench".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        host: Host {
            hostname: "bench".into(),
            os: "linux".into(),
            kernel: "6".into(),
            cpu_model: "bench".into(),
            logical_cpus: 8,
            memory_bytes: 1 << 34,
            virtualized: Some(false),
        },
        gpus: vec![],
        sensors: vec![SensorInfo {
            kind: hoeveel_record::SensorKind::RaplPowercap,
            provenance: Provenance::Counter,
            domains: domains.iter().map(|d| d.to_string()).collect(),
            source: "bench".into(),
            details: serde_json::Value::Null,
            update_period_s: Some(0.001),
        }],
        domains: domains
            .iter()
            .map(|d| DomainInfo {
                id: d.to_string(),
                kind: if d.starts_with("dram") {
                    DomainKind::Dram
                } else {
                    DomainKind::Package
                },
                sensor: hoeveel_record::SensorKind::RaplPowercap,
                provenance: Provenance::Counter,
                in_total: true,
                reason: "bench".into(),
            })
            .collect(),
        total_rule: "package + dram".into(),
        unavailable: vec![],
        machine_checks: vec![],
        workload: WorkloadInfo {
            kind: hoeveel_record::WorkloadKind::Llm,
            label: "bench".into(),
            batching: None,
            details: serde_json::Value::Null,
        },
        settings: Settings {
            runs: 100,
            warmup: 1,
            baseline_s: 5.0,
            interval_s: 0.001,
            ignore_failure: false,
            sysfs_root: "/sys".into(),
        },
    };
    let io = |e: WriteError| std::io::Error::other(e);
    w.write(&Event::RunStart(Box::new(start))).map_err(io)?;
    let map =
        |a: f64, b: f64| BTreeMap::from([("package-0".to_string(), a), ("dram-0".to_string(), b)]);
    w.write(&Event::Baseline(Baseline {
        start_s: 0.0,
        duration_s: 5.0,
        energy_j: map(50.0, 5.0),
        power_w: map(10.0, 1.0),
        total_power_w: 11.0,
        total_power_sd_w: None,
        other_cpu_share: None,
    }))
    .map_err(io)?;
    let reps = 100usize;
    for i in 0..samples {
        let t = 5.0 + i as f64 * 0.001;
        w.write(&Event::Sample(Sample {
            t_s: t,
            phase: RunPhase::Repetition,
            repetition: Some((i * reps / samples) as u32),
            power_w: map(20.0 + (i % 13) as f64 * 0.37, 2.0 + (i % 5) as f64 * 0.11),
        }))
        .map_err(io)?;
        if (i + 1) % (samples / reps) == 0 {
            let index = (i * reps / samples) as u32;
            let e = 250.0 + (index % 7) as f64;
            w.write(&Event::Repetition(Repetition {
                index,
                window: None,
                probe: None,
                warmup: false,
                status: RepetitionStatus::Ok,
                start_s: t - 10.0,
                duration_s: 10.0,
                energy_j: map(e, 25.0),
                total_energy_j: e + 25.0,
                net_energy_j: Some(e + 25.0 - 110.0),
                wraps_corrected: vec![],
                incomplete: vec![],
                undercounted: vec![],
                too_short: None,
                requests: 1,
                exit_code: None,
                error: None,
                metrics: Metrics {
                    output_tokens: Some(256),
                    ..Metrics::default()
                },
                steady: None,
                parts: Vec::new(),
            }))
            .map_err(io)?;
        }
    }
    w.write(&Event::RunEnd(RunEnd {
        status: RunStatus::Ok,
        ended_at: "2026-01-01T00:20:00Z".into(),
        duration_s: 5.0 + samples as f64 * 0.001,
        repetitions: reps as u32,
        agent_cpu_s: 1.0,
        agent_max_rss_bytes: None,
        message: None,
        degraded: false,
    }))
    .map_err(io)
}

fn main() -> anyhow::Result<()> {
    let samples: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.jsonl");
    let t = Instant::now();
    write_record(&path, samples)?;
    let size = std::fs::metadata(&path)?.len();
    eprintln!(
        "wrote {samples} samples ({:.1} MB) in {:.2} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let profiles = hoeveel::profiles::ProfileSet::shipped()?;
    let opts = hoeveel::report::ReportOptions {
        site: "ms-nl".into(),
        basis: None,
        grid: profiles.grid_dataset(None)?,
    };
    let rss_before_kib = status_kib("VmRSS:").unwrap_or(0);
    let mut times = Vec::new();
    let mut out_len = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let record = read_record(&path)?;
        let doc = hoeveel::report::report(&profiles, std::slice::from_ref(&record), &opts)?;
        let text = hoeveel::output::render(&doc, hoeveel::output::Format::Text);
        let html = hoeveel::html::render(&doc)?;
        out_len = text.len() + html.len();
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(record.samples.len(), samples);
    }
    times.sort_by(f64::total_cmp);
    let peak_kib = status_kib("VmHWM:").unwrap_or(0);
    println!(
        "read + summarise a record of {samples} samples ({:.1} MB, 100 repetitions, 2 domains):",
        size as f64 / 1e6
    );
    println!(
        "  time: median {:.3} s, min {:.3} s, max {:.3} s over {} runs (read, summary, statistics, CO2e, power chart, text + HTML)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
    println!(
        "  peak resident memory (VmHWM): {:.1} MiB; resident before reading {:.1} MiB",
        peak_kib as f64 / 1024.0,
        rss_before_kib as f64 / 1024.0
    );
    println!("  output {out_len} bytes");
    Ok(())
}
