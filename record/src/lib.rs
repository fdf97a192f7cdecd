//! The hoeveel record: what `hoeveel-agent` writes and `hoeveel` reads.
//!
//! A record is a JSON Lines file, one [`Event`] per line, each line an envelope
//! `{"type": "<kind>", "data": {...}}`. Lines are flushed as they are written, so a
//! run that is killed keeps everything measured up to the kill. The first line is
//! always `run_start`, which carries [`SCHEMA_VERSION`]; readers refuse a record
//! whose major version they do not know.
//!
//! Event kinds, in the order a run writes them:
//!
//! | type         | when                                   | struct          |
//! |--------------|----------------------------------------|-----------------|
//! | `run_start`  | once, before anything is measured      | [`RunStart`]    |
//! | `baseline`   | after the idle baseline (if enabled)   | [`Baseline`]    |
//! | `phase`      | a measured one-off phase (model load, index build) | [`Phase`] |
//! | `[t, w…]`    | every sampling tick (optional series): a bare array since 2.0, a `sample` event in 1.x | [`Sample`] |
//! | `repetition` | after each warm-up and measured run; with its `parts` when a request has several | [`Repetition`], [`Part`] |
//! | `notice`     | a sensor lost, a wrap corrected, …     | [`Notice`]      |
//! | `run_end`    | once, at the end (ok, failed, interrupted) | [`RunEnd`]  |
//!
//! Every field that holds a quantity carries its unit in its name (`energy_j`,
//! `duration_s`, `power_w`). Energies are joules, times seconds, powers watts.
//! Domain maps are keyed by domain id (`package-0`, `dram-0`, `gpu-0`, `cpu-model`).

pub mod bounds;
pub mod capped;
pub mod events;
pub mod net;
pub mod parts;
pub mod per_request;
pub mod prefill;
pub mod printable;
pub mod reader;
pub mod rung;
pub mod stats;
pub mod steady;
pub mod summary;
#[cfg(test)]
mod testdata;
pub mod warnings;
pub mod writer;

pub use events::*;
pub use per_request::{BasisError, EnergyBasis, PerRequest};
pub use reader::{
    ReadError, Record, Samples, read_record, read_record_from, read_record_str, read_record_with,
};
pub use rung::{MeasuredParts, Method, Rung};
pub use writer::{RecordWriter, WriteError};

/// Version of the record format, `MAJOR.MINOR`. A reader accepts any minor
/// version of a major it knows; new optional fields bump the minor version.
///
/// 2.0 writes the time series compactly: a sample is a bare JSON array
/// `[t_s, power_w of each domain in run_start.domains order]`, `null` for a
/// domain not read at that tick, powers to 6 significant digits; its phase and
/// repetition follow from the windows and are no longer written. 1.x wrote each
/// sample as a `sample` event. Both read.
///
/// 2.1 adds a repetition's `parts` ([`Part`]): the windows of the parts of a
/// request of several, each with its energy, duration and metrics (an AI search's
/// `retrieval` and `generation`), and the workload kind `ai-search`. A 2.0 record
/// reads as one without parts.
pub const SCHEMA_VERSION: &str = "2.1";

/// The major versions this crate reads.
pub const READS_MAJORS: [u32; 2] = [1, 2];
