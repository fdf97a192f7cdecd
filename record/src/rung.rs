//! The boundary rung of an energy figure: how much of the world it counts.
//!
//! Published per-request figures sit on different rungs: ML.ENERGY and AI Energy
//! Score count GPU energy only, Luccioni et al. (2024) a whole node, Epoch AI adds
//! the datacentre's overhead (× PUE), Google's "comprehensive" 0.24 Wh adds the
//! idle machines kept for the service, Mistral's LCA adds manufacture. A ratio of
//! two figures on different rungs says more about the rungs than about the
//! requests, so every figure carries its rung and comparisons are made on one.
//!
//! The rungs, from the narrowest:
//!
//! | rung          | counts                                                        |
//! |---------------|---------------------------------------------------------------|
//! | `accelerator` | GPU/TPU only                                                  |
//! | `cpu`         | the CPU package (RAPL) or a modelled CPU, with DRAM where read |
//! | `node`        | the whole machine: CPU, DRAM, GPUs, board, PSU losses          |
//! | `wall`        | the machine measured at its socket (what `node` estimates)    |
//! | `facility`    | × the datacentre's PUE (cooling, power distribution)           |
//! | `provisioned` | + the share of idle capacity kept for the service             |
//! | `lifecycle`   | + manufacture and the training share                          |
//!
//! `accelerator` and `cpu` are both parts of a node and cannot be compared with
//! each other; `node` and `wall` are the same boundary, estimated or measured.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rung {
    Accelerator,
    Cpu,
    Node,
    Wall,
    Facility,
    Provisioned,
    Lifecycle,
}

impl Rung {
    pub const ALL: [Rung; 7] = [
        Rung::Accelerator,
        Rung::Cpu,
        Rung::Node,
        Rung::Wall,
        Rung::Facility,
        Rung::Provisioned,
        Rung::Lifecycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rung::Accelerator => "accelerator",
            Rung::Cpu => "cpu",
            Rung::Node => "node",
            Rung::Wall => "wall",
            Rung::Facility => "facility",
            Rung::Provisioned => "provisioned",
            Rung::Lifecycle => "lifecycle",
        }
    }

    pub fn parse(s: &str) -> Option<Rung> {
        Rung::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What the rung counts, in one line.
    pub fn counts(self) -> &'static str {
        match self {
            Rung::Accelerator => "GPU/TPU energy only",
            Rung::Cpu => "the CPU package or a modelled CPU (DRAM where read)",
            Rung::Node => "the whole machine: CPU, DRAM, GPUs, board, PSU losses",
            Rung::Wall => "the machine measured at its socket",
            Rung::Facility => "the machine × the datacentre's PUE",
            Rung::Provisioned => "facility + the idle capacity kept for the service",
            Rung::Lifecycle => "provisioned + manufacture and training shares",
        }
    }

    /// The height on the ladder: 0 for the parts of a node (accelerator, cpu), 1
    /// for the node (estimated or at the wall), then one per rung above.
    pub fn level(self) -> u8 {
        match self {
            Rung::Accelerator | Rung::Cpu => 0,
            Rung::Node | Rung::Wall => 1,
            Rung::Facility => 2,
            Rung::Provisioned => 3,
            Rung::Lifecycle => 4,
        }
    }

    /// Whether two figures on these rungs count the same things, so that their
    /// ratio compares requests rather than boundaries.
    pub fn same_boundary(self, other: Rung) -> bool {
        self == other || (self.level() == 1 && other.level() == 1)
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Read from sensors or a meter on real requests.
    Measured,
    /// Derived from a fleet's totals (energy per day over requests per day).
    FleetEstimate,
    /// Computed from a model (hardware power × time, utilisation assumptions).
    Modelled,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Measured => "measured",
            Method::FleetEstimate => "fleet-estimate",
            Method::Modelled => "modelled",
        }
    }
}

/// The parts of a machine a measurement's total sums, from its domains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeasuredParts {
    /// A CPU package, cores or a modelled CPU.
    pub cpu: bool,
    pub dram: bool,
    pub gpu: bool,
    /// RAPL psys: the platform as the SoC sees it (package, DRAM on some parts, more).
    pub platform: bool,
}

impl MeasuredParts {
    /// From the domains summed into a run's total.
    pub fn of(run_start: &crate::RunStart) -> MeasuredParts {
        use crate::DomainKind as K;
        let mut parts = MeasuredParts::default();
        for d in run_start.domains.iter().filter(|d| d.in_total) {
            match d.kind {
                K::Package | K::Cores | K::Uncore | K::CpuModel => parts.cpu = true,
                K::Dram => parts.dram = true,
                K::Gpu => parts.gpu = true,
                K::Psys => parts.platform = true,
            }
        }
        parts
    }

    /// The rung the total reaches. Package, DRAM and GPUs together are still
    /// below `node` (no board, fans, storage or PSU losses); psys is too, as it
    /// misses the PSU and everything outside the SoC's view. A GPU alone is
    /// `accelerator`; anything with a CPU is `cpu`.
    pub fn rung(self) -> Rung {
        if self.gpu && !self.cpu && !self.platform {
            Rung::Accelerator
        } else {
            Rung::Cpu
        }
    }

    /// The parts in words: "CPU + DRAM", "CPU package + GPU".
    pub fn describe(self) -> String {
        let mut v = Vec::new();
        if self.platform {
            v.push("platform (psys)");
        }
        if self.cpu {
            v.push("CPU");
        }
        if self.dram {
            v.push("DRAM");
        }
        if self.gpu {
            v.push("GPU");
        }
        if v.is_empty() {
            "nothing".into()
        } else {
            v.join(" + ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_none() {
        for r in Rung::ALL {
            assert_eq!(Rung::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).expect("serialise");
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        assert_eq!(Rung::parse("datacentre"), None);
    }

    #[test]
    fn node_and_wall_share_a_boundary_and_device_parts_do_not() {
        assert!(Rung::Node.same_boundary(Rung::Wall));
        assert!(!Rung::Cpu.same_boundary(Rung::Accelerator));
        assert!(!Rung::Cpu.same_boundary(Rung::Node));
        assert!(Rung::Facility.same_boundary(Rung::Facility));
        assert!(Rung::Lifecycle.level() > Rung::Provisioned.level());
    }

    #[test]
    fn parts_give_their_rung() {
        let cpu_dram_gpu = MeasuredParts {
            cpu: true,
            dram: true,
            gpu: true,
            platform: false,
        };
        assert_eq!(cpu_dram_gpu.rung(), Rung::Cpu);
        assert_eq!(cpu_dram_gpu.describe(), "CPU + DRAM + GPU");
        let gpu = MeasuredParts {
            gpu: true,
            ..MeasuredParts::default()
        };
        assert_eq!(gpu.rung(), Rung::Accelerator);
    }
}
