//! A request's parts apart (an AI search's retrieval and generation): energy per
//! request of each part and its share of the request, from the repetitions that
//! recorded parts.
//!
//! Each part's energy is on the record's basis (net where the record has an idle
//! baseline, else gross), over the same complete measured repetitions as the
//! request's figures. A part's net is its gross minus the baseline power over its
//! own duration, so the parts' means add up to the request's mean and the shares
//! to 100 % (up to rounding).

use crate::events::{PartName, RepetitionStatus};
use crate::per_request::EnergyBasis;
use crate::reader::Record;
use crate::stats::Describe;

/// The smallest request energy, relative to its gross, that shares are given of.
const SHARE_FLOOR: f64 = 1e-6;

/// One part's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct PartFigure {
    pub name: PartName,
    /// Energy per request on `basis`.
    pub energy_j: Describe,
    /// The part's mean over the request's mean, 0 to 1; `None` where that is not
    /// a share (the request's mean at or below zero, or a part outside it).
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartsSplit {
    pub basis: EnergyBasis,
    /// In the order the request runs them.
    pub parts: Vec<PartFigure>,
}

impl PartsSplit {
    /// The split of the record's requests on `basis`; `None` when no complete
    /// measured repetition recorded parts.
    pub fn of(record: &Record, basis: EnergyBasis) -> Option<PartsSplit> {
        let reps: Vec<_> = record
            .measured()
            .filter(|r| r.status == RepetitionStatus::Ok && r.is_complete() && !r.parts.is_empty())
            .collect();
        let energy = |gross: f64, net: Option<f64>| match basis {
            EnergyBasis::Net => net,
            EnergyBasis::Gross => Some(gross),
        };
        let request: Vec<f64> = reps
            .iter()
            .filter_map(|r| energy(r.total_energy_j, r.net_energy_j).map(|e| e / r_requests(r)))
            .collect();
        let request_mean = Describe::of(&request)?.mean;
        let gross: Vec<f64> = reps
            .iter()
            .map(|r| r.total_energy_j / r_requests(r))
            .collect();
        let gross_mean = Describe::of(&gross).map_or(0.0, |d| d.mean);
        // A net request at or near zero (a machine as busy as during its baseline,
        // a saturated power model) has no meaningful shares: rounding noise would
        // be printed as a percentage.
        let shares = request_mean > SHARE_FLOOR * gross_mean.abs();
        let mut names: Vec<PartName> = Vec::new();
        for p in reps.iter().flat_map(|r| &r.parts) {
            if !names.contains(&p.name) {
                names.push(p.name);
            }
        }
        let parts = names
            .into_iter()
            .filter_map(|name| {
                let values: Vec<f64> = reps
                    .iter()
                    .flat_map(|r| {
                        r.parts
                            .iter()
                            .filter(move |p| p.name == name)
                            .filter_map(|p| energy(p.total_energy_j, p.net_energy_j))
                            .map(move |e| e / r_requests(r))
                    })
                    .collect();
                let energy_j = Describe::of(&values)?;
                // A share is stated only where it means one: the request used
                // energy and the part a part of it (net figures near zero, on a
                // busy machine say, give shares of 200% or below 0).
                let share = energy_j.mean / request_mean;
                let share = (shares && (0.0..=1.0 + 1e-9).contains(&share)).then_some(share);
                Some(PartFigure {
                    name,
                    energy_j,
                    share,
                })
            })
            .collect();
        Some(PartsSplit { basis, parts })
    }
}

fn r_requests(r: &crate::events::Repetition) -> f64 {
    r.requests.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Metrics, Part};
    use crate::testdata::{record_with, repetition};

    fn part(name: PartName, gross_j: f64, duration_s: f64) -> Part {
        Part {
            name,
            start_s: 0.0,
            duration_s,
            energy_j: [("cpu-model".to_string(), gross_j)].into(),
            total_energy_j: gross_j,
            // The test record's baseline is 1 W.
            net_energy_j: Some(gross_j - duration_s),
            incomplete: Vec::new(),
            too_short: None,
            metrics: Metrics::default(),
        }
    }

    fn ai_search(index: u32, retrieval_j: f64, generation_j: f64) -> crate::events::Repetition {
        // 2 s in all: 0.5 s of retrieval, 1.5 s of generation.
        let mut r = repetition(index, retrieval_j + generation_j);
        r.parts = vec![
            part(PartName::Retrieval, retrieval_j, 0.5),
            part(PartName::Generation, generation_j, 1.5),
        ];
        r
    }

    #[test]
    fn shares_of_the_request_on_its_basis() {
        let record = record_with(true, vec![ai_search(0, 1.0, 9.0), ai_search(1, 1.0, 13.0)]);
        let net = PartsSplit::of(&record, EnergyBasis::Net).expect("parts");
        assert_eq!(net.parts.len(), 2);
        let (r, g) = (&net.parts[0], &net.parts[1]);
        assert_eq!(r.name, PartName::Retrieval);
        // Net: retrieval 1 − 0.5 = 0.5 J; generation 9 − 1.5 and 13 − 1.5, mean 9.5 J;
        // the request's net mean is 10 J.
        assert!((r.energy_j.mean - 0.5).abs() < 1e-12);
        assert!((g.energy_j.mean - 9.5).abs() < 1e-12);
        assert!((r.share.expect("share") - 0.05).abs() < 1e-12);
        assert!((r.share.unwrap_or(0.0) + g.share.unwrap_or(0.0) - 1.0).abs() < 1e-12);

        let gross = PartsSplit::of(&record, EnergyBasis::Gross).expect("parts");
        assert!((gross.parts[0].share.expect("share") - 1.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn the_summary_prints_each_part_with_its_share_and_provenance() {
        let record = record_with(true, vec![ai_search(0, 1.0, 9.0), ai_search(1, 1.0, 13.0)]);
        let text = crate::summary::Summary::of(&record).render_text();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("per request, "))
            .map(str::trim)
            .collect();
        assert_eq!(
            lines,
            [
                "Retrieval:      500.000 mJ net per request, 5.0% of the request  [modelled]",
                "Generation:     9.500 J net per request, 95.0% of the request  [modelled]",
            ],
            "{text}"
        );
    }

    #[test]
    fn a_request_of_no_net_energy_has_no_shares() {
        // Net: retrieval 1 − 0.5 J, generation 0.5 − 1.5 J; the request 1.5 − 2 J, below zero.
        let record = record_with(true, vec![ai_search(0, 1.0, 0.5)]);
        let net = PartsSplit::of(&record, EnergyBasis::Net).expect("parts");
        assert!(net.parts.iter().all(|p| p.share.is_none()), "{net:?}");
        // The summary does not print such a net figure: it says why, and its
        // figures, the parts' shares with them, are gross.
        let text = crate::summary::Summary::of(&record).render_text();
        assert!(text.contains("Energy, net:    not resolved"), "{text}");
        assert!(!text.contains("net per request,"), "{text}");
        assert!(text.contains("gross per request, "), "{text}");
    }

    #[test]
    fn a_record_without_parts_has_no_split() {
        let record = record_with(true, vec![repetition(0, 3.0)]);
        assert_eq!(PartsSplit::of(&record, EnergyBasis::Net), None);
    }
}
