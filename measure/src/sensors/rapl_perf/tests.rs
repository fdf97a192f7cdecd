//! The sensor end to end: discovery on fake trees, counters opened on the
//! kernel's software PMU (a fake `power` PMU whose type and configs point at
//! `cpu-clock`, which always moves, and `dummy`, which never counts; see
//! [`PmuSpec::software_backed`]), and the counts × scale arithmetic checked to
//! the joule through the meter.

use super::system_wide::require_system_wide_perf;
use super::*;
use crate::meter::Meter;
use hoeveel_sysfs_fixture::{PmuSpec, build_power_pmu};

/// A fake power PMU whose events are the software PMU's `cpu-clock` (config 0),
/// on CPU 0 and, where this machine has it online, CPU 1.
fn cpu_clock_backed_pmu() -> PmuSpec {
    let two = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|text| power_pmu::parse_cpu_list(&text))
        .is_some_and(|cpus| cpus.starts_with(&[0, 1]));
    let mut spec = PmuSpec::software_backed(&[
        ("energy-pkg", "event=0x00"),
        ("energy-ram", "event=0x00"),
        ("energy-psys", "event=0x00"),
    ]);
    spec.events[1] = spec.events[1].clone().with_scale("1.52587890625e-05");
    if two {
        spec.cpumask = "0-1".to_string();
        spec.packages = vec![(0, 0), (1, 1)];
    }
    spec
}

#[test]
fn counts_times_scale_to_the_joule() {
    let scale = 2f64.powi(-32);
    assert_eq!(counts_to_uj(1 << 32, scale), 1_000_000);
    assert_eq!(counts_to_uj(65_536, 2f64.powi(-16)), 1_000_000);
    assert_eq!(counts_to_uj(0, scale), 0);
    // 85 J, then 42.5 J more, through the meter.
    let mut meter = Meter::new(None);
    for (t_s, count) in [(0.0, 0u64), (1.0, 85 << 32), (1.5, 255 << 31)] {
        let energy_uj = counts_to_uj(count, scale);
        meter
            .update(t_s, Reading::Counter { energy_uj })
            .expect("meter");
    }
    assert_eq!(meter.total_j(), 127.5);
}

#[test]
fn opens_every_domain_per_package_on_a_real_pmu() {
    require_system_wide_perf();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = cpu_clock_backed_pmu();
    build_power_pmu(dir.path(), &spec).expect("build");
    let mut sensor = RaplPerfSensor::discover(dir.path()).expect("discover");
    let ids: Vec<_> = sensor.domains().iter().map(|d| d.id.as_str()).collect();
    if spec.packages.len() == 2 {
        assert_eq!(ids, ["package-0", "dram-0", "psys", "package-1", "dram-1"]);
    } else {
        assert_eq!(ids, ["package-0", "dram-0", "psys"]);
    }
    let psys = sensor
        .domains()
        .iter()
        .find(|d| d.id == "psys")
        .expect("psys");
    assert_eq!(psys.unit, None);
    assert!(
        sensor
            .domains()
            .iter()
            .all(|d| d.wrap_range_uj.is_none() && d.provenance == Provenance::Counter)
    );

    let mut first = Vec::new();
    sensor.sample(&mut first).expect("sample");
    let spin: u64 = (0..1_000_000u64).map(std::hint::black_box).sum();
    std::hint::black_box(spin);
    let mut second = Vec::new();
    sensor.sample(&mut second).expect("sample");
    assert_eq!(first.len(), sensor.domains().len());
    let mut meters: Vec<Meter> = sensor
        .domains()
        .iter()
        .map(|d| Meter::new(d.wrap_range_uj))
        .collect();
    for ((m, a), b) in meters.iter_mut().zip(&first).zip(&second) {
        m.update(0.0, *a).expect("meter");
        m.update(1.0, *b).expect("meter");
    }
    // cpu-clock counts 10^9 ns per second: with 2^-32 J per count that is a
    // fraction of a joule per second; with DRAM's 2^-16 J per count, kJ. Both
    // must grow.
    assert!(
        meters.iter().all(|m| m.total_j() > 0.0),
        "{first:?} -> {second:?}"
    );

    let info = sensor.info();
    assert_eq!(info.kind, crate::sensors::SensorKind::RaplPerf);
    assert_eq!(info.domains.len(), sensor.domains().len());
    let cpus = if spec.packages.len() == 2 { "0,1" } else { "0" };
    assert_eq!(
        info.source,
        format!(
            "perf_event power PMU type {} on CPUs {cpus}, RAPL updates ~1 ms",
            spec.pmu_type
        )
    );
    assert_eq!(info.details["package_numbering"], "physical_package_id");
    assert_eq!(
        info.details["events"][1]["scale_j_per_count"],
        2f64.powi(-16)
    );
    assert_eq!(info.details["events"][0]["unit"], "Joules");
}

#[test]
fn a_counter_that_stays_still_is_dropped_and_listed() {
    require_system_wide_perf();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec =
        PmuSpec::software_backed(&[("energy-pkg", "event=0x00"), ("energy-psys", "event=0x09")]);
    build_power_pmu(dir.path(), &spec).expect("build");
    let sensor = RaplPerfSensor::discover(dir.path()).expect("discover");
    let ids: Vec<_> = sensor.domains().iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["package-0"]);
    let skipped = &sensor.info().details["domains_skipped"];
    assert_eq!(skipped[0]["domain"], "psys", "{skipped}");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("counter stayed still over 25 ms")),
        "{skipped}"
    );
}

#[test]
fn a_pmu_whose_counters_all_stay_still_is_unavailable() {
    require_system_wide_perf();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec =
        PmuSpec::software_backed(&[("energy-pkg", "event=0x09"), ("energy-psys", "event=0x09")]);
    build_power_pmu(dir.path(), &spec).expect("build");
    let Err(err) = RaplPerfSensor::discover(dir.path()) else {
        panic!("a PMU that counts nothing was used");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m)
            if m.contains("stayed still over 25 ms (package-0, psys)") && m.contains("counts no energy")),
        "{err}"
    );
}

#[test]
fn a_pmu_the_kernel_does_not_know_is_unavailable() {
    require_system_wide_perf();
    let dir = tempfile::tempdir().expect("tempdir");
    build_power_pmu(dir.path(), &PmuSpec::two_socket(0x7fff_0000)).expect("build");
    let Err(err) = RaplPerfSensor::discover(dir.path()) else {
        panic!("opened an event of a PMU that does not exist");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("power/energy-pkg (type 2147418112, config 0x2) on CPU 0")),
        "{err}"
    );
}

#[test]
fn missing_root_or_pmu_is_unavailable_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Err(err) = RaplPerfSensor::discover(&dir.path().join("no-such-sys")) else {
        panic!("discovered under a missing root");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("no-such-sys")),
        "{err}"
    );
    let Err(err) = RaplPerfSensor::discover(dir.path()) else {
        panic!("discovered without a power PMU");
    };
    assert!(
        matches!(&err, SensorError::Unavailable(m) if m.contains("bus/event_source/devices/power does not exist")),
        "{err}"
    );
}

#[test]
fn read_errors_are_classified() {
    let path = Path::new("/sys/bus/event_source/devices/power/events/energy-pkg");
    assert!(matches!(
        read_error(path, io::Error::from(io::ErrorKind::UnexpectedEof)),
        SensorError::Transient(_)
    ));
    assert!(matches!(
        read_error(path, io::Error::from_raw_os_error(libc::ENODEV)),
        SensorError::Unavailable(_)
    ));
    assert!(matches!(
        read_error(path, io::Error::from_raw_os_error(libc::EIO)),
        SensorError::Io { .. }
    ));
}
