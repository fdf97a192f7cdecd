//! One `sample()` of each RAPL sensor kind on a fixture tree: powercap re-reads
//! its open `energy_uj` files (4 zones of the client layout, MMIO twin skipped),
//! perf reads its counters (a fake power PMU whose events point at the real
//! `msr/tsc`, one per CPU 0 and 1, so the read path is the kernel's own).

use criterion::{Criterion, criterion_group, criterion_main};
use hoeveel_agent::sensors::fixture::{
    PmuEventSpec, PmuSpec, build_power_pmu, build_powercap, client_zones, two_socket_zones,
};
use hoeveel_agent::sensors::rapl_perf::RaplPerfSensor;
use hoeveel_agent::sensors::rapl_powercap::RaplPowercapSensor;
use hoeveel_agent::sensors::{Reading, Sensor};
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
    let Ok(msr_type) = std::fs::read_to_string("/sys/bus/event_source/devices/msr/type") else {
        eprintln!("no msr PMU on this machine: rapl-perf benchmark not run");
        return;
    };
    let spec = PmuSpec {
        pmu_type: msr_type.trim().parse().expect("msr type"),
        cpumask: "0".to_string(),
        format_event: "config:0-63".to_string(),
        events: vec![
            PmuEventSpec::rapl("energy-pkg", "event=0x00"),
            PmuEventSpec::rapl("energy-ram", "event=0x00"),
        ],
        packages: vec![(0, 0)],
    };
    let dir = tempfile::tempdir().expect("tempdir");
    build_power_pmu(dir.path(), &spec).expect("fixture");
    let mut sensor = RaplPerfSensor::discover(dir.path()).expect("discover");
    bench_sensor(c, "rapl-perf (2 counters on msr/tsc)", &mut sensor);
}

criterion_group!(benches, powercap, perf);
criterion_main!(benches);
