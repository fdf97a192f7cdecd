//! Per-request figures of one record: the one place that turns repetitions into
//! values per request, and chooses the energy basis.
//!
//! A repetition may do several requests (short requests are batched); its energy,
//! time and tokens are divided by its `requests`. Only complete measured
//! repetitions count: status ok, no domain of the total missing, no counter reset
//! inside the window. The others are listed in [`PerRequest::left_out`], never
//! averaged in.
//!
//! The basis is chosen once per record and travels with every figure built on it:
//! net where the record has an idle baseline, gross otherwise. Asking for net on a
//! record without a baseline is an error that names the record, not a silent
//! fallback to gross. Comparisons choose one basis for every record with
//! [`common_basis`], so two sides are never on different bases under one label.

use crate::events::{Provenance, Repetition, RepetitionStatus, WorkloadKind};
use crate::reader::Record;
use crate::stats::Describe;
use serde::Serialize;

/// Which energy a figure uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyBasis {
    /// Gross minus idle baseline power × duration: what the request adds.
    Net,
    /// Everything the measured domains used during the request.
    Gross,
}

impl EnergyBasis {
    /// `net` or `gross`.
    pub fn name(self) -> &'static str {
        match self {
            EnergyBasis::Net => "net",
            EnergyBasis::Gross => "gross",
        }
    }

    /// What the basis means, for the line under a figure.
    pub fn as_str(self) -> &'static str {
        match self {
            EnergyBasis::Net => "net (gross minus idle baseline)",
            EnergyBasis::Gross => "gross (no idle baseline subtracted)",
        }
    }
}

impl std::fmt::Display for EnergyBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A basis that a record cannot give.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BasisError {
    #[error(
        "{record}: net energy needs an idle baseline, and this record has none (measured with --baseline 0, or stopped before the baseline ended). Use --gross, or measure again with a baseline"
    )]
    NoBaseline { record: String },
}

/// A measured repetition that is kept out of the per-request figures, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOut {
    pub index: u32,
    pub reason: String,
    /// Its gross energy per request, so it can be shown apart.
    pub gross_j: f64,
}

/// The per-request values of one record, one per complete measured repetition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerRequest {
    /// The record's file name.
    pub record: String,
    pub label: String,
    /// `command`, `llm`, `search`.
    pub kind: WorkloadKind,
    /// The weakest provenance of the domains in the total.
    pub provenance: Option<Provenance>,
    /// The basis of `energy_j` and `energy_per_output_token_j`.
    pub basis: EnergyBasis,
    /// Requests per repetition of the first complete repetition (the batch size).
    pub requests_per_repetition: u64,
    /// Indices of the repetitions the values come from.
    pub repetitions: Vec<u32>,
    /// Energy per request on `basis`.
    pub energy_j: Vec<f64>,
    pub gross_j: Vec<f64>,
    /// Empty when the record has no idle baseline.
    pub net_j: Vec<f64>,
    pub duration_s: Vec<f64>,
    pub prompt_tokens: Vec<f64>,
    pub output_tokens: Vec<f64>,
    /// Energy on `basis` over output tokens (repetitions that produced tokens).
    pub energy_per_output_token_j: Vec<f64>,
    pub time_to_first_token_s: Vec<f64>,
    pub tokens_per_s: Vec<f64>,
    /// Measured repetitions that completed but are incomplete or undercounted.
    pub left_out: Vec<LeftOut>,
    pub failed: usize,
    pub interrupted: usize,
}

/// Whether every complete repetition of `record` has a net figure.
pub fn has_baseline(record: &Record) -> bool {
    record.baseline.is_some() && record.measured_complete().all(|r| r.net_energy_j.is_some())
}

/// Whether `record` gives a net figure that is a measurement: it has a baseline,
/// and its net energy is resolved ([`crate::net::unresolved`]).
pub fn net_resolved(record: &Record) -> bool {
    has_baseline(record) && crate::net::unresolved(record).is_none()
}

/// One basis for several records: `requested` when every record can give it (an
/// error names the first that cannot), else net when all have a baseline and a
/// resolved net energy, else gross. The second value says why gross was chosen
/// when net was not asked for and one record lacks a baseline or a resolved net.
pub fn common_basis(
    records: &[&Record],
    requested: Option<EnergyBasis>,
) -> Result<(EnergyBasis, Option<String>), BasisError> {
    let without: Vec<String> = records
        .iter()
        .filter(|r| !has_baseline(r))
        .map(|r| r.name())
        .collect();
    match requested {
        Some(EnergyBasis::Net) => match without.first() {
            Some(name) => Err(BasisError::NoBaseline {
                record: name.clone(),
            }),
            None => Ok((EnergyBasis::Net, None)),
        },
        Some(EnergyBasis::Gross) => Ok((EnergyBasis::Gross, None)),
        None if without.is_empty() => {
            let unresolved: Vec<String> = records
                .iter()
                .filter(|r| crate::net::unresolved(r).is_some())
                .map(|r| r.name())
                .collect();
            if unresolved.is_empty() {
                Ok((EnergyBasis::Net, None))
            } else {
                Ok((
                    EnergyBasis::Gross,
                    Some(format!(
                        "gross for every record, since the net energy of {} is not resolved (see its warning)",
                        unresolved.join(", ")
                    )),
                ))
            }
        }
        None => Ok((
            EnergyBasis::Gross,
            (records.len() > without.len()).then(|| {
                format!(
                    "gross for every record, since {} has no idle baseline",
                    without.join(", ")
                )
            }),
        )),
    }
}

impl PerRequest {
    /// The figures on `requested`, or on the record's own basis (net where it has a
    /// baseline and its net is resolved, else gross) when `requested` is None.
    pub fn of(record: &Record, requested: Option<EnergyBasis>) -> Result<PerRequest, BasisError> {
        let (basis, _) = common_basis(&[record], requested)?;
        Ok(Self::on(record, basis))
    }

    /// The figures on the record's own basis.
    pub fn auto(record: &Record) -> PerRequest {
        let basis = if net_resolved(record) {
            EnergyBasis::Net
        } else {
            EnergyBasis::Gross
        };
        Self::on(record, basis)
    }

    fn on(record: &Record, basis: EnergyBasis) -> PerRequest {
        let mut p = PerRequest {
            record: record.name(),
            label: record.run_start.workload.label.clone(),
            kind: record.run_start.workload.kind,
            provenance: record.total_provenance(),
            basis,
            requests_per_repetition: 1,
            repetitions: Vec::new(),
            energy_j: Vec::new(),
            gross_j: Vec::new(),
            net_j: Vec::new(),
            duration_s: Vec::new(),
            prompt_tokens: Vec::new(),
            output_tokens: Vec::new(),
            energy_per_output_token_j: Vec::new(),
            time_to_first_token_s: Vec::new(),
            tokens_per_s: Vec::new(),
            left_out: Vec::new(),
            failed: 0,
            interrupted: 0,
        };
        for r in record.measured() {
            match r.status {
                RepetitionStatus::Failed => p.failed += 1,
                RepetitionStatus::Interrupted => p.interrupted += 1,
                RepetitionStatus::Ok if !r.is_complete() => p.left_out.push(LeftOut {
                    index: r.index,
                    reason: r.incompleteness(),
                    gross_j: r.total_energy_j / requests(r),
                }),
                RepetitionStatus::Ok => p.push(r),
            }
        }
        p
    }

    fn push(&mut self, r: &Repetition) {
        let n = requests(r);
        if self.repetitions.is_empty() {
            self.requests_per_repetition = r.requests.max(1);
        }
        self.repetitions.push(r.index);
        let energy = match self.basis {
            // `of` chose net only when every complete repetition has it.
            EnergyBasis::Net => r.net_energy_j.unwrap_or(f64::NAN),
            EnergyBasis::Gross => r.total_energy_j,
        };
        self.energy_j.push(energy / n);
        self.gross_j.push(r.total_energy_j / n);
        if let Some(net) = r.net_energy_j {
            self.net_j.push(net / n);
        }
        self.duration_s.push(r.duration_s / n);
        let m = &r.metrics;
        if let Some(t) = m.prompt_tokens {
            self.prompt_tokens.push(t as f64 / n);
        }
        if let Some(t) = m.output_tokens {
            self.output_tokens.push(t as f64 / n);
            if t > 0 {
                self.energy_per_output_token_j.push(energy / t as f64);
            }
        }
        self.time_to_first_token_s.extend(m.time_to_first_token_s);
        self.tokens_per_s.extend(m.tokens_per_s);
    }

    /// Statistics of the energy per request on [`PerRequest::basis`].
    pub fn stats(&self) -> Option<Describe> {
        self.describe(&self.energy_j)
    }

    /// Statistics of the energy per output token on [`PerRequest::basis`].
    pub fn per_token_stats(&self) -> Option<Describe> {
        self.describe(&self.energy_per_output_token_j)
    }

    /// Statistics of energies on this basis: a gross energy cannot be
    /// negative ([`Describe::of_positive`]), a net one can.
    pub fn describe(&self, values: &[f64]) -> Option<Describe> {
        match self.basis {
            EnergyBasis::Gross => Describe::of_positive(values),
            EnergyBasis::Net => Describe::of(values),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.energy_j.is_empty()
    }

    pub fn modelled(&self) -> bool {
        self.provenance == Some(Provenance::Modelled)
    }

    /// `counter`, `integrated`, `modelled`, or `unknown`.
    pub fn provenance_label(&self) -> &'static str {
        self.provenance.map(|p| p.as_str()).unwrap_or("unknown")
    }
}

fn requests(r: &Repetition) -> f64 {
    r.requests.max(1) as f64
}

impl Repetition {
    /// No domain of the total missing and no counter reset inside the window.
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty() && self.undercounted.is_empty()
    }

    /// Why the repetition is not complete, in words; empty when it is.
    pub fn incompleteness(&self) -> String {
        let mut parts = Vec::new();
        if !self.incomplete.is_empty() {
            parts.push(format!(
                "incomplete: {} not measured (sensor lost)",
                self.incomplete.join(", ")
            ));
        }
        if !self.undercounted.is_empty() {
            parts.push(format!(
                "undercounted: {} counter reset inside the window",
                self.undercounted.join(", ")
            ));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{record_with, repetition};

    #[test]
    fn net_is_chosen_where_a_baseline_exists_and_travels_with_the_figures() {
        let with = record_with(true, vec![repetition(0, 10.0), repetition(1, 14.0)]);
        let p = PerRequest::auto(&with);
        assert_eq!(p.basis, EnergyBasis::Net);
        assert_eq!(p.energy_j, vec![8.0, 12.0]);
        assert_eq!(p.gross_j, vec![10.0, 14.0]);
        let without = record_with(false, vec![repetition(0, 10.0), repetition(1, 14.0)]);
        let p = PerRequest::auto(&without);
        assert_eq!(p.basis, EnergyBasis::Gross);
        assert_eq!(p.energy_j, vec![10.0, 14.0]);
        assert!(p.net_j.is_empty());
    }

    #[test]
    fn net_without_a_baseline_is_an_error_that_names_the_record() {
        let without = record_with(false, vec![repetition(0, 10.0)]);
        let err = PerRequest::of(&without, Some(EnergyBasis::Net)).expect_err("no baseline");
        assert!(
            err.to_string()
                .starts_with("test.jsonl: net energy needs an idle baseline")
        );
        assert!(PerRequest::of(&without, Some(EnergyBasis::Gross)).is_ok());
    }

    #[test]
    fn a_comparison_never_mixes_bases() {
        let with = record_with(true, vec![repetition(0, 10.0)]);
        let mut without = record_with(false, vec![repetition(0, 1.0)]);
        without.path = Some("search.jsonl".into());
        let (basis, why) = common_basis(&[&with, &without], None).expect("a basis");
        assert_eq!(basis, EnergyBasis::Gross);
        assert!(
            why.expect("a reason")
                .contains("search.jsonl has no idle baseline")
        );
        let err = common_basis(&[&with, &without], Some(EnergyBasis::Net)).expect_err("refused");
        assert!(err.to_string().starts_with("search.jsonl:"), "{err}");
        assert_eq!(
            common_basis(&[&with, &with], None).expect("net"),
            (EnergyBasis::Net, None)
        );
    }

    #[test]
    fn incomplete_and_undercounted_repetitions_are_left_out_and_listed() {
        let mut lost = repetition(1, 3.0);
        lost.incomplete = vec!["gpu-0".into()];
        let mut reset = repetition(2, 5.0);
        reset.undercounted = vec!["package-0".into()];
        let mut failed = repetition(3, 9.0);
        failed.status = RepetitionStatus::Failed;
        let mut stopped = repetition(4, 9.0);
        stopped.status = RepetitionStatus::Interrupted;
        let record = record_with(
            true,
            vec![repetition(0, 10.0), lost, reset, failed, stopped],
        );
        let p = PerRequest::auto(&record);
        assert_eq!(p.repetitions, vec![0]);
        assert_eq!(p.energy_j, vec![8.0]);
        assert_eq!(p.left_out.len(), 2);
        assert!(p.left_out[0].reason.contains("incomplete: gpu-0"));
        assert!(p.left_out[1].reason.contains("undercounted: package-0"));
        assert_eq!((p.failed, p.interrupted), (1, 1));
    }
}
