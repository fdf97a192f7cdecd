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
#[derive(Debug, Clone, PartialEq)]
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
    /// Why the sensor is not being read, while it is lost.
    down: Option<Down>,
}

/// Why a sensor's domains are not measured now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Its last read failed (a file gone, a library error).
    ReadError,
    /// It returned a different number of readings than it has domains.
    WrongReadings,
}

impl Down {
    /// The reason as a fixed label value.
    pub fn name(self) -> &'static str {
        match self {
            Down::ReadError => "read_error",
            Down::WrongReadings => "wrong_readings",
        }
    }
}

struct State {
    slots: Vec<Slot>,
    readings: Vec<Reading>,
    domain_ids: Vec<String>,
    notices: Vec<Notice>,
    phase: RunPhase,
    repetition: Option<u32>,
    /// Read lost sensors again at every reading (a long-running exporter), rather
    /// than leaving them out for the rest of the run.
    retry_lost: bool,
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
                down: None,
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
                retry_lost: false,
            }),
            clock,
        }
    }

    /// A sampler that reads a lost sensor again at every reading; when it reads
    /// again, its meters start afresh (the energy while it was lost is not
    /// counted) and its running totals go on from where they were.
    pub fn retrying_lost_sensors(self) -> Sampler {
        if let Ok(mut state) = self.state.lock() {
            state.retry_lost = true;
        }
        self
    }

    /// Why each domain is not measured now (`None`: measured), in domain order.
    pub fn health(&self) -> Vec<Option<Down>> {
        self.state
            .lock()
            .map(|s| {
                s.slots
                    .iter()
                    .flat_map(|slot| std::iter::repeat_n(slot.down, slot.meters.len()))
                    .collect()
            })
            .unwrap_or_default()
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
            retry_lost,
            ..
        } = self;
        for slot in slots.iter_mut().filter(|s| !s.lost || *retry_lost) {
            readings.clear();
            match slot.sensor.sample(readings) {
                Ok(()) if readings.len() == slot.meters.len() => {
                    if slot.lost {
                        // Back after a loss: the meters start from this reading.
                        slot.lost = false;
                        slot.down = None;
                        slot.meters.iter_mut().for_each(Meter::restart);
                        notices.push(Notice {
                            t_s,
                            level: NoticeLevel::Info,
                            sensor: Some(slot.sensor.kind()),
                            message:
                                "sensor reads again; the energy while it was lost is not counted"
                                    .to_string(),
                        });
                    }
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
                Ok(()) if slot.lost => {}
                Ok(()) => {
                    slot.lost = true;
                    slot.down = Some(Down::WrongReadings);
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
                // Still lost: said once, when it was lost.
                Err(_) if slot.lost => {}
                Err(e) => {
                    slot.lost = true;
                    slot.down = Some(Down::ReadError);
                    let ids = domain_ids[slot.first_domain..slot.first_domain + slot.meters.len()]
                        .join(", ");
                    notices.push(Notice {
                        t_s,
                        level: NoticeLevel::Warning,
                        sensor: Some(slot.sensor.kind()),
                        message: format!(
                            "sensor lost ({e}); domains {ids} are not measured {}, the rest goes on",
                            if *retry_lost { "until it reads again" } else { "from here on" }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::{Domain, SensorKind};
    use hoeveel_record::{DomainKind, Provenance, SensorInfo};
    use std::sync::atomic::AtomicU32;

    /// A counter of 1 J per reading whose reads fail while `failing` is set.
    struct Flaky {
        domains: Vec<Domain>,
        failing: Arc<AtomicBool>,
        reads: AtomicU32,
    }

    impl Sensor for Flaky {
        fn kind(&self) -> SensorKind {
            SensorKind::RaplPowercap
        }
        fn domains(&self) -> &[Domain] {
            &self.domains
        }
        fn info(&self) -> SensorInfo {
            unreachable!("not needed here")
        }
        fn update_period_s(&self) -> f64 {
            0.001
        }
        fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(SensorError::Unavailable("zone gone".into()));
            }
            out.push(Reading::Counter {
                energy_uj: u64::from(n) * 1_000_000,
            });
            Ok(())
        }
    }

    fn flaky() -> (Sampler, Arc<AtomicBool>) {
        let failing = Arc::new(AtomicBool::new(false));
        let sensor = Flaky {
            domains: vec![Domain {
                id: "package-0".into(),
                kind: DomainKind::Package,
                provenance: Provenance::Counter,
                wrap_range_uj: None,
                unit: Some(0),
            }],
            failing: failing.clone(),
            reads: AtomicU32::new(0),
        };
        (
            Sampler::new(vec![Box::new(sensor)], Instant::now()),
            failing,
        )
    }

    #[test]
    fn a_lost_sensor_stays_lost_in_a_run() {
        let (sampler, failing) = flaky();
        sampler.mark().expect("mark");
        failing.store(true, Ordering::SeqCst);
        assert!(!sampler.mark().expect("mark").alive[0]);
        assert_eq!(sampler.health(), [Some(Down::ReadError)]);
        failing.store(false, Ordering::SeqCst);
        assert!(!sampler.mark().expect("mark").alive[0], "not read again");
    }

    #[test]
    fn a_retrying_sampler_reads_a_lost_sensor_again_and_counts_on() {
        let (sampler, failing) = flaky();
        let sampler = sampler.retrying_lost_sensors();
        sampler.mark().expect("mark"); // read 0: 0 J, the start
        assert_eq!(sampler.mark().expect("mark").totals_j[0], 1.0); // read 1
        failing.store(true, Ordering::SeqCst);
        let down = sampler.mark().expect("mark"); // read 2 fails
        assert!(!down.alive[0]);
        assert_eq!(sampler.health(), [Some(Down::ReadError)]);
        assert_eq!(
            sampler.mark().expect("mark").totals_j[0],
            1.0,
            "read 3 fails too"
        );
        failing.store(false, Ordering::SeqCst);
        // Read 4 (4 J on the counter) restarts the meter: the 3 J while lost are
        // not counted, the total stays monotonic.
        let back = sampler.mark().expect("mark");
        assert!(back.alive[0]);
        assert_eq!(back.totals_j[0], 1.0);
        assert_eq!(sampler.health(), [None]);
        assert_eq!(sampler.mark().expect("mark").totals_j[0], 2.0); // read 5
        let notices = sampler.take_notices();
        assert_eq!(notices.len(), 2, "lost once, back once: {notices:?}");
        assert!(notices[0].message.contains("until it reads again"));
        assert!(notices[1].message.contains("reads again"));
    }
}
