//! `hoeveel._native`: the measuring library (`hoeveel-measure`) as seen from
//! Python. Results cross as plain dicts; the pure-Python package (`hoeveel/`)
//! turns them into dataclasses and adds the context manager and the decorator.
//!
//! Errors are Python exceptions of this module, each with the library's message
//! and, where there is one, the fix as its `fix` attribute.

use hoeveel_measure::monitor::WindowResult;
use hoeveel_measure::{
    DiscoverError, DiscoverOptions, Monitor as Inner, MonitorError, MonitorOptions, TotalChoice,
};
use hoeveel_record::{Baseline, DomainInfo};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::RwLock;

create_exception!(
    _native,
    HoeveelError,
    PyException,
    "Base of every hoeveel error."
);
create_exception!(
    _native,
    SensorError,
    HoeveelError,
    "No sensor could be used as asked: an unknown name, a missing sysfs root, or a sensor that cannot be read (its `fix` says the one command that fixes it)."
);
create_exception!(
    _native,
    WindowError,
    HoeveelError,
    "A window was ended without being begun, ended twice, or begun while open."
);
create_exception!(
    _native,
    RecordError,
    HoeveelError,
    "The record file could not be written."
);

/// The Python exception for a library error, with `fix` set (or None).
fn py_error(py: Python<'_>, e: MonitorError) -> PyErr {
    let fix = e.fix().map(str::to_string);
    let message = match &fix {
        Some(f) => format!("{e}\n  fix: {f}"),
        None => e.to_string(),
    };
    let err = match &e {
        MonitorError::Discover(_) | MonitorError::Sensors(_) => SensorError::new_err(message),
        MonitorError::AlreadyOpen { .. }
        | MonitorError::NotBegun { .. }
        | MonitorError::AlreadyEnded { .. }
        | MonitorError::BaselineDuringWindow { .. } => WindowError::new_err(message),
        MonitorError::Record { .. } => RecordError::new_err(message),
        MonitorError::BadDuration { .. } | MonitorError::BadWindowName { .. } => {
            pyo3::exceptions::PyValueError::new_err(message)
        }
    };
    // Setting an attribute on a fresh exception cannot fail in practice; if it
    // did, the message still carries the fix.
    let _ = err.value(py).setattr("fix", fix);
    err
}

/// A monitor of named windows (see `hoeveel.Monitor`, which wraps it).
#[pyclass(module = "hoeveel._native")]
struct Monitor {
    inner: RwLock<Option<Inner>>,
}

impl Monitor {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Inner) -> Result<T, MonitorError>,
    ) -> PyResult<T> {
        let guard = self
            .inner
            .read()
            .map_err(|_| HoeveelError::new_err("the monitor's lock was poisoned"))?;
        let inner = guard
            .as_ref()
            .ok_or_else(|| HoeveelError::new_err("the monitor is closed"))?;
        f(inner).map_err(|e| py_error(py, e))
    }
}

#[pymethods]
impl Monitor {
    #[new]
    #[pyo3(signature = (
        sensors=None, sysfs_root="/sys".to_string(), nvml_library=None, total="package".to_string(),
        interval_s=hoeveel_measure::monitor::DEFAULT_INTERVAL_S, proc_root="/proc".to_string(),
        record=None, label=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        sensors: Option<Vec<String>>,
        sysfs_root: String,
        nvml_library: Option<String>,
        total: String,
        interval_s: f64,
        proc_root: String,
        record: Option<String>,
        label: Option<String>,
    ) -> PyResult<Monitor> {
        let total: TotalChoice = total
            .parse()
            .map_err(|e: DiscoverError| py_error(py, e.into()))?;
        let discover = DiscoverOptions::from_names(
            PathBuf::from(sysfs_root),
            sensors.as_deref(),
            nvml_library.map(PathBuf::from),
            total,
        )
        .map_err(|e| py_error(py, e.into()))?;
        let defaults = MonitorOptions::default();
        let options = MonitorOptions {
            discover,
            interval_s,
            proc_root: PathBuf::from(proc_root),
            record: record.map(PathBuf::from),
            label: label.unwrap_or(defaults.label),
        };
        let inner = py
            .detach(|| Inner::start(options))
            .map_err(|e| py_error(py, e))?;
        Ok(Monitor {
            inner: RwLock::new(Some(inner)),
        })
    }

    /// Begins the window `name`.
    fn begin(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.with(py, |m| m.begin(name))
    }

    /// Ends the window `name`; returns its result as a dict.
    fn end<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let result = self.with(py, |m| m.end(name))?;
        window_dict(py, &result)
    }

    /// Measures the idle power for `duration_s`, without holding the GIL.
    fn measure_baseline<'py>(
        &self,
        py: Python<'py>,
        duration_s: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let baseline = self.with(py, |m| py.detach(|| m.measure_baseline(duration_s)))?;
        baseline_dict(py, &baseline)
    }

    /// Every domain: id, kind, sensor, provenance, whether it is in the total and why.
    fn domains<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let domains = self.with(py, |m| Ok(m.layout().domains.clone()))?;
        let list = PyList::empty(py);
        for d in &domains {
            list.append(domain_dict(py, d)?)?;
        }
        Ok(list)
    }

    /// True when a domain in the total is modelled rather than measured.
    fn is_modelled(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |m| Ok(m.is_modelled()))
    }

    /// Sensors that were looked for and could not be used: (sensor, reason, fix).
    fn unavailable(&self, py: Python<'_>) -> PyResult<Vec<(String, String, Option<String>)>> {
        self.with(py, |m| {
            Ok(m.run_start()
                .unavailable
                .iter()
                .map(|u| (u.sensor.to_string(), u.reason.clone(), u.fix.clone()))
                .collect())
        })
    }

    fn open_windows(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.with(py, |m| Ok(m.open_windows()))
    }

    /// Stops the background readings and finishes the record. Closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .inner
            .write()
            .map_err(|_| HoeveelError::new_err("the monitor's lock was poisoned"))?
            .take();
        match taken {
            Some(inner) => py.detach(|| inner.close()).map_err(|e| py_error(py, e)),
            None => Ok(()),
        }
    }
}

fn window_dict<'py>(py: Python<'py>, w: &WindowResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &w.name)?;
    d.set_item("start_s", w.start_s)?;
    d.set_item("duration_s", w.duration_s)?;
    d.set_item("energy_j", w.energy_j.clone())?;
    d.set_item("total_j", w.total_j)?;
    d.set_item("net_j", w.net_j)?;
    d.set_item("provenance", w.provenance.map(|p| p.as_str()))?;
    d.set_item("wraps_corrected", w.wraps_corrected.clone())?;
    d.set_item("incomplete", w.incomplete.clone())?;
    d.set_item("undercounted", w.undercounted.clone())?;
    d.set_item("min_window_s", w.too_short.as_ref().map(|s| s.min_window_s))?;
    d.set_item("warnings", w.warnings.clone())?;
    Ok(d)
}

fn baseline_dict<'py>(py: Python<'py>, b: &Baseline) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("duration_s", b.duration_s)?;
    d.set_item("power_w", b.power_w.clone())?;
    d.set_item("total_power_w", b.total_power_w)?;
    d.set_item("total_power_sd_w", b.total_power_sd_w)?;
    d.set_item("other_cpu_share", b.other_cpu_share)?;
    Ok(d)
}

fn domain_dict<'py>(py: Python<'py>, info: &DomainInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &info.id)?;
    d.set_item("kind", info.kind.as_str())?;
    d.set_item("sensor", info.sensor.name())?;
    d.set_item("provenance", info.provenance.as_str())?;
    d.set_item("in_total", info.in_total)?;
    d.set_item("reason", &info.reason)?;
    Ok(d)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Monitor>()?;
    m.add("HoeveelError", py.get_type::<HoeveelError>())?;
    m.add("SensorError", py.get_type::<SensorError>())?;
    m.add("WindowError", py.get_type::<WindowError>())?;
    m.add("RecordError", py.get_type::<RecordError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
