//! The sampler: owns the sensors and their meters behind one lock, so that the
//! background ticker and the run loop's exact window marks never interleave
//! within a reading.

use crate::clock::thread_cpu_time_s;
use crate::meter::{Meter, MeterError};
use crate::sensors::{Reading, Sensor, SensorError};
use hoeveel_record::{DomainMap, Event, Notice, NoticeLevel, RecordWriter, RunPhase, Sample};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Running totals of every domain at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Seconds since the run started.
    pub t_s: f64,
    pub totals_j: Vec<f64>,
    pub wraps: Vec<u32>,
    /// Counter resets seen per domain (each loses the interval around it).
    pub resets: Vec<u32>,
    /// False for domains of a sensor that was lost.
    pub alive: Vec<bool>,
}

struct Slot {
    sensor: Box<dyn Sensor>,
    /// Index of this sensor's first domain in the run's domain list.
    first_domain: usize,
    meters: Vec<Meter>,
    /// Counter resets per domain.
    resets: Vec<u32>,
    lost: bool,
}

struct State {
    slots: Vec<Slot>,
    readings: Vec<Reading>,
    domain_ids: Vec<String>,
    notices: Vec<Notice>,
    phase: RunPhase,
    repetition: Option<u32>,
}

pub struct Sampler {
    state: Mutex<State>,
    clock: Instant,
}

impl Sampler {
    pub fn new(sensors: Vec<Box<dyn Sensor>>, clock: Instant) -> Sampler {
        let mut slots = Vec::with_capacity(sensors.len());
        let mut domain_ids = Vec::new();
        for sensor in sensors {
            let first_domain = domain_ids.len();
            let meters = sensor
                .domains()
                .iter()
                .map(|d| Meter::new(d.wrap_range_uj))
                .collect();
            domain_ids.extend(sensor.domains().iter().map(|d| d.id.clone()));
            let resets = vec![0; sensor.domains().len()];
            slots.push(Slot {
                sensor,
                first_domain,
                meters,
                resets,
                lost: false,
            });
        }
        Sampler {
            state: Mutex::new(State {
                slots,
                readings: Vec::with_capacity(16),
                domain_ids,
                notices: Vec::new(),
                phase: RunPhase::Between,
                repetition: None,
            }),
            clock,
        }
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("sampler state poisoned"))
    }

    pub fn set_phase(&self, phase: RunPhase, repetition: Option<u32>) {
        if let Ok(mut s) = self.state.lock() {
            s.phase = phase;
            s.repetition = repetition;
        }
    }

    /// Reads every sensor now and returns the running totals.
    pub fn mark(&self) -> anyhow::Result<Snapshot> {
        let mut state = self.lock()?;
        let t_s = self.clock.elapsed().as_secs_f64();
        state.sample_all(t_s);
        Ok(state.snapshot(t_s))
    }

    /// Notices gathered since the last call (sensors lost, counter resets).
    pub fn take_notices(&self) -> Vec<Notice> {
        self.state
            .lock()
            .map(|mut s| std::mem::take(&mut s.notices))
            .unwrap_or_default()
    }

    /// Samples every `interval_s` until `stop` is set, writing the time series
    /// when a writer is given. Returns the CPU time this thread used. Whoever sets
    /// `stop` must then unpark this thread, which otherwise sleeps to its next tick.
    pub fn tick_until(
        &self,
        stop: &AtomicBool,
        interval_s: f64,
        writer: Option<Arc<Mutex<RecordWriter>>>,
    ) -> f64 {
        let cpu_start = thread_cpu_time_s();
        let interval = Duration::from_secs_f64(interval_s);
        let mut next = Instant::now() + interval;
        let mut previous: Option<Snapshot> = None;
        // Domain ids never change during a run: copy them once, not on every tick.
        let ids = match self.state.lock() {
            Ok(state) => state.domain_ids.clone(),
            Err(_) => return thread_cpu_time_s() - cpu_start,
        };
        while !stop.load(Ordering::SeqCst) {
            // Sleep until the next tick, not in short polling steps: the run loop
            // unparks this thread after setting `stop`, so the loop still ends at
            // once. A spurious wake-up only goes round the loop again.
            let now = Instant::now();
            if now < next {
                std::thread::park_timeout(next - now);
                continue;
            }
            // A tick that overran is skipped, not queued: no burst of catch-up reads.
            while next <= now {
                next += interval;
            }
            let Ok(mut state) = self.state.lock() else {
                break;
            };
            let t_s = self.clock.elapsed().as_secs_f64();
            state.sample_all(t_s);
            let snapshot = state.snapshot(t_s);
            let (phase, repetition) = (state.phase, state.repetition);
            drop(state);
            if let (Some(prev), Some(writer)) = (&previous, &writer) {
                let dt = snapshot.t_s - prev.t_s;
                if dt > 0.0 {
                    let power_w: DomainMap = ids
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| snapshot.alive[*i])
                        .map(|(i, id)| (id.clone(), (snapshot.totals_j[i] - prev.totals_j[i]) / dt))
                        .collect();
                    let event = Event::Sample(Sample {
                        t_s: snapshot.t_s,
                        phase,
                        repetition,
                        power_w,
                    });
                    if let Ok(mut w) = writer.lock() {
                        // A failed sample write is not worth stopping the run for;
                        // the window marks carry the energy.
                        let _ = w.write(&event);
                    }
                }
            }
            previous = Some(snapshot);
        }
        thread_cpu_time_s() - cpu_start
    }
}

impl State {
    fn sample_all(&mut self, t_s: f64) {
        let State {
            slots,
            readings,
            notices,
            domain_ids,
            ..
        } = self;
        for slot in slots.iter_mut().filter(|s| !s.lost) {
            readings.clear();
            match slot.sensor.sample(readings) {
                Ok(()) if readings.len() == slot.meters.len() => {
                    for (i, (meter, reading)) in
                        slot.meters.iter_mut().zip(readings.iter()).enumerate()
                    {
                        if let Err(e) = meter.update(t_s, *reading) {
                            let id = &domain_ids[slot.first_domain + i];
                            notices.push(meter_notice(t_s, id, e));
                            slot.resets[i] += 1;
                            meter.restart();
                            let _ = meter.update(t_s, *reading);
                        }
                    }
                }
                Ok(()) => {
                    slot.lost = true;
                    notices.push(Notice {
                        t_s,
                        level: NoticeLevel::Warning,
                        sensor: Some(slot.sensor.kind()),
                        message: format!(
                            "sensor returned {} readings for {} domains; it is no longer used",
                            readings.len(),
                            slot.meters.len()
                        ),
                    });
                }
                // A transient error skips this reading; the next one covers the gap.
                Err(SensorError::Transient(_)) => {}
                Err(e) => {
                    slot.lost = true;
                    let ids = domain_ids[slot.first_domain..slot.first_domain + slot.meters.len()]
                        .join(", ");
                    notices.push(Notice {
                        t_s,
                        level: NoticeLevel::Warning,
                        sensor: Some(slot.sensor.kind()),
                        message: format!(
                            "sensor lost ({e}); domains {ids} are not measured from here on, the run continues with the rest"
                        ),
                    });
                }
            }
        }
    }

    fn snapshot(&self, t_s: f64) -> Snapshot {
        let n = self.domain_ids.len();
        let mut snap = Snapshot {
            t_s,
            totals_j: Vec::with_capacity(n),
            wraps: Vec::with_capacity(n),
            resets: Vec::with_capacity(n),
            alive: Vec::with_capacity(n),
        };
        for slot in &self.slots {
            for (meter, resets) in slot.meters.iter().zip(&slot.resets) {
                snap.totals_j.push(meter.total_j());
                snap.wraps.push(meter.wraps());
                snap.resets.push(*resets);
                snap.alive.push(!slot.lost);
            }
        }
        snap
    }
}

fn meter_notice(t_s: f64, id: &str, e: MeterError) -> Notice {
    Notice {
        t_s,
        level: NoticeLevel::Warning,
        sensor: None,
        message: format!(
            "{id}: {e}; that interval is left out and measuring restarts from this reading"
        ),
    }
}
