//! The run loop with scripted sensors and workloads: energies to the joule.

use super::*;
use crate::sensors::discover::TotalChoice;
use crate::sensors::{Domain, Reading, Sensor, SensorError, SensorKind};
use crate::workload::Outcome;
use hoeveel_record::{DomainKind, Provenance, SensorInfo, WorkloadInfo};

/// A counter that advances at a fixed rate of wall time, like a RAPL package
/// drawing constant power. Optionally fails from the n-th reading on.
struct RateCounter {
    domains: Vec<Domain>,
    start: Instant,
    power_w: f64,
    fail_after: Option<usize>,
    reads: usize,
}

impl RateCounter {
    fn new(id: &str, power_w: f64, fail_after: Option<usize>) -> RateCounter {
        RateCounter {
            domains: vec![Domain {
                id: id.into(),
                kind: DomainKind::Package,
                provenance: Provenance::Counter,
                wrap_range_uj: Some(u64::MAX),
                unit: Some(0),
            }],
            start: Instant::now(),
            power_w,
            fail_after,
            reads: 0,
        }
    }
}

impl Sensor for RateCounter {
    fn kind(&self) -> SensorKind {
        SensorKind::RaplPowercap
    }
    fn domains(&self) -> &[Domain] {
        &self.domains
    }
    fn info(&self) -> SensorInfo {
        SensorInfo {
            kind: hoeveel_record::SensorKind::RaplPowercap,
            provenance: Provenance::Counter,
            domains: vec![self.domains[0].id.clone()],
            source: "test".into(),
            details: serde_json::Value::Null,
            update_period_s: Some(self.update_period_s()),
        }
    }
    fn update_period_s(&self) -> f64 {
        crate::sensors::RAPL_UPDATE_PERIOD_S
    }
    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        self.reads += 1;
        if self.fail_after.is_some_and(|n| self.reads > n) {
            return Err(SensorError::Unavailable("zone removed".into()));
        }
        let uj = self.start.elapsed().as_secs_f64() * self.power_w * 1e6;
        out.push(Reading::Counter {
            energy_uj: uj as u64,
        });
        Ok(())
    }
}

struct Sleep {
    seconds: f64,
    fail_at: Option<u32>,
    calls: u32,
}

impl Workload for Sleep {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: hoeveel_record::WorkloadKind::Command,
            label: format!("sleep {}", self.seconds),
            batching: None,
            details: serde_json::Value::Null,
        }
    }
    fn run_once(&mut self, _ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        self.calls += 1;
        std::thread::sleep(Duration::from_secs_f64(self.seconds));
        if self.fail_at == Some(self.calls) {
            return Err(WorkloadError::Failed {
                message: "exit 1".into(),
                exit_code: Some(1),
            });
        }
        Ok(Outcome {
            requests: 1,
            ..Default::default()
        })
    }
}

fn settings(runs: u32, baseline_s: f64, ignore_failure: bool) -> LoopSettings {
    LoopSettings {
        runs,
        warmup: 1,
        baseline_s,
        interval_s: 0.02,
        ignore_failure,
        write_samples: true,
        progress: false,
        sysfs_root: "/sys".into(),
        proc_root: "/proc".into(),
        // Tests run side by side in one process: none looks for the others.
        lock_file: None,
    }
}

fn inventory(sensors: Vec<Box<dyn Sensor>>) -> Inventory {
    Inventory {
        sensors,
        unavailable: vec![],
        gpus: vec![],
        total: TotalChoice::Package,
    }
}

#[test]
fn repetition_energy_is_rate_times_duration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    let writer = RecordWriter::create(&path).expect("writer");
    let flag = AtomicBool::new(false);
    let sensors: Vec<Box<dyn Sensor>> = vec![
        Box::new(RateCounter::new("package-0", 20.0, None)),
        Box::new(RateCounter::new("package-1", 5.0, None)),
    ];
    let mut work = Sleep {
        seconds: 0.1,
        fail_at: None,
        calls: 0,
    };
    let record = measure(
        inventory(sensors),
        &mut work,
        &settings(3, 0.2, false),
        writer,
        &flag,
    )
    .expect("run")
    .record;
    assert_eq!(
        record.run_end.as_ref().map(|e| e.status),
        Some(RunStatus::Ok)
    );
    let reps: Vec<_> = record.measured().collect();
    assert_eq!(reps.len(), 3);
    for r in reps {
        // µJ truncation of each reading is the only error: well under 0.1 %.
        let expect = 25.0 * r.duration_s;
        assert!(
            (r.total_energy_j - expect).abs() < 1e-3 * expect,
            "{} vs {expect}",
            r.total_energy_j
        );
        let p0 = r.energy_j["package-0"];
        assert!((p0 - 20.0 * r.duration_s).abs() < 1e-3 * p0);
        // Net is gross minus baseline power (25 W) × duration: zero here.
        assert!(r.net_energy_j.expect("baseline").abs() < 1e-3 * expect);
    }
    let baseline = record.baseline.as_ref().expect("baseline");
    assert!((baseline.total_power_w - 25.0).abs() < 0.05);
    // The file holds the same events as the returned record, plus samples.
    let back = hoeveel_record::read_record(&path).expect("read back");
    assert_eq!(back.repetitions, record.repetitions);
    assert!(!back.samples.is_empty(), "the sampler wrote a time series");
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
}

#[test]
fn sensor_lost_mid_run_is_recorded_and_the_run_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = RecordWriter::create(&dir.path().join("r.jsonl")).expect("writer");
    let flag = AtomicBool::new(false);
    let sensors: Vec<Box<dyn Sensor>> = vec![
        Box::new(RateCounter::new("package-0", 10.0, None)),
        Box::new(RateCounter::new("dram-0", 2.0, Some(3))),
    ];
    let mut work = Sleep {
        seconds: 0.05,
        fail_at: None,
        calls: 0,
    };
    let mut s = settings(4, 0.0, false);
    s.interval_s = 10.0; // only the window marks read the sensors
    let record = measure(inventory(sensors), &mut work, &s, writer, &flag)
        .expect("run")
        .record;
    assert_eq!(
        record.run_end.as_ref().map(|e| e.status),
        Some(RunStatus::Ok)
    );
    assert_eq!(record.measured().count(), 4);
    assert!(
        record
            .notices
            .iter()
            .any(|n| n.message.contains("sensor lost") && n.message.contains("dram-0"))
    );
    let last = record.measured().last().expect("a repetition");
    assert!(
        !last.energy_j.contains_key("dram-0"),
        "a lost domain is left out, not zero"
    );
    assert!(last.energy_j["package-0"] > 0.0);
    assert_eq!(last.incomplete, vec!["dram-0".to_string()]);
    let end = record.run_end.as_ref().expect("run_end");
    assert!(
        end.degraded,
        "a run with an incomplete repetition is degraded"
    );
    let complete: Vec<u32> = record.measured_complete().map(|r| r.index).collect();
    assert!(
        !complete.contains(&last.index),
        "an incomplete repetition is not averaged with the complete ones"
    );
}

/// A counter at a fixed rate that goes back to zero at the n-th reading (a
/// driver reload, a counter reset by firmware).
struct ResettingCounter {
    inner: RateCounter,
    reset_at: usize,
    offset_uj: u64,
}

impl Sensor for ResettingCounter {
    fn kind(&self) -> SensorKind {
        self.inner.kind()
    }
    fn domains(&self) -> &[Domain] {
        self.inner.domains()
    }
    fn info(&self) -> SensorInfo {
        self.inner.info()
    }
    fn update_period_s(&self) -> f64 {
        self.inner.update_period_s()
    }
    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        self.inner.sample(out)?;
        if let Some(Reading::Counter { energy_uj }) = out.last_mut() {
            if self.inner.reads == self.reset_at {
                self.offset_uj = *energy_uj;
            }
            *energy_uj -= self.offset_uj;
        }
        Ok(())
    }
}

#[test]
fn a_counter_reset_marks_the_repetition_undercounted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = RecordWriter::create(&dir.path().join("r.jsonl")).expect("writer");
    let flag = AtomicBool::new(false);
    // Reads: 1 first mark, 2-3 warm-up, 4-5 run 0, 6-7 run 1 (reset at its end), 8-9 run 2.
    // A 64-bit counter (as perf gives): going back can only be a reset, not a wrap.
    let mut inner = RateCounter::new("package-0", 10.0, None);
    inner.domains[0].wrap_range_uj = None;
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(ResettingCounter {
        inner,
        reset_at: 7,
        offset_uj: 0,
    })];
    let mut work = Sleep {
        seconds: 0.05,
        fail_at: None,
        calls: 0,
    };
    let mut s = settings(3, 0.0, false);
    s.interval_s = 10.0; // only the window marks read the sensors
    let record = measure(inventory(sensors), &mut work, &s, writer, &flag)
        .expect("run")
        .record;
    let undercounted: Vec<(u32, Vec<String>)> = record
        .measured()
        .map(|r| (r.index, r.undercounted.clone()))
        .collect();
    assert_eq!(
        undercounted,
        vec![(0, vec![]), (1, vec!["package-0".to_string()]), (2, vec![])]
    );
    assert!(record.run_end.as_ref().is_some_and(|e| e.degraded));
    let text = hoeveel_record::summary::Summary::of(&record).render_text();
    assert!(text.contains("status ok (degraded)"), "{text}");
    assert!(
        text.contains("Left out of the figures above (1 of 3 measured runs)"),
        "{text}"
    );
    assert!(
        text.contains("undercounted: package-0 counter reset inside the window"),
        "{text}"
    );
}

/// A sink that accepts `left` bytes, then fails as a full disk does.
struct FillsUp {
    left: usize,
}

impl std::io::Write for FillsUp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_stops_measuring_and_keeps_what_was_measured_for_the_summary() {
    // Room for run_start and about two repetitions.
    let probe = tempfile::tempdir().expect("tempdir");
    let path = probe.path().join("probe.jsonl");
    let writer = RecordWriter::create(&path).expect("writer");
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(RateCounter::new("package-0", 10.0, None))];
    let mut work = Sleep {
        seconds: 0.01,
        fail_at: None,
        calls: 0,
    };
    let mut s = settings(2, 0.0, false);
    s.write_samples = false;
    let flag = AtomicBool::new(false);
    measure(inventory(sensors), &mut work, &s, writer, &flag).expect("probe run");
    let text = std::fs::read_to_string(&path).expect("probe record");
    let lines: Vec<&str> = text.lines().collect();
    // Three lines (run_start, the warm-up, run 0) and half of the next: the same
    // events of the second run differ from these by a few digits only.
    let room = lines[..3].iter().map(|l| l.len() + 1).sum::<usize>() + lines[2].len() / 2;

    let writer = RecordWriter::to_writer(
        std::path::Path::new("full.jsonl"),
        Box::new(FillsUp { left: room }),
    );
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(RateCounter::new("package-0", 10.0, None))];
    let mut work = Sleep {
        seconds: 0.01,
        fail_at: None,
        calls: 0,
    };
    let mut s = settings(10, 0.0, false);
    s.write_samples = false;
    let measured = measure(inventory(sensors), &mut work, &s, writer, &flag).expect("a result");
    let error = measured.write_error.expect("the write failed");
    assert!(error.contains("full.jsonl"), "{error}");
    assert!(error.contains("No space left on device"), "{error}");
    assert_eq!(work.calls, 3, "measuring stopped at the first failed write");
    let record = measured.record;
    assert_eq!(
        record.measured().count(),
        2,
        "both measured runs are kept in memory"
    );
    let end = record.run_end.as_ref().expect("run_end in memory");
    assert_eq!(end.status, RunStatus::Failed);
}

#[test]
fn failure_ends_the_run_unless_ignored_and_keeps_what_was_measured() {
    for ignore in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let writer = RecordWriter::create(&path).expect("writer");
        let flag = AtomicBool::new(false);
        let sensors: Vec<Box<dyn Sensor>> =
            vec![Box::new(RateCounter::new("package-0", 10.0, None))];
        // Call 1 is the warm-up; call 3 is the second measured run.
        let mut work = Sleep {
            seconds: 0.01,
            fail_at: Some(3),
            calls: 0,
        };
        let record = measure(
            inventory(sensors),
            &mut work,
            &settings(4, 0.0, ignore),
            writer,
            &flag,
        )
        .expect("run")
        .record;
        let end = record.run_end.as_ref().expect("run_end");
        let back = hoeveel_record::read_record(&path).expect("file");
        if ignore {
            assert_eq!(end.status, RunStatus::Ok);
            assert_eq!(back.measured().count(), 4);
            assert_eq!(back.measured_ok().count(), 3);
        } else {
            assert_eq!(end.status, RunStatus::Failed);
            assert_eq!(
                back.measured().count(),
                2,
                "the good run before the failure is kept"
            );
            assert_eq!(back.measured_ok().count(), 1);
            assert_eq!(end.message.as_deref(), Some("exit 1"));
        }
    }
}

#[test]
fn interrupt_before_start_writes_an_interrupted_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    let writer = RecordWriter::create(&path).expect("writer");
    let flag = AtomicBool::new(true);
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(RateCounter::new("package-0", 10.0, None))];
    let mut work = Sleep {
        seconds: 0.01,
        fail_at: None,
        calls: 0,
    };
    let record = measure(
        inventory(sensors),
        &mut work,
        &settings(2, 0.5, false),
        writer,
        &flag,
    )
    .expect("run")
    .record;
    assert_eq!(
        record.run_end.as_ref().map(|e| e.status),
        Some(RunStatus::Interrupted)
    );
    assert_eq!(work.calls, 0);
}

/// A workload that raises a fake CPU's thermal throttling count on each call,
/// as a CPU running hot would.
struct HeatsUp {
    count_file: std::path::PathBuf,
    calls: u64,
}

impl Workload for HeatsUp {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: hoeveel_record::WorkloadKind::Command,
            label: "heats up".into(),
            batching: None,
            details: serde_json::Value::Null,
        }
    }
    fn run_once(&mut self, _ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        self.calls += 1;
        std::fs::write(&self.count_file, format!("{}\n", 5 + self.calls))
            .map_err(|e| WorkloadError::Fatal(e.into()))?;
        Ok(Outcome {
            requests: 1,
            ..Default::default()
        })
    }
}

#[test]
fn throttling_during_the_run_is_a_warning_and_throttling_before_it_is_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let throttle = dir
        .path()
        .join("sys/devices/system/cpu/cpu0/thermal_throttle");
    std::fs::create_dir_all(&throttle).expect("tree");
    let count_file = throttle.join("core_throttle_count");
    std::fs::write(&count_file, "5\n").expect("count");
    for (heats, expect_warning) in [(false, false), (true, true)] {
        std::fs::write(&count_file, "5\n").expect("count");
        let writer = RecordWriter::create(&dir.path().join("r.jsonl")).expect("writer");
        let flag = AtomicBool::new(false);
        let sensors: Vec<Box<dyn Sensor>> =
            vec![Box::new(RateCounter::new("package-0", 10.0, None))];
        let mut s = settings(2, 0.0, false);
        s.sysfs_root = dir.path().join("sys");
        let record = if heats {
            let mut work = HeatsUp {
                count_file: count_file.clone(),
                calls: 0,
            };
            measure(inventory(sensors), &mut work, &s, writer, &flag)
        } else {
            let mut work = Sleep {
                seconds: 0.01,
                fail_at: None,
                calls: 0,
            };
            measure(inventory(sensors), &mut work, &s, writer, &flag)
        }
        .expect("run")
        .record;
        let throttled: Vec<&str> = record
            .notices
            .iter()
            .filter(|n| n.message.contains("throttled for heat"))
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(!throttled.is_empty(), expect_warning, "{throttled:?}");
        if heats {
            // 1 warm-up + 2 runs raised the count from 5 to 8.
            assert!(
                throttled[0].contains("(3 thermal throttling events"),
                "{throttled:?}"
            );
        }
    }
}

#[test]
fn the_baseline_is_read_in_slices_and_records_their_spread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = RecordWriter::create(&dir.path().join("r.jsonl")).expect("writer");
    let flag = AtomicBool::new(false);
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(RateCounter::new("package-0", 10.0, None))];
    let mut work = Sleep {
        seconds: 0.01,
        fail_at: None,
        calls: 0,
    };
    // 1.6 s at slices of at least 0.5 s: three slices, enough for a spread.
    let record = measure(
        inventory(sensors),
        &mut work,
        &settings(1, 1.6, false),
        writer,
        &flag,
    )
    .expect("run")
    .record;
    let b = record.baseline.as_ref().expect("baseline");
    assert!((b.total_power_w - 10.0).abs() < 0.2, "{b:?}");
    let sd_w = b.total_power_sd_w.expect("a spread over three slices");
    assert!(sd_w < 0.5, "a counter at a constant 10 W is steady: {sd_w}");
    // Shorter than three slices: no spread is claimed.
    let writer = RecordWriter::create(&dir.path().join("s.jsonl")).expect("writer");
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(RateCounter::new("package-0", 10.0, None))];
    let record = measure(
        inventory(sensors),
        &mut work,
        &settings(1, 0.6, false),
        writer,
        &flag,
    )
    .expect("run")
    .record;
    assert_eq!(
        record.baseline.as_ref().and_then(|b| b.total_power_sd_w),
        None
    );
}

/// A request of two parts: `retrieval_s`, a mark, then `generation_s`; the
/// generation fails when `fail` is set.
struct TwoParts {
    retrieval_s: f64,
    generation_s: f64,
    fail: bool,
}

impl Workload for TwoParts {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: hoeveel_record::WorkloadKind::AiSearch,
            label: "two parts".into(),
            batching: None,
            details: serde_json::Value::Null,
        }
    }
    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        use crate::workload::{EndedPart, PartMarks};
        std::thread::sleep(Duration::from_secs_f64(self.retrieval_s));
        let mark = ctx.mark.expect("the run loop lends a mark");
        let end = mark().map_err(WorkloadError::Fatal)?;
        std::thread::sleep(Duration::from_secs_f64(self.generation_s));
        let marks = PartMarks {
            ended: vec![EndedPart {
                name: PartName::Retrieval,
                metrics: Metrics {
                    results: Some(10),
                    ..Metrics::default()
                },
                end,
            }],
            last: PartName::Generation,
            last_metrics: Metrics {
                output_tokens: Some(8),
                ..Metrics::default()
            },
        };
        if self.fail {
            return Err(WorkloadError::FailedInPart {
                message: "generation: HTTP 500".into(),
                parts: Box::new(marks),
            });
        }
        Ok(Outcome {
            requests: 1,
            metrics: Metrics {
                results: Some(10),
                output_tokens: Some(8),
                ..Metrics::default()
            },
            parts: Some(marks),
            ..Default::default()
        })
    }
}

fn run_two_parts(work: &mut TwoParts, s: &LoopSettings) -> Record {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    let writer = RecordWriter::create(&path).expect("writer");
    let flag = AtomicBool::new(false);
    let sensors: Vec<Box<dyn Sensor>> = vec![
        Box::new(RateCounter::new("package-0", 20.0, None)),
        Box::new(RateCounter::new("dram-0", 4.0, None)),
    ];
    let record = measure(inventory(sensors), work, s, writer, &flag)
        .expect("run")
        .record;
    // The file says what the run returned.
    let back = hoeveel_record::read_record(&path).expect("read back");
    assert_eq!(back.repetitions, record.repetitions);
    record
}

#[test]
fn parts_are_contiguous_and_add_up_to_the_repetition() {
    let mut work = TwoParts {
        retrieval_s: 0.03,
        generation_s: 0.08,
        fail: false,
    };
    let record = run_two_parts(&mut work, &settings(3, 0.2, false));
    let baseline_w = record.baseline.as_ref().expect("baseline").total_power_w;
    let reps: Vec<_> = record.measured().collect();
    assert_eq!(reps.len(), 3);
    for r in reps {
        let names: Vec<_> = r.parts.iter().map(|p| p.name).collect();
        assert_eq!(names, [PartName::Retrieval, PartName::Generation]);
        let (a, b) = (&r.parts[0], &r.parts[1]);
        // Contiguous: the first starts with the repetition, the second where the
        // first ends, and it ends with the repetition.
        assert_eq!(a.start_s, r.start_s);
        assert_eq!(b.start_s, a.start_s + a.duration_s);
        assert!((a.duration_s + b.duration_s - r.duration_s).abs() < 1e-9);
        assert!(a.duration_s >= 0.03 && b.duration_s >= 0.08, "{a:?} {b:?}");
        // Counters: the parts' energies add up to the repetition's, per domain too.
        let sum = a.total_energy_j + b.total_energy_j;
        assert!(
            (sum - r.total_energy_j).abs() <= 1e-9 * r.total_energy_j,
            "{sum} vs {}",
            r.total_energy_j
        );
        for (id, e) in &r.energy_j {
            let parts = a.energy_j[id] + b.energy_j[id];
            assert!((parts - e).abs() <= 1e-9 * e.abs().max(1e-12), "{id}");
        }
        // The generation runs more than twice as long at the same power.
        assert!(b.total_energy_j > 2.0 * a.total_energy_j, "{a:?} {b:?}");
        // Net per part: its gross minus the baseline power over its own duration.
        for p in &r.parts {
            let net = p.net_energy_j.expect("a baseline was taken");
            assert!((net - (p.total_energy_j - baseline_w * p.duration_s)).abs() < 1e-12);
        }
        let net_sum: f64 = r.parts.iter().filter_map(|p| p.net_energy_j).sum();
        assert!((net_sum - r.net_energy_j.expect("net")).abs() < 1e-9);
        assert_eq!(a.metrics.results, Some(10));
        assert_eq!(b.metrics.output_tokens, Some(8));
        assert_eq!(
            r.metrics.output_tokens,
            Some(8),
            "the request's totals stay"
        );
    }
}

#[test]
fn a_failed_part_keeps_the_parts_and_fails_the_repetition() {
    let mut work = TwoParts {
        retrieval_s: 0.02,
        generation_s: 0.02,
        fail: true,
    };
    let mut s = settings(3, 0.0, false);
    s.warmup = 0;
    let record = run_two_parts(&mut work, &s);
    assert_eq!(
        record.run_end.as_ref().map(|e| e.status),
        Some(RunStatus::Failed)
    );
    assert_eq!(record.repetitions.len(), 1, "the run stops at the failure");
    let r = &record.repetitions[0];
    assert_eq!(r.status, RepetitionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("generation: HTTP 500"));
    assert_eq!(r.parts[0].name, PartName::Retrieval);
    assert!(r.parts[0].total_energy_j > 0.0 && r.parts[0].total_energy_j.is_finite());
    assert_eq!(r.parts[0].metrics.results, Some(10));
    assert_eq!(r.parts[0].net_energy_j, None, "no baseline, no net");

    // With --ignore-failure the run goes on.
    let mut s = settings(3, 0.0, true);
    s.warmup = 0;
    let record = run_two_parts(&mut work, &s);
    assert_eq!(record.repetitions.len(), 3);
    assert!(
        record
            .repetitions
            .iter()
            .all(|r| r.status == RepetitionStatus::Failed && r.parts.len() == 2)
    );
}
