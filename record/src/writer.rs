//! A JSON Lines writer that flushes every event, so a killed run keeps what it measured.

use crate::events::Event;
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    // The cause is the error's source, not part of its message: `{:#}` prints the
    // chain, and would print it twice.
    #[error("cannot create the record file {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to the record file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes one event per line and flushes after each.
pub struct RecordWriter {
    path: PathBuf,
    out: BufWriter<Box<dyn Write + Send>>,
    line: Vec<u8>,
}

impl RecordWriter {
    /// Creates (or truncates) `path`, creating its parent folders. Call this before
    /// measuring anything: a path that cannot be written fails here, not after the run.
    pub fn create(path: &Path) -> Result<RecordWriter, WriteError> {
        let err = |source| WriteError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(err)?;
        Ok(RecordWriter::to_writer(path, Box::new(file)))
    }

    /// Writes into `out`; `path` names it in messages. For records that go
    /// somewhere other than a file, and for tests of a disk that fills up.
    pub fn to_writer(path: &Path, out: Box<dyn Write + Send>) -> RecordWriter {
        RecordWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(out),
            line: Vec::with_capacity(512),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and flushes it to the file.
    pub fn write(&mut self, event: &Event) -> Result<(), WriteError> {
        self.line.clear();
        // Serialising our own types cannot fail: no maps with non-string keys.
        serde_json::to_writer(&mut self.line, event).map_err(|e| WriteError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.line.push(b'\n');
        let map = |source| WriteError::Write {
            path: self.path.clone(),
            source,
        };
        self.out.write_all(&self.line).map_err(map)?;
        self.out.flush().map_err(map)
    }

    /// Appends one sample of the time series in the compact form of schema
    /// 2.0: `[t_s, w₀, w₁, …]`, one power per domain in `run_start.domains`
    /// order, `null` for a NaN (a domain not read at this tick), each rounded to
    /// [`SAMPLE_DIGITS`] significant digits. Built in a buffer kept between
    /// calls: a sampler's tick allocates nothing.
    pub fn write_sample(&mut self, t_s: f64, power_w: &[f64]) -> Result<(), WriteError> {
        self.line.clear();
        let line = &mut self.line;
        let result = (|| -> serde_json::Result<()> {
            line.push(b'[');
            serde_json::to_writer(&mut *line, &round_significant(t_s, 9))?;
            for w in power_w {
                line.push(b',');
                if w.is_finite() {
                    serde_json::to_writer(&mut *line, &round_significant(*w, SAMPLE_DIGITS))?;
                } else {
                    line.extend_from_slice(b"null");
                }
            }
            line.extend_from_slice(b"]\n");
            Ok(())
        })();
        let map = |path: &Path, source| WriteError::Write {
            path: path.to_path_buf(),
            source,
        };
        result.map_err(|e| map(&self.path, std::io::Error::other(e)))?;
        self.out
            .write_all(&self.line)
            .map_err(|e| map(&self.path, e))?;
        self.out.flush().map_err(|e| map(&self.path, e))
    }
}

/// Significant digits of a sample's power: far finer than any sensor resolves
/// (RAPL counts 61 µJ, NVML 1 mW), and a third of the bytes of a full double.
pub const SAMPLE_DIGITS: i32 = 6;

/// `v` rounded to `digits` significant digits (non-finite values unchanged).
pub fn round_significant(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let decimals = digits - 1 - v.abs().log10().floor() as i32;
    if decimals >= 0 {
        let scale = 10f64.powi(decimals);
        (v * scale).round() / scale
    } else {
        let scale = 10f64.powi(-decimals);
        (v / scale).round() * scale
    }
}

/// An in-memory destination for [`RecordWriter::to_writer`] whose bytes stay
/// readable while the writer holds a clone: a record kept in memory, as tests
/// and embedding code want it.
#[derive(Clone, Default)]
pub struct MemorySink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl MemorySink {
    /// What was written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Write for MemorySink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_line_is_a_compact_array_with_powers_rounded() {
        let out = MemorySink::default();
        let mut w = RecordWriter::to_writer(Path::new("mem"), Box::new(out.clone()));
        w.write_sample(1.25, &[12.345678901, f64::NAN, 0.000123456789])
            .expect("write");
        assert_eq!(out.text(), "[1.25,12.3457,null,0.000123457]\n");
    }

    #[test]
    fn rounding_keeps_significant_digits_at_every_magnitude() {
        assert_eq!(round_significant(123456789.0, 6), 123457000.0);
        assert_eq!(round_significant(-0.0123456789, 6), -0.0123457);
        assert_eq!(round_significant(0.0, 6), 0.0);
        assert_eq!(round_significant(1.0, 6), 1.0);
    }
}
