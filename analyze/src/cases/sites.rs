//! Case 2, "where do I host my app?": g CO2e per request at every site, ranked.
//!
//! g CO2e = energy (kWh) x PUE x grid intensity (g/kWh). The energy is the
//! measured per-request energy with its 95% CI; PUE may be a range; the product is
//! taken bound by bound (low x low .. high x high), so the printed range holds every
//! combination of measurement CI and profile range.

use crate::output::{Cell, Column, Section, Table};
use crate::plot::{Bar, BarChart, Chart};
use crate::profiles::{GridChoice, GridDataset, ProfileSet, SiteEntry};
use crate::stats::Interval;
use serde::Serialize;

pub const J_PER_KWH: f64 = 3.6e6;

/// The workshop's case-2 figures (slides: "+- 288 g", "+- 649", "+-70", "+- 550").
pub const WORKSHOP_FACTORS: [(&str, f64); 4] = [
    ("ms-nl", 288.0),
    ("ms-sg", 649.0),
    ("local-fr", 70.0),
    ("local-de", 550.0),
];

#[derive(Debug, Clone, Serialize)]
pub struct SiteResult {
    pub id: String,
    pub name: String,
    pub pue: Interval,
    pub pue_is_range: bool,
    pub grid_id: String,
    pub grid_g_per_kwh: f64,
    /// The chosen dataset has no entry for the site's zone: the site's own entry stands in.
    pub grid_fallback: bool,
    /// PUE x grid intensity.
    pub factor_g_per_kwh: Interval,
    pub g_per_request: Interval,
    pub status: String,
    pub note: Option<String>,
    pub workshop: bool,
}

/// CO2e of `energy_j` per request at one site, on the grid entry `grid` gives it.
pub fn at_site(
    profiles: &ProfileSet,
    site: &SiteEntry,
    energy_j: Interval,
    grid: GridChoice<'_>,
) -> Option<SiteResult> {
    let (factor, lookup) = profiles.site_factor(site, grid)?;
    Some(SiteResult {
        id: site.id.clone(),
        name: site.name.clone(),
        pue: site.pue.interval(),
        pue_is_range: site.pue.is_range(),
        grid_id: lookup.entry.id.clone(),
        grid_g_per_kwh: lookup.entry.value,
        grid_fallback: lookup.fallback,
        factor_g_per_kwh: factor,
        g_per_request: energy_j.scale(1.0 / J_PER_KWH).times(factor),
        status: site.meta.status.clone(),
        note: site.meta.note.clone(),
        workshop: site.workshop,
    })
}

/// Every site, ranked by the centre of its per-request range (lowest first).
pub fn rank(
    profiles: &ProfileSet,
    energy_j: Interval,
    workshop_only: bool,
    grid: GridChoice<'_>,
) -> Vec<SiteResult> {
    let mut rows: Vec<SiteResult> = profiles
        .sites
        .iter()
        .map(|(s, _)| s)
        .filter(|s| !workshop_only || s.workshop)
        .filter_map(|s| at_site(profiles, s, energy_j, grid))
        .collect();
    rows.sort_by(|a, b| {
        a.g_per_request
            .centre()
            .total_cmp(&b.g_per_request.centre())
    });
    rows
}

/// The notes that go with CO2e figures on `grid`: the dataset line, and the
/// figures (`(what, entry)`) whose zone it lacks, which keep their own entry.
pub fn grid_notes(grid: &GridDataset, fallbacks: &[(String, String)]) -> Vec<String> {
    let mut notes = vec![format!("{}.", grid.line())];
    if !fallbacks.is_empty() {
        notes.push(format!(
            "Not in dataset {}, so each keeps its own grid entry: {}.",
            grid.id,
            fallbacks
                .iter()
                .map(|(what, entry)| format!("{what} ({entry})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    notes
}

/// The ranked table (on the chosen `grid`), the workshop check (on the
/// workshop's own values, whatever `grid` is) and a bar chart, as one section.
pub fn section(
    profiles: &ProfileSet,
    energy_j: Interval,
    energy_label: &str,
    workshop_only: bool,
    grid: &GridDataset,
) -> Section {
    let rows = rank(profiles, energy_j, workshop_only, GridChoice::In(grid));
    let reproduction = rank(profiles, energy_j, true, GridChoice::Named);
    let mut s = Section::new("sites", "Case 2: where do I host my app?");
    s.notes.push(format!("Energy per request: {energy_label}."));
    let fallbacks: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r.grid_fallback)
        .map(|r| (r.id.clone(), r.grid_id.clone()))
        .collect();
    s.notes.extend(grid_notes(grid, &fallbacks));
    let mut t = Table::new(
        "ranked",
        vec![
            Column::new("rank", None),
            Column::new("site", None),
            Column::new("PUE", None),
            Column::new("grid", Some("gCO2e/kWh")),
            Column::new("grid entry", None),
            Column::new("PUE x grid", Some("gCO2e/kWh")),
            Column::new("per request", Some("g CO2e")),
            Column::new("per 1,000 requests", Some("g CO2e")),
            Column::new("PUE status", None),
        ],
    )
    .caption("Sites ranked by CO2e per request (ranges: measurement CI x PUE range)");
    for (i, r) in rows.iter().enumerate() {
        t.row(vec![
            Cell::num((i + 1) as f64, 0),
            Cell::text(format!("{} [{}]", r.name, r.id)),
            Cell::interval(r.pue, 3),
            Cell::num(r.grid_g_per_kwh, 2),
            Cell::text(&r.grid_id),
            Cell::interval(r.factor_g_per_kwh, 1),
            Cell::interval_sig(r.g_per_request, 4),
            Cell::interval_sig(r.g_per_request.scale(1000.0), 4),
            Cell::text(if r.status == "NV" {
                "NV (unverified)".to_string()
            } else {
                r.status.clone()
            }),
        ]);
    }
    s.tables.push(t);
    s.tables.push(workshop_check(&reproduction));
    for r in rows.iter().filter(|r| r.pue_is_range) {
        s.notes.push(format!(
            "{}: PUE is a range, not a value: {}",
            r.id,
            r.note
                .clone()
                .unwrap_or_else(|| "the operator publishes none for this site".into())
        ));
    }
    for r in rows.iter().filter(|r| r.status == "NV") {
        if let Some(n) = &r.note {
            s.notes.push(format!("{} (unverified): {n}", r.id));
        }
    }
    s.notes.push(
        "Method: g CO2e = energy (kWh) x PUE x grid intensity; ranges multiply bounds (low x low .. high x high, interval arithmetic). Sources and vintages: `hoeveel profiles show <id>`."
            .into(),
    );
    s.charts.push(Chart::Bars(BarChart {
        title: format!(
            "g CO2e per 1,000 requests, by site (whisker: range). {}",
            grid.line()
        ),
        unit: "g CO2e per 1,000 requests".into(),
        bars: rows
            .iter()
            .map(|r| {
                let v = r.g_per_request.scale(1000.0);
                Bar {
                    label: r.name.clone(),
                    low: v.low,
                    typical: v.typical,
                    high: v.high,
                    highlight: r.workshop,
                }
            })
            .collect(),
    }));
    s.data = serde_json::json!({
        "energy_per_request_j": energy_j,
        "grid_dataset": grid,
        "sites": rows,
        "workshop_check_sites": reproduction,
    });
    s
}

/// The workshop's four known factors next to ours.
pub fn workshop_check(rows: &[SiteResult]) -> Table {
    let mut t = Table::new(
        "workshop_check",
        vec![
            Column::new("site", None),
            Column::new("PUE x grid", Some("gCO2e/kWh")),
            Column::new("rounded", Some("gCO2e/kWh")),
            Column::new("workshop", Some("gCO2e/kWh")),
            Column::new("difference", Some("gCO2e/kWh")),
            Column::new("source", None),
        ],
    )
    .caption("Workshop check: PUE x grid intensity, on each site's own grid entry (the workshop's values, whatever --grid says)");
    for (id, workshop) in WORKSHOP_FACTORS {
        if let Some(r) = rows.iter().find(|r| r.id == id) {
            let f = r.factor_g_per_kwh.centre();
            t.row(vec![
                Cell::text(&r.name),
                Cell::num(f, 2),
                Cell::num(f.round(), 0),
                Cell::num(workshop, 0),
                Cell::num(f.round() - workshop, 0),
                Cell::text(format!(
                    "{} x {} ({})",
                    crate::output::fmt_num(r.pue.centre(), 2),
                    crate::output::fmt_num(r.grid_g_per_kwh, 0),
                    r.grid_id
                )),
            ]);
        }
    }
    for id in ["aws-stockholm", "aws-chile"] {
        if let Some(r) = rows.iter().find(|r| r.id == id) {
            t.row(vec![
                Cell::text(&r.name),
                Cell::interval(r.factor_g_per_kwh, 2),
                Cell::interval(
                    Interval::new(
                        r.factor_g_per_kwh.low.round(),
                        None,
                        r.factor_g_per_kwh.high.round(),
                    ),
                    0,
                ),
                Cell::text("unknown ('AWS = ONBEKEND')"),
                Cell::Empty,
                Cell::text(format!(
                    "PUE {} ({}) x {}",
                    if r.pue.is_point() {
                        crate::output::fmt_num(r.pue.low, 2)
                    } else {
                        format!(
                            "{}–{}",
                            crate::output::fmt_num(r.pue.low, 2),
                            crate::output::fmt_num(r.pue.high, 2)
                        )
                    },
                    if r.pue.is_point() {
                        "published for the region"
                    } else {
                        "none published: nearest published values"
                    },
                    crate::output::fmt_num(r.grid_g_per_kwh, 2)
                )),
            ]);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workshop_factors_reproduce_exactly() {
        let p = ProfileSet::shipped().expect("profiles");
        let rows = rank(&p, Interval::point(J_PER_KWH), true, GridChoice::Named);
        assert_eq!(rows.len(), 6);
        for (id, expected) in WORKSHOP_FACTORS {
            let r = rows.iter().find(|r| r.id == id).expect("site");
            assert_eq!(r.factor_g_per_kwh.centre().round(), expected, "{id}");
            // 1 kWh per request: g per request equals the factor.
            assert!((r.g_per_request.centre() - r.factor_g_per_kwh.centre()).abs() < 1e-9);
        }
        // AWS's published PUE for Stockholm (1.10, 2024) x Ember 2024 (35.82).
        let sto = rows.iter().find(|r| r.id == "aws-stockholm").expect("aws");
        assert!(sto.factor_g_per_kwh.is_point());
        assert!((sto.factor_g_per_kwh.low - 1.10 * 35.82).abs() < 1e-9);
        // Chile has no published PUE: 1.09 (Google Quilicura) to 1.17 (AWS Sao Paulo).
        let chile = rows.iter().find(|r| r.id == "aws-chile").expect("aws");
        assert_eq!((chile.factor_g_per_kwh.low * 10.0).round() / 10.0, 289.4);
        assert_eq!((chile.factor_g_per_kwh.high * 10.0).round() / 10.0, 310.7);
        // Ranked lowest first: Stockholm (39.4) is below France (70.4).
        assert_eq!(rows[0].id, "aws-stockholm");
        assert_eq!(rows[5].id, "ms-sg");
    }

    #[test]
    fn measurement_ci_and_pue_range_multiply_bounds() {
        let p = ProfileSet::shipped().expect("profiles");
        let site = p.site("aws-chile").expect("site");
        let e = Interval::new(900.0, Some(1000.0), 1100.0);
        let r = at_site(&p, site, e, GridChoice::Named).expect("result");
        assert!((r.g_per_request.low - 900.0 / 3.6e6 * 1.09 * 265.52).abs() < 1e-12);
        assert!((r.g_per_request.high - 1100.0 / 3.6e6 * 1.17 * 265.52).abs() < 1e-12);
    }

    #[test]
    fn the_workshop_check_keeps_its_values_whatever_grid_is_chosen() {
        let p = ProfileSet::shipped().expect("profiles");
        for id in p.grid_dataset_ids() {
            let grid = p.grid_dataset(Some(&id)).expect("dataset");
            let s = section(&p, Interval::point(J_PER_KWH), "1 kWh", false, &grid);
            let check = s
                .tables
                .iter()
                .find(|t| t.id == "workshop_check")
                .expect("check");
            let rounded: Vec<String> = check.rows.iter().take(4).map(|r| r[2].display()).collect();
            assert_eq!(rounded, ["288", "649", "70", "550"], "--grid {id}");
            assert!(
                s.notes
                    .iter()
                    .any(|n| n.starts_with("Grid: ") && n.contains(&id))
            );
        }
    }

    #[test]
    fn a_chosen_dataset_moves_the_ranking_and_names_what_it_lacks() {
        let p = ProfileSet::shipped().expect("profiles");
        let em = p.grid_dataset(Some("em-2024")).expect("em");
        let rows = rank(&p, Interval::point(J_PER_KWH), false, GridChoice::In(&em));
        let nl = rows.iter().find(|r| r.id == "ms-nl").expect("ms-nl");
        assert_eq!(
            (nl.grid_id.as_str(), nl.grid_fallback),
            ("NL/em-2024", false)
        );
        let gcp = rows
            .iter()
            .find(|r| r.id == "gcp-europe-west4")
            .expect("gcp");
        assert!(gcp.grid_fallback && gcp.grid_id.ends_with("/google-2024"));
        let s = section(&p, Interval::point(J_PER_KWH), "1 kWh", false, &em);
        assert!(
            s.notes
                .iter()
                .any(|n| n.starts_with("Not in dataset em-2024") && n.contains("gcp-europe-west4")),
            "{:?}",
            s.notes
        );
    }
}
