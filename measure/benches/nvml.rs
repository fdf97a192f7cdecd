//! One `sample()` of the NVML sensor against the stand-in `libnvidia-ml.so`,
//! for both read paths, and the parts it is made of: the device look-up by
//! index that every sample does (the sensor keeps `Arc<Nvml>`, not a borrowed
//! `Device`) and the reading itself. On a real GPU the driver call dominates;
//! these figures are the agent's own cost around it.

#[path = "../tests/support/nvml_standin.rs"]
mod nvml_standin;

use criterion::{Criterion, criterion_group, criterion_main};
use hoeveel_measure::sensors::Sensor;
use hoeveel_measure::sensors::nvml;
use nvml_standin::StandIn;
use std::hint::black_box;

const COUNTER_GPU: &str = "[device]\nname = Bench GPU\nenergy_mj = 1000 2000 3000\n";
const POWER_GPU: &str =
    "[device]\nname = Bench GPU\nenergy_mj = unsupported\npower_mw = 50000 60000\n";

fn sample(c: &mut Criterion) {
    for (label, script) in [
        ("nvml/sample energy counter", COUNTER_GPU),
        ("nvml/sample power", POWER_GPU),
    ] {
        let standin = StandIn::new(script);
        let mut found = nvml::discover(Some(standin.library())).expect("stand-in NVML");
        let sensor = &mut found.sensors[0];
        let mut out = Vec::with_capacity(1);
        c.bench_function(label, |b| {
            b.iter(|| {
                out.clear();
                sensor.sample(&mut out).expect("sample");
                black_box(&out);
            })
        });
    }
}

fn parts(c: &mut Criterion) {
    let standin = StandIn::new(COUNTER_GPU);
    let nvml = nvml_wrapper::Nvml::builder()
        .lib_path(standin.library().as_os_str())
        .init()
        .expect("stand-in NVML");
    c.bench_function("nvml/device_by_index", |b| {
        b.iter(|| black_box(nvml.device_by_index(black_box(0)).expect("device")))
    });
    let device = nvml.device_by_index(0).expect("device");
    c.bench_function("nvml/total_energy_consumption on a held device", |b| {
        b.iter(|| black_box(device.total_energy_consumption().expect("energy")))
    });
}

criterion_group!(benches, sample, parts);
criterion_main!(benches);
