//! The library API against a powercap fixture whose counters advance at known
//! rates: each window must read rate × its duration within 1 %, whether windows
//! overlap, nest, or hold a counter wrap; bad input is a typed error.

use hoeveel_measure::{DiscoverError, Monitor, MonitorError, MonitorOptions};
use hoeveel_record::{Event, Provenance, RepetitionStatus, WorkloadKind, read_record};
use hoeveel_sysfs_fixture::{FakePowercap, RateDriver, ZoneSpec, build_powercap, drive_at_rates};
use std::time::Duration;

const PACKAGE_W: f64 = 40.0;
const DRAM_W: f64 = 4.0;

/// A one-socket tree driven at known watts; package-0 wraps every `wrap_j / 40 W`.
fn driven(package_range_uj: u64) -> (tempfile::TempDir, FakePowercap, RateDriver) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fake = build_powercap(
        dir.path(),
        &[
            ZoneSpec::new("intel-rapl:0", "package-0").with_max_energy_range_uj(package_range_uj),
            ZoneSpec::new("intel-rapl:0:0", "dram"),
        ],
    )
    .expect("fixture");
    let driver = drive_at_rates(
        &fake,
        &[("intel-rapl:0", PACKAGE_W), ("intel-rapl:0:0", DRAM_W)],
    )
    .expect("driver");
    (dir, fake, driver)
}

fn options(root: &std::path::Path) -> MonitorOptions {
    MonitorOptions::default()
        .sensors(&["rapl-powercap"])
        .expect("known sensor")
        .sysfs_root(root)
}

fn assert_within_1pct(measured: f64, expected: f64, what: &str) {
    let error = (measured - expected).abs() / expected;
    assert!(
        error < 0.01,
        "{what}: measured {measured} J, expected {expected} J ({:.2} % off)",
        error * 100.0
    );
}

fn sleep_s(s: f64) {
    std::thread::sleep(Duration::from_secs_f64(s));
}

#[test]
fn a_window_reads_rate_times_duration_per_domain() {
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    monitor.begin("work").expect("begin");
    sleep_s(0.4);
    let w = monitor.end("work").expect("end");
    assert_within_1pct(
        w.energy_j["package-0"],
        PACKAGE_W * w.duration_s,
        "package-0",
    );
    assert_within_1pct(w.energy_j["dram-0"], DRAM_W * w.duration_s, "dram-0");
    assert_within_1pct(w.total_j, (PACKAGE_W + DRAM_W) * w.duration_s, "total");
    assert_eq!(w.provenance, Some(Provenance::Counter));
    assert_eq!(w.net_j, None, "no baseline, no net");
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
    assert!(!monitor.is_modelled());
}

#[test]
fn overlapping_and_nested_windows_each_read_their_own_span() {
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    // outer [--------------------]
    // a        [--------]
    // b              [----------]
    // inner          [--]
    monitor.begin("outer").expect("begin outer");
    sleep_s(0.15);
    monitor.begin("a").expect("begin a");
    sleep_s(0.2);
    monitor.begin("b").expect("begin b");
    monitor.begin("inner").expect("begin inner");
    sleep_s(0.15);
    let inner = monitor.end("inner").expect("end inner");
    assert_eq!(monitor.open_windows(), ["a", "b", "outer"]);
    let a = monitor.end("a").expect("end a");
    sleep_s(0.2);
    let b = monitor.end("b").expect("end b");
    let outer = monitor.end("outer").expect("end outer");
    for w in [&outer, &a, &b, &inner] {
        assert_within_1pct(w.total_j, (PACKAGE_W + DRAM_W) * w.duration_s, &w.name);
    }
    assert!(outer.duration_s > a.duration_s + b.duration_s - inner.duration_s - 0.2);
    assert!(a.start_s < b.start_s && b.start_s + b.duration_s > a.start_s + a.duration_s);
}

#[test]
fn a_counter_wrap_inside_a_window_is_corrected_and_named() {
    // 6 J at 40 W: package-0 wraps every 0.15 s, so a 0.5 s window holds three.
    let (dir, _fake, _driver) = driven(6_000_000);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    monitor.begin("wrapping").expect("begin");
    sleep_s(0.5);
    let w = monitor.end("wrapping").expect("end");
    assert_eq!(w.wraps_corrected, ["package-0"]);
    assert_within_1pct(
        w.energy_j["package-0"],
        PACKAGE_W * w.duration_s,
        "package-0",
    );
}

#[test]
fn a_window_at_the_baseline_s_own_power_gives_no_net_figure_and_says_why() {
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    let baseline = monitor.measure_baseline(0.5).expect("baseline");
    assert_within_1pct(baseline.total_power_w, PACKAGE_W + DRAM_W, "baseline power");
    monitor.begin("idle").expect("begin");
    sleep_s(0.3);
    let w = monitor.end("idle").expect("end");
    // Constant power: the window draws exactly the baseline, so its net is
    // noise around zero (it used to come back as -8.9e-16 J): no figure, and
    // the window says why, as the CLI does.
    assert_eq!(w.net_j, None, "{:?}", w.warnings);
    assert!(
        w.warnings
            .iter()
            .any(|m| m.starts_with("net energy is not resolved")),
        "{:?}",
        w.warnings
    );
    assert_within_1pct(w.total_j, (PACKAGE_W + DRAM_W) * w.duration_s, "gross");
}

#[test]
fn windows_written_to_a_record_read_back_with_their_names() {
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let path = dir.path().join("windows.jsonl");
    let monitor = Monitor::start(options(dir.path()).record(&path)).expect("monitor");
    for name in ["load", "infer", "infer"] {
        monitor.begin(name).expect("begin");
        sleep_s(0.12);
        monitor.end(name).expect("end");
    }
    monitor.begin("left-open").expect("begin");
    monitor.close().expect("close");

    let record = read_record(&path).expect("the record reads");
    assert_eq!(record.run_start.workload.kind, WorkloadKind::Library);
    let names: Vec<_> = record
        .repetitions
        .iter()
        .map(|r| r.window.as_deref().expect("a window name"))
        .collect();
    assert_eq!(names, ["load", "infer", "infer"]);
    assert!(
        record
            .repetitions
            .iter()
            .all(|r| r.status == RepetitionStatus::Ok && !r.warmup)
    );
    let end = record.run_end.as_ref().expect("run_end written at close");
    assert_eq!(end.repetitions, 3);
    assert!(
        record
            .notices
            .iter()
            .any(|n| n.message.contains("left-open")),
        "{:?}",
        record.notices
    );
    // Each line is an event the reader knows.
    let text = std::fs::read_to_string(&path).expect("read");
    for line in text.lines() {
        serde_json::from_str::<Event>(line).expect("a known event");
    }
}

#[test]
fn ending_a_window_never_begun_or_twice_and_beginning_one_twice_are_errors() {
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    let err = monitor.end("never").expect_err("never begun");
    assert!(matches!(err, MonitorError::NotBegun { .. }), "{err:?}");
    assert_eq!(err.to_string(), "window `never` was never begun");

    monitor.begin("once").expect("begin");
    let err = monitor.begin("once").expect_err("already open");
    assert!(matches!(err, MonitorError::AlreadyOpen { .. }), "{err:?}");
    monitor.end("once").expect("end");
    let err = monitor.end("once").expect_err("ended twice");
    assert!(matches!(err, MonitorError::AlreadyEnded { .. }), "{err:?}");
    assert_eq!(err.to_string(), "window `once` has already ended");
    // A name can be used again once its window has ended.
    monitor.begin("once").expect("begin again");
    monitor.end("once").expect("end again");
}

#[test]
fn an_unknown_sensor_and_a_missing_sysfs_root_are_named() {
    let err = MonitorOptions::default()
        .sensors(&["rapl-magic"])
        .expect_err("unknown sensor");
    assert!(
        matches!(&err, MonitorError::Discover(DiscoverError::UnknownSensor { name }) if name == "rapl-magic"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("known: rapl-perf, rapl-powercap, nvml, model")
    );

    let Err(err) = Monitor::start(MonitorOptions::default().sysfs_root("/no/such/sysfs")) else {
        panic!("a missing sysfs root must fail");
    };
    assert!(
        matches!(
            err,
            MonitorError::Discover(DiscoverError::SysfsRootMissing { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the sysfs root /no/such/sysfs is not a directory"
    );
}

#[test]
fn a_sensor_asked_for_that_cannot_be_read_names_the_reason() {
    // An empty sysfs root: no powercap tree.
    let dir = tempfile::tempdir().expect("tempdir");
    let Err(err) = Monitor::start(options(dir.path())) else {
        panic!("rapl-powercap was asked for and is absent");
    };
    assert!(
        matches!(
            err,
            MonitorError::Discover(DiscoverError::Requested {
                kind: hoeveel_measure::SensorKind::RaplPowercap,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("sensor rapl-powercap was asked for but cannot be used")
    );
}

#[test]
fn a_window_name_that_is_not_one_plain_line_is_refused() {
    // A NUL or a line break would have reached the record and the reports
    // (a NUL the HTML); an empty name reads as no name.
    let (dir, _fake, _driver) = driven(hoeveel_sysfs_fixture::INTEL_MAX_ENERGY_RANGE_UJ);
    let monitor = Monitor::start(options(dir.path())).expect("monitor");
    for (name, why) in [
        ("", "is empty"),
        ("  ", "is empty"),
        ("a\0b", "holds a NUL character"),
        ("two\nlines", "holds a line break"),
        ("\x1b[2Jclear", "holds a control character"),
    ] {
        let err = monitor.begin(name).expect_err(name);
        assert!(
            matches!(&err, MonitorError::BadWindowName { why: w, .. } if *w == why),
            "{name:?}: {err}"
        );
        assert!(
            !err.to_string().contains('\0') && !err.to_string().contains('\x1b'),
            "{err}"
        );
    }
    assert!(monitor.open_windows().is_empty());
    monitor
        .begin("café: ünïcode is fine")
        .expect("a plain name");
}
