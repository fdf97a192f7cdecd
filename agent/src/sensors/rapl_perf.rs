//! RAPL through the perf_event `power` PMU (placeholder: being implemented).

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::SensorInfo;
use std::path::Path;

pub struct RaplPerfSensor {
    domains: Vec<Domain>,
}

impl RaplPerfSensor {
    /// Discovers the power PMU under `<sysfs_root>/bus/event_source/devices/power`
    /// and opens every RAPL domain on one CPU per package.
    pub fn discover(sysfs_root: &Path) -> Result<RaplPerfSensor, SensorError> {
        Err(SensorError::Unavailable(format!(
            "perf_event RAPL is not implemented yet (sysfs root {})",
            sysfs_root.display()
        )))
    }
}

impl Sensor for RaplPerfSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::RaplPerf
    }
    fn domains(&self) -> &[Domain] {
        &self.domains
    }
    fn info(&self) -> SensorInfo {
        unimplemented!()
    }
    fn sample(&mut self, _out: &mut Vec<Reading>) -> Result<(), SensorError> {
        Err(SensorError::Unavailable("not implemented".into()))
    }
}
