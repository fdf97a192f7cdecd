//! The exporter's series, encoded by `prometheus-client` from one [`Published`]
//! snapshot, in the Prometheus text format (0.0.4) or OpenMetrics.
//!
//! Every series carries its units in its name and the provenance of its figure in
//! a label, so a dashboard can never show a modelled watt as a measured one.

use super::Published;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use std::sync::{Arc, RwLock};

/// The format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`, what `curl` and older scrapers get.
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0`, when the Accept header asks for it.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the Accept header names it, else the Prometheus text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::PrometheusText,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The registry of one exporter: a collector that reads the last publication.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub fn new(published: Arc<RwLock<Published>>) -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Snapshot { published }));
        Metrics { registry }
    }

    pub fn encode(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(4096);
        match format {
            Format::PrometheusText => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)?
            }
        }
        Ok(out)
    }
}

#[derive(Debug)]
struct Snapshot {
    published: Arc<RwLock<Published>>,
}

/// Labels of a domain's series.
fn domain_labels(d: &hoeveel_record::DomainInfo) -> [(&'static str, String); 5] {
    [
        ("domain", d.id.clone()),
        ("kind", d.kind.as_str().to_string()),
        ("sensor", d.sensor.name().to_string()),
        ("provenance", d.provenance.as_str().to_string()),
        ("in_total", d.in_total.to_string()),
    ]
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let p = self.published.read().map_err(|_| std::fmt::Error)?;
        let watts = Unit::Other("watts".to_string());

        let mut family = encoder.encode_descriptor(
            "hoeveel_energy",
            "Energy per domain since the exporter started, wraps corrected. Sum the in_total=\"true\" series for the machine's total without double counting",
            Some(&Unit::Joules),
            MetricType::Counter,
        )?;
        for (d, e) in p.domains.iter().zip(&p.energy_j) {
            ConstCounter::new(*e).encode(family.encode_family(&domain_labels(d))?)?;
        }

        let mut family = encoder.encode_descriptor(
            "hoeveel_power",
            "Mean power per domain over the last published interval",
            Some(&watts),
            MetricType::Gauge,
        )?;
        for (d, w) in p.domains.iter().zip(&p.power_w) {
            if let Some(w) = w {
                ConstGauge::new(*w).encode(family.encode_family(&domain_labels(d))?)?;
            }
        }

        if let Some(baseline) = &p.baseline_power_w {
            let mut family = encoder.encode_descriptor(
                "hoeveel_baseline_power",
                "Idle power per domain, measured when the exporter started (--baseline)",
                Some(&watts),
                MetricType::Gauge,
            )?;
            for d in &p.domains {
                if let Some(w) = baseline.get(&d.id) {
                    ConstGauge::new(*w).encode(family.encode_family(&domain_labels(d))?)?;
                }
            }
        }

        let mut family = encoder.encode_descriptor(
            "hoeveel_domain_up",
            "1 while the domain is read, 0 while it is not; reason: ok, read_error (its last read failed) or wrong_readings",
            None,
            MetricType::Gauge,
        )?;
        for (d, down) in p.domains.iter().zip(&p.down) {
            let reason = down.map_or("ok", |r| r.name());
            let labels = [
                ("domain", d.id.as_str()),
                ("sensor", d.sensor.name()),
                ("reason", reason),
            ];
            ConstGauge::new(i64::from(down.is_none())).encode(family.encode_family(&labels)?)?;
        }

        if let Some(site) = &p.site {
            let mut family = encoder.encode_descriptor(
                "hoeveel_site_pue",
                "The hosting site's PUE from the profiles (typical value)",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(site.pue)
                .encode(family.encode_family(&[("site", site.site.as_str())])?)?;
            let mut family = encoder.encode_descriptor(
                "hoeveel_site_grid_intensity_grams_per_kwh",
                "Carbon intensity of the site's grid from the profiles, gCO2e per kWh",
                None,
                MetricType::Gauge,
            )?;
            let labels = [("site", site.site.as_str()), ("grid", site.grid.as_str())];
            ConstGauge::new(site.grid_intensity_g_per_kwh)
                .encode(family.encode_family(&labels)?)?;
        }

        let family = encoder.encode_descriptor(
            "hoeveel_resolution",
            "How often the served counters are updated",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        ConstGauge::new(p.resolution_s).encode(family)?;

        let family = encoder.encode_descriptor(
            "hoeveel_exporter_cpu",
            "CPU time the exporter itself has used",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        ConstCounter::new(p.exporter_cpu_s).encode(family)?;

        if let Some(rss) = p.exporter_resident_bytes {
            let family = encoder.encode_descriptor(
                "hoeveel_exporter_resident_memory",
                "Resident memory of the exporter",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?;
            ConstGauge::new(rss as i64).encode(family)?;
        }

        let mut family = encoder.encode_descriptor(
            "hoeveel_build_info",
            "The exporter's version; always 1",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1)
            .encode(family.encode_family(&[("version", env!("CARGO_PKG_VERSION"))])?)?;
        Ok(())
    }
}
