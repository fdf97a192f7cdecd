//! The sampler: owns the sensors and their meters behind one lock, so that the
//! background ticker and the run loop's exact window marks never interleave
//! within a reading.
//!
//! Window marks read every sensor at once. Between marks, the ticker reads each
//! sensor at its own pace: every `interval`, but never more often than the
//! sensor's value changes (`update_period_s`: RAPL 1 ms, the CPU model the
//! kernel's 10 ms tick), since a reading that cannot have changed costs a
//! wake-up and buys nothing. It sleeps until the next sensor is due (or until
//! unparked at the end of the run); a tick allocates nothing, and a time-series
//! line holds only the domains read at that tick, each with its mean power since
//! its own previous tick.

use crate::clock::thread_cpu_time_s;
use crate::meter::{Meter, MeterError};
use crate::sensors::{Reading, Sensor, SensorError};
use hoeveel_record::{Notice, NoticeLevel, RecordWriter};
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
    /// Read lost sensors again at every reading (a long-running exporter), rather
    /// than leaving them out for the rest of the run.
    retry_lost: bool,
    /// Per domain, the power its last reading gave for the time series alone
    /// ([`Reading::SeriesPower`]); NaN when the series comes from its total.
    series_w: Vec<f64>,
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
        let n_domains = domain_ids.len();
        Sampler {
            state: Mutex::new(State {
                slots,
                readings: Vec::with_capacity(16),
                domain_ids,
                notices: Vec::new(),
                retry_lost: false,
                series_w: vec![f64::NAN; n_domains],
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

    /// Samples each sensor every `interval_s` (or at its update period, when that
    /// is longer) until `stop` is set, writing the time series when a writer is
    /// given. Returns the CPU time this thread used. Whoever sets `stop` must then
    /// unpark this thread, which otherwise sleeps until the next sensor is due.
    pub fn tick_until(
        &self,
        stop: &AtomicBool,
        interval_s: f64,
        writer: Option<Arc<Mutex<RecordWriter>>>,
    ) -> f64 {
        let cpu_start = thread_cpu_time_s();
        let interval = crate::clock::span(interval_s);
        // Everything a tick needs, allocated once.
        let Ok(state) = self.state.lock() else {
            return thread_cpu_time_s() - cpu_start;
        };
        // Per domain: time and running total at its previous tick (NaN: none
        // yet), starting from the last mark, so the first tick gives a point.
        let mut last_t = vec![f64::NAN; state.domain_ids.len()];
        let mut last_total = vec![0.0; state.domain_ids.len()];
        for slot in state.slots.iter().filter(|s| !s.lost) {
            for (k, meter) in slot.meters.iter().enumerate() {
                last_t[slot.first_domain + k] = meter.last_t_s().unwrap_or(f64::NAN);
                last_total[slot.first_domain + k] = meter.total_j();
            }
        }
        let paces: Vec<Duration> = state
            .slots
            .iter()
            .map(|slot| interval.max(crate::clock::span(slot.sensor.update_period_s())))
            .collect();
        let n_domains = state.domain_ids.len();
        drop(state);
        let start = Instant::now();
        let mut next_due: Vec<Instant> = paces.iter().map(|p| start + *p).collect();
        let mut due = vec![false; paces.len()];
        // This tick's power per domain; NaN for a domain not read at it.
        let mut power = vec![f64::NAN; n_domains];
        while !stop.load(Ordering::SeqCst) {
            let Some(next) = next_due.iter().min().copied() else {
                break; // no sensor at all
            };
            let now = Instant::now();
            if now < next {
                // The run loop unparks this thread after setting `stop`; a spurious
                // wake-up only goes round the loop again.
                std::thread::park_timeout(next - now);
                continue;
            }
            for ((d, due_at), pace) in due.iter_mut().zip(next_due.iter_mut()).zip(&paces) {
                *d = *due_at <= now;
                // A tick that overran is skipped, not queued: no burst of reads.
                while *due_at <= now {
                    *due_at += *pace;
                }
            }
            let Ok(mut state) = self.state.lock() else {
                break;
            };
            let t_s = self.clock.elapsed().as_secs_f64();
            state.sample(t_s, |i| due[i], true);
            power.fill(f64::NAN);
            let mut any = false;
            for (_, slot) in state.slots.iter().enumerate().filter(|(i, _)| due[*i]) {
                for (k, meter) in slot.meters.iter().enumerate() {
                    let d = slot.first_domain + k;
                    if slot.lost {
                        last_t[d] = f64::NAN; // a gap: start afresh when it is back
                        continue;
                    }
                    if state.series_w[d].is_finite() {
                        // The sensor's own power reading (its counter was not read).
                        power[d] = state.series_w[d];
                        any = true;
                        continue;
                    }
                    let total = meter.total_j();
                    let dt = t_s - last_t[d];
                    if dt > 0.0 {
                        power[d] = (total - last_total[d]) / dt;
                        any = true;
                    }
                    last_t[d] = t_s;
                    last_total[d] = total;
                }
            }
            drop(state);
            if let Some(writer) = writer.as_ref().filter(|_| any)
                && let Ok(mut w) = writer.lock()
            {
                // A failed sample write is not worth stopping the run for; the
                // window marks carry the energy.
                let _ = w.write_sample(t_s, &power);
            }
        }
        thread_cpu_time_s() - cpu_start
    }
}

impl State {
    /// A mark: every sensor, read in full.
    fn sample_all(&mut self, t_s: f64) {
        self.sample(t_s, |_| true, false);
    }

    /// Reads the sensors whose slot index `read` accepts; `between_marks`: as a
    /// background tick ([`Sensor::sample_between_marks`]).
    fn sample(&mut self, t_s: f64, read: impl Fn(usize) -> bool, between_marks: bool) {
        let State {
            slots,
            readings,
            notices,
            domain_ids,
            retry_lost,
            series_w,
            ..
        } = self;
        for (_, slot) in slots
            .iter_mut()
            .enumerate()
            .filter(|(i, s)| read(*i) && (!s.lost || *retry_lost))
        {
            readings.clear();
            let result = if between_marks {
                slot.sensor.sample_between_marks(readings)
            } else {
                slot.sensor.sample(readings)
            };
            for (k, w) in series_w[slot.first_domain..slot.first_domain + slot.meters.len()]
                .iter_mut()
                .enumerate()
            {
                *w = match (&result, readings.get(k)) {
                    (Ok(()), Some(Reading::SeriesPower { power_mw })) => power_mw * 1e-3,
                    _ => f64::NAN,
                };
            }
            match result {
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

    /// A counter of 1 J per reading that changes every `period_s`, counting reads.
    struct Paced {
        domains: Vec<Domain>,
        period_s: f64,
        reads: Arc<AtomicU32>,
    }

    impl Sensor for Paced {
        fn kind(&self) -> SensorKind {
            SensorKind::Model
        }
        fn domains(&self) -> &[Domain] {
            &self.domains
        }
        fn info(&self) -> SensorInfo {
            unreachable!("not needed here")
        }
        fn update_period_s(&self) -> f64 {
            self.period_s
        }
        fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            out.push(Reading::Counter {
                energy_uj: u64::from(n) * 1_000_000,
            });
            Ok(())
        }
    }

    fn paced(id: &str, period_s: f64) -> (Box<dyn Sensor>, Arc<AtomicU32>) {
        let reads = Arc::new(AtomicU32::new(0));
        let sensor = Paced {
            domains: vec![Domain {
                id: id.into(),
                kind: DomainKind::Package,
                provenance: Provenance::Counter,
                wrap_range_uj: None,
                unit: None,
            }],
            period_s,
            reads: reads.clone(),
        };
        (Box::new(sensor), reads)
    }

    #[test]
    fn each_sensor_is_read_no_faster_than_it_changes_and_the_series_says_which() {
        let (fast, fast_reads) = paced("fast", 0.001);
        let (slow, slow_reads) = paced("slow", 0.05);
        let sampler = Sampler::new(vec![fast, slow], Instant::now());
        let out = hoeveel_record::writer::MemorySink::default();
        let writer = Arc::new(Mutex::new(RecordWriter::to_writer(
            std::path::Path::new("mem"),
            Box::new(out.clone()),
        )));
        let stop = AtomicBool::new(false);
        let elapsed_s = std::thread::scope(|scope| {
            let started = Instant::now();
            let ticker = scope.spawn(|| sampler.tick_until(&stop, 0.001, Some(writer.clone())));
            std::thread::sleep(Duration::from_millis(300));
            stop.store(true, Ordering::SeqCst);
            ticker.thread().unpark();
            let _ = ticker.join();
            started.elapsed().as_secs_f64()
        });
        let slow_n = slow_reads.load(Ordering::SeqCst);
        let fast_n = fast_reads.load(Ordering::SeqCst);
        // Never more often than every 50 ms, however often the ticker wakes.
        assert!(
            f64::from(slow_n) <= elapsed_s / 0.05 + 1.0,
            "{slow_n} reads in {elapsed_s} s"
        );
        assert!(
            slow_n >= 1 && fast_n > slow_n,
            "fast {fast_n}, slow {slow_n}"
        );
        let text = out.text();
        // `[t_s, fast, slow]`, null for a domain not read at that tick.
        let lines: Vec<Vec<Option<f64>>> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a compact sample"))
            .collect();
        assert!(lines.iter().all(|l| l.len() == 3), "{text}");
        let with = |id: &str| {
            let k = if id == "fast" { 1 } else { 2 };
            lines.iter().filter(|l| l[k].is_some()).count()
        };
        assert!(
            with("slow") < with("fast"),
            "slow {} fast {}",
            with("slow"),
            with("fast")
        );
        assert!(with("slow") as u32 <= slow_n);
    }
}
