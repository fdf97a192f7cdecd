//! The modelled CPU: power from machine-wide CPU utilisation and a power model
//! kept in `profiles/power_models.toml`. It exists because virtual machines and
//! containers have no RAPL; every number it gives has provenance `modelled`, and
//! the model and its parameters go into the record.
//!
//! Utilisation is known only as an average over an interval, so readings are
//! [`Reading::MeanPower`]: the meter multiplies them by the interval.

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, Provenance, SensorInfo};
use serde::Deserialize;
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// The shipped models, compiled in.
const POWER_MODELS_TOML: &str = include_str!("../../../profiles/power_models.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct PowerModels {
    pub default: String,
    #[serde(rename = "model")]
    pub models: Vec<PowerModel>,
}

/// A linear per-vCPU model: `P = vCPUs × (min + u × (max − min))`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerModel {
    pub id: String,
    pub kind: String,
    pub min_w_per_vcpu: f64,
    pub max_w_per_vcpu: f64,
    pub source: String,
    pub year: u32,
    pub licence: String,
}

impl PowerModel {
    /// Power of `vcpus` logical CPUs at `utilisation` (0..1, clamped).
    pub fn power_w(&self, vcpus: u32, utilisation: f64) -> f64 {
        let u = utilisation.clamp(0.0, 1.0);
        f64::from(vcpus) * (self.min_w_per_vcpu + u * (self.max_w_per_vcpu - self.min_w_per_vcpu))
    }
}

impl PowerModels {
    pub fn shipped() -> anyhow::Result<PowerModels> {
        let models: PowerModels = toml::from_str(POWER_MODELS_TOML)
            .map_err(|e| anyhow::anyhow!("profiles/power_models.toml: {e}"))?;
        for m in &models.models {
            if m.kind != "per_vcpu_linear" {
                anyhow::bail!(
                    "profiles/power_models.toml: model `{}`: unknown kind `{}`",
                    m.id,
                    m.kind
                );
            }
            if !(m.min_w_per_vcpu >= 0.0 && m.max_w_per_vcpu >= m.min_w_per_vcpu) {
                anyhow::bail!(
                    "profiles/power_models.toml: model `{}`: need 0 ≤ min_w_per_vcpu ≤ max_w_per_vcpu",
                    m.id
                );
            }
        }
        models.find(&models.default)?;
        Ok(models)
    }

    pub fn find(&self, id: &str) -> anyhow::Result<&PowerModel> {
        self.models.iter().find(|m| m.id == id).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown power model `{id}`; shipped: {}",
                self.models
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

/// Estimates CPU power from utilisation.
pub struct ModelledCpu {
    model: PowerModel,
    vcpus: u32,
    system: System,
    domains: Vec<Domain>,
}

impl ModelledCpu {
    /// The default shipped model for this host's logical CPUs.
    pub fn for_this_host() -> anyhow::Result<ModelledCpu> {
        let models = PowerModels::shipped()?;
        let model = models.find(&models.default)?.clone();
        Ok(ModelledCpu::new(model))
    }

    pub fn new(model: PowerModel) -> ModelledCpu {
        let mut system = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_cpu_usage()),
        );
        // The first refresh only sets the starting point of the utilisation counters.
        system.refresh_cpu_usage();
        let vcpus = system.cpus().len().max(1) as u32;
        ModelledCpu {
            model,
            vcpus,
            system,
            domains: vec![Domain {
                id: "cpu-model".into(),
                kind: DomainKind::CpuModel,
                provenance: Provenance::Modelled,
                wrap_range_uj: None,
                unit: None,
            }],
        }
    }

    pub fn model(&self) -> &PowerModel {
        &self.model
    }
}

impl Sensor for ModelledCpu {
    fn kind(&self) -> SensorKind {
        SensorKind::Model
    }

    fn domains(&self) -> &[Domain] {
        &self.domains
    }

    fn info(&self) -> SensorInfo {
        SensorInfo {
            kind: SensorKind::Model.name().into(),
            provenance: Provenance::Modelled,
            domains: vec!["cpu-model".into()],
            source: format!(
                "power model {} ({} logical CPUs × ({} W + utilisation × ({} − {}) W)); {}",
                self.model.id,
                self.vcpus,
                self.model.min_w_per_vcpu,
                self.model.max_w_per_vcpu,
                self.model.min_w_per_vcpu,
                self.model.source
            ),
            details: serde_json::json!({
                "model": self.model.id,
                "formula": "P = vcpus * (min_w_per_vcpu + utilisation * (max_w_per_vcpu - min_w_per_vcpu))",
                "vcpus": self.vcpus,
                "min_w_per_vcpu": self.model.min_w_per_vcpu,
                "max_w_per_vcpu": self.model.max_w_per_vcpu,
                "utilisation": "machine-wide, from /proc/stat deltas between readings (10 ms tick resolution)",
                "not_modelled": ["memory", "storage", "network", "GPU"],
                "source": self.model.source,
                "year": self.model.year,
                "licence": self.model.licence,
            }),
        }
    }

    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        self.system.refresh_cpu_usage();
        let utilisation = f64::from(self.system.global_cpu_usage()) / 100.0;
        if !utilisation.is_finite() {
            return Err(SensorError::Transient(
                "CPU utilisation is not a number".into(),
            ));
        }
        out.push(Reading::MeanPower {
            power_mw: self.model.power_w(self.vcpus, utilisation) * 1e3,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_parse_and_default_exists() {
        let models = PowerModels::shipped().expect("shipped models are valid");
        let m = models.find(&models.default).expect("default");
        assert_eq!(m.id, "ccf-aws-average");
        assert_eq!((m.min_w_per_vcpu, m.max_w_per_vcpu), (0.74, 3.5));
    }

    #[test]
    fn linear_model_at_idle_half_and_full() {
        let models = PowerModels::shipped().expect("valid");
        let m = models.find("ccf-aws-average").expect("present");
        assert!((m.power_w(2, 0.0) - 1.48).abs() < 1e-12);
        assert!((m.power_w(2, 0.5) - 4.24).abs() < 1e-12);
        assert!((m.power_w(2, 1.0) - 7.0).abs() < 1e-12);
        assert!(
            (m.power_w(2, 3.0) - 7.0).abs() < 1e-12,
            "utilisation is clamped"
        );
    }

    #[test]
    fn sensor_reads_mean_power_within_model_bounds() {
        let mut s = ModelledCpu::for_this_host().expect("model");
        let mut out = Vec::new();
        std::thread::sleep(std::time::Duration::from_millis(50));
        s.sample(&mut out).expect("sample");
        let Reading::MeanPower { power_mw } = out[0] else {
            panic!("expected mean power, got {:?}", out[0]);
        };
        let lo = s.model().power_w(s.vcpus, 0.0) * 1e3;
        let hi = s.model().power_w(s.vcpus, 1.0) * 1e3;
        assert!(
            (lo..=hi).contains(&power_mw),
            "{power_mw} mW outside [{lo}, {hi}]"
        );
        assert_eq!(s.info().provenance, Provenance::Modelled);
    }
}
