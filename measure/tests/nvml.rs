//! The NVML sensor against the stand-in `libnvidia-ml.so`, through nvml-wrapper
//! and the dynamic loader as on a real GPU machine: the energy-counter path,
//! the power-integration path, GPUs without the counter or without any
//! reading, a GPU lost mid-run, and libraries or drivers that are absent.
//! Energies are asserted through the meter, to the joule.

#[path = "support/nvml_standin.rs"]
mod nvml_standin;

use hoeveel_measure::meter::Meter;
use hoeveel_measure::sensors::discover::{self, DiscoverOptions, TotalChoice};
use hoeveel_measure::sensors::nvml::{self, NvmlDiscovery, ReadPath};
use hoeveel_measure::sensors::{Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, Provenance};
use nvml_standin::StandIn;
use std::path::Path;

fn discover(standin: &StandIn) -> NvmlDiscovery {
    match nvml::discover(Some(standin.library())) {
        Ok(found) => found,
        Err(e) => panic!("discovery through the stand-in failed: {e}"),
    }
}

fn unavailable_message(result: Result<NvmlDiscovery, SensorError>) -> String {
    match result {
        Err(SensorError::Unavailable(message)) => message,
        Err(e) => panic!("expected Unavailable, got {e:?}"),
        Ok(found) => panic!(
            "expected Unavailable, found {} sensor(s)",
            found.sensors.len()
        ),
    }
}

/// Samples `sensor` once and returns its one reading.
fn sample(sensor: &mut dyn Sensor) -> Reading {
    let mut out = Vec::new();
    sensor.sample(&mut out).expect("sample");
    assert_eq!(out.len(), 1, "one reading per GPU");
    out[0]
}

fn assert_joules(actual_j: f64, expected_j: f64) {
    assert!(
        (actual_j - expected_j).abs() < 1e-6,
        "expected {expected_j} J, measured {actual_j} J"
    );
}

const A100: &str = "
[device]
name = NVIDIA A100-SXM4-40GB
uuid = GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9
bus_id = 00000000:07:00.0
power_limit_mw = 400000
# The first value is read by discovery, to see that the counter works.
energy_mj = 1000 5000 17000 17500
power_mw = 61000
";

#[test]
fn energy_counter_path_reads_millijoules_as_a_counter() {
    let standin = StandIn::new(A100);
    let mut found = discover(&standin);
    assert_eq!(found.sensors.len(), 1);
    assert!(found.unavailable.is_empty());

    let gpu = &found.gpus[0];
    assert_eq!(gpu.index, 0);
    assert_eq!(gpu.name, "NVIDIA A100-SXM4-40GB");
    assert_eq!(
        gpu.uuid.as_deref(),
        Some("GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
    );
    assert_eq!(gpu.bus_id.as_deref(), Some("00000000:07:00.0"));
    assert_eq!(gpu.power_limit_w, Some(400.0));

    let sensor = &mut found.sensors[0];
    assert_eq!(sensor.kind(), SensorKind::Nvml);
    assert_eq!(sensor.read_path(), ReadPath::EnergyCounter);
    let domain = sensor.domains()[0].clone();
    assert_eq!(domain.id, "gpu-0");
    assert_eq!(domain.kind, DomainKind::Gpu);
    assert_eq!(domain.provenance, Provenance::Counter);
    assert_eq!(domain.wrap_range_uj, None);
    assert_eq!(domain.unit, Some(0));

    let info = sensor.info();
    assert_eq!(info.kind, SensorKind::Nvml);
    assert_eq!(info.provenance, Provenance::Counter);
    assert_eq!(info.domains, ["gpu-0"]);
    assert!(
        info.source.contains("nvmlDeviceGetTotalEnergyConsumption"),
        "{}",
        info.source
    );
    assert!(
        info.source
            .contains(&standin.library().display().to_string())
    );
    assert_eq!(info.details["read_path"], "energy counter");
    assert_eq!(info.details["power_limit_w"], 400.0);
    assert_eq!(info.details["bus_id"], "00000000:07:00.0");
    assert!(info.details["energy_counter_unavailable"].is_null());

    let mut meter = Meter::new(domain.wrap_range_uj);
    let first = sample(sensor);
    assert_eq!(
        first,
        Reading::Counter {
            energy_uj: 5_000_000
        }
    );
    meter.update(0.0, first).expect("first reading");
    meter.update(1.0, sample(sensor)).expect("second reading");
    assert_joules(meter.total_j(), 12.0);
    meter.update(1.5, sample(sensor)).expect("third reading");
    assert_joules(meter.total_j(), 12.5);
}

#[test]
fn power_integration_path_when_the_counter_is_not_supported() {
    let standin = StandIn::new(
        "
[device]
name = Tesla P100-PCIE-16GB
uuid = GPU-11111111-2222-3333-4444-555555555555
bus_id = 00000000:3B:00.0
power_limit_mw = 250000
energy_mj = unsupported
power_mw = 30000 100000 200000 50000
",
    );
    let mut found = discover(&standin);
    assert_eq!(found.sensors.len(), 1);
    let sensor = &mut found.sensors[0];
    assert_eq!(sensor.read_path(), ReadPath::PowerIntegration);
    let domain = sensor.domains()[0].clone();
    assert_eq!(domain.provenance, Provenance::Integrated);
    let info = sensor.info();
    assert_eq!(info.provenance, Provenance::Integrated);
    assert!(
        info.source.contains("nvmlDeviceGetPowerUsage"),
        "{}",
        info.source
    );
    assert_eq!(info.details["read_path"], "power integration");
    let why = info.details["energy_counter_unavailable"]
        .as_str()
        .expect("the record says why the counter is not used");
    assert!(why.contains("not supported"), "{why}");

    let mut meter = Meter::new(domain.wrap_range_uj);
    assert_eq!(
        sample(sensor),
        Reading::Power {
            power_mw: 100_000.0
        }
    );
    meter
        .update(
            0.0,
            Reading::Power {
                power_mw: 100_000.0,
            },
        )
        .expect("first");
    // (100 W + 200 W) / 2 × 2 s = 300 J
    meter.update(2.0, sample(sensor)).expect("second");
    assert_joules(meter.total_j(), 300.0);
    // + (200 W + 50 W) / 2 × 0.5 s = 62.5 J
    meter.update(2.5, sample(sensor)).expect("third");
    assert_joules(meter.total_j(), 362.5);
}

#[test]
fn each_gpu_is_read_its_own_way_and_one_without_readings_is_listed_not_zero() {
    let standin = StandIn::new(
        "
[device]
name = NVIDIA H100 80GB HBM3
uuid = GPU-aaaaaaaa-0000-0000-0000-000000000000
bus_id = 00000000:18:00.0
power_limit_mw = 700000
energy_mj = 0 100000 350000

[device]
name = Tesla K80
uuid = GPU-bbbbbbbb-0000-0000-0000-000000000000
bus_id = 00000000:86:00.0
power_limit_mw = unsupported
energy_mj = unsupported
power_mw = 0 60000 60000

[device]
name = Mystery GPU
uuid = GPU-cccccccc-0000-0000-0000-000000000000
bus_id = 00000000:AF:00.0
energy_mj = unsupported
power_mw = unsupported
",
    );
    let mut found = discover(&standin);
    assert_eq!(found.gpus.len(), 3, "every GPU is in the record");
    assert_eq!(found.gpus[1].power_limit_w, None);
    assert_eq!(found.sensors.len(), 2, "the third GPU cannot be measured");
    assert_eq!(found.unavailable.len(), 1);
    let missing = &found.unavailable[0];
    assert_eq!(missing.sensor, SensorKind::Nvml);
    assert!(
        missing.reason.contains("gpu-2 (Mystery GPU)"),
        "{}",
        missing.reason
    );
    assert!(
        missing.reason.contains("not measured"),
        "{}",
        missing.reason
    );

    let ids: Vec<String> = found
        .sensors
        .iter()
        .map(|s| s.domains()[0].id.clone())
        .collect();
    assert_eq!(ids, ["gpu-0", "gpu-1"]);
    let provenance: Vec<Provenance> = found
        .sensors
        .iter()
        .map(|s| s.domains()[0].provenance)
        .collect();
    assert_eq!(provenance, [Provenance::Counter, Provenance::Integrated]);

    let mut totals_j = Vec::new();
    for sensor in &mut found.sensors {
        let mut meter = Meter::new(sensor.domains()[0].wrap_range_uj);
        meter.update(0.0, sample(sensor)).expect("first");
        meter.update(4.0, sample(sensor)).expect("second");
        totals_j.push(meter.total_j());
    }
    assert_joules(totals_j[0], 250.0); // (350 000 − 100 000) mJ
    assert_joules(totals_j[1], 240.0); // 60 W × 4 s
}

#[test]
fn a_gpu_lost_mid_run_is_an_error_and_the_other_gpu_keeps_measuring() {
    let standin = StandIn::new(
        "
[device]
name = NVIDIA A10
energy_mj = 0 1000 3000 6000 10000
# Discovery and two samples succeed; then the GPU falls off the bus.
lost_after = 3

[device]
name = NVIDIA L4
energy_mj = 0 2000 4000 6000 8000
",
    );
    let mut found = discover(&standin);
    assert_eq!(found.sensors.len(), 2);
    let (lost, rest) = found.sensors.split_at_mut(1);
    let (lost, other) = (&mut lost[0], &mut rest[0]);

    let mut lost_meter = Meter::new(None);
    let mut other_meter = Meter::new(None);
    lost_meter.update(0.0, sample(lost)).expect("first");
    other_meter.update(0.0, sample(other)).expect("first");
    lost_meter.update(1.0, sample(lost)).expect("second");
    other_meter.update(1.0, sample(other)).expect("second");

    let mut out = Vec::new();
    let err = lost.sample(&mut out).expect_err("the GPU is lost");
    assert!(out.is_empty(), "nothing is appended on error");
    match &err {
        SensorError::Unavailable(message) => {
            assert!(message.contains("gpu-0 (NVIDIA A10)"), "{message}");
            assert!(message.contains("fell off the bus"), "{message}");
        }
        other => panic!("a lost GPU is Unavailable, got {other:?}"),
    }
    // What was measured before the loss is kept.
    assert_joules(lost_meter.total_j(), 2.0);

    other_meter.update(2.0, sample(other)).expect("third");
    other_meter.update(3.0, sample(other)).expect("fourth");
    assert_joules(other_meter.total_j(), 6.0);
}

#[test]
fn a_library_that_does_not_exist_means_gpus_are_not_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("libnvidia-ml.so.1");
    let message = unavailable_message(nvml::discover(Some(&missing)));
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("GPUs are not measured"), "{message}");
}

/// Set in the child process of the test below, which runs only that test.
const DEFAULT_LIBRARY_CHILD: &str = "HOEVEEL_TEST_NVML_DEFAULT_LIBRARY_CHILD";

/// Without `--nvml-library` the agent asks the dynamic loader for
/// `libnvidia-ml.so.1`, as on a GPU machine whose driver installed it. The
/// loader reads `LD_LIBRARY_PATH` once, at process start, so this test runs
/// itself again as a child whose path starts at the stand-in's directory:
/// the default library is then the stand-in, and the outcome is the one its
/// script sets, whether or not this machine has an NVIDIA driver.
#[test]
fn the_default_library_is_the_one_the_dynamic_loader_finds() {
    if std::env::var_os(DEFAULT_LIBRARY_CHILD).is_some() {
        let mut found = match nvml::discover(None) {
            Ok(found) => found,
            Err(e) => panic!("the stand-in on LD_LIBRARY_PATH was not loaded: {e:?}"),
        };
        assert_eq!(found.sensors.len(), 1);
        assert_eq!(found.gpus[0].name, "NVIDIA A100-SXM4-40GB");
        let sensor = &mut found.sensors[0];
        assert_eq!(sensor.read_path(), ReadPath::EnergyCounter);
        let source = sensor.info().source;
        assert!(source.contains("libnvidia-ml.so.1"), "{source}");
        // The script's second energy value: the first went to discovery.
        assert_eq!(
            sample(sensor),
            Reading::Counter {
                energy_uj: 5_000_000
            }
        );
        return;
    }
    let standin = StandIn::new(A100);
    let directory = standin
        .library()
        .parent()
        .expect("the stand-in's directory");
    let mut search_path = std::ffi::OsString::from(directory);
    if let Some(inherited) = std::env::var_os("LD_LIBRARY_PATH") {
        search_path.push(":");
        search_path.push(inherited);
    }
    let exe = std::env::current_exe().expect("path of the test binary");
    let out = std::process::Command::new(&exe)
        .args([
            "--exact",
            "the_default_library_is_the_one_the_dynamic_loader_finds",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(DEFAULT_LIBRARY_CHILD, "1")
        .env("LD_LIBRARY_PATH", search_path)
        .env_remove("NVML_STANDIN_SCRIPT")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} again: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // A filter that matched nothing would pass too.
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn a_machine_without_gpus_is_unavailable() {
    let standin = StandIn::new("# a driver that sees no GPU\n");
    let message = unavailable_message(nvml::discover(Some(standin.library())));
    assert!(message.contains("reports no GPU"), "{message}");
}

#[test]
fn a_driver_that_is_not_loaded_is_unavailable() {
    // NVML_ERROR_DRIVER_NOT_LOADED = 9 (nvml.h).
    let standin = StandIn::new("init_return = 9\n[device]\nname = X\n");
    let message = unavailable_message(nvml::discover(Some(standin.library())));
    assert!(message.contains("driver is not loaded"), "{message}");
}

#[test]
fn a_gpu_without_any_reading_alone_is_unavailable_with_the_reason() {
    let standin =
        StandIn::new("[device]\nname = Old GPU\nenergy_mj = unsupported\npower_mw = unsupported\n");
    let message = unavailable_message(nvml::discover(Some(standin.library())));
    assert!(message.contains("gpu-0 (Old GPU)"), "{message}");
    assert!(message.contains("not supported"), "{message}");
}

#[test]
fn discovery_lists_the_gpus_and_the_unmeasurable_ones() {
    let standin = StandIn::new(
        "
[device]
name = NVIDIA A100-SXM4-40GB
energy_mj = 10 20
[device]
name = Old GPU
energy_mj = unsupported
power_mw = unsupported
",
    );
    let sysfs = tempfile::tempdir().expect("empty sysfs root");
    let options = DiscoverOptions {
        sysfs_root: sysfs.path().to_path_buf(),
        only: Some(vec![SensorKind::Nvml]),
        nvml_library: Some(standin.library().to_path_buf()),
        total: TotalChoice::Package,
    };
    let inventory = discover::discover(&options).expect("NVML is usable");
    assert_eq!(inventory.sensors.len(), 1);
    assert_eq!(inventory.sensors[0].kind(), SensorKind::Nvml);
    assert_eq!(inventory.gpus.len(), 2);
    assert_eq!(inventory.unavailable.len(), 1);
    let notes = inventory.notes(true);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("nvml not used: gpu-1 (Old GPU)")),
        "{notes:?}"
    );
    // Without --verbose: one line naming what is not used, not one a sensor.
    assert_eq!(
        inventory.notes(false),
        ["not used: nvml (`hoeveel-agent sensors`, or --verbose, says why and the fix for each)"]
    );
}

#[test]
fn asking_for_nvml_without_the_library_fails_with_the_reason() {
    let sysfs = tempfile::tempdir().expect("empty sysfs root");
    let options = DiscoverOptions {
        sysfs_root: sysfs.path().to_path_buf(),
        only: Some(vec![SensorKind::Nvml]),
        nvml_library: Some(Path::new("/nonexistent/libnvidia-ml.so.1").to_path_buf()),
        total: TotalChoice::Package,
    };
    let Err(err) = discover::discover(&options) else {
        panic!("an explicit sensor that cannot be used is an error");
    };
    assert!(
        matches!(
            err,
            discover::DiscoverError::Requested {
                kind: SensorKind::Nvml,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("sensor nvml was asked for"), "{message}");
    assert!(message.contains("GPUs are not measured"), "{message}");
}

/// The stand-in's call counters, reached through the same loaded library.
struct Calls {
    lib: libloading::Library,
}

impl Calls {
    fn of(standin: &StandIn) -> Calls {
        // SAFETY: the stand-in's initialisers have no side effects; the path is
        // the copy nvml-wrapper already loaded, so this returns the same library.
        let lib = unsafe { libloading::Library::new(standin.library()) }.expect("dlopen");
        Calls { lib }
    }

    fn count(&self, name: &[u8]) -> u64 {
        // SAFETY: both counters are `extern "C" fn() -> c_ulonglong`.
        unsafe {
            let f: libloading::Symbol<'_, unsafe extern "C" fn() -> u64> =
                self.lib.get(name).expect("a stand-in counter");
            f()
        }
    }

    fn energy(&self) -> u64 {
        self.count(b"nvml_standin_energy_calls")
    }

    fn power(&self) -> u64 {
        self.count(b"nvml_standin_power_calls")
    }
}

#[test]
fn between_marks_the_energy_counter_is_read_at_most_once_a_second_and_power_fills_the_series() {
    use hoeveel_measure::sampler::Sampler;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    // A counter that gains 1 J per read, and a steady 61 W.
    let energies: Vec<String> = (1..=200).map(|i| (i * 1000).to_string()).collect();
    let standin = StandIn::new(&format!(
        "[device]\nname = NVIDIA H100\nenergy_mj = {}\npower_mw = 61000\n",
        energies.join(" ")
    ));
    let found = discover(&standin);
    assert_eq!(found.sensors[0].read_path(), ReadPath::EnergyCounter);
    let calls = Calls::of(&standin);
    let before = calls.energy();
    let sensors: Vec<Box<dyn Sensor>> = found
        .sensors
        .into_iter()
        .map(|s| Box::new(s) as Box<dyn Sensor>)
        .collect();
    let sampler = Sampler::new(sensors, Instant::now());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("series.jsonl");
    let writer = Arc::new(Mutex::new(
        hoeveel_record::RecordWriter::create(&path).expect("writer"),
    ));
    let stop = AtomicBool::new(false);
    let marks = 3;
    let (first, last, elapsed_s) = std::thread::scope(|scope| {
        let started = Instant::now();
        let first = sampler.mark().expect("mark");
        let ticker = scope.spawn(|| sampler.tick_until(&stop, 0.1, Some(writer.clone())));
        std::thread::sleep(Duration::from_millis(1250));
        sampler.mark().expect("mark");
        std::thread::sleep(Duration::from_millis(1250));
        let last = sampler.mark().expect("mark");
        stop.store(true, Ordering::SeqCst);
        ticker.thread().unpark();
        let _ = ticker.join();
        (first, last, started.elapsed().as_secs_f64())
    });
    let counter_reads = calls.energy() - before;
    // At most once a second between marks (the sensor waits 2 s).
    let allowed = marks + elapsed_s.ceil() as u64;
    assert!(
        counter_reads <= allowed,
        "{counter_reads} counter reads in {elapsed_s:.2} s with {marks} marks (at most {allowed})"
    );
    assert!(calls.power() > 0, "the series read the power");
    // The window's energy still comes from the counter alone: 1 J per read.
    assert_joules(
        last.totals_j[0] - first.totals_j[0],
        (counter_reads - 1) as f64,
    );
    let text = std::fs::read_to_string(&path).expect("series");
    // `[t_s, gpu-0]` per tick.
    let powers: Vec<f64> = text
        .lines()
        .filter_map(|l| {
            let v: Vec<Option<f64>> = serde_json::from_str(l).expect("a compact sample");
            v[1]
        })
        .collect();
    assert!(
        powers.iter().filter(|w| **w == 61.0).count() >= powers.len() / 2,
        "most series points are the power reading: {powers:?}"
    );
}

#[test]
fn between_marks_a_gpu_without_a_power_reading_falls_back_to_its_counter() {
    let with_power = StandIn::new(
        "[device]\nname = NVIDIA H100\nenergy_mj = 1000 2000 3000 4000\npower_mw = 61000\n",
    );
    let without_power = StandIn::new(
        "[device]\nname = NVIDIA H100\nenergy_mj = 1000 2000 3000 4000\npower_mw = unsupported\n",
    );
    for (standin, series_power) in [(&with_power, true), (&without_power, false)] {
        let mut found = discover(standin);
        let sensor = &mut found.sensors[0];
        assert_eq!(sensor.read_path(), ReadPath::EnergyCounter);
        sample(sensor); // a mark: reads the counter
        let mut out = Vec::new();
        sensor.sample_between_marks(&mut out).expect("a reading");
        match (series_power, out[0]) {
            (true, Reading::SeriesPower { power_mw }) => assert_eq!(power_mw, 61000.0),
            (false, Reading::Counter { .. }) => {}
            (_, other) => panic!("power reading {series_power}: got {other:?}"),
        }
    }
}
