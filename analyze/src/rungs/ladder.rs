//! Climbing the boundary ladder: a measurement lifted, one explicit step at a
//! time, to the rung a published figure sits on.
//!
//! A run on this machine reaches the `cpu` rung (a CPU package or a modelled CPU,
//! with DRAM where RAPL reads it) or, with only GPUs in the total, `accelerator`.
//! Each step up multiplies the running figure by a factor that has a source in
//! `profiles/SOURCES.md`, or is an assumption stated with its range, and usually
//! both (sourced ends, chosen range). Where a rung cannot be reached honestly
//! the climb stops with [`Unreachable`], which says why; no ratio is printed then.
//!
//! The lift works on gross energy: a published figure counts everything its
//! machines drew while serving, idle power included, so a net figure (what a
//! request adds above idle) would sit below every published rung.

use crate::stats::Interval;
use hoeveel_profiles::SiteEntry;
use hoeveel_record::{MeasuredParts, Rung};

/// Why a step's factor has the value it has: sources, an assumption, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Grounds {
    /// Ids in `profiles/SOURCES.md`.
    pub sources: Vec<String>,
    /// The choice made, stated, where the sources alone do not fix the value.
    pub assumption: Option<String>,
}

impl Grounds {
    pub fn sourced(ids: &[&str]) -> Grounds {
        Grounds {
            sources: ids.iter().map(|s| s.to_string()).collect(),
            assumption: None,
        }
    }

    pub fn assumed(why: impl Into<String>, ids: &[&str]) -> Grounds {
        Grounds {
            sources: ids.iter().map(|s| s.to_string()).collect(),
            assumption: Some(why.into()),
        }
    }

    /// One line: "assumption: …; sources: a, b" or "sources: a".
    pub fn describe(&self) -> String {
        let sources = (!self.sources.is_empty()).then(|| self.sources.join(", "));
        match (&self.assumption, sources) {
            (Some(a), Some(s)) => format!("ASSUMPTION: {a} [{s}]"),
            (Some(a), None) => format!("ASSUMPTION: {a}"),
            (None, Some(s)) => format!("[{s}]"),
            (None, None) => "no grounds".into(),
        }
    }
}

/// One step up the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The rung the figure is on after this step.
    pub to: Rung,
    /// What the step adds, in words with its arithmetic.
    pub what: String,
    /// The factor the running figure is multiplied by.
    pub factor: Interval,
    pub grounds: Grounds,
}

/// A measurement lifted to a rung, with the steps that took it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Lifted {
    pub from: Rung,
    pub rung: Rung,
    /// Energy per request on `rung`, J.
    pub energy_j: Interval,
    pub steps: Vec<Step>,
}

impl Lifted {
    /// The product of the steps' factors (central values).
    pub fn factor(&self) -> f64 {
        self.steps.iter().map(|s| s.factor.centre()).product()
    }
}

/// A rung a measurement cannot reach.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unreachable {
    #[error(
        "this run measured no accelerator (its total holds {parts}), so it has no figure on the accelerator rung; compare on node or above"
    )]
    NoAccelerator { parts: String },
    #[error(
        "the machine has a GPU that this run did not measure, so its node figure would miss that GPU; measure it (NVML) or compare on the cpu rung"
    )]
    UnmeasuredGpu,
    #[error(
        "the {0} rung adds manufacture and a training share, which hoeveel does not model yet: a life-cycle figure is not compared with a use-stage measurement"
    )]
    Lifecycle(Rung),
    #[error("a figure on the {from} rung cannot be brought down to {to}")]
    Downward { from: Rung, to: Rung },
    #[error(
        "a figure on the accelerator rung and one on the cpu rung count different parts of a machine; neither contains the other"
    )]
    Sideways,
}

/// What the climb needs to know of a measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Gross energy per request (mean and 95% CI), J.
    pub energy_j: Interval,
    /// Mean duration of a request, s.
    pub duration_s: f64,
    pub parts: MeasuredParts,
    pub memory_bytes: u64,
    /// The run's start lists a GPU that is not in the total.
    pub unmeasured_gpu: bool,
}

impl Measured {
    pub fn rung(&self) -> Rung {
        self.parts.rung()
    }
}

/// Memory power when RAPL does not read DRAM, W per GB: Green Algorithms' 0.3725
/// to Cloud Carbon Footprint's 0.392.
pub const DRAM_W_PER_GB: (f64, f64) = (0.3725, 0.392);
/// The board, fans, storage and network card over CPU + DRAM: an assumption (no
/// published split was found), 10% to 30%.
pub const REST_OF_MACHINE: (f64, f64) = (1.10, 1.30);
/// PSU efficiency at about half load, 80 PLUS Gold to Titanium (230 V internal
/// redundant, the datacentre's supplies): 92% to 96%.
pub const PSU_EFFICIENCY: (f64, f64) = (0.92, 0.96);
/// PUE without a site: Meta's fleet 1.08 to Uptime's 2024 industry average 1.56.
pub const PUE_WITHOUT_SITE: (f64, f64) = (1.08, 1.56);
/// Idle capacity kept for the service: Google's published split of a Gemini
/// prompt, idle machines 0.02 Wh of 0.24 Wh, so × 0.24 / 0.22.
pub const PROVISIONED_IDLE: f64 = 0.24 / 0.22;

/// Lifts `m` to `target`. A site, when given, supplies the PUE.
pub fn lift(m: &Measured, target: Rung, site: Option<&SiteEntry>) -> Result<Lifted, Unreachable> {
    let from = m.rung();
    let mut steps = Vec::new();
    if target == from {
        return Ok(Lifted {
            from,
            rung: target,
            energy_j: m.energy_j,
            steps,
        });
    }
    if target == Rung::Lifecycle {
        return Err(Unreachable::Lifecycle(target));
    }
    if target.level() == 0 {
        return Err(match (from, target) {
            (Rung::Cpu, Rung::Accelerator) => Unreachable::NoAccelerator {
                parts: m.parts.describe(),
            },
            (Rung::Accelerator, Rung::Cpu) => Unreachable::Sideways,
            _ => Unreachable::Downward { from, to: target },
        });
    }
    if m.unmeasured_gpu {
        return Err(Unreachable::UnmeasuredGpu);
    }
    // cpu or accelerator -> node.
    let mut energy = m.energy_j;
    if !m.parts.dram {
        let gb = m.memory_bytes as f64 / 1e9;
        let added = Interval::new(
            DRAM_W_PER_GB.0 * gb * m.duration_s,
            None,
            DRAM_W_PER_GB.1 * gb * m.duration_s,
        );
        let factor = ratio(energy.plus(added), energy);
        steps.push(Step {
            to: Rung::Node,
            what: format!(
                "DRAM, not measured: {}–{} W/GB × {:.0} GB × {} s per request",
                DRAM_W_PER_GB.0,
                DRAM_W_PER_GB.1,
                gb,
                crate::output::fmt_sig(m.duration_s, 3)
            ),
            factor,
            grounds: Grounds::sourced(&["green-algorithms", "ccf"]),
        });
        energy = energy.times(factor);
    }
    let rest = Interval::new(REST_OF_MACHINE.0, None, REST_OF_MACHINE.1);
    steps.push(Step {
        to: Rung::Node,
        what: "the rest of the machine: board, fans, storage, network card".into(),
        factor: rest,
        grounds: Grounds::assumed(
            "they add 10–30% to CPU + DRAM; no published split of a server's power was found",
            &[],
        ),
    });
    energy = energy.times(rest);
    let psu = Interval::new(1.0 / PSU_EFFICIENCY.1, None, 1.0 / PSU_EFFICIENCY.0);
    steps.push(Step {
        to: Rung::Node,
        what: format!(
            "PSU losses: ÷ {:.0}–{:.0}% efficiency",
            PSU_EFFICIENCY.0 * 100.0,
            PSU_EFFICIENCY.1 * 100.0
        ),
        factor: psu,
        grounds: Grounds::assumed(
            "a datacentre supply at about half load, 80 PLUS Gold to Titanium (230 V)",
            &["psu-80plus"],
        ),
    });
    energy = energy.times(psu);
    if target.level() == 1 {
        return Ok(Lifted {
            from,
            rung: target,
            energy_j: energy,
            steps,
        });
    }
    // node -> facility.
    let (pue, grounds, what) = match site {
        Some(s) => (
            s.pue.interval(),
            Grounds {
                sources: s.meta.cite.clone(),
                assumption: None,
            },
            format!("× PUE of {} ({})", s.name, s.id),
        ),
        None => (
            Interval::new(PUE_WITHOUT_SITE.0, None, PUE_WITHOUT_SITE.1),
            Grounds::assumed(
                "no --site given: a PUE from Meta's fleet (1.08) to the industry average (1.56)",
                &["meta-sustainability", "uptime-survey"],
            ),
            "× PUE (cooling, power distribution)".to_string(),
        ),
    };
    steps.push(Step {
        to: Rung::Facility,
        what,
        factor: pue,
        grounds,
    });
    energy = energy.times(pue);
    if target == Rung::Facility {
        return Ok(Lifted {
            from,
            rung: target,
            energy_j: energy,
            steps,
        });
    }
    // facility -> provisioned.
    let idle = Interval::point(PROVISIONED_IDLE);
    steps.push(Step {
        to: Rung::Provisioned,
        what: "idle machines kept for the service: × 0.24 / 0.22 Wh".into(),
        factor: idle,
        grounds: Grounds::assumed(
            "the share Google published for Gemini serving (10%) holds for this service",
            &["elsworth-2025"],
        ),
    });
    energy = energy.times(idle);
    Ok(Lifted {
        from,
        rung: Rung::Provisioned,
        energy_j: energy,
        steps,
    })
}

/// a / b as an interval, bound by bound (both positive).
fn ratio(a: Interval, b: Interval) -> Interval {
    let lo = if b.low > 0.0 { a.low / b.low } else { 1.0 };
    let hi = if b.high > 0.0 { a.high / b.high } else { 1.0 };
    Interval::new(
        lo.min(hi),
        a.typical.zip(b.typical).map(|(x, y)| x / y),
        lo.max(hi),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_only(energy_j: f64) -> Measured {
        Measured {
            energy_j: Interval::point(energy_j),
            duration_s: 2.0,
            parts: MeasuredParts {
                cpu: true,
                ..MeasuredParts::default()
            },
            memory_bytes: 10_000_000_000,
            unmeasured_gpu: false,
        }
    }

    #[test]
    fn every_step_has_grounds_and_the_factors_multiply_to_the_lift() {
        let m = cpu_only(100.0);
        let l = lift(&m, Rung::Provisioned, None).expect("reachable");
        assert_eq!(l.steps.len(), 5);
        for s in &l.steps {
            assert!(
                !s.grounds.sources.is_empty() || s.grounds.assumption.is_some(),
                "{s:?}"
            );
            for id in &s.grounds.sources {
                assert!(hoeveel_profiles::sources::find(id).is_some(), "{id}");
            }
        }
        // DRAM: 10 GB x 2 s at 0.3725..0.392 W/GB = 7.45..7.84 J on 100 J.
        let dram = &l.steps[0].factor;
        assert!((dram.low - 1.0745).abs() < 1e-12 && (dram.high - 1.0784).abs() < 1e-12);
        let lo = 1.0745 * 1.10 / 0.96 * 1.08 * PROVISIONED_IDLE;
        let hi = 1.0784 * 1.30 / 0.92 * 1.56 * PROVISIONED_IDLE;
        assert!(
            (l.energy_j.low - 100.0 * lo).abs() < 1e-9,
            "{:?}",
            l.energy_j
        );
        assert!(
            (l.energy_j.high - 100.0 * hi).abs() < 1e-9,
            "{:?}",
            l.energy_j
        );
    }

    #[test]
    fn measured_dram_is_not_added_again_and_a_site_sets_the_pue() {
        let mut m = cpu_only(100.0);
        m.parts.dram = true;
        let p = hoeveel_profiles::ProfileSet::shipped().expect("profiles");
        let site = p.site("ms-nl").expect("site");
        let l = lift(&m, Rung::Facility, Some(site)).expect("reachable");
        assert_eq!(l.steps.len(), 3);
        assert_eq!(l.steps[2].factor.centre(), 1.14);
        assert!(l.steps[2].grounds.assumption.is_none());
    }

    #[test]
    fn rungs_that_cannot_be_reached_say_why() {
        let m = cpu_only(1.0);
        assert!(matches!(
            lift(&m, Rung::Accelerator, None),
            Err(Unreachable::NoAccelerator { .. })
        ));
        assert!(matches!(
            lift(&m, Rung::Lifecycle, None),
            Err(Unreachable::Lifecycle(_))
        ));
        let mut gpu = cpu_only(1.0);
        gpu.unmeasured_gpu = true;
        assert_eq!(
            lift(&gpu, Rung::Node, None),
            Err(Unreachable::UnmeasuredGpu)
        );
        assert_eq!(lift(&m, Rung::Cpu, None).map(|l| l.steps.len()), Ok(0));
    }
}
