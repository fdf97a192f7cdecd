//! A JSON Lines writer that flushes every event, so a killed run keeps what it measured.

use crate::events::Event;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create the record file {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write to the record file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes one event per line and flushes after each.
pub struct RecordWriter {
    path: PathBuf,
    out: BufWriter<File>,
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
        Ok(RecordWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            line: Vec::with_capacity(512),
        })
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
