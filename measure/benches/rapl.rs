//! One `sample()` of each RAPL sensor kind on a fixture tree: powercap re-reads
//! its open `energy_uj` files (4 zones of the client layout, MMIO twin skipped),
//! perf reads its counters (a fake power PMU whose events point at the kernel's
//! software PMU's `cpu-clock` on CPU 0, so the read path is the kernel's own,
//! on any Linux machine).

use criterion::{Criterion, criterion_group, criterion_main};
use hoeveel_measure::sensors::rapl_perf::RaplPerfSensor;
use hoeveel_measure::sensors::rapl_powercap::RaplPowercapSensor;
use hoeveel_measure::sensors::{Reading, Sensor};
use hoeveel_sysfs_fixture::{
    PmuSpec, build_power_pmu, build_powercap, client_zones, two_socket_zones,
};
use std::hint::black_box;

fn bench_sensor(c: &mut Criterion, name: &str, sensor: &mut dyn Sensor) {
    let mut out: Vec<Reading> = Vec::with_capacity(sensor.domains().len());
    c.bench_function(name, |b| {
        b.iter(|| {
            out.clear();
            sensor.sample(&mut out).expect("sample");
            black_box(&out);
        })
    });
}

fn powercap(c: &mut Criterion) {
    for (name, zones) in [
        ("rapl-powercap client (4 zones)", client_zones()),
        ("rapl-powercap two sockets (4 zones)", two_socket_zones()),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        build_powercap(dir.path(), &zones).expect("fixture");
        let mut sensor = RaplPowercapSensor::discover(dir.path()).expect("discover");
        bench_sensor(c, name, &mut sensor);
    }
}

fn perf(c: &mut Criterion) {
    let spec =
        PmuSpec::software_backed(&[("energy-pkg", "event=0x00"), ("energy-ram", "event=0x00")]);
    let dir = tempfile::tempdir().expect("tempdir");
    build_power_pmu(dir.path(), &spec).expect("fixture");
    let mut sensor = RaplPerfSensor::discover(dir.path()).expect("discover");
    bench_sensor(
        c,
        "rapl-perf (2 counters on software/cpu-clock)",
        &mut sensor,
    );
}

criterion_group!(benches, powercap, perf);
criterion_main!(benches);
