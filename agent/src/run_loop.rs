//! The run loop (placeholder: being implemented).

use crate::sensors::discover::Inventory;
use crate::workload::Workload;
use hoeveel_record::{Record, RecordWriter};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone)]
pub struct LoopSettings {
    pub runs: u32,
    pub warmup: u32,
    pub baseline_s: f64,
    pub interval_s: f64,
    pub ignore_failure: bool,
    pub write_samples: bool,
    pub progress: bool,
    pub sysfs_root: PathBuf,
}

pub fn install_interrupt_handler() -> anyhow::Result<Arc<AtomicBool>> {
    anyhow::bail!("not implemented")
}

pub fn measure(
    _inventory: Inventory,
    _workload: &mut dyn Workload,
    _settings: &LoopSettings,
    _writer: RecordWriter,
    _interrupted: &AtomicBool,
) -> anyhow::Result<Record> {
    anyhow::bail!("not implemented")
}
