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
}
