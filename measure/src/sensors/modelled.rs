//! The modelled CPU: power from machine-wide CPU utilisation and a power model
//! kept in `profiles/power_models.toml`. It exists because virtual machines and
//! containers have no RAPL; every number it gives has provenance `modelled`, and
//! the model and its parameters go into the record.
//!
//! Utilisation is known only as an average over an interval, so readings are
//! [`Reading::MeanPower`]: the meter multiplies them by the interval. It comes from
//! the kernel's CPU time counters in `/proc/stat` (proc(5)), read directly: the
//! `sysinfo` crate silently skips refreshes closer than 200 ms apart, which would
//! repeat stale utilisation at the agent's 100 ms ticks and exact window marks.

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{DomainKind, Provenance, SensorInfo};
use serde::Deserialize;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

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

/// Aggregate CPU time of all CPUs, in clock ticks, from the `cpu ` line of /proc/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy_ticks: u64,
    pub total_ticks: u64,
}

/// Parses /proc/stat: the aggregate `cpu ` line and the number of `cpuN` lines.
/// Fields: user nice system idle iowait irq softirq steal guest guest_nice;
/// guest time is already inside user/nice, so it is not added again.
pub fn parse_proc_stat(text: &str) -> Option<(CpuTimes, u32)> {
    let times = parse_cpu_line(text.lines().next()?)?;
    let vcpus = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count() as u32;
    Some((times, vcpus.max(1)))
}

/// The aggregate `cpu ` line of /proc/stat: busy and total ticks (idle and
/// iowait are idle), without allocating.
pub fn parse_cpu_line(line: &str) -> Option<CpuTimes> {
    let mut values = [0u64; 8];
    let mut n = 0;
    for field in line.strip_prefix("cpu ")?.split_whitespace().take(8) {
        values[n] = field.parse().ok()?;
        n += 1;
    }
    if n < 4 {
        return None;
    }
    let idle = values[3] + values[4];
    let total: u64 = values.iter().sum();
    Some(CpuTimes {
        busy_ticks: total - idle,
        total_ticks: total,
    })
}

pub struct ModelledCpu {
    model: PowerModel,
    vcpus: u32,
    stat_path: PathBuf,
    stat: File,
    buf: Vec<u8>,
    last: CpuTimes,
    last_utilisation: f64,
    domains: Vec<Domain>,
    /// The USER_HZ tick, the unit of /proc/stat's CPU times.
    tick_s: f64,
}

/// The USER_HZ tick in seconds from `sysconf(_SC_CLK_TCK)`'s answer: the
/// /proc/stat CPU times count in these ticks (proc(5)), so utilisation, and
/// with it the model's power, changes only at that tick. An answer that is
/// not a positive number falls back to 100 Hz, the value on every Linux
/// architecture the agent builds for.
pub fn tick_period_s(clk_tck: i64) -> f64 {
    if clk_tck > 0 {
        1.0 / clk_tck as f64
    } else {
        0.01
    }
}

/// This host's USER_HZ tick in seconds.
fn user_hz_tick_s() -> f64 {
    // SAFETY: sysconf reads a configuration value; it has no preconditions.
    let clk_tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // `c_long` is 32 bits on some targets (32-bit ARM), 64 on others.
    #[allow(clippy::useless_conversion)]
    tick_period_s(i64::from(clk_tck))
}

impl ModelledCpu {
    /// The default shipped model, with this host's /proc.
    pub fn for_this_host() -> anyhow::Result<ModelledCpu> {
        let models = PowerModels::shipped()?;
        let model = models.find(&models.default)?.clone();
        Ok(ModelledCpu::new(model, Path::new("/proc"))?)
    }

    /// `proc_root` is `/proc` except in tests.
    pub fn new(model: PowerModel, proc_root: &Path) -> Result<ModelledCpu, SensorError> {
        let stat_path = proc_root.join("stat");
        let stat = File::open(&stat_path).map_err(|source| SensorError::Io {
            path: stat_path.clone(),
            source,
        })?;
        let mut sensor = ModelledCpu {
            model,
            vcpus: 1,
            stat_path,
            stat,
            buf: vec![0; 4096],
            last: CpuTimes {
                busy_ticks: 0,
                total_ticks: 0,
            },
            last_utilisation: 0.0,
            domains: vec![Domain {
                id: "cpu-model".into(),
                kind: DomainKind::CpuModel,
                provenance: Provenance::Modelled,
                wrap_range_uj: None,
                unit: None,
            }],
            tick_s: user_hz_tick_s(),
        };
        // The first read only sets the starting point of the utilisation counters.
        let (times, vcpus) = sensor.read_stat()?;
        sensor.last = times;
        sensor.vcpus = vcpus;
        Ok(sensor)
    }

    /// Re-reads the file opened once, into the reused buffer.
    fn read_stat(&mut self) -> Result<(CpuTimes, u32), SensorError> {
        let mut len = 0;
        loop {
            let n = self
                .stat
                .read_at(&mut self.buf[len..], len as u64)
                .map_err(|source| SensorError::Io {
                    path: self.stat_path.clone(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            len += n;
            if len == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let text = std::str::from_utf8(&self.buf[..len]).unwrap_or("");
        parse_proc_stat(text).ok_or_else(|| SensorError::Malformed {
            path: self.stat_path.clone(),
            message: "no `cpu ` line with at least four counters".into(),
        })
    }

    /// The aggregate line alone, for each sample: one read of the file's start
    /// (the kernel builds the whole file at every read from offset 0, so reading
    /// to the end would build it twice) and no allocation.
    fn read_cpu_line(&mut self) -> Result<CpuTimes, SensorError> {
        let n = self
            .stat
            .read_at(&mut self.buf, 0)
            .map_err(|source| SensorError::Io {
                path: self.stat_path.clone(),
                source,
            })?;
        let head = &self.buf[..n];
        let line = head
            .split(|b| *b == b'\n')
            .next()
            .and_then(|l| std::str::from_utf8(l).ok())
            .unwrap_or("");
        parse_cpu_line(line).ok_or_else(|| SensorError::Malformed {
            path: self.stat_path.clone(),
            message: "no `cpu ` line with at least four counters".into(),
        })
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

    fn update_period_s(&self) -> f64 {
        self.tick_s
    }

    fn info(&self) -> SensorInfo {
        SensorInfo {
            kind: SensorKind::Model,
            update_period_s: Some(self.tick_s),
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
                "utilisation": "machine-wide, from /proc/stat CPU-time deltas between readings (clock-tick resolution, 10 ms at USER_HZ 100); an interval within one tick repeats the last utilisation",
                "not_modelled": ["memory", "storage", "network", "GPU"],
                "source": self.model.source,
                "year": self.model.year,
                "licence": self.model.licence,
            }),
        }
    }

    fn sample(&mut self, out: &mut Vec<Reading>) -> Result<(), SensorError> {
        let times = self.read_cpu_line()?;
        let busy = times.busy_ticks.saturating_sub(self.last.busy_ticks);
        let total = times.total_ticks.saturating_sub(self.last.total_ticks);
        // Within one clock tick (10 ms at USER_HZ 100) the counters may not move:
        // the interval then has the utilisation last seen.
        let utilisation = if total > 0 {
            busy as f64 / total as f64
        } else {
            self.last_utilisation
        };
        self.last = times;
        self.last_utilisation = utilisation;
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
    fn proc_stat_parses_busy_and_total() {
        let text = "cpu  100 5 50 800 20 3 2 0 7 0\ncpu0 50 2 25 400 10 1 1 0 0 0\ncpu1 50 3 25 400 10 2 1 0 0 0\nintr 1\n";
        let (t, n) = parse_proc_stat(text).expect("parses");
        assert_eq!(n, 2);
        assert_eq!(t.total_ticks, 980);
        assert_eq!(t.busy_ticks, 160);
        assert!(parse_proc_stat("intr 1\n").is_none());
    }

    #[test]
    fn utilisation_between_two_fixture_readings_gives_exact_power() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stat = dir.path().join("stat");
        std::fs::write(
            &stat,
            "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\ncpu1 1\ncpu2 1\ncpu3 1\n",
        )
        .expect("write");
        let models = PowerModels::shipped().expect("valid");
        let model = models.find("ccf-aws-average").expect("present").clone();
        let mut s = ModelledCpu::new(model, dir.path()).expect("opens");
        assert_eq!(s.vcpus, 4);
        // 400 more ticks, 100 of them busy: 25 % utilisation.
        std::fs::write(
            &stat,
            "cpu  150 0 150 1100 0 0 0 0 0 0\ncpu0 1\ncpu1 1\ncpu2 1\ncpu3 1\n",
        )
        .expect("write");
        let mut out = Vec::new();
        s.sample(&mut out).expect("sample");
        let expected_w = 4.0 * (0.74 + 0.25 * (3.5 - 0.74));
        assert_eq!(
            out,
            vec![Reading::MeanPower {
                power_mw: expected_w * 1e3
            }]
        );
        // No tick elapsed: the last utilisation is repeated, not 0.
        out.clear();
        s.sample(&mut out).expect("sample");
        assert_eq!(
            out,
            vec![Reading::MeanPower {
                power_mw: expected_w * 1e3
            }]
        );
    }

    #[test]
    fn tick_is_one_over_clk_tck_with_100_hz_fallback() {
        assert_eq!(tick_period_s(100), 0.01);
        assert_eq!(tick_period_s(250), 0.004);
        assert_eq!(tick_period_s(-1), 0.01);
        assert_eq!(tick_period_s(0), 0.01);
    }

    #[test]
    fn sensor_updates_at_the_user_hz_tick() {
        let s = ModelledCpu::for_this_host().expect("model");
        // Linux fixes USER_HZ at 100 on every architecture we build for.
        assert_eq!(s.update_period_s(), 0.01);
        assert_eq!(s.info().update_period_s, Some(0.01));
    }

    #[test]
    fn missing_proc_is_an_error_naming_the_file() {
        let models = PowerModels::shipped().expect("valid");
        let model = models.find("ccf-aws-average").expect("present").clone();
        let err = ModelledCpu::new(model, Path::new("/nonexistent-proc"))
            .err()
            .expect("fails");
        assert!(err.to_string().contains("/nonexistent-proc/stat"));
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
