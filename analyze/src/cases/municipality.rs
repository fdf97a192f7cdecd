//! Case 3, "counter service or a better web page?": a scenario file (TOML) gives
//! desk visits and page views before and after; the use-stage LCA elements of
//! Berthelot et al. (web hosting, networking, user terminals) are computed per
//! period from profiles or a measurement, and the visitors' travel is shown apart,
//! labelled as outside the LCA boundary.

use crate::output::{Cell, Column, Section, Table, fmt_num};
use crate::profiles::{GridChoice, GridDataset, GridLookup, ProfileSet, Quantity};
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
    /// Round-trip distance of one visit (an assumption of the scenario; a range).
    #[serde(default)]
    pub km_round_trip: Option<Quantity>,
    /// A devices profile id in gCO2e/km for a visit by car.
    #[serde(default)]
    pub car: Option<String>,
    /// A devices profile id in gCO2e/km for a visit by public transport.
    #[serde(default)]
    pub public_transport: Option<String>,
    /// A factor of the scenario's own, not a shipped profile.
    #[serde(default)]
    pub g_co2e_per_km: Option<f64>,
}

/// One way of travelling to the desk, with its sourced factor.
#[derive(Debug, Clone, Serialize)]
pub struct TravelMode {
    pub name: String,
    pub g_per_km: Interval,
    pub from: String,
    pub g_before: Interval,
    pub g_after: Interval,
    /// (visits after - before) x km x factor: before and after share the same
    /// distance, so the change is not the difference of their ranges' far ends.
    pub g_change: Interval,
}

/// Visitor travel per mode: visits x round trip (km) x g CO2e/km.
pub fn travel_modes(p: &ProfileSet, s: &Scenario) -> anyhow::Result<Vec<TravelMode>> {
    let Some(t) = &s.outside_boundary.travel else {
        return Ok(Vec::new());
    };
    let Some(km) = t.km_round_trip.map(|q| q.interval()) else {
        return Ok(Vec::new());
    };
    let mut factors = Vec::new();
    for (mode, id, field) in [
        ("by car", &t.car, "outside_boundary.travel.car"),
        (
            "by public transport",
            &t.public_transport,
            "outside_boundary.travel.public_transport",
        ),
    ] {
        if let Some(id) = id {
            let d = device(p, id, "gCO2e/km", field)?;
            factors.push((
                format!("visitor travel {mode}"),
                d.value.interval(),
                format!("{} [{id}] ({})", d.name, d.meta.status),
            ));
        }
    }
    if let Some(g) = t.g_co2e_per_km {
        factors.push((
            "visitor travel (scenario's factor)".to_string(),
            Interval::point(g),
            "scenario input, not a shipped profile".to_string(),
        ));
    }
    let d = &s.desk;
    Ok(factors
        .into_iter()
        .map(|(name, g_per_km, from)| TravelMode {
            g_before: km.scale(d.visits_before).times(g_per_km),
            g_after: km.scale(d.visits_after).times(g_per_km),
            g_change: km.times(g_per_km).scale(d.visits_after - d.visits_before),
            name,
            from: format!(
                "{} g CO2e/km, {from}; {} km round trip per visit (assumption)",
                Cell::interval_sig(g_per_km, 4).display(),
                Cell::interval(km, 0).display()
            ),
            g_per_km,
        })
        .collect())
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

/// The grid entries of the scenario under `grid`: the one for networking and
/// terminals (`web.grid`) and the hosting site's.
fn grid_entries<'a>(
    p: &'a ProfileSet,
    s: &Scenario,
    grid: &GridDataset,
) -> anyhow::Result<(GridLookup<'a>, GridLookup<'a>)> {
    let w = &s.web;
    let web = p
        .grid_lookup(&w.grid, GridChoice::In(grid))
        .ok_or_else(|| anyhow!("scenario field `web.grid`: no grid entry `{}`", w.grid))?;
    let site = p.site(&w.hosting_site).ok_or_else(|| {
        anyhow!(
            "scenario field `web.hosting_site`: no site `{}`",
            w.hosting_site
        )
    })?;
    let hosting = p
        .grid_lookup(&site.grid, GridChoice::In(grid))
        .ok_or_else(|| anyhow!("site `{}` has no grid", site.id))?;
    Ok((web, hosting))
}

/// The elements, given the hosting energy per view in joules if it was measured,
/// on the chosen `grid`.
pub fn elements(
    p: &ProfileSet,
    s: &Scenario,
    hosting_j_per_view: Option<(Interval, String)>,
    grid_dataset: &GridDataset,
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
    let (grid, site_grid) = grid_entries(p, s, grid_dataset)?;
    let (grid, site_grid) = (grid.entry, site_grid.entry);
    let site = p.site(&w.hosting_site).ok_or_else(|| {
        anyhow!(
            "scenario field `web.hosting_site`: no site `{}`",
            w.hosting_site
        )
    })?;

    let (network_intensity, network_label) = network_kwh_per_gb(p, &w.network, w.network_year)?;
    let network_kwh = gb.times(network_intensity);
    let terminal_kwh =
        device_q(p, &w.terminal, "W", "web.terminal")?.scale(w.minutes_per_view / 60.0 / 1000.0);
    let (hosting_kwh, hosting_g_per_kwh, hosting_basis) = match hosting_j_per_view {
        Some((j, label)) => (
            j.scale(1.0 / 3.6e6),
            p.site_factor(site, GridChoice::In(grid_dataset))
                .map_or(Interval::point(site_grid.value), |(f, _)| f),
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
            format!(
                "{network_label} x page weight ({}: assumption, see below), grid {}",
                page_weight_label(w),
                grid.id
            ),
        ),
        mk(
            "user terminals",
            terminal_kwh,
            Interval::point(grid.value),
            format!(
                "{} x {} min per view (assumption), grid {}",
                w.terminal,
                fmt_num(w.minutes_per_view, 1),
                grid.id
            ),
        ),
    ])
}

/// The page weight as the scenario gives it: a profile id or a measured figure.
fn page_weight_label(w: &Web) -> String {
    match (&w.page_weight, w.page_weight_kb) {
        (_, Some(kb)) => format!("{} kB measured", fmt_num(kb, 0)),
        (Some(id), None) => id.clone(),
        (None, None) => "no page weight".into(),
    }
}

/// The scenario's assumptions that decide the answer, each labelled so.
fn assumptions_table(p: &ProfileSet, s: &Scenario) -> Table {
    let w = &s.web;
    let mut t = Table::new(
        "assumptions",
        vec![
            Column::new("assumption", None),
            Column::new("value", None),
            Column::new("what it decides", None),
        ],
    )
    .caption("The scenario's assumptions (not sourced; change them in the scenario file)");
    t.row(vec![
        Cell::text("assumption: page views a month"),
        Cell::text(format!(
            "{} → {}",
            fmt_num(w.page_views_before, 0),
            fmt_num(w.page_views_after, 0)
        )),
        Cell::text("every web element scales with it; take it from the site's analytics"),
    ]);
    t.row(vec![
        Cell::text("assumption: minutes per view"),
        Cell::text(fmt_num(w.minutes_per_view, 1)),
        Cell::text("the user-terminal element, the largest web term"),
    ]);
    let name = |id: &str| p.device(id).map_or(id.to_string(), |d| d.name.clone());
    t.row(vec![
        Cell::text("assumption: page weight paired with terminal power"),
        Cell::text(format!(
            "{} with {}",
            w.page_weight
                .as_deref()
                .map_or_else(|| page_weight_label(w), name),
            name(&w.terminal)
        )),
        Cell::text("networking and hosting scale with the weight, terminals with the power; a page weight of one device class paired with the power of another is the scenario's choice"),
    ]);
    if let Some(km) = s
        .outside_boundary
        .travel
        .as_ref()
        .and_then(|t| t.km_round_trip)
    {
        t.row(vec![
            Cell::text("assumption: round trip per desk visit"),
            Cell::text(format!("{} km", Cell::interval(km.interval(), 0).display())),
            Cell::text("visitor travel (outside the LCA boundary), which dominates"),
        ]);
    }
    t
}

pub fn section(
    p: &ProfileSet,
    s: &Scenario,
    hosting: Option<(Interval, String)>,
    grid: &GridDataset,
) -> anyhow::Result<Section> {
    let els = elements(p, s, hosting, grid)?;
    let travel = travel_modes(p, s)?;
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
        "Inside the LCA boundary (Berthelot et al.: web hosting, networking, user terminals); {} page views per {} before, {} after (assumption); visitor travel below the total, OUTSIDE the boundary",
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
    // Quantified, but outside the boundary: shown under the total, never in it.
    for m in &travel {
        t.row(vec![
            Cell::text(format!(
                "OUTSIDE the boundary, not in the total: {}",
                m.name
            )),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::interval_sig(m.g_before, 3),
            Cell::interval_sig(m.g_after, 3),
            Cell::interval_sig(m.g_change, 3),
            Cell::text(&m.from),
        ]);
    }
    sec.tables.push(t);
    sec.tables.push(assumptions_table(p, s));

    sec.tables.push(network_sensitivity(p, s, grid)?);

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
    .caption("OUTSIDE the LCA boundary: shown apart, not added to the total above");
    let d = &s.desk;
    o.row(vec![
        Cell::text("desk visits"),
        Cell::num(d.visits_before, 0),
        Cell::num(d.visits_after, 0),
        Cell::num(d.visits_after - d.visits_before, 0),
        Cell::text(d.source.clone().unwrap_or_default()),
    ]);
    let km = s
        .outside_boundary
        .travel
        .as_ref()
        .and_then(|t| t.km_round_trip)
        .map(|q| q.interval());
    if let Some(km) = km {
        o.row(vec![
            Cell::text("visitor travel (km)"),
            Cell::interval(km.scale(d.visits_before), 0),
            Cell::interval(km.scale(d.visits_after), 0),
            Cell::interval(
                change(km.scale(d.visits_before), km.scale(d.visits_after)),
                0,
            ),
            Cell::text(format!(
                "{} km per visit, round trip (assumption)",
                Cell::interval(km, 0).display()
            )),
        ]);
        if travel.is_empty() {
            o.row(vec![
                Cell::text("visitor travel (g CO2e)"),
                Cell::text("not quantified"),
                Cell::text("not quantified"),
                Cell::Empty,
                Cell::text("give outside_boundary.travel.car or .public_transport (a gCO2e/km profile) to quantify"),
            ]);
        }
    }
    for m in &travel {
        o.row(vec![
            Cell::text(format!("{} (g CO2e)", m.name)),
            Cell::interval_sig(m.g_before, 3),
            Cell::interval_sig(m.g_after, 3),
            Cell::interval_sig(m.g_change, 3),
            Cell::text(&m.from),
        ]);
    }
    sec.tables.push(o);
    sec.tables.push(workshop_check());
    sec.notes.push("The use-stage LCA covers the page (hosting, network, terminals). The visits the page avoids change travel, which is outside that boundary: the workshop's point is that the LCA does not see it.".into());
    let (web_grid, site_grid) = grid_entries(p, s, grid)?;
    let fallbacks: Vec<(String, String)> = [
        ("web.grid".to_string(), web_grid),
        (format!("hosting site {}", s.web.hosting_site), site_grid),
    ]
    .into_iter()
    .filter(|(_, g)| g.fallback)
    .map(|(what, g)| (what, g.entry.id.clone()))
    .collect();
    sec.notes.extend(super::sites::grid_notes(grid, &fallbacks));
    sec.notes.push("Method: per view = page weight (GB) x kWh/GB for network and hosting, device power x minutes for terminals; g CO2e = kWh x grid (x PUE for measured hosting); ranges multiply bounds.".into());
    sec.data = serde_json::json!({
        "scenario": s,
        "grid_dataset": grid,
        "elements": els,
        "total_g_before": total_before,
        "total_g_after": total_after,
        "outside_boundary_travel": travel,
    });
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
fn network_sensitivity(p: &ProfileSet, s: &Scenario, grid: &GridDataset) -> anyhow::Result<Table> {
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
    let grid = grid_entries(p, s, grid)?.0.entry;
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
        let grid = p.grid_dataset(None).expect("grid");
        let els = elements(&p, &s, None, &grid).expect("elements");
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
        let grid = p.grid_dataset(None).expect("grid");
        let els = elements(&p, &s, Some((Interval::point(36.0), "test".into())), &grid)
            .expect("elements");
        // 36 J = 0.01 Wh per view; local-nl PUE 1.56-1.67 x 252.70.
        assert!((els[0].per_view_wh.low - 0.01).abs() < 1e-12);
        assert!((els[0].g_after.high - 300.0 * 1e-5 * 1.67 * 252.70).abs() < 1e-9);
    }

    #[test]
    fn travel_is_quantified_outside_the_total_and_assumptions_are_labelled() {
        let p = ProfileSet::shipped().expect("profiles");
        let s = Scenario::parse(crate::profiles::MUNICIPALITY_SCENARIO, "m").expect("scenario");
        let modes = travel_modes(&p, &s).expect("travel");
        assert_eq!(modes.len(), 2);
        // 50 visits x 2-20 km x 167.25 g/km (DESNZ 2025 average car).
        let car = &modes[0];
        assert!((car.g_before.low - 50.0 * 2.0 * 167.25).abs() < 1e-9);
        assert!((car.g_before.high - 50.0 * 20.0 * 167.25).abs() < 1e-9);
        assert_eq!(car.g_before.typical, Some(50.0 * 10.0 * 167.25));
        // 45 fewer visits x 2-20 km x 167.25 g/km.
        assert!((car.g_change.high + 45.0 * 2.0 * 167.25).abs() < 1e-9);
        assert!(car.from.contains("(assumption)") && car.from.contains("travel-car-desnz-2025"));
        let grid = p.grid_dataset(None).expect("grid");
        let sec = section(&p, &s, None, &grid).expect("section");
        let table = |id: &str| sec.tables.iter().find(|t| t.id == id).expect("table");
        let lca = table("lca_elements");
        let total = lca
            .rows
            .iter()
            .position(|r| r[0].display() == "total inside the boundary")
            .expect("total");
        let outside: Vec<&Vec<Cell>> = lca.rows[total + 1..].iter().collect();
        assert_eq!(outside.len(), 2);
        assert!(
            outside
                .iter()
                .all(|r| r[0].display().starts_with("OUTSIDE the boundary"))
        );
        // The total holds the three web elements only.
        let web: f64 = lca.rows[..total]
            .iter()
            .map(|r| match &r[4] {
                Cell::Num { value, .. } => *value,
                Cell::Range { low, .. } => *low,
                _ => 0.0,
            })
            .sum();
        let total_low = match &lca.rows[total][4] {
            Cell::Num { value, .. } => *value,
            Cell::Range { low, .. } => *low,
            _ => f64::NAN,
        };
        assert!((web - total_low).abs() < 1e-9, "{web} vs {total_low}");
        let assumptions = table("assumptions");
        let first: Vec<String> = assumptions.rows.iter().map(|r| r[0].display()).collect();
        assert_eq!(first.len(), 4);
        assert!(
            first.iter().all(|c| c.starts_with("assumption: ")),
            "{first:?}"
        );
        assert_eq!(assumptions.rows[0][1].display(), "100 → 300");
        assert!(assumptions.rows[2][1].display().contains("mobile"));
        assert!(assumptions.rows[2][1].display().contains("Laptop"));
        assert!(
            lca.caption
                .as_deref()
                .is_some_and(|c| c.contains("(assumption)"))
        );
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
