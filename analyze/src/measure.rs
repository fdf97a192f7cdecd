//! Per-request values of one record: what the statistics and the cases work on.
//!
//! A repetition may do several requests (short requests are batched); its energy
//! and tokens are divided by its `requests`, as the run summary does.

use crate::stats::Describe;
use hoeveel_record::{Provenance, Record};
use serde::Serialize;

/// Which energy a CO2e figure uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyBasis {
    /// Gross minus idle baseline power x duration: what the request adds.
    Net,
    /// Everything the measured domains used during the request.
    Gross,
}

impl EnergyBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            EnergyBasis::Net => "net (gross minus idle baseline)",
            EnergyBasis::Gross => "gross",
        }
    }
}

/// The measured requests of one record.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub name: String,
    pub label: String,
    /// `command`, `llm`, `search`.
    pub kind: String,
    pub provenance: Option<Provenance>,
    pub gross_j: Vec<f64>,
    pub net_j: Vec<f64>,
    pub output_tokens: Vec<f64>,
    /// Energy per output token, per repetition (repetitions with tokens only).
    pub gross_per_token_j: Vec<f64>,
    pub net_per_token_j: Vec<f64>,
    pub requests_per_repetition: u64,
}

impl Measurement {
    pub fn of(record: &Record) -> Measurement {
        let mut m = Measurement {
            name: record.name(),
            label: record.run_start.workload.label.clone(),
            kind: record.run_start.workload.kind.clone(),
            provenance: record.total_provenance(),
            gross_j: Vec::new(),
            net_j: Vec::new(),
            output_tokens: Vec::new(),
            gross_per_token_j: Vec::new(),
            net_per_token_j: Vec::new(),
            requests_per_repetition: 1,
        };
        for (i, r) in record.measured_ok().enumerate() {
            let n = r.requests.max(1) as f64;
            if i == 0 {
                m.requests_per_repetition = r.requests.max(1);
            }
            m.gross_j.push(r.total_energy_j / n);
            if let Some(net) = r.net_energy_j {
                m.net_j.push(net / n);
            }
            if let Some(t) = r.metrics.output_tokens {
                m.output_tokens.push(t as f64 / n);
                if t > 0 {
                    m.gross_per_token_j.push(r.total_energy_j / t as f64);
                    if let Some(net) = r.net_energy_j {
                        m.net_per_token_j.push(net / t as f64);
                    }
                }
            }
        }
        m
    }

    /// The net energy when every repetition has one (a baseline was measured), else gross.
    pub fn default_basis(&self) -> EnergyBasis {
        if !self.net_j.is_empty() && self.net_j.len() == self.gross_j.len() {
            EnergyBasis::Net
        } else {
            EnergyBasis::Gross
        }
    }

    pub fn energy_j(&self, basis: EnergyBasis) -> &[f64] {
        match basis {
            EnergyBasis::Net if !self.net_j.is_empty() => &self.net_j,
            _ => &self.gross_j,
        }
    }

    pub fn per_token_j(&self, basis: EnergyBasis) -> &[f64] {
        match basis {
            EnergyBasis::Net if !self.net_per_token_j.is_empty() => &self.net_per_token_j,
            _ => &self.gross_per_token_j,
        }
    }

    pub fn describe(&self, basis: EnergyBasis) -> Option<Describe> {
        Describe::of(self.energy_j(basis))
    }

    pub fn modelled(&self) -> bool {
        self.provenance == Some(Provenance::Modelled)
    }

    /// Label shown next to a figure: `counter`, `modelled`...
    pub fn provenance_label(&self) -> &'static str {
        self.provenance.map(|p| p.as_str()).unwrap_or("unknown")
    }
}
