//! NVIDIA GPUs through NVML (placeholder: being implemented).

use super::{Domain, Reading, Sensor, SensorError, SensorKind};
use hoeveel_record::{GpuInfo, SensorInfo};
use std::path::Path;

/// One GPU.
pub struct NvmlSensor {
    domains: Vec<Domain>,
}

/// Every GPU NVML reports, with what the record says about each.
pub struct NvmlDiscovery {
    pub sensors: Vec<NvmlSensor>,
    pub gpus: Vec<GpuInfo>,
}

/// Loads NVML (from `library` when given, else the system's `libnvidia-ml.so.1`)
/// and opens every GPU. A missing library is `Unavailable`, not a failure.
pub fn discover(library: Option<&Path>) -> Result<NvmlDiscovery, SensorError> {
    let _ = library;
    Err(SensorError::Unavailable(
        "NVML support is not implemented yet".into(),
    ))
}

impl Sensor for NvmlSensor {
    fn kind(&self) -> SensorKind {
        SensorKind::Nvml
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
