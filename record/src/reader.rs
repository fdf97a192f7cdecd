//! Reads a record back, tolerating a truncated last line (a run killed mid-write).
//! The file is read one line at a time; the time series can be skipped unparsed
//! or averaged down while reading ([`Samples`]), so a command that needs no chart
//! reads a long record in the time it takes to scan it.

use crate::SCHEMA_VERSION;
use crate::events::*;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Everything in one record file, grouped by event type.
#[derive(Debug, Clone)]
pub struct Record {
    pub path: Option<PathBuf>,
    pub run_start: RunStart,
    pub baseline: Option<Baseline>,
    pub phases: Vec<Phase>,
    /// The time series as read ([`Samples`]): every sample, none, or averages.
    pub samples: Vec<Sample>,
    /// Sample lines skipped unread ([`Samples::Skip`]).
    pub samples_skipped: u64,
    /// Warm-ups and measured repetitions, in file order.
    pub repetitions: Vec<Repetition>,
    pub notices: Vec<Notice>,
    /// Absent when the run was killed before it could write it.
    pub run_end: Option<RunEnd>,
    /// Problems the reader tolerated (a truncated last line, a missing run_end).
    pub warnings: Vec<String>,
}

impl Record {
    /// Measured (non-warm-up) repetitions of whole requests (probes left out).
    pub fn measured(&self) -> impl Iterator<Item = &Repetition> {
        self.repetitions
            .iter()
            .filter(|r| !r.warmup && r.probe.is_none())
    }

    /// Probe repetitions of `probe` that count: status ok and complete.
    pub fn probes(&self, probe: crate::Probe) -> impl Iterator<Item = &Repetition> {
        self.repetitions.iter().filter(move |r| {
            !r.warmup
                && r.probe == Some(probe)
                && r.status == RepetitionStatus::Ok
                && r.is_complete()
        })
    }

    /// Measured repetitions that completed with status ok.
    pub fn measured_ok(&self) -> impl Iterator<Item = &Repetition> {
        self.measured().filter(|r| r.status == RepetitionStatus::Ok)
    }

    /// Measured repetitions that count: status ok, nothing of the total missing, no
    /// counter reset inside the window.
    pub fn measured_complete(&self) -> impl Iterator<Item = &Repetition> {
        self.measured_ok().filter(|r| r.is_complete())
    }

    /// The weakest provenance of the domains in the total.
    pub fn total_provenance(&self) -> Option<Provenance> {
        Provenance::weakest(
            self.run_start
                .domains
                .iter()
                .filter(|d| d.in_total)
                .map(|d| d.provenance),
        )
    }

    /// Builds a record from events held in memory (the agent's own summary uses this,
    /// so that it prints exactly what `hoeveel report` prints from the file).
    pub fn from_events(run_start: RunStart, events: impl IntoIterator<Item = Event>) -> Record {
        let mut parts = Parts::default();
        for event in events {
            parts.push(event);
        }
        Record {
            path: None,
            run_start,
            baseline: parts.baseline,
            phases: parts.phases,
            samples: parts.samples,
            samples_skipped: 0,
            repetitions: parts.repetitions,
            notices: parts.notices,
            run_end: parts.run_end,
            warnings: Vec::new(),
        }
    }

    /// Names of the windows in a record written through the measuring library, in
    /// the order they first ended; empty for the agent's records.
    pub fn window_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self.repetitions.iter().filter_map(|r| r.window.as_deref()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// One record per window name, each with only that window's repetitions, its
    /// name after the file's (`run.jsonl#load`) and in its label; a record without
    /// named windows comes back whole. Windows of different names measure
    /// different things, so no figure may average them together.
    pub fn by_window(self) -> Vec<Record> {
        let names: Vec<String> = self.window_names().iter().map(|n| n.to_string()).collect();
        if names.is_empty() {
            return vec![self];
        }
        names
            .iter()
            .map(|name| {
                let mut r = self.clone();
                r.repetitions
                    .retain(|rep| rep.window.as_deref() == Some(name.as_str()));
                r.path = Some(PathBuf::from(format!("{}#{name}", self.name())));
                r.run_start.workload.label =
                    format!("{}: window {name}", self.run_start.workload.label);
                r
            })
            .collect()
    }

    /// A name for the record in messages: its file name, or "record".
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "record".to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // The cause is the error's source, not part of its message: `{:#}` prints the
    // chain, and would print it twice.
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the record is empty (no run_start line)")]
    Empty { path: PathBuf },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}:1: the first event is `{found}`, expected `run_start`")]
    NoRunStart { path: PathBuf, found: String },
    #[error(
        "{path}:1: schema_version {found} is not supported: this build reads major versions {supported}. Use a hoeveel that matches the agent that wrote it"
    )]
    UnknownSchema {
        path: PathBuf,
        found: String,
        supported: String,
    },
    #[error(
        "{path}:{line}: schema_version `{found}` is not a version: every writer of this format writes MAJOR.MINOR, two decimal numbers without leading zeros (this build writes {SCHEMA_VERSION})"
    )]
    SchemaForm {
        path: PathBuf,
        line: usize,
        found: String,
    },
    // Not a `source`: its text is the message, which `{:#}` would print twice.
    #[error("{path}:{line}: {range}")]
    OutOfRange {
        path: PathBuf,
        line: usize,
        range: crate::bounds::OutOfRange,
    },
    #[error(
        "{path}:{line}: the line is longer than {MAX_LINE_BYTES} bytes; no event is that long, so this is not a record (or a damaged one). Nothing more was read"
    )]
    LineTooLong { path: PathBuf, line: usize },
}

/// The longest line a record may have: far longer than any event (a run_start
/// with every sensor and the whole workload description is kilobytes), so that
/// a file that is not a record cannot fill memory.
pub const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// What a reader keeps of a record's time series (`sample` lines). Commands that
/// draw no chart skip it: those lines are then recognised by their start and
/// not parsed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Samples {
    /// Every sample, as written.
    All,
    /// None: `Record::samples` stays empty and `Record::samples_skipped` counts them.
    Skip,
    /// Consecutive samples averaged into between `n` and `2n` points (per domain,
    /// over the samples that hold it), in one pass and bounded memory, for charts.
    AtMost(usize),
}

/// Reads the record at `path`, every sample included.
pub fn read_record(path: &Path) -> Result<Record, ReadError> {
    read_record_with(path, Samples::All)
}

/// Reads the record at `path`, line by line, keeping `samples` of its time series.
pub fn read_record_with(path: &Path, samples: Samples) -> Result<Record, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Not waiting for a FIFO's writer: one nobody writes to reads as empty.
    let file = crate::capped::open_without_waiting(path).map_err(io)?;
    let mut record = read_lines(
        std::io::BufReader::with_capacity(256 * 1024, file),
        path,
        samples,
    )?;
    record.path = Some(path.to_path_buf());
    Ok(record)
}

/// Reads a record from text; `path` is used in messages only.
pub fn read_record_str(text: &str, path: &Path) -> Result<Record, ReadError> {
    read_lines(text.as_bytes(), path, Samples::All)
}

/// Reads a record from any buffered reader, keeping `samples` of its time
/// series; `path` is used in messages only.
pub fn read_record_from(
    input: impl BufRead,
    path: &Path,
    samples: Samples,
) -> Result<Record, ReadError> {
    read_lines(input, path, samples)
}

/// How a sample line starts, as every writer of this format writes it.
const SAMPLE_PREFIX: &[u8] = br#"{"type":"sample""#;

/// The reader: one line at a time, so memory holds the events kept, not the file.
fn read_lines(mut input: impl BufRead, path: &Path, samples: Samples) -> Result<Record, ReadError> {
    let path_buf = path.to_path_buf();
    let mut warnings = Vec::new();
    let mut run_start = None;
    let mut parts = Parts::default();
    let mut decimator = match samples {
        Samples::AtMost(n) => Some(Decimator::new(n.max(1))),
        _ => None,
    };
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut first = true;
    // Compact samples carry no phase: it is found from the windows at the end.
    let mut untimed_phases = false;
    loop {
        buf.clear();
        let n = (&mut input)
            .take(MAX_LINE_BYTES + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|source| ReadError::Io {
                path: path_buf.clone(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if (n - usize::from(buf.last() == Some(&b'\n'))) as u64 > MAX_LINE_BYTES {
            return Err(ReadError::LineTooLong {
                path: path_buf,
                line: line_no,
            });
        }
        // Without its newline, a line is the last one, and may have been cut.
        let cut = buf.last() != Some(&b'\n');
        let raw = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let compact = raw.first() == Some(&b'[');
        if !first && samples == Samples::Skip && (compact || raw.starts_with(SAMPLE_PREFIX)) {
            parts.samples_skipped += 1;
            continue;
        }
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line,
            Err(e) => {
                return Err(ReadError::Parse {
                    path: path_buf,
                    line: line_no,
                    message: format!("not UTF-8 text ({e})"),
                });
            }
        };
        if first {
            check_schema(line, line_no, &path_buf)?;
        }
        let event = match (compact, &run_start) {
            (true, Some(start)) => compact_sample(line, start).map(|s| {
                untimed_phases = true;
                Event::Sample(s)
            }),
            _ => serde_json::from_str::<Event>(line),
        };
        if let Ok(event) = &event {
            crate::bounds::check(event).map_err(|range| ReadError::OutOfRange {
                path: path_buf.clone(),
                line: line_no,
                range,
            })?;
        }
        match event {
            Ok(Event::RunStart(start)) => {
                if run_start.is_some() {
                    return Err(ReadError::Parse {
                        path: path_buf,
                        line: line_no,
                        message: "a second run_start: one record holds one run".into(),
                    });
                }
                run_start = Some(*start);
            }
            Ok(event) => {
                if run_start.is_none() {
                    return Err(ReadError::NoRunStart {
                        path: path_buf,
                        found: event_kind(&event).to_string(),
                    });
                }
                match (event, decimator.as_mut()) {
                    (Event::Sample(sample), Some(d)) => d.push(sample),
                    (event, _) => parts.push(event),
                }
            }
            Err(e) if cut && !first => {
                warnings.push(format!(
                    "{}:{line_no}: the last line is cut short ({e}); it was skipped and everything before it was read",
                    path.display()
                ));
            }
            Err(e) => {
                return Err(ReadError::Parse {
                    path: path_buf,
                    line: line_no,
                    message: e.to_string(),
                });
            }
        }
        first = false;
    }
    let Some(run_start) = run_start else {
        return Err(ReadError::Empty { path: path_buf });
    };
    if let Some(d) = decimator {
        parts.samples = d.finish();
    }
    if untimed_phases {
        phases_from_windows(&mut parts);
    }
    if parts.run_end.is_none() {
        warnings.push(format!(
            "{}: no run_end: the run was killed or is still going; the repetitions found are used",
            path.display()
        ));
    }
    Ok(Record {
        path: None,
        run_start,
        baseline: parts.baseline,
        phases: parts.phases,
        samples: parts.samples,
        samples_skipped: parts.samples_skipped,
        repetitions: parts.repetitions,
        notices: parts.notices,
        run_end: parts.run_end,
        warnings,
    })
}

/// A sample of schema 2.0: `[t_s, w₀, w₁, …]` in the order of the run's domains.
fn compact_sample(line: &str, start: &RunStart) -> serde_json::Result<Sample> {
    use serde::de::Error;
    let values: Vec<Option<f64>> = serde_json::from_str(line)?;
    let Some((Some(t_s), powers)) = values.split_first() else {
        return Err(serde_json::Error::custom(
            "a sample must start with its time in seconds",
        ));
    };
    if powers.len() != start.domains.len() {
        return Err(serde_json::Error::custom(format!(
            "a sample holds {} powers, and run_start names {} domains",
            powers.len(),
            start.domains.len()
        )));
    }
    Ok(Sample {
        t_s: *t_s,
        phase: RunPhase::Between,
        repetition: None,
        power_w: start
            .domains
            .iter()
            .zip(powers)
            .filter_map(|(d, w)| w.map(|w| (d.id.clone(), w)))
            .collect(),
    })
}

/// Tags samples with the window they fall in (baseline, a measured phase, a
/// warm-up or a repetition), in one pass over both sorted by time.
fn phases_from_windows(parts: &mut Parts) {
    let mut windows: Vec<(f64, f64, RunPhase, Option<u32>)> = Vec::new();
    if let Some(b) = &parts.baseline {
        windows.push((
            b.start_s,
            b.start_s + b.duration_s,
            RunPhase::Baseline,
            None,
        ));
    }
    for p in &parts.phases {
        windows.push((p.start_s, p.start_s + p.duration_s, RunPhase::Prepare, None));
    }
    for r in &parts.repetitions {
        let phase = if r.warmup {
            RunPhase::Warmup
        } else {
            RunPhase::Repetition
        };
        windows.push((r.start_s, r.start_s + r.duration_s, phase, Some(r.index)));
    }
    windows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut w = 0;
    for s in &mut parts.samples {
        while w < windows.len() && windows[w].1 < s.t_s {
            w += 1;
        }
        match windows.get(w) {
            Some(&(start, _, phase, repetition)) if start <= s.t_s => {
                s.phase = phase;
                s.repetition = repetition;
            }
            _ => {
                s.phase = RunPhase::Between;
                s.repetition = None;
            }
        }
    }
}

/// Averages a stream of samples into at most `2n` points: each point covers
/// `size` consecutive samples; when there are `2n` points, neighbours merge in
/// pairs and `size` doubles.
struct Decimator {
    n: usize,
    size: usize,
    points: Vec<Point>,
}

struct Point {
    samples: usize,
    t_sum: f64,
    phase: RunPhase,
    repetition: Option<u32>,
    /// Per domain: sum of powers and how many samples held it.
    power: Vec<(String, f64, usize)>,
}

impl Point {
    fn of(s: Sample) -> Point {
        Point {
            samples: 1,
            t_sum: s.t_s,
            phase: s.phase,
            repetition: s.repetition,
            power: s.power_w.into_iter().map(|(k, v)| (k, v, 1)).collect(),
        }
    }

    fn absorb(&mut self, other: Point) {
        self.samples += other.samples;
        self.t_sum += other.t_sum;
        for (id, sum, n) in other.power {
            match self.power.iter_mut().find(|(k, _, _)| *k == id) {
                Some(p) => {
                    p.1 += sum;
                    p.2 += n;
                }
                None => self.power.push((id, sum, n)),
            }
        }
    }
}

impl Decimator {
    fn new(n: usize) -> Decimator {
        Decimator {
            n,
            size: 1,
            points: Vec::with_capacity(2 * n + 1),
        }
    }

    fn push(&mut self, s: Sample) {
        let point = Point::of(s);
        match self.points.last_mut() {
            Some(last) if last.samples < self.size => last.absorb(point),
            _ => self.points.push(point),
        }
        if self.points.len() > 2 * self.n {
            let old = std::mem::take(&mut self.points);
            let mut it = old.into_iter();
            while let Some(mut a) = it.next() {
                if let Some(b) = it.next() {
                    a.absorb(b);
                }
                self.points.push(a);
            }
            self.size *= 2;
        }
    }

    fn finish(self) -> Vec<Sample> {
        self.points
            .into_iter()
            .map(|p| Sample {
                t_s: p.t_sum / p.samples as f64,
                phase: p.phase,
                repetition: p.repetition,
                power_w: p
                    .power
                    .into_iter()
                    .map(|(id, sum, n)| (id, sum / n as f64))
                    .collect(),
            })
            .collect()
    }
}

#[derive(Default)]
struct Parts {
    baseline: Option<Baseline>,
    phases: Vec<Phase>,
    samples: Vec<Sample>,
    samples_skipped: u64,
    repetitions: Vec<Repetition>,
    notices: Vec<Notice>,
    run_end: Option<RunEnd>,
}

impl Parts {
    fn push(&mut self, event: Event) {
        match event {
            Event::RunStart(_) => {}
            Event::Baseline(b) => self.baseline = Some(b),
            Event::Phase(p) => self.phases.push(p),
            Event::Sample(s) => self.samples.push(s),
            Event::Repetition(r) => self.repetitions.push(r),
            Event::Notice(n) => self.notices.push(n),
            Event::RunEnd(e) => self.run_end = Some(e),
        }
    }
}

fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::RunStart(_) => "run_start",
        Event::Baseline(_) => "baseline",
        Event::Phase(_) => "phase",
        Event::Sample(_) => "sample",
        Event::Repetition(_) => "repetition",
        Event::Notice(_) => "notice",
        Event::RunEnd(_) => "run_end",
    }
}

/// Looks at the first line's schema version before parsing the rest, so that a
/// record from a future major version is refused by name rather than failing on
/// some renamed field. Only the form writers write is read ([`schema_major`]).
fn check_schema(first: &str, line_no: usize, path: &Path) -> Result<(), ReadError> {
    let value: serde_json::Value = serde_json::from_str(first).map_err(|e| ReadError::Parse {
        path: path.to_path_buf(),
        line: line_no,
        message: format!("not a JSON event: {e}"),
    })?;
    let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("?");
    if kind != "run_start" {
        return Err(ReadError::NoRunStart {
            path: path.to_path_buf(),
            found: kind.to_string(),
        });
    }
    let form = |found: String| ReadError::SchemaForm {
        path: path.to_path_buf(),
        line: line_no,
        found,
    };
    let version = match value.pointer("/data/schema_version") {
        None => return Err(unknown_schema(path, "(missing)")),
        Some(serde_json::Value::String(v)) => v.as_str(),
        // A number or anything else: no writer writes the version unquoted.
        Some(other) => return Err(form(other.to_string())),
    };
    let Some(major) = schema_major(version) else {
        return Err(form(version.to_string()));
    };
    if !crate::READS_MAJORS.contains(&major) {
        return Err(unknown_schema(path, version));
    }
    Ok(())
}

fn unknown_schema(path: &Path, found: &str) -> ReadError {
    ReadError::UnknownSchema {
        path: path.to_path_buf(),
        found: found.to_string(),
        supported: crate::READS_MAJORS
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// The major version of `MAJOR.MINOR`, each a decimal number without a leading
/// zero, as every writer writes it (`2.1`); None for any other form (`2`,
/// `02.0`, `2.0.0`, `1.x`, ` 2.0`).
fn schema_major(version: &str) -> Option<u32> {
    let (major, minor) = version.split_once('.')?;
    let number = |part: &str| {
        let plain = !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (part == "0" || !part.starts_with('0'));
        plain.then(|| part.parse::<u32>().ok()).flatten()
    };
    number(minor)?;
    number(major)
}

#[cfg(test)]
mod tests {
    use super::MAX_LINE_BYTES;
    use crate::events::RunPhase;
    use crate::testdata::{record_with, repetition};

    #[test]
    fn a_file_of_one_endless_line_is_refused_with_bounded_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.jsonl");
        // A 1 GB sparse file of zeros and no newline: read whole, it would take
        // 1 GB of memory; the reader stops 16 MiB into its first line.
        let file = std::fs::File::create(&path).expect("create");
        file.set_len(1_000_000_000).expect("sparse");
        let err = crate::read_record(&path).expect_err("not a record");
        let message = err.to_string();
        assert!(
            message.contains("huge.jsonl:1: the line is longer than 16777216 bytes"),
            "{message}"
        );
        assert!(matches!(err, crate::ReadError::LineTooLong { line: 1, .. }));
    }

    /// The message and its causes as `{:#}` of an error chain prints them.
    fn chain(err: &dyn std::error::Error) -> String {
        let mut text = err.to_string();
        let mut cause = err.source();
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    #[test]
    fn a_folder_is_refused_with_its_os_error_named_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = crate::read_record(dir.path()).expect_err("a folder is not a record");
        let text = chain(&err);
        let os = std::fs::read(dir.path())
            .expect_err("the OS refuses to read a folder")
            .to_string();
        assert_eq!(text.matches(&os).count(), 1, "{text}");
        assert!(
            text.starts_with(&format!("cannot read {}: ", dir.path().display())),
            "{text}"
        );
    }

    /// A record's lines as a writer writes them: run_start, then its repetitions.
    fn lines_of(record: &crate::Record) -> String {
        let start = crate::Event::RunStart(Box::new(record.run_start.clone()));
        let mut text = serde_json::to_string(&start).expect("json");
        text.push('\n');
        for r in &record.repetitions {
            text.push_str(
                &serde_json::to_string(&crate::Event::Repetition(r.clone())).expect("json"),
            );
            text.push('\n');
        }
        text
    }

    #[test]
    fn only_the_schema_versions_writers_write_are_read() {
        let text = lines_of(&record_with(true, vec![repetition(0, 5.0)]));
        let path = std::path::Path::new("forms.jsonl");
        let with = |version: &str| {
            let field = format!("\"schema_version\":{version}");
            let text = text.replacen("\"schema_version\":\"1.1\"", &field, 1);
            assert!(text.contains(&field), "{text}");
            crate::read_record_str(&text, path)
        };
        for good in ["1.0", "1.1", "1.99", "2.0", "2.1", "2.10"] {
            let read = with(&format!("\"{good}\""));
            assert!(read.is_ok(), "{good}: {:?}", read.err());
        }
        for bad in [
            "1.x", "02.0", "2", "2.0.0.0", "2.01", "+2.0", " 2.0", "2.0 ", "2.", ".1", "",
        ] {
            let err = with(&format!("\"{bad}\"")).expect_err(bad);
            assert!(
                matches!(err, crate::ReadError::SchemaForm { line: 1, .. }),
                "{bad}: {err}"
            );
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("forms.jsonl:1: schema_version `{bad}`")),
                "{message}"
            );
        }
        let err = with("2.1").expect_err("a number, not a string");
        assert!(
            err.to_string()
                .starts_with("forms.jsonl:1: schema_version `2.1`"),
            "{err}"
        );
    }

    #[test]
    fn figures_out_of_range_are_refused_naming_file_line_and_field() {
        let text = lines_of(&record_with(
            true,
            vec![repetition(0, 5.0), repetition(1, 6.0)],
        ));
        let path = std::path::Path::new("range.jsonl");
        let read = |from: &str, to: &str| {
            let changed = text.replacen(from, to, 1);
            assert_ne!(changed, text, "{from} is in the record");
            crate::read_record_str(&changed, path)
        };
        for (from, to, message) in [
            (
                "\"total_energy_j\":6.0",
                "\"total_energy_j\":-6.0",
                "range.jsonl:3: repetition.total_energy_j is -6: a gross energy is never negative",
            ),
            (
                "\"duration_s\":2.0",
                "\"duration_s\":-2.0",
                "range.jsonl:2: repetition.duration_s is -2: a duration is never negative",
            ),
            (
                "\"total_energy_j\":5.0",
                "\"total_energy_j\":1.7e308",
                "range.jsonl:2: repetition.total_energy_j is 1.7e308: larger than 1e15 J",
            ),
            (
                "{\"cpu-model\":6.0}",
                "{\"cpu-model\":2e15}",
                "range.jsonl:3: repetition.energy_j[\"cpu-model\"] is 2e15: larger than 1e15 J",
            ),
            (
                "\"net_energy_j\":3.0",
                "\"net_energy_j\":-1.6e15",
                "range.jsonl:2: repetition.net_energy_j is -1.6e15: larger than 1e15 J",
            ),
            (
                "\"interval_s\":0.1",
                "\"interval_s\":2e9",
                "range.jsonl:1: run_start.settings.interval_s is 2e9: larger than 1e9 s",
            ),
        ] {
            let err = read(from, to).expect_err(to);
            assert!(
                matches!(err, crate::ReadError::OutOfRange { .. }),
                "{to}: {err}"
            );
            assert!(err.to_string().starts_with(message), "{err}");
        }
        // A net energy may be negative (the baseline drew more), and the bounds
        // themselves are in range.
        let r = read("\"net_energy_j\":3.0", "\"net_energy_j\":-3.0").expect("reads");
        assert_eq!(r.repetitions[0].net_energy_j, Some(-3.0));
        read("\"total_energy_j\":5.0", "\"total_energy_j\":1e15").expect("reads");
    }

    #[test]
    fn a_sample_beyond_the_power_bound_is_refused_in_either_form() {
        let record = record_with(false, vec![repetition(0, 5.0)]);
        let mut start = record.run_start.clone();
        start.schema_version = "2.0".into();
        let mut text =
            serde_json::to_string(&crate::Event::RunStart(Box::new(start))).expect("json");
        text.push_str("\n[1.5,2.5]\n[1.6,3e7]\n");
        let err =
            crate::read_record_str(&text, std::path::Path::new("w.jsonl")).expect_err("30 MW");
        assert!(
            err.to_string()
                .starts_with("w.jsonl:3: sample.power_w[\"cpu-model\"] is 3e7: larger than 1e7 W"),
            "{err}"
        );
        let old = lines_of(&record).replacen(
            "\n",
            "\n{\"type\":\"sample\",\"data\":{\"t_s\":-2e9,\"phase\":\"baseline\",\"repetition\":null,\"power_w\":{}}}\n",
            1,
        );
        let err = crate::read_record_str(&old, std::path::Path::new("v1.jsonl"))
            .expect_err("a time 63 years before the run");
        assert!(
            err.to_string()
                .starts_with("v1.jsonl:2: sample.t_s is -2e9"),
            "{err}"
        );
    }

    #[test]
    fn the_version_this_crate_writes_is_one_it_reads() {
        let major = super::schema_major(crate::SCHEMA_VERSION)
            .expect("SCHEMA_VERSION is MAJOR.MINOR, the form the reader reads");
        assert!(crate::READS_MAJORS.contains(&major), "{major}");
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let path = std::path::Path::new("edge.jsonl");
        for (extra, refused) in [(0u64, false), (1, true)] {
            // Blank lines are passed over, so only the length can refuse this one.
            let mut text = vec![b' '; (MAX_LINE_BYTES + extra) as usize];
            text.push(b'\n');
            let err =
                crate::read_record_from(std::io::Cursor::new(text), path, crate::Samples::All)
                    .expect_err("no run_start either way");
            assert_eq!(
                matches!(err, crate::ReadError::LineTooLong { line: 1, .. }),
                refused,
                "{extra} byte(s) over: {err}"
            );
        }
    }

    fn window(index: u32, name: &str, gross_j: f64) -> crate::Repetition {
        let mut r = repetition(index, gross_j);
        r.window = Some(name.to_string());
        r
    }

    #[test]
    fn a_record_of_named_windows_splits_into_one_record_per_name() {
        let record = record_with(
            true,
            vec![
                window(0, "load", 9.0),
                window(1, "infer", 3.0),
                window(2, "infer", 4.0),
            ],
        );
        assert_eq!(record.window_names(), ["load", "infer"]);
        let split = record.by_window();
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].name(), "test.jsonl#load");
        assert_eq!(split[0].run_start.workload.label, "test: window load");
        assert_eq!(split[0].repetitions.len(), 1);
        assert_eq!(split[1].name(), "test.jsonl#infer");
        let energies: Vec<f64> = split[1]
            .repetitions
            .iter()
            .map(|r| r.total_energy_j)
            .collect();
        assert_eq!(energies, [3.0, 4.0]);
        // The baseline applies to every window.
        assert!(split.iter().all(|r| r.baseline.is_some()));
    }

    #[test]
    fn a_record_without_named_windows_comes_back_whole() {
        let record = record_with(false, vec![repetition(0, 5.0), repetition(1, 6.0)]);
        assert!(record.window_names().is_empty());
        let split = record.by_window();
        assert_eq!(split.len(), 1);
        assert_eq!(split[0].name(), "test.jsonl");
        assert_eq!(split[0].repetitions.len(), 2);
    }

    #[test]
    fn kinds_a_newer_agent_writes_read_as_other() {
        use crate::{SensorKind, WorkloadKind};
        let sensor: SensorKind = serde_json::from_str("\"rapl-msr\"").expect("reads");
        assert_eq!(sensor, SensorKind::Other);
        let workload: WorkloadKind = serde_json::from_str("\"video\"").expect("reads");
        assert_eq!(workload, WorkloadKind::Other);
        let known: SensorKind = serde_json::from_str("\"rapl-powercap\"").expect("reads");
        assert_eq!(known, SensorKind::RaplPowercap);
        assert_eq!(
            SensorKind::parse("other"),
            None,
            "not a kind a user can ask for"
        );
    }

    #[test]
    fn a_record_from_a_newer_minor_version_reads_and_its_new_fields_are_ignored() {
        let record = record_with(true, vec![repetition(0, 5.0), repetition(1, 6.0)]);
        let mut text = String::new();
        text.push_str(
            &serde_json::to_string(&crate::Event::RunStart(Box::new(record.run_start.clone())))
                .expect("json"),
        );
        text.push('\n');
        for r in &record.repetitions {
            text.push_str(
                &serde_json::to_string(&crate::Event::Repetition(r.clone())).expect("json"),
            );
            text.push('\n');
        }
        let newer = text
            .replacen(
                "\"schema_version\":\"1.1\"",
                "\"schema_version\":\"1.99\"",
                1,
            )
            .replace(
                "\"requests\":1,",
                "\"requests\":1,\"a_field_from_the_future\":{\"x\":[1,2]},",
            );
        assert!(newer.contains("1.99") && newer.contains("a_field_from_the_future"));
        let back = crate::read_record_str(&newer, std::path::Path::new("newer.jsonl"))
            .expect("a newer minor version reads");
        assert_eq!(back.repetitions.len(), 2);
        assert_eq!(back.repetitions[1].total_energy_j, 6.0);
    }

    /// A record with `n` samples at 1 kHz, alternating two domains the way a
    /// paced sampler writes them (the slow one on every 10th line only).
    fn with_samples(n: usize) -> String {
        let record = record_with(false, vec![repetition(0, 5.0)]);
        let mut text =
            serde_json::to_string(&crate::Event::RunStart(Box::new(record.run_start.clone())))
                .expect("json");
        text.push('\n');
        for i in 0..n {
            let t = (i + 1) as f64 * 0.001;
            let mut power = format!("\"cpu-model\":{}", 2.0 + (i % 2) as f64);
            if i % 10 == 0 {
                power.push_str(",\"slow\":7");
            }
            text.push_str(&format!(
                "{{\"type\":\"sample\",\"data\":{{\"t_s\":{t},\"phase\":\"repetition\",\"repetition\":0,\"power_w\":{{{power}}}}}}}\n"
            ));
        }
        for r in &record.repetitions {
            text.push_str(
                &serde_json::to_string(&crate::Event::Repetition(r.clone())).expect("json"),
            );
            text.push('\n');
        }
        text
    }

    /// Read with `AtMost(100)`: 100 to 200 points, each the average of samples
    /// alternating 2 W and 3 W on `cpu-model`.
    fn assert_averaged_between_2_and_3_w(few: &crate::Record) {
        assert!(
            (100..=200).contains(&few.samples.len()),
            "{}",
            few.samples.len()
        );
        for s in &few.samples {
            assert!((s.power_w["cpu-model"] - 2.5).abs() < 0.02, "{s:?}");
        }
    }

    #[test]
    fn samples_are_kept_skipped_unread_or_averaged_in_one_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("series.jsonl");
        std::fs::write(&path, with_samples(10_000)).expect("write");
        let all = crate::read_record_with(&path, crate::Samples::All).expect("all");
        assert_eq!((all.samples.len(), all.samples_skipped), (10_000, 0));
        let skipped = crate::read_record_with(&path, crate::Samples::Skip).expect("skip");
        assert_eq!(
            (skipped.samples.len(), skipped.samples_skipped),
            (0, 10_000)
        );
        assert_eq!(
            skipped.repetitions, all.repetitions,
            "everything else is read"
        );
        let few = crate::read_record_with(&path, crate::Samples::AtMost(100)).expect("few");
        assert_averaged_between_2_and_3_w(&few);
        // The slow domain keeps its own 7 W.
        for s in &few.samples {
            assert_eq!(s.power_w.get("slow"), Some(&7.0), "{s:?}");
        }
        let mean_t = few.samples.iter().map(|s| s.t_s).sum::<f64>() / few.samples.len() as f64;
        assert!(
            (mean_t - 5.0).abs() < 0.1,
            "points spread over the run: {mean_t}"
        );
    }

    #[test]
    fn a_cut_last_line_and_a_bad_middle_line_read_as_before_line_by_line() {
        let text = with_samples(3);
        let cut = &text[..text.len() - 10];
        let r = crate::read_record_str(cut, std::path::Path::new("cut.jsonl")).expect("reads");
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("cut.jsonl:5: the last line is cut short")),
            "{:?}",
            r.warnings
        );
        let bad = text.replacen("\"phase\":\"repetition\"", "\"phase\":", 1);
        let err =
            crate::read_record_str(&bad, std::path::Path::new("bad.jsonl")).expect_err("bad line");
        assert!(err.to_string().starts_with("bad.jsonl:2:"), "{err}");
    }

    #[test]
    fn compact_samples_are_skipped_unread_or_averaged_with_phases_from_the_windows() {
        let record = record_with(false, vec![repetition(0, 5.0)]);
        let rep = &record.repetitions[0];
        let mut start = record.run_start.clone();
        start.schema_version = "2.0".into();
        let mut text =
            serde_json::to_string(&crate::Event::RunStart(Box::new(start))).expect("json");
        text.push('\n');
        let n = 10_000;
        for i in 0..n {
            // Inside the repetition's window, alternating 2 W and 3 W.
            let t_s = rep.start_s + rep.duration_s * (i as f64 + 0.5) / n as f64;
            text.push_str(&format!("[{t_s},{}]\n", 2 + i % 2));
        }
        text.push_str(
            &serde_json::to_string(&crate::Event::Repetition(rep.clone())).expect("json"),
        );
        text.push('\n');
        let path = std::path::Path::new("v2.jsonl");
        let read = |samples| {
            crate::read_record_from(std::io::Cursor::new(text.as_bytes()), path, samples)
                .expect("reads")
        };
        let skipped = read(crate::Samples::Skip);
        assert_eq!((skipped.samples.len(), skipped.samples_skipped), (0, n));
        assert_eq!(skipped.repetitions.len(), 1, "everything else is read");
        let few = read(crate::Samples::AtMost(100));
        assert_averaged_between_2_and_3_w(&few);
        for s in &few.samples {
            assert_eq!(
                (s.phase, s.repetition),
                (RunPhase::Repetition, Some(0)),
                "{s:?}"
            );
        }
    }

    #[test]
    fn compact_samples_read_by_domain_order_and_get_their_phase_from_the_windows() {
        let record = record_with(false, vec![repetition(0, 5.0)]);
        let (start_s, duration_s) = (
            record.repetitions[0].start_s,
            record.repetitions[0].duration_s,
        );
        let mut start = record.run_start.clone();
        start.schema_version = "2.0".into();
        let mut text =
            serde_json::to_string(&crate::Event::RunStart(Box::new(start))).expect("json");
        text.push('\n');
        let before = start_s - 0.5;
        let inside = start_s + duration_s / 2.0;
        text.push_str(&format!(
            "[{before},1.5]\n[{inside},2.5]\n[{inside},null]\n"
        ));
        text.push_str(
            &serde_json::to_string(&crate::Event::Repetition(record.repetitions[0].clone()))
                .expect("json"),
        );
        text.push('\n');
        let r = crate::read_record_str(&text, std::path::Path::new("v2.jsonl")).expect("reads");
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples[0].power_w["cpu-model"], 1.5);
        assert_eq!(r.samples[0].phase, RunPhase::Between);
        assert_eq!(
            (r.samples[1].phase, r.samples[1].repetition),
            (RunPhase::Repetition, Some(0))
        );
        assert!(
            r.samples[2].power_w.is_empty(),
            "null: not read at that tick"
        );
        let wrong = text.replace(&format!("[{inside},2.5]"), &format!("[{inside},2.5,3.5]"));
        let err = crate::read_record_str(&wrong, std::path::Path::new("v2.jsonl"))
            .expect_err("two powers for one domain");
        assert!(
            err.to_string()
                .contains("holds 2 powers, and run_start names 1 domains"),
            "{err}"
        );
    }
}
