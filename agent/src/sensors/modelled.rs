//! The labelled power model used when no RAPL counter can be read (placeholder).

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::SensorInfo;

pub struct ModelledCpu {
    domains: Vec<Domain>,
}

impl ModelledCpu {
    pub fn for_this_host() -> anyhow::Result<ModelledCpu> {
        anyhow::bail!("the power model is not implemented yet")
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
        unimplemented!()
    }
    fn sample(&mut self, _out: &mut Vec<Reading>) -> Result<(), SensorError> {
        Err(SensorError::Unavailable("not implemented".into()))
    }
}
