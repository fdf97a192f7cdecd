//! RAPL through powercap sysfs (placeholder: being implemented).

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::SensorInfo;
use std::path::Path;

pub struct RaplPowercapSensor {
    domains: Vec<Domain>,
}

impl RaplPowercapSensor {
    /// Discovers `<sysfs_root>/class/powercap/intel-rapl:*` zones and subzones
    /// (MMIO twins recognised), opening each energy_uj file once.
    pub fn discover(sysfs_root: &Path) -> Result<RaplPowercapSensor, SensorError> {
        Err(SensorError::Unavailable(format!(
            "powercap RAPL is not implemented yet (sysfs root {})",
            sysfs_root.display()
        )))
    }
}

impl Sensor for RaplPowercapSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::RaplPowercap
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
