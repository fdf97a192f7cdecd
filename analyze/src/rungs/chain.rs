//! Case 1's distance, explained: why a measured *AI search / search* ratio on this
//! machine differs from De Vries' 23–30x, as a short chain of factors that
//! multiply exactly to the distance.
//!
//! distance = published ratio / measured ratio
//!          = basis × rungs × model size × rest of the LLM side
//!            ÷ (corpus size × rest of the search side)
//!
//! - *basis*: the measured ratio may be on net energy; published figures count all
//!   the power drawn, so both sides are taken gross first;
//! - *rungs*: De Vries' AI search is a node-rung estimate (servers at rated power)
//!   and Google's search a provisioned-rung one (the whole fleet), so our AI search
//!   is lifted to `node` and our search to `provisioned` ([`super::ladder`]);
//! - *model size* and *corpus size*: measured power laws (energy per output token
//!   against parameters, search energy against documents) carried from what was
//!   measured to an assumed published scale, flagged *extrapolated*;
//! - *the rest*: what is left on each side once the above are applied (hardware,
//!   batching, answer length, a web index's architecture): a number, not an
//!   explanation, and labelled so.

use super::ladder::Lifted;
use super::scaling::Scaled;
use serde::Serialize;

/// One factor of the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub what: String,
    /// What the distance is multiplied by (a search-side factor enters inverted).
    pub multiplier: f64,
    /// Its interval, where the factor has one.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Sources and assumptions, in one line.
    pub grounds: String,
    /// Used outside the range it was measured on.
    pub extrapolated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub measured_ratio: f64,
    pub published_ratio: f64,
    /// published / measured.
    pub distance: f64,
    pub links: Vec<Link>,
}

impl Chain {
    /// The product of the links' multipliers; equals `distance` by construction.
    pub fn product(&self) -> f64 {
        self.links.iter().map(|l| l.multiplier).product()
    }
}

/// One side's measurement: mean energy per request on the ratio's basis and
/// gross, J, and its lift to the published figure's rung.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    pub basis_j: f64,
    pub gross_j: f64,
    pub lifted: &'a Lifted,
}

/// A measured scale factor and what it assumes of the published side.
#[derive(Debug, Clone)]
pub struct ScaleLink {
    pub scaled: Scaled,
    /// "SmolLM2-135M (135 M) to 175 B parameters".
    pub what: String,
    pub grounds: String,
}

/// Inputs of the chain. Published energies are per request, J, on the rungs the
/// sides were lifted to.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub ai: Side<'a>,
    pub search: Side<'a>,
    pub published_ai_j: f64,
    pub published_search_j: f64,
    pub model: Option<ScaleLink>,
    pub corpus: Option<ScaleLink>,
}

/// Builds the chain. Every multiplier is finite when the energies are positive.
pub fn explain(i: &Inputs<'_>) -> Chain {
    let measured_ratio = i.ai.basis_j / i.search.basis_j;
    let published_ratio = i.published_ai_j / i.published_search_j;
    let mut links = Vec::new();
    let basis = (i.ai.gross_j / i.ai.basis_j) / (i.search.gross_j / i.search.basis_j);
    if (basis - 1.0).abs() > 1e-12 {
        links.push(Link {
            what: "both sides gross: published figures count idle power too".into(),
            multiplier: basis,
            low: None,
            high: None,
            grounds: "measured (gross and net of the same repetitions)".into(),
            extrapolated: false,
        });
    }
    let rung_line = |side: &str, l: &Lifted| {
        format!(
            "{side}: {} → {} ({} step(s))",
            l.from,
            l.rung,
            l.steps.len()
        )
    };
    let (la, ls) = (i.ai.lifted.factor(), i.search.lifted.factor());
    links.push(Link {
        what: rung_line("rungs, our AI search", i.ai.lifted),
        multiplier: la,
        low: Some(i.ai.lifted.energy_j.low / i.ai.gross_j),
        high: Some(i.ai.lifted.energy_j.high / i.ai.gross_j),
        grounds: "the ladder's steps, listed above".into(),
        extrapolated: false,
    });
    links.push(Link {
        what: rung_line("rungs, our search (÷)", i.search.lifted),
        multiplier: 1.0 / ls,
        low: Some(i.search.gross_j / i.search.lifted.energy_j.high),
        high: Some(i.search.gross_j / i.search.lifted.energy_j.low),
        grounds: "the ladder's steps, listed above".into(),
        extrapolated: false,
    });
    let ai_lifted = i.ai.gross_j * la;
    let search_lifted = i.search.gross_j * ls;
    let mut rest_ai = i.published_ai_j / ai_lifted;
    let mut rest_search = i.published_search_j / search_lifted;
    if let Some(m) = &i.model {
        links.push(scale_link(m, false));
        rest_ai /= m.scaled.factor;
    }
    if let Some(c) = &i.corpus {
        links.push(scale_link(c, true));
        rest_search /= c.scaled.factor;
    }
    links.push(Link {
        what: "the rest of the LLM side: hardware, batching, answer length, utilisation".into(),
        multiplier: rest_ai,
        low: None,
        high: None,
        grounds: if i.model.is_some() {
            "what remains after the factors above; not explained".into()
        } else {
            "what remains; model size not measured (one model), so it is in here".into()
        },
        extrapolated: false,
    });
    links.push(Link {
        what: "the rest of the search side (÷): index architecture, replication, crawling".into(),
        multiplier: 1.0 / rest_search,
        low: None,
        high: None,
        grounds: if i.corpus.is_some() {
            "what remains after the factors above; not explained".into()
        } else {
            "what remains; corpus size not measured (one size), so it is in here".into()
        },
        extrapolated: false,
    });
    Chain {
        measured_ratio,
        published_ratio,
        distance: published_ratio / measured_ratio,
        links,
    }
}

fn scale_link(s: &ScaleLink, inverted: bool) -> Link {
    let f = s.scaled;
    let (m, lo, hi) = if inverted {
        (1.0 / f.factor, 1.0 / f.factor_high, 1.0 / f.factor_low)
    } else {
        (f.factor, f.factor_low, f.factor_high)
    };
    Link {
        what: if inverted {
            format!("{} (÷)", s.what)
        } else {
            s.what.clone()
        },
        multiplier: m,
        low: Some(lo),
        high: Some(hi),
        grounds: s.grounds.clone(),
        extrapolated: f.extrapolated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rungs::ladder::{Measured, lift};
    use crate::stats::Interval;
    use hoeveel_record::{MeasuredParts, Rung};

    fn measured(j: f64, duration_s: f64) -> Measured {
        Measured {
            energy_j: Interval::point(j),
            duration_s,
            parts: MeasuredParts {
                cpu: true,
                ..MeasuredParts::default()
            },
            memory_bytes: 8_000_000_000,
            unmeasured_gpu: false,
        }
    }

    /// Synthetic records with known energies: an AI search of 20 J gross (15 J
    /// net) and a search of 50 µJ gross (40 µJ net).
    #[test]
    fn the_chain_multiplies_exactly_to_the_distance() {
        let ai = lift(&measured(20.0, 1.0), Rung::Node, None).expect("node");
        let search = lift(&measured(50e-6, 1e-5), Rung::Provisioned, None).expect("prov");
        let scaled = |factor: f64| Scaled {
            factor,
            factor_low: factor / 2.0,
            factor_high: factor * 2.0,
            extrapolated: true,
        };
        for (model, corpus) in [
            (None, None),
            (
                Some(ScaleLink {
                    scaled: scaled(300.0),
                    what: "model".into(),
                    grounds: "test".into(),
                }),
                Some(ScaleLink {
                    scaled: scaled(1e6),
                    what: "corpus".into(),
                    grounds: "test".into(),
                }),
            ),
        ] {
            let inputs = Inputs {
                ai: Side {
                    basis_j: 15.0,
                    gross_j: 20.0,
                    lifted: &ai,
                },
                search: Side {
                    basis_j: 40e-6,
                    gross_j: 50e-6,
                    lifted: &search,
                },
                published_ai_j: 7.9 * 3600.0,
                published_search_j: 0.3 * 3600.0,
                model,
                corpus,
            };
            let c = explain(&inputs);
            assert!((c.measured_ratio - 375_000.0).abs() < 1e-6);
            assert!((c.published_ratio - 7.9 / 0.3).abs() < 1e-12);
            let rel = (c.product() - c.distance).abs() / c.distance;
            assert!(
                rel < 1e-12,
                "product {} distance {}",
                c.product(),
                c.distance
            );
            // Net -> gross: (20/15) / (50/40).
            assert!((c.links[0].multiplier - (20.0 / 15.0) / 1.25).abs() < 1e-12);
        }
    }
}
