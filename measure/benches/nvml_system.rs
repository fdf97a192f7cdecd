//! One `sample()` of the NVML sensor against this machine's own NVIDIA driver
//! (`libnvidia-ml.so.1`), and the two raw driver calls behind the two read
//! paths. The `nvml` bench measures the agent's cost around a stand-in
//! library; this one measures what a sampler tick costs on real hardware.
//!
//! On a machine without the driver it says so and measures nothing.

use criterion::{Criterion, criterion_group, criterion_main};
use hoeveel_measure::sensors::Sensor;
use hoeveel_measure::sensors::nvml;
use std::hint::black_box;

fn system_gpu(c: &mut Criterion) {
    let mut found = match nvml::discover(None) {
        Ok(found) if !found.sensors.is_empty() => found,
        Ok(_) => {
            eprintln!("nvml_system: NVML loaded but no GPU can be measured; nothing to bench");
            return;
        }
        Err(e) => {
            eprintln!("nvml_system: {e}; nothing to bench");
            return;
        }
    };
    let sensor = &mut found.sensors[0];
    eprintln!(
        "nvml_system: GPU 0 is {:?}, read by {}",
        sensor.gpu(),
        sensor.read_path().as_str()
    );
    let mut out = Vec::with_capacity(1);
    c.bench_function("nvml-system/sample GPU 0", |b| {
        b.iter(|| {
            out.clear();
            sensor.sample(&mut out).expect("sample");
            black_box(&out);
        })
    });

    let nvml = nvml_wrapper::Nvml::init().expect("NVML loaded a moment ago");
    let device = nvml.device_by_index(0).expect("GPU 0");
    if device.total_energy_consumption().is_ok() {
        c.bench_function("nvml-system/total_energy_consumption", |b| {
            b.iter(|| black_box(device.total_energy_consumption().expect("energy")))
        });
    }
    if device.power_usage().is_ok() {
        c.bench_function("nvml-system/power_usage", |b| {
            b.iter(|| black_box(device.power_usage().expect("power")))
        });
    }
}

criterion_group!(benches, system_gpu);
criterion_main!(benches);
