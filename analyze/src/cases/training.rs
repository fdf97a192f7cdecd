//! Case 4, "Llama 2 or Llama 3.1?": training emissions from the model cards,
//! recomputed, compared, and amortised over requests.
//!
//! Recomputed t CO2e = Σ GPU-hours x TDP (kW) x PUE x grid (g/kWh) / 10^6, using the
//! card's rows (Llama 2's unreleased 34B ran at 350 W, the rest at 400 W). The
//! cards do not give PUE or grid intensity; the implied factor t / (GPU-hours x TDP)
//! shows what they used (PUE and grid together).

use crate::output::{Cell, Column, Section, Table, fmt_num};
use crate::plot::{Bar, BarChart, Chart};
use crate::profiles::{GridChoice, GridDataset, ModelEntry, ProfileSet};
use crate::stats::Interval;
use serde::Serialize;

/// The workshop's answer to case 4 (slides: 539 t vs 11,390 t).
pub const WORKSHOP_LLAMA2_T: f64 = 539.0;
pub const WORKSHOP_LLAMA31_T: f64 = 11_390.0;

/// PUE and grid used for the recomputation.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingSite {
    pub pue: Interval,
    pub pue_source: String,
    pub grid_g_per_kwh: f64,
    pub grid_id: String,
    /// The dataset chosen for the run's CO2e figures.
    pub grid_dataset: GridDataset,
    /// The chosen dataset has no entry for the zone: the default dataset's stands in.
    pub grid_fallback: bool,
}

/// The grid zone of the recomputation when none is given: Meta's training
/// clusters are in the US.
pub const DEFAULT_ZONE: &str = "US";

impl TrainingSite {
    /// Meta publishes neither in the cards: by default the US grid and Meta's own
    /// fleet PUE (1.08) within a range from the best hyperscale site published
    /// (AWS, 1.04) to the industry average (Uptime Institute 2023, 1.58).
    pub fn default_for(p: &ProfileSet, grid: &GridDataset) -> Option<TrainingSite> {
        TrainingSite::on_grid(p, DEFAULT_ZONE, grid)
    }

    /// `zone` (or a grid entry id) looked up in `grid`, with the default PUE range.
    pub fn on_grid(p: &ProfileSet, zone: &str, grid: &GridDataset) -> Option<TrainingSite> {
        let lookup = p.grid_lookup(zone, GridChoice::In(grid))?;
        Some(TrainingSite {
            pue: Interval::new(1.04, Some(1.08), 1.58),
            pue_source: "not in the cards: Meta's own fleet PUE, about 1.08 (data year 2023, as reported; SOURCES.md#meta-sustainability), within a range from the best published hyperscale site (AWS 1.04, 2024) to the industry average (Uptime 1.58, 2023)".into(),
            grid_g_per_kwh: lookup.entry.value,
            grid_id: lookup.entry.id.clone(),
            grid_dataset: grid.clone(),
            grid_fallback: lookup.fallback,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingResult {
    pub id: String,
    pub name: String,
    pub gpu_hours: f64,
    /// GPU-hours x TDP, summed over the card's rows.
    pub gpu_energy_kwh: f64,
    /// The card's training total: location-based where the card also gives a
    /// market-based figure, else its one pretraining total (Llama 2, Llama 3).
    pub card_location_t: f64,
    /// What `card_location_t` is, as the card gives it.
    pub card_basis: CardBasis,
    pub card_market_t: Option<f64>,
    /// What the card says of offsets, where it gives no market-based figure.
    /// Offsets are not market-based Scope 2 (the GHG Protocol's Scope 2 Guidance
    /// counts contractual instruments for electricity, not offsets bought
    /// elsewhere), so they are kept apart from the market-based column.
    pub card_offsets: Option<String>,
    /// Card t x 10^6 / GPU energy: the PUE x grid the card implies.
    pub implied_g_per_kwh: f64,
    pub recomputed_t: Interval,
    pub inconsistent: bool,
}

/// How a card states its training total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardBasis {
    /// Location-based, next to a market-based figure (Llama 3.1 and later).
    LocationBased,
    /// One pretraining total with no location/market split (Llama 2, Llama 3).
    PretrainingTotal,
}

impl CardBasis {
    pub fn of(m: &ModelEntry) -> CardBasis {
        if m.market_tco2e.is_some() {
            CardBasis::LocationBased
        } else {
            CardBasis::PretrainingTotal
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CardBasis::LocationBased => "location-based",
            CardBasis::PretrainingTotal => "pretraining total (no location/market split)",
        }
    }
}

impl TrainingResult {
    /// The model's name, flagged where its card contradicts itself, in every
    /// table that prints its figure.
    pub fn display_name(&self) -> String {
        if self.inconsistent {
            format!("{} (card inconsistent)", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// GPU energy at TDP in kWh: the variants' rows when the card has them and they
/// cover its total, else total GPU-hours x the card's TDP.
pub fn gpu_energy_kwh(m: &ModelEntry) -> f64 {
    let rows: f64 = m.variants.iter().map(|v| v.gpu_hours).sum();
    if !m.variants.is_empty() && (rows - m.gpu_hours).abs() <= 0.01 * m.gpu_hours {
        m.variants
            .iter()
            .map(|v| v.gpu_hours * v.tdp_w / 1000.0)
            .sum()
    } else {
        m.gpu_hours * m.tdp_w / 1000.0
    }
}

pub fn recompute(m: &ModelEntry, site: &TrainingSite) -> TrainingResult {
    let kwh = gpu_energy_kwh(m);
    TrainingResult {
        id: m.id.clone(),
        name: m.name.clone(),
        gpu_hours: m.gpu_hours,
        gpu_energy_kwh: kwh,
        card_location_t: m.location_tco2e,
        card_basis: CardBasis::of(m),
        card_market_t: m.market_tco2e,
        card_offsets: m
            .market_tco2e
            .is_none()
            .then(|| m.market_note.clone())
            .flatten(),
        implied_g_per_kwh: m.location_tco2e * 1e6 / kwh,
        recomputed_t: site.pue.scale(kwh * site.grid_g_per_kwh / 1e6),
        inconsistent: m.inconsistent,
    }
}

/// Requests after which inference emissions equal training emissions.
pub fn break_even_requests(training_t: f64, inference_g_per_request: f64) -> f64 {
    training_t * 1e6 / inference_g_per_request
}

/// Training emissions per request when spread over `requests`.
pub fn amortised_g_per_request(training_t: f64, requests: f64) -> f64 {
    training_t * 1e6 / requests
}

/// Inference per request for the break-even: the measured one, or a reference.
pub struct Inference {
    pub g_per_request: Interval,
    pub label: String,
}

pub fn section(
    p: &ProfileSet,
    ids: &[String],
    site: &TrainingSite,
    requests: &[f64],
    inference: Option<&Inference>,
) -> anyhow::Result<Section> {
    let mut s = Section::new(
        "training",
        "Case 4: Llama 2 or Llama 3.1? Training emissions",
    );
    let mut results = Vec::new();
    for id in ids {
        let m = p.model(id).ok_or_else(|| {
            anyhow::anyhow!(
                "no model card `{id}` in the profiles; known: {}",
                p.models
                    .iter()
                    .map(|(m, _)| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        results.push(recompute(m, site));
    }
    let mut t = Table::new(
        "cards",
        vec![
            Column::new("model", None),
            Column::new("GPU-hours", None),
            Column::new("GPU energy at TDP", Some("MWh")),
            Column::new("card", Some("tCO2eq")),
            Column::new("card's figure is", None),
            Column::new("card, market-based", Some("tCO2eq")),
            Column::new("offsets (not Scope 2)", None),
            Column::new("implied PUE x grid", Some("g/kWh")),
            Column::new("recomputed", Some("tCO2eq")),
            Column::new("card within recomputed range", None),
        ],
    )
    .caption(format!(
        "Recomputed = GPU-hours x TDP x PUE {} x grid {} g/kWh ({})",
        Cell::interval(site.pue, 2).display(),
        fmt_num(site.grid_g_per_kwh, 2),
        site.grid_id
    ));
    for r in &results {
        t.row(vec![
            Cell::text(r.display_name()),
            Cell::num(r.gpu_hours, 0),
            Cell::num(r.gpu_energy_kwh / 1000.0, 1),
            Cell::num(r.card_location_t, 2),
            Cell::text(r.card_basis.label()),
            r.card_market_t
                .map_or_else(|| Cell::text("not given"), |m| Cell::num(m, 0)),
            r.card_offsets.as_deref().map_or(Cell::Empty, Cell::text),
            Cell::num(r.implied_g_per_kwh, 1),
            Cell::interval(r.recomputed_t, 0),
            Cell::text(
                if r.card_location_t >= r.recomputed_t.low
                    && r.card_location_t <= r.recomputed_t.high
                {
                    "yes"
                } else {
                    "no"
                },
            ),
        ]);
    }
    s.tables.push(t);
    s.notes.push("Card figures: Llama 3.1 and later give a location-based total next to a market-based one; Llama 2 and Llama 3 give one pretraining total with no such split, '100% of which were offset'. Offsets are not market-based Scope 2 (GHG Protocol Scope 2 Guidance: contractual instruments for the electricity used), so they stand in a column of their own and no market-based figure is shown for those cards.".into());
    s.notes.push(format!("PUE: {}.", site.pue_source));
    let fallbacks: Vec<(String, String)> = site
        .grid_fallback
        .then(|| ("the recomputation's zone".to_string(), site.grid_id.clone()))
        .into_iter()
        .collect();
    s.notes
        .extend(super::sites::grid_notes(&site.grid_dataset, &fallbacks));
    for id in ids {
        if let Some((m, n)) = p
            .model(id)
            .and_then(|m| m.meta.note.as_ref().map(|n| (m, n)))
        {
            s.notes.push(format!("{}: {n}", m.id));
        }
    }

    // The workshop's question: Llama 3.1 over Llama 2.
    let l2 = results.iter().find(|r| r.id == "llama-2");
    let l31 = results.iter().find(|r| r.id == "llama-3.1");
    if let (Some(a), Some(b)) = (l2, l31) {
        let ratio = b.card_location_t / a.card_location_t;
        let mut c = super::answer_check_table();
        c.row(vec![
            Cell::text("Llama 2, card"),
            Cell::text(format!("{} t", fmt_num(a.card_location_t, 0))),
            Cell::text("539 t"),
            Cell::num(a.card_location_t - WORKSHOP_LLAMA2_T, 0),
            Cell::text("Llama 2 MODEL_CARD.md"),
        ]);
        c.row(vec![
            Cell::text("Llama 3.1, card"),
            Cell::text(format!("{} t", fmt_num(b.card_location_t, 0))),
            Cell::text("11,390 t"),
            Cell::num(b.card_location_t - WORKSHOP_LLAMA31_T, 0),
            Cell::text("llama3_1/MODEL_CARD.md"),
        ]);
        c.row(vec![
            Cell::text("Llama 3.1 / Llama 2"),
            Cell::text(format!("{}x", fmt_num(ratio, 1))),
            Cell::text(
                "'ongeveer dubbel' (about double) on the slide; the slide's own figures give 21.1x",
            ),
            Cell::text(format!("{}x vs 2x", fmt_num(ratio, 1))),
            Cell::text("11,390 / 539 (D)"),
        ]);
        c.row(vec![
            Cell::text("Llama 3.1 / Llama 2, recomputed"),
            Cell::text(format!(
                "{}x (GPU energy ratio)",
                fmt_num(b.gpu_energy_kwh / a.gpu_energy_kwh, 1)
            )),
            Cell::Empty,
            Cell::Empty,
            Cell::text("same PUE and grid for both"),
        ]);
        s.tables.push(c);
        s.data = serde_json::json!({ "ratio_llama31_over_llama2": ratio, "models": results, "site": site });
    } else {
        s.data = serde_json::json!({ "models": results, "site": site });
    }

    // Amortisation and break-even.
    let mut a = Table::new(
        "amortised",
        vec![
            Column::new("model", None),
            Column::new("requests served", None),
            Column::new("training per request", Some("g CO2e")),
        ],
    )
    .caption("Training amortised per request (the card's total / requests)");
    for r in &results {
        for n in requests {
            a.row(vec![
                Cell::text(r.display_name()),
                Cell::num(*n, 0),
                Cell::sig(amortised_g_per_request(r.card_location_t, *n), 4),
            ]);
        }
    }
    s.tables.push(a);
    if let Some(inf) = inference {
        let mut b = Table::new(
            "break_even",
            vec![
                Column::new("model", None),
                Column::new("inference per request", Some("g CO2e")),
                Column::new("break-even requests", None),
            ],
        )
        .caption(format!(
            "Break-even: requests whose inference emissions equal the training emissions ({})",
            inf.label
        ));
        for r in &results {
            let g = inf.g_per_request;
            b.row(vec![
                Cell::text(r.display_name()),
                Cell::interval_sig(g, 4),
                Cell::interval(
                    Interval::new(
                        break_even_requests(r.card_location_t, g.high),
                        g.typical.map(|t| break_even_requests(r.card_location_t, t)),
                        break_even_requests(r.card_location_t, g.low.max(f64::MIN_POSITIVE)),
                    ),
                    0,
                ),
            ]);
        }
        s.tables.push(b);
    }
    s.charts.push(Chart::Bars(BarChart {
        title: "Training emissions: card (bar) and recomputed range (whisker), tCO2eq".into(),
        unit: "tCO2eq".into(),
        bars: results
            .iter()
            .map(|r| Bar {
                label: r.name.clone(),
                low: r.recomputed_t.low,
                typical: Some(r.card_location_t),
                high: r.recomputed_t.high,
                highlight: r.id == "llama-3.1",
            })
            .collect(),
    }));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<TrainingResult> {
        let p = ProfileSet::shipped().expect("profiles");
        let grid = p.grid_dataset(None).expect("grid");
        let site = TrainingSite::default_for(&p, &grid).expect("site");
        p.models.iter().map(|(m, _)| recompute(m, &site)).collect()
    }

    #[test]
    fn card_figures_and_ratio() {
        let r = results();
        let get = |id: &str| r.iter().find(|x| x.id == id).expect("model").clone();
        let (l2, l31) = (get("llama-2"), get("llama-3.1"));
        assert_eq!(l2.card_location_t, 539.0);
        assert_eq!(l31.card_location_t, 11_390.0);
        assert_eq!(
            ((l31.card_location_t / l2.card_location_t) * 10.0).round() / 10.0,
            21.1
        );
        // GPU energy: 2,273,280 h x 0.4 kW + 1,038,336 h x 0.35 kW.
        assert!((l2.gpu_energy_kwh - 1_272_729.6).abs() < 1e-6);
        assert!((l31.gpu_energy_kwh - 27_510_000.0).abs() < 1e-6);
        // Implied factors as in the figures (D): Llama 2 ≈423, 3 ≈424-429, 3.1 ≈414, 4 ≈387.
        assert!(
            (l2.implied_g_per_kwh - 423.5).abs() < 0.01,
            "{}",
            l2.implied_g_per_kwh
        );
        assert_eq!(l31.implied_g_per_kwh.round(), 414.0);
        assert_eq!(get("llama-4").implied_g_per_kwh.round(), 387.0);
        let l3 = get("llama-3").implied_g_per_kwh;
        assert!((424.0..=429.0).contains(&l3.round()), "{l3}");
        // Both cards fall inside the recomputed range on the US grid.
        for x in [&l2, &l31] {
            assert!(
                x.recomputed_t.low <= x.card_location_t && x.card_location_t <= x.recomputed_t.high,
                "{}",
                x.id
            );
        }
        // Llama 3.3's 12.9 t is far below any recomputation: the inconsistency shows.
        let l33 = get("llama-3.3");
        assert!(l33.inconsistent && l33.card_location_t < l33.recomputed_t.low / 100.0);
        // Llama 2's card gives one total, offset; Llama 3.1's a location/market split.
        assert_eq!(l2.card_basis, CardBasis::PretrainingTotal);
        assert!(l2.card_market_t.is_none() && l2.card_offsets.is_some());
        assert_eq!(l31.card_basis, CardBasis::LocationBased);
        assert!(l31.card_offsets.is_none());
    }

    #[test]
    fn offsets_stay_out_of_the_market_column_and_the_flag_follows_llama_33() {
        let p = ProfileSet::shipped().expect("profiles");
        let grid = p.grid_dataset(None).expect("grid");
        let site = TrainingSite::default_for(&p, &grid).expect("site");
        let ids = ["llama-2".to_string(), "llama-3.3".to_string()];
        let inference = Inference {
            g_per_request: Interval::point(1.0),
            label: "test".into(),
        };
        let s = section(&p, &ids, &site, &[1e6], Some(&inference)).expect("section");
        let table = |id: &str| s.tables.iter().find(|t| t.id == id).expect("table");
        let cards = table("cards");
        let col = |name: &str| {
            cards
                .columns
                .iter()
                .position(|c| c.name == name)
                .expect("column")
        };
        let l2 = &cards.rows[0];
        assert_eq!(l2[col("card, market-based")].display(), "not given");
        assert!(
            l2[col("offsets (not Scope 2)")]
                .display()
                .contains("offset")
        );
        assert!(
            l2[col("card's figure is")]
                .display()
                .starts_with("pretraining total")
        );
        for id in ["amortised", "break_even"] {
            let names: Vec<String> = table(id).rows.iter().map(|r| r[0].display()).collect();
            assert!(
                names.contains(&"Llama 3.3 70B (card inconsistent)".to_string()),
                "{id}: {names:?}"
            );
        }
    }

    #[test]
    fn amortisation_and_break_even() {
        assert_eq!(amortised_g_per_request(539.0, 1e9), 0.539);
        assert_eq!(break_even_requests(11_390.0, 0.5), 2.278e10);
    }
}
