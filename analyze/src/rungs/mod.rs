//! Boundaries: the rung of every figure, the climb from a measurement to a
//! published figure's rung, and the factors that explain the distance between a
//! measured ratio and a published one.
//!
//! - [`ladder`]: a measurement lifted rung by rung, each factor with its grounds;
//! - [`scaling`]: power laws fitted to measurements (energy against corpus size,
//!   against model size), with an interval and a flag where used outside the range;
//! - [`chain`]: case 1's distance from 23–30x as factors that multiply to it.

pub mod chain;
pub mod ladder;
pub mod scaling;

use hoeveel_record::{DomainKind, MeasuredParts, PerRequest, Record, Rung};
use ladder::Measured;

/// What the climb needs of a record: its gross energy per request and the parts
/// its total measured. `None` without a completed repetition.
pub fn measured(record: &Record) -> Option<Measured> {
    let gross = PerRequest::of(record, Some(hoeveel_record::EnergyBasis::Gross)).ok()?;
    let d = gross.stats()?;
    use crate::stats::CiInterval;
    let gpu_in_total = record
        .run_start
        .domains
        .iter()
        .any(|d| d.in_total && d.kind == DomainKind::Gpu);
    Some(Measured {
        energy_j: d.ci(),
        duration_s: hoeveel_record::stats::mean(&gross.duration_s),
        parts: MeasuredParts::of(&record.run_start),
        memory_bytes: record.run_start.host.memory_bytes,
        unmeasured_gpu: !record.run_start.gpus.is_empty() && !gpu_in_total,
    })
}

/// The rung a record's total reaches.
pub fn rung_of(record: &Record) -> Rung {
    MeasuredParts::of(&record.run_start).rung()
}

/// One line for a measured figure: "rung cpu (CPU + DRAM), modelled, gross".
pub fn describe(m: &PerRequest, record: &Record) -> String {
    let parts = MeasuredParts::of(&record.run_start);
    format!(
        "rung {} ({}), {}, {}",
        parts.rung(),
        parts.describe(),
        m.provenance_label(),
        m.basis.name()
    )
}
