//! Which domains make up the total, without double counting.
//!
//! RAPL domains nest: psys contains the package (and on some parts DRAM);
//! the package contains cores and uncore (integrated graphics). MMIO zones
//! duplicate the MSR zones and are dropped at discovery. So the total is
//! package + DRAM of every socket + every discrete GPU, or psys + GPUs when the
//! user chooses psys or when psys is the only CPU counter (a platform without a
//! readable package domain). A modelled CPU stands in for the package when there
//! is no RAPL counter.

use super::Domain;
use super::discover::TotalChoice;
use hoeveel_record::{DomainInfo, DomainKind, SensorKind};

/// Decides for every domain whether it is in the total and why; returns the
/// domains and a one-line rule for the record.
pub fn decide(domains: &[(Domain, SensorKind)], choice: TotalChoice) -> (Vec<DomainInfo>, String) {
    let has_psys = domains.iter().any(|(d, _)| d.kind == DomainKind::Psys);
    let has_package = domains.iter().any(|(d, _)| d.kind == DomainKind::Package);
    // Without a package counter psys is the only measured CPU energy: leaving it
    // out would drop the CPU from the total without a word.
    let psys_stands_in = has_psys && !has_package;
    let use_psys = has_psys && (choice == TotalChoice::Psys || psys_stands_in);
    let infos = domains
        .iter()
        .map(|(d, sensor)| {
            let (in_total, reason) = match d.kind {
                DomainKind::Gpu => (true, "discrete GPU board".to_string()),
                DomainKind::Psys if choice == TotalChoice::Psys => (true, "platform total chosen with --total psys".to_string()),
                DomainKind::Psys if use_psys => (true, "platform total: no package counter was found, so psys (which contains the CPU package) stands in".to_string()),
                DomainKind::Psys => (false, "contains the package: counting both would double count (use --total psys to count it instead)".to_string()),
                DomainKind::CpuModel if has_package => (false, "a RAPL package counter is measured instead".to_string()),
                DomainKind::CpuModel if use_psys => (false, "the RAPL psys counter, which contains the CPU, is measured instead".to_string()),
                DomainKind::CpuModel => (true, "modelled CPU: no RAPL counter could be read".to_string()),
                _ if use_psys => (false, "inside psys".to_string()),
                DomainKind::Package => (true, "CPU package".to_string()),
                DomainKind::Dram => (true, "memory, outside the package".to_string()),
                DomainKind::Cores | DomainKind::Uncore => (
                    false,
                    format!("inside package{}", d.unit.map(|u| format!("-{u}")).unwrap_or_default()),
                ),
            };
            DomainInfo {
                id: d.id.clone(),
                kind: d.kind,
                sensor: *sensor,
                provenance: d.provenance,
                in_total,
                reason,
            }
        })
        .collect::<Vec<_>>();
    let summed: Vec<&str> = infos
        .iter()
        .filter(|i| i.in_total)
        .map(|i| i.id.as_str())
        .collect();
    let rule = if use_psys && choice != TotalChoice::Psys {
        format!(
            "psys + GPUs (no package counter, so the platform counter stands in): {}",
            summed.join(" + ")
        )
    } else if use_psys {
        format!("psys + GPUs: {}", summed.join(" + "))
    } else {
        let mut rule = format!(
            "package + DRAM + GPUs (cores, uncore and psys are nested, so not added): {}",
            summed.join(" + ")
        );
        if choice == TotalChoice::Psys {
            rule.push_str("; --total psys was asked for, but no psys domain was found");
        }
        rule
    };
    (infos, rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoeveel_record::Provenance;

    fn domain(id: &str, kind: DomainKind, unit: Option<u32>) -> Domain {
        Domain {
            id: id.into(),
            kind,
            provenance: Provenance::Counter,
            wrap_range_uj: None,
            unit,
        }
    }

    fn summed(infos: &[DomainInfo]) -> Vec<&str> {
        infos
            .iter()
            .filter(|i| i.in_total)
            .map(|i| i.id.as_str())
            .collect()
    }

    #[test]
    fn package_rule_skips_nested_domains() {
        let ds = [
            (
                domain("psys", DomainKind::Psys, None),
                SensorKind::RaplPowercap,
            ),
            (
                domain("package-0", DomainKind::Package, Some(0)),
                SensorKind::RaplPowercap,
            ),
            (
                domain("cores-0", DomainKind::Cores, Some(0)),
                SensorKind::RaplPowercap,
            ),
            (
                domain("uncore-0", DomainKind::Uncore, Some(0)),
                SensorKind::RaplPowercap,
            ),
            (
                domain("dram-0", DomainKind::Dram, Some(0)),
                SensorKind::RaplPowercap,
            ),
            (
                domain("package-1", DomainKind::Package, Some(1)),
                SensorKind::RaplPowercap,
            ),
            (domain("gpu-0", DomainKind::Gpu, Some(0)), SensorKind::Nvml),
        ];
        let (infos, rule) = decide(&ds, TotalChoice::Package);
        assert_eq!(
            summed(&infos),
            ["package-0", "dram-0", "package-1", "gpu-0"]
        );
        assert!(infos[2].reason.contains("inside package-0"));
        assert!(rule.contains("package-0 + dram-0 + package-1 + gpu-0"));
    }

    #[test]
    fn psys_rule_counts_psys_and_gpus_only() {
        let ds = [
            (domain("psys", DomainKind::Psys, None), SensorKind::RaplPerf),
            (
                domain("package-0", DomainKind::Package, Some(0)),
                SensorKind::RaplPerf,
            ),
            (
                domain("dram-0", DomainKind::Dram, Some(0)),
                SensorKind::RaplPerf,
            ),
            (domain("gpu-0", DomainKind::Gpu, Some(0)), SensorKind::Nvml),
        ];
        let (infos, _) = decide(&ds, TotalChoice::Psys);
        assert_eq!(summed(&infos), ["psys", "gpu-0"]);
    }

    #[test]
    fn psys_stands_in_when_there_is_no_package_counter() {
        let ds = [
            (domain("psys", DomainKind::Psys, None), SensorKind::RaplPerf),
            (
                domain("dram-0", DomainKind::Dram, Some(0)),
                SensorKind::RaplPerf,
            ),
            (
                domain("cpu-model", DomainKind::CpuModel, None),
                SensorKind::Model,
            ),
            (domain("gpu-0", DomainKind::Gpu, Some(0)), SensorKind::Nvml),
        ];
        let (infos, rule) = decide(&ds, TotalChoice::Package);
        assert_eq!(summed(&infos), ["psys", "gpu-0"]);
        assert!(
            infos[0].reason.contains("no package counter"),
            "{}",
            infos[0].reason
        );
        assert_eq!(infos[1].reason, "inside psys");
        assert!(
            infos[2].reason.contains("psys counter"),
            "{}",
            infos[2].reason
        );
        assert!(
            rule.starts_with("psys + GPUs (no package counter"),
            "{rule}"
        );
    }

    #[test]
    fn model_counts_only_without_a_package_counter() {
        let model = (
            domain("cpu-model", DomainKind::CpuModel, None),
            SensorKind::Model,
        );
        let (infos, _) = decide(std::slice::from_ref(&model), TotalChoice::Package);
        assert_eq!(summed(&infos), ["cpu-model"]);
        let ds = [
            model,
            (
                domain("package-0", DomainKind::Package, Some(0)),
                SensorKind::RaplPerf,
            ),
        ];
        let (infos, _) = decide(&ds, TotalChoice::Package);
        assert_eq!(summed(&infos), ["package-0"]);
    }
}
