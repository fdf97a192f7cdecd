//! Cost of the meter's arithmetic and of one reading of the modelled CPU sensor:
//! what the agent adds to every sampling tick.

use criterion::{Criterion, criterion_group, criterion_main};
use hoeveel_measure::meter::Meter;
use hoeveel_measure::sensors::modelled::ModelledCpu;
use hoeveel_measure::sensors::{Reading, Sensor};
use std::hint::black_box;

fn meter(c: &mut Criterion) {
    c.bench_function("meter: counter update", |b| {
        let mut m = Meter::new(Some(262_143_328_850));
        let mut t = 0.0;
        let mut uj = 0u64;
        b.iter(|| {
            t += 0.1;
            uj = (uj + 1_234_567) % 262_143_328_851;
            black_box(m.update(t, Reading::Counter { energy_uj: uj }).ok());
        })
    });
    c.bench_function("meter: power update", |b| {
        let mut m = Meter::new(None);
        let mut t = 0.0;
        b.iter(|| {
            t += 0.1;
            black_box(m.update(t, Reading::Power { power_mw: 42_000.0 }).ok());
        })
    });
}

fn modelled(c: &mut Criterion) {
    let Ok(mut sensor) = ModelledCpu::for_this_host() else {
        eprintln!("modelled sensor unavailable; skipping");
        return;
    };
    let mut out = Vec::with_capacity(1);
    c.bench_function("sensor: model sample", |b| {
        b.iter(|| {
            out.clear();
            black_box(sensor.sample(&mut out).ok());
        })
    });
}

criterion_group!(benches, meter, modelled);
criterion_main!(benches);
