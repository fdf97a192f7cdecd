//! Case 3, "counter service or a better web page?": a scenario file (TOML) gives
//! desk visits and page views before and after; the use-stage LCA elements of
//! Berthelot et al. (web hosting, networking, user terminals) are computed per
//! period from profiles or a measurement, and the visitors' travel is shown apart,
//! labelled as outside the LCA boundary.

use crate::output::{Cell, Column, Section, Table, fmt_num};
use crate::profiles::ProfileSet;
use crate::stats::Interval;
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub kind: String,
    pub name: String,
    pub period: String,
    pub desk: Desk,
    pub web: Web,
    #[serde(default)]
    pub outside_boundary: Outside,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    pub visits_before: f64,
    pub visits_after: f64,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    pub page_views_before: f64,
    pub page_views_after: f64,
    /// A devices profile id in kB, or
    #[serde(default)]
    pub page_weight: Option<String>,
    /// a measured page weight.
    #[serde(default)]
    pub page_weight_kb: Option<f64>,
    /// A devices profile id in kWh/GB.
    pub network: String,
    /// The year the network figure is wanted for; a trend profile (Aslan et al.) is
    /// extrapolated to it and labelled so.
    #[serde(default)]
    pub network_year: Option<i64>,
    /// A devices profile id in W.
    pub terminal: String,
    pub minutes_per_view: f64,
    /// A devices profile id in kWh/GB, used when no hosting measurement is given.
    #[serde(default)]
    pub hosting: Option<String>,
    pub hosting_site: String,
    /// Grid for network and user terminals.
    pub grid: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outside {
    #[serde(default)]
    pub travel: Option<Travel>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Travel {
    #[serde(default)]
    pub km_round_trip: Option<f64>,
    #[serde(default)]
    pub g_co2e_per_km: Option<f64>,
}

impl Scenario {
    pub fn parse(text: &str, name: &str) -> anyhow::Result<Scenario> {
        let s: Scenario =
            toml::from_str(text).map_err(|e| anyhow!("{name}: {}", e.to_string().trim()))?;
        if s.kind != "scenario" {
            bail!(
                "{name}: field `kind`: expected \"scenario\", found \"{}\"",
                s.kind
            );
        }
        for (field, v) in [
            ("desk.visits_before", s.desk.visits_before),
            ("desk.visits_after", s.desk.visits_after),
            ("web.page_views_before", s.web.page_views_before),
            ("web.page_views_after", s.web.page_views_after),
            ("web.minutes_per_view", s.web.minutes_per_view),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{name}: field `{field}`: must be zero or more, found {v}");
            }
        }
        Ok(s)
    }

    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the scenario {}", path.display()))?;
        Scenario::parse(&text, &path.display().to_string())
    }
}

/// One LCA element, per view and per period before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Element {
    pub name: String,
    pub per_view_wh: Interval,
    pub kwh_before: Interval,
    pub kwh_after: Interval,
    pub g_before: Interval,
    pub g_after: Interval,
    pub basis: String,
}

fn device<'a>(
    p: &'a ProfileSet,
    id: &str,
    unit: &str,
    field: &str,
) -> anyhow::Result<&'a crate::profiles::DeviceEntry> {
    let d = p
        .device(id)
        .ok_or_else(|| anyhow!("scenario field `{field}`: no devices profile `{id}`"))?;
    if d.unit != unit {
        bail!(
            "scenario field `{field}`: profile `{id}` is in {}, expected {unit}",
            d.unit
        );
    }
    Ok(d)
}

fn device_q(p: &ProfileSet, id: &str, unit: &str, field: &str) -> anyhow::Result<Interval> {
    Ok(device(p, id, unit, field)?.value.interval())
}

/// Network kWh/GB of a profile for the scenario's year, and a label saying how.
fn network_kwh_per_gb(
    p: &ProfileSet,
    id: &str,
    year: Option<i64>,
) -> anyhow::Result<(Interval, String)> {
    let d = device(p, id, "kWh/GB", "web.network")?;
    Ok(match (d.halving_years, year) {
        (Some(h), Some(y)) => (
            d.value_in(y),
            format!(
                "{id} extrapolated from {} to {y} (halving every {h} years; not endorsed by the authors)",
                d.meta.year
            ),
        ),
        _ => (d.value.interval(), format!("{id} ({})", d.meta.year)),
    })
}

/// The elements, given the hosting energy per view in joules if it was measured.
pub fn elements(
    p: &ProfileSet,
    s: &Scenario,
    hosting_j_per_view: Option<(Interval, String)>,
) -> anyhow::Result<Vec<Element>> {
    let w = &s.web;
    let weight_kb = match (&w.page_weight, w.page_weight_kb) {
        (_, Some(kb)) => Interval::point(kb),
        (Some(id), None) => device_q(p, id, "kB", "web.page_weight")?,
        (None, None) => {
            bail!("scenario: give web.page_weight (a profile id) or web.page_weight_kb")
        }
    };
    // kB of 1,000 bytes; GB of 10^9 bytes.
    let gb = weight_kb.scale(1e3 / 1e9);
    let grid = p
        .grid_entry(&w.grid)
        .ok_or_else(|| anyhow!("scenario field `web.grid`: no grid entry `{}`", w.grid))?;
    let site = p.site(&w.hosting_site).ok_or_else(|| {
        anyhow!(
            "scenario field `web.hosting_site`: no site `{}`",
            w.hosting_site
        )
    })?;
    let site_grid = p
        .grid_entry(&site.grid)
        .ok_or_else(|| anyhow!("site `{}` has no grid", site.id))?;

    let (network_intensity, network_label) = network_kwh_per_gb(p, &w.network, w.network_year)?;
    let network_kwh = gb.times(network_intensity);
    let terminal_kwh =
        device_q(p, &w.terminal, "W", "web.terminal")?.scale(w.minutes_per_view / 60.0 / 1000.0);
    let (hosting_kwh, hosting_g_per_kwh, hosting_basis) = match hosting_j_per_view {
        Some((j, label)) => (
            j.scale(1.0 / 3.6e6),
            p.site_factor(site)
                .unwrap_or(Interval::point(site_grid.value)),
            format!("measured ({label}) x PUE x grid of {}", site.id),
        ),
        None => {
            let id = w.hosting.as_deref().ok_or_else(|| {
                anyhow!("scenario: give web.hosting (a profile id) or a hosting record")
            })?;
            (
                gb.times(device_q(p, id, "kWh/GB", "web.hosting")?),
                Interval::point(site_grid.value),
                format!(
                    "{id} x page weight, grid of {} (the model's data-centre figure; PUE not applied again)",
                    site.id
                ),
            )
        }
    };
    let mk = |name: &str, kwh_per_view: Interval, g_per_kwh: Interval, basis: String| Element {
        name: name.to_string(),
        per_view_wh: kwh_per_view.scale(1000.0),
        kwh_before: kwh_per_view.scale(w.page_views_before),
        kwh_after: kwh_per_view.scale(w.page_views_after),
        g_before: kwh_per_view.scale(w.page_views_before).times(g_per_kwh),
        g_after: kwh_per_view.scale(w.page_views_after).times(g_per_kwh),
        basis,
    };
    Ok(vec![
        mk("web hosting", hosting_kwh, hosting_g_per_kwh, hosting_basis),
        mk(
            "networking",
            network_kwh,
            Interval::point(grid.value),
            format!("{network_label} x page weight, grid {}", grid.id),
        ),
        mk(
            "user terminals",
            terminal_kwh,
            Interval::point(grid.value),
            format!(
                "{} x {} min per view, grid {}",
                w.terminal,
                fmt_num(w.minutes_per_view, 1),
                grid.id
            ),
        ),
    ])
}

pub fn section(
    p: &ProfileSet,
    s: &Scenario,
    hosting: Option<(Interval, String)>,
) -> anyhow::Result<Section> {
    let els = elements(p, s, hosting)?;
    let mut sec = Section::new(
        "municipality",
        "Case 3: counter service or a better web page?",
    );
    sec.notes
        .push(format!("Scenario: {} (per {}).", s.name, s.period));
    let mut t = Table::new(
        "lca_elements",
        vec![
            Column::new("LCA element (use stage)", None),
            Column::new("per view", Some("Wh")),
            Column::new("before", Some("kWh")),
            Column::new("after", Some("kWh")),
            Column::new("before", Some("g CO2e")),
            Column::new("after", Some("g CO2e")),
            Column::new("change", Some("g CO2e")),
            Column::new("from", None),
        ],
    )
    .caption(format!(
        "Inside the LCA boundary (Berthelot et al.: web hosting, networking, user terminals); {} page views per {} before, {} after",
        fmt_num(s.web.page_views_before, 0),
        s.period,
        fmt_num(s.web.page_views_after, 0)
    ));
    let mut total_before = Interval::point(0.0);
    let mut total_after = Interval::point(0.0);
    for e in &els {
        t.row(vec![
            Cell::text(&e.name),
            Cell::interval(e.per_view_wh, 4),
            Cell::interval(e.kwh_before, 5),
            Cell::interval(e.kwh_after, 5),
            Cell::interval(e.g_before, 2),
            Cell::interval(e.g_after, 2),
            Cell::interval(change(e.g_before, e.g_after), 2),
            Cell::text(&e.basis),
        ]);
        total_before = total_before.plus(e.g_before);
        total_after = total_after.plus(e.g_after);
    }
    t.row(vec![
        Cell::text("total inside the boundary"),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        Cell::interval(total_before, 2),
        Cell::interval(total_after, 2),
        Cell::interval(change(total_before, total_after), 2),
        Cell::Empty,
    ]);
    sec.tables.push(t);

    sec.tables.push(network_sensitivity(p, s)?);

    let mut o = Table::new(
        "outside_boundary",
        vec![
            Column::new("OUTSIDE the LCA boundary", None),
            Column::new("before", None),
            Column::new("after", None),
            Column::new("change", None),
            Column::new("note", None),
        ],
    )
    .caption("Outside the LCA boundary: shown apart, not added to the total above");
    let d = &s.desk;
    o.row(vec![
        Cell::text("desk visits"),
        Cell::num(d.visits_before, 0),
        Cell::num(d.visits_after, 0),
        Cell::num(d.visits_after - d.visits_before, 0),
        Cell::text(d.source.clone().unwrap_or_default()),
    ]);
    let travel = s.outside_boundary.travel.as_ref();
    if let Some(km) = travel.and_then(|t| t.km_round_trip) {
        o.row(vec![
            Cell::text("visitor travel (km)"),
            Cell::num(d.visits_before * km, 0),
            Cell::num(d.visits_after * km, 0),
            Cell::num((d.visits_after - d.visits_before) * km, 0),
            Cell::text(format!(
                "{} km per visit, round trip (scenario assumption)",
                fmt_num(km, 1)
            )),
        ]);
        match travel.and_then(|t| t.g_co2e_per_km) {
            Some(g) => o.row(vec![
                Cell::text("visitor travel (g CO2e)"),
                Cell::num(d.visits_before * km * g, 0),
                Cell::num(d.visits_after * km * g, 0),
                Cell::num((d.visits_after - d.visits_before) * km * g, 0),
                Cell::text(format!("{} g CO2e/km (scenario input, not a shipped profile)", fmt_num(g, 1))),
            ]),
            None => o.row(vec![
                Cell::text("visitor travel (g CO2e)"),
                Cell::text("not quantified"),
                Cell::text("not quantified"),
                Cell::Empty,
                Cell::text("no sourced g CO2e/km is shipped; set outside_boundary.travel.g_co2e_per_km to quantify"),
            ]),
        }
    }
    sec.tables.push(o);
    sec.tables.push(workshop_check());
    sec.notes.push("The use-stage LCA covers the page (hosting, network, terminals). The visits the page avoids change travel, which is outside that boundary: the workshop's point is that the LCA does not see it.".into());
    sec.notes.push("Method: per view = page weight (GB) x kWh/GB for network and hosting, device power x minutes for terminals; g CO2e = kWh x grid (x PUE for measured hosting); ranges multiply bounds.".into());
    sec.data = serde_json::json!({ "scenario": s, "elements": els, "total_g_before": total_before, "total_g_after": total_after });
    Ok(sec)
}

/// The workshop's answer to case 3 is qualitative: which elements the proposal
/// touches, and that the LCA leaves the visitors out.
fn workshop_check() -> Table {
    let mut t = Table::new(
        "workshop_check",
        vec![
            Column::new("item", None),
            Column::new("this answer", None),
            Column::new("workshop", None),
            Column::new("source", None),
        ],
    )
    .caption("Answer next to the workshop's");
    t.row(vec![
        Cell::text("LCA elements touched (use stage)"),
        Cell::text("web hosting, networking, user terminals: computed above"),
        Cell::text("'Web-hosting, User Terminals en Networking'"),
        Cell::text("workshop slides case 3, after Berthelot et al. (inventory table NV)"),
    ]);
    t.row(vec![
        Cell::text("fewer desk visits"),
        Cell::text("shown apart, labelled outside the LCA boundary, not added to the total"),
        Cell::text("'Dit wordt niet door de LCA mee genomen!' (the LCA does not include it)"),
        Cell::text("workshop slides case 3"),
    ]);
    t
}

/// The networking element under each shipped network intensity: the choice of
/// model moves it by more than an order of magnitude.
fn network_sensitivity(p: &ProfileSet, s: &Scenario) -> anyhow::Result<Table> {
    let w = &s.web;
    let mut t = Table::new(
        "network_sensitivity",
        vec![
            Column::new("network intensity", None),
            Column::new("kWh/GB", None),
            Column::new("networking after", Some("g CO2e")),
            Column::new("note", None),
        ],
    )
    .caption("Networking under other network models (same page weight, views and grid)");
    let weight_kb = match (&w.page_weight, w.page_weight_kb) {
        (_, Some(kb)) => Interval::point(kb),
        (Some(id), None) => device_q(p, id, "kB", "web.page_weight")?,
        (None, None) => bail!("scenario: give web.page_weight or web.page_weight_kb"),
    };
    let grid = p
        .grid_entry(&w.grid)
        .ok_or_else(|| anyhow!("scenario field `web.grid`: no grid entry `{}`", w.grid))?;
    let mut options: Vec<(&str, Option<i64>)> =
        vec![("swd-v4-network", None), ("network-aslan-2018", None)];
    if let Some(y) = w.network_year {
        options.push(("network-aslan-2018", Some(y)));
    }
    options.push(("ccf-network", None));
    for (id, year) in options {
        if p.device(id).is_none() {
            continue;
        }
        let (kwh_per_gb, label) = network_kwh_per_gb(p, id, year)?;
        let g = weight_kb
            .scale(1e3 / 1e9 * w.page_views_after)
            .times(kwh_per_gb)
            .times(Interval::point(grid.value));
        let note = p
            .device(id)
            .and_then(|d| d.meta.note.clone())
            .unwrap_or_default();
        t.row(vec![
            Cell::text(label),
            Cell::interval_sig(kwh_per_gb, 3),
            Cell::interval_sig(g, 3),
            Cell::text(note),
        ]);
    }
    Ok(t)
}

/// after - before, bound by bound: the widest change consistent with both ranges.
fn change(before: Interval, after: Interval) -> Interval {
    Interval::new(
        after.low - before.high,
        after.typical.zip(before.typical).map(|(a, b)| a - b),
        after.high - before.low,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenario_elements() {
        let p = ProfileSet::shipped().expect("profiles");
        let s = Scenario::parse(crate::profiles::MUNICIPALITY_SCENARIO, "municipality.toml")
            .expect("scenario");
        let els = elements(&p, &s, None).expect("elements");
        assert_eq!(s.web.network_year, Some(2025));
        assert_eq!(
            els.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["web hosting", "networking", "user terminals"]
        );
        // Network: 2311 kB = 0.002311 GB x 0.059 kWh/GB x 1000 = 0.136349 Wh per view.
        assert!((els[1].per_view_wh.low - 0.136_349).abs() < 1e-9);
        // Terminal: 9-13 W x 3 min = 0.45-0.65 Wh per view.
        assert!(
            (els[2].per_view_wh.low - 0.45).abs() < 1e-12
                && (els[2].per_view_wh.high - 0.65).abs() < 1e-12
        );
        // 300 views after x 0.45 Wh = 0.135 kWh x 252.70 g/kWh = 34.1145 g.
        assert!((els[2].g_after.low - 0.135 * 252.70).abs() < 1e-9);
    }

    #[test]
    fn aslan_trend_is_extrapolated_and_labelled() {
        let p = ProfileSet::shipped().expect("profiles");
        let d = p.device("network-aslan-2018").expect("aslan");
        // 0.06 x 0.5^((2025 - 2015) / 2) = 0.001875 kWh/GB.
        assert!((d.value_in(2025).low - 0.001_875).abs() < 1e-15);
        assert_eq!(d.value_in(2015).low, 0.06);
        let (v, label) = network_kwh_per_gb(&p, "network-aslan-2018", Some(2021)).expect("net");
        assert!((v.low - 0.0075).abs() < 1e-15);
        assert!(label.contains("extrapolated") && label.contains("not endorsed"));
    }

    #[test]
    fn measured_hosting_uses_site_pue() {
        let p = ProfileSet::shipped().expect("profiles");
        let s = Scenario::parse(crate::profiles::MUNICIPALITY_SCENARIO, "m").expect("scenario");
        let els = elements(&p, &s, Some((Interval::point(36.0), "test".into()))).expect("elements");
        // 36 J = 0.01 Wh per view; local-nl PUE 1.56-1.67 x 252.70.
        assert!((els[0].per_view_wh.low - 0.01).abs() < 1e-12);
        assert!((els[0].g_after.high - 300.0 * 1e-5 * 1.67 * 252.70).abs() < 1e-9);
    }

    #[test]
    fn bad_scenario_names_the_field() {
        let text = crate::profiles::MUNICIPALITY_SCENARIO
            .replace("visits_after = 5.0", "visits_after = -5.0");
        let err = Scenario::parse(&text, "x.toml").expect_err("negative");
        assert!(
            err.to_string()
                .contains("x.toml: field `desk.visits_after`"),
            "{err}"
        );
        let err = Scenario::parse("kind = \"scenario\"\nname = 1\n", "y.toml").expect_err("bad");
        assert!(err.to_string().starts_with("y.toml:"), "{err}");
    }
}
