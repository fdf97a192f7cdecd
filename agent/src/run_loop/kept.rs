//! The events a run keeps for its summary, in memory that does not grow with
//! the run.
//!
//! The summary at the end needs every repetition (medians and bootstrap
//! intervals cannot be kept as running sums), and a repetition held in memory
//! costs about 1 KiB: a run of a million short requests would grow the agent
//! by a gigabyte while it measures. So the first [`IN_MEMORY_REPETITIONS`] are
//! held in memory and the rest go, one JSON line each, to an unnamed temporary
//! file (created unlinked in the temporary folder: no path to find or swap),
//! read back only when the run has ended. The few counts the run needs on the
//! way (repetitions measured, whether one was incomplete, the last error) are
//! kept as the events arrive.

use hoeveel_record::{Event, Repetition, RepetitionStatus};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

/// Repetitions held in memory before the rest go to the temporary file.
pub const IN_MEMORY_REPETITIONS: usize = 1024;

/// Every event but samples, for the summary.
pub struct Kept {
    events: Vec<Event>,
    in_memory_repetitions: usize,
    limit: usize,
    spill: Option<Spill>,
    /// Why the temporary file could not be used, once: repetitions stay in
    /// memory then.
    spill_failed: Option<String>,
    measured_ok: u32,
    degraded: bool,
    last_error: Option<String>,
}

struct Spill {
    file: BufWriter<File>,
    repetitions: u64,
}

impl Kept {
    pub fn new() -> Kept {
        Kept::with_limit(IN_MEMORY_REPETITIONS)
    }

    /// Holds at most `limit` repetitions in memory.
    pub fn with_limit(limit: usize) -> Kept {
        Kept {
            events: Vec::new(),
            in_memory_repetitions: 0,
            limit,
            spill: None,
            spill_failed: None,
            measured_ok: 0,
            degraded: false,
            last_error: None,
        }
    }

    pub fn push(&mut self, event: Event) {
        let Event::Repetition(repetition) = event else {
            self.events.push(event);
            return;
        };
        self.count(&repetition);
        if self.in_memory_repetitions < self.limit || self.spill_failed.is_some() {
            self.in_memory_repetitions += 1;
            self.events.push(Event::Repetition(repetition));
            return;
        }
        if let Err(e) = self.spill(&repetition) {
            // Memory is the only place left: the summary must not lose it.
            self.spill_failed = Some(format!(
                "repetitions past the {}th are held in memory: the temporary file for them failed ({e})",
                self.limit
            ));
            self.in_memory_repetitions += 1;
            self.events.push(Event::Repetition(repetition));
        }
    }

    fn count(&mut self, r: &Repetition) {
        if let Some(error) = &r.error {
            self.last_error = Some(error.clone());
        }
        if !r.warmup && r.status == RepetitionStatus::Ok {
            self.measured_ok = self.measured_ok.saturating_add(1);
            self.degraded |= !r.is_complete();
        }
    }

    fn spill(&mut self, repetition: &Repetition) -> std::io::Result<()> {
        let spill = match &mut self.spill {
            Some(spill) => spill,
            None => self.spill.insert(Spill {
                file: BufWriter::new(tempfile::tempfile()?),
                repetitions: 0,
            }),
        };
        serde_json::to_writer(&mut spill.file, repetition).map_err(std::io::Error::other)?;
        spill.file.write_all(b"\n")?;
        spill.repetitions += 1;
        Ok(())
    }

    /// Measured repetitions that succeeded.
    pub fn measured_ok(&self) -> u32 {
        self.measured_ok
    }

    /// Whether a measured, successful repetition missed part of the total.
    pub fn degraded(&self) -> bool {
        self.degraded
    }

    /// The error of the last repetition that had one.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Repetitions held in memory now.
    pub fn in_memory_repetitions(&self) -> usize {
        self.in_memory_repetitions
    }

    /// A note for the run when the temporary file failed.
    pub fn spill_failed(&self) -> Option<&str> {
        self.spill_failed.as_deref()
    }

    /// Every event kept, the repetitions from the temporary file after the
    /// others, in the order they came.
    pub fn into_events(self) -> std::io::Result<Vec<Event>> {
        let mut events = self.events;
        let Some(spill) = self.spill else {
            return Ok(events);
        };
        let mut file = spill.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        events.reserve(usize::try_from(spill.repetitions).unwrap_or(0));
        for line in BufReader::new(file).lines() {
            let repetition: Repetition =
                serde_json::from_str(&line?).map_err(std::io::Error::other)?;
            events.push(Event::Repetition(repetition));
        }
        Ok(events)
    }
}

impl Default for Kept {
    fn default() -> Kept {
        Kept::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoeveel_record::{Metrics, Notice, NoticeLevel};

    fn repetition(index: u32, status: RepetitionStatus) -> Event {
        Event::Repetition(Repetition {
            index,
            window: None,
            probe: None,
            warmup: false,
            status,
            start_s: f64::from(index),
            duration_s: 0.5,
            energy_j: [("package-0".to_string(), 1.0 + f64::from(index))].into(),
            total_energy_j: 1.0 + f64::from(index),
            net_energy_j: None,
            wraps_corrected: Vec::new(),
            incomplete: Vec::new(),
            undercounted: Vec::new(),
            too_short: None,
            requests: 1,
            exit_code: None,
            error: (status == RepetitionStatus::Failed).then(|| format!("failed {index}")),
            metrics: Metrics::default(),
            steady: None,
            parts: Vec::new(),
        })
    }

    #[test]
    fn memory_holds_the_limit_and_every_repetition_comes_back_in_order() {
        let mut kept = Kept::with_limit(3);
        for i in 0..40 {
            kept.push(repetition(i, RepetitionStatus::Ok));
            if i == 20 {
                kept.push(Event::Notice(Notice {
                    t_s: 20.0,
                    level: NoticeLevel::Info,
                    sensor: None,
                    message: "mid-run".into(),
                }));
            }
        }
        kept.push(repetition(40, RepetitionStatus::Failed));
        assert_eq!(kept.in_memory_repetitions(), 3, "the rest are on disk");
        assert_eq!(kept.measured_ok(), 40);
        assert_eq!(kept.last_error(), Some("failed 40"));
        assert!(!kept.degraded());
        let events = kept.into_events().expect("read back");
        let indexes: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                Event::Repetition(r) => Some(r.index),
                _ => None,
            })
            .collect();
        assert_eq!(indexes, (0..=40).collect::<Vec<_>>());
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, Event::Notice(_)))
                .count(),
            1
        );
        let Some(Event::Repetition(last)) = events.last() else {
            panic!("a repetition last");
        };
        assert_eq!(last.energy_j["package-0"], 41.0, "read back whole");
        assert_eq!(last.error.as_deref(), Some("failed 40"));
    }
}
