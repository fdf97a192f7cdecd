//! The idle baseline: the machine's power while nothing is measured, read in
//! slices so that its spread is known, and the share of the CPUs other
//! processes used meanwhile. Net energy is a window's gross energy minus the
//! baseline's total power × the window's duration.

use crate::machine_checks::CpuUse;
use crate::sampler::Sampler;
use crate::window::Layout;
use hoeveel_record::{Baseline, DomainMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Shortest slice of the baseline whose power is compared with the others: long
/// enough that a counter's update steps do not pass for a spread.
const SLICE_S: f64 = 0.5;

/// Reads the idle baseline for `duration_s`. Returns `None` when `interrupted`
/// was set before it ended.
pub fn measure(
    sampler: &Sampler,
    layout: &Layout,
    duration_s: f64,
    proc_root: &Path,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<Baseline>> {
    let slice_s = SLICE_S.max(2.0 * layout.resolution.min_window_s);
    let slices = ((duration_s / slice_s).floor() as usize).clamp(1, 20);
    let cpu_start = CpuUse::read(proc_root);
    let start = sampler.mark()?;
    let mut previous = start.clone();
    let mut slice_power_w = Vec::with_capacity(slices);
    for i in 1..=slices {
        let until = duration_s * i as f64 / slices as f64;
        let left = until - (previous.t_s - start.t_s);
        if !idle(left.max(0.0), interrupted) {
            return Ok(None);
        }
        let now = sampler.mark()?;
        let dt = now.t_s - previous.t_s;
        if dt > 0.0 {
            slice_power_w.push(layout.window(&previous, &now).total_j / dt);
        }
        previous = now;
    }
    let end = previous;
    let other_cpu_share = CpuUse::read(proc_root)
        .zip(cpu_start)
        .and_then(|(end, start)| end.other_since(&start))
        .map(|o| o.other_share);
    let w = layout.window(&start, &end);
    let power_w: DomainMap = w
        .energy_j
        .iter()
        .map(|(k, e)| (k.clone(), e / w.duration_s))
        .collect();
    // A spread needs at least three slices to mean anything.
    let total_power_sd_w = (slice_power_w.len() >= 3)
        .then(|| hoeveel_record::stats::Describe::of(&slice_power_w))
        .flatten()
        .and_then(|d| d.sd);
    Ok(Some(Baseline {
        start_s: start.t_s,
        duration_s: w.duration_s,
        total_power_w: w.total_j / w.duration_s,
        energy_j: w.energy_j,
        power_w,
        total_power_sd_w,
        other_cpu_share,
    }))
}

/// Sleeps `seconds` in short steps so that an interruption is seen quickly.
/// Returns false when interrupted.
pub fn idle(seconds: f64, interrupted: &AtomicBool) -> bool {
    let until = Instant::now() + crate::clock::span(seconds);
    while Instant::now() < until {
        if interrupted.load(Ordering::SeqCst) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    !interrupted.load(Ordering::SeqCst)
}
