//! `hoeveel report` and `hoeveel compare`: per-request statistics of records, CO2e
//! at a site, everyday equivalents, and the ratio of two measurements.
//!
//! The report starts with the run summary that the agent prints
//! ([`hoeveel_record::summary::Summary`]), so the numbers match it exactly, and adds
//! what the agent does not: confidence intervals, outlier warnings, per-token
//! energy, CO2e and comparisons.

use crate::cases::{ask_or_search, sites};
use crate::output::{Basis, Cell, Column, Document, Section, Table, fmt_num};
use crate::plot::{Chart, PowerChart};
use crate::profiles::{GridChoice, ProfileSet};
use crate::stats::{self, CiInterval, CiMethod, Describe, Interval};
use anyhow::anyhow;
use hoeveel_record::per_request::common_basis;
use hoeveel_record::summary::Summary;
use hoeveel_record::{EnergyBasis, PerRequest, Record, WorkloadKind};

#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Site for the CO2e figure.
    pub site: String,
    /// The grid dataset of the CO2e figures.
    pub grid: crate::profiles::GridDataset,
    /// Net or gross; None picks net where a baseline exists.
    pub basis: Option<EnergyBasis>,
}

fn stat_row(name: &str, unit: &str, d: &Describe, decimals: usize) -> Vec<Cell> {
    vec![
        Cell::text(name),
        Cell::text(unit),
        Cell::num(d.n as f64, 0),
        Cell::num(d.mean, decimals),
        Cell::num(d.median, decimals),
        d.sd.map(|s| Cell::num(s, decimals))
            .unwrap_or(Cell::text("(one run)")),
        d.ci_low
            .map(|l| Cell::num(l, decimals))
            .unwrap_or(Cell::Empty),
        d.ci_high
            .map(|h| Cell::num(h, decimals))
            .unwrap_or(Cell::Empty),
        Cell::num(d.min, decimals),
        Cell::num(d.max, decimals),
    ]
}

/// The statistics table of one measurement, and its outlier warnings.
pub fn stats_section(m: &PerRequest) -> Section {
    let mut s = Section::new(
        &format!("stats:{}", m.record),
        &format!("Per request, with 95% CI: {}", m.record),
    );
    let mut t = Table::new(
        "per_request",
        [
            "quantity",
            "unit",
            "n",
            "mean",
            "median",
            "sd",
            "95% CI low",
            "95% CI high",
            "min",
            "max",
        ]
        .iter()
        .map(|c| Column::new(c, None))
        .collect(),
    );
    let per_token = format!("energy per output token, {}", m.basis);
    // Which of them cannot be negative: their interval stays above zero.
    let rows: [(&str, &str, &[f64], bool); 4] = [
        ("energy, gross", "J", &m.gross_j, true),
        ("energy, net", "J", &m.net_j, false),
        ("output tokens", "tokens", &m.output_tokens, true),
        (
            &per_token,
            "J/token",
            &m.energy_per_output_token_j,
            m.basis == EnergyBasis::Gross,
        ),
    ];
    let mut data = serde_json::Map::new();
    let mut log_normal = Vec::new();
    for (name, unit, values, positive) in rows {
        let described = if positive {
            Describe::of_positive(values)
        } else {
            Describe::of(values)
        };
        if let Some(d) = described {
            if d.ci_method == CiMethod::LogNormalCox {
                log_normal.push(name.to_string());
            }
            t.row(stat_row(name, unit, &d, 4));
            for i in &d.outliers {
                s.notes.push(format!(
                    "warning: {name}: repetition {} ({} {unit}) is an outlier by the MAD rule; it is kept in every figure",
                    i, fmt_num(values[*i], 4)
                ));
            }
            data.insert(
                name.replace([',', ' '], "_").replace("__", "_"),
                serde_json::to_value(&d).unwrap_or_default(),
            );
        }
    }
    if t.rows.is_empty() {
        s.notes
            .push("No measured repetition completed: there is nothing to summarise.".into());
    } else {
        s.tables.push(t);
    }
    s.notes.push(format!(
        "Provenance of the energy: {}. Basis of the figures computed from it: {}.",
        m.provenance_label(),
        m.basis.as_str()
    ));
    if !m.left_out.is_empty() {
        s.notes.push(format!(
            "{} measured repetition(s) are left out of every figure (incomplete or undercounted; see the warnings).",
            m.left_out.len()
        ));
    }
    s.notes.push(stats::method_note());
    if !log_normal.is_empty() {
        s.notes.push(format!(
            "The 95% CI of {} is {}.",
            log_normal.join(", "),
            CiMethod::LogNormalCox.describe()
        ));
    }
    s.data = serde_json::Value::Object(data);
    s
}

/// CO2e per request at one site and everyday equivalents.
pub fn co2e_section(
    p: &ProfileSet,
    m: &PerRequest,
    opts: &ReportOptions,
) -> anyhow::Result<Section> {
    let basis = m.basis;
    let d = m
        .stats()
        .ok_or_else(|| anyhow!("{}: no measured repetition completed", m.record))?;
    let site = p.site(&opts.site).ok_or_else(|| {
        anyhow!(
            "no site `{}`; `hoeveel profiles list` shows them",
            opts.site
        )
    })?;
    let r = sites::at_site(p, site, d.ci(), GridChoice::In(&opts.grid))
        .ok_or_else(|| anyhow!("site `{}` has no grid entry", site.id))?;
    let mut s = Section::new(
        &format!("co2e:{}", m.record),
        &format!("CO2e per request at {}: {}", site.name, m.record),
    );
    let mut t = Table::new(
        "co2e",
        vec![
            Column::new("energy per request", Some("J")),
            Column::new("PUE", None),
            Column::new("grid", Some("gCO2e/kWh")),
            Column::new("grid entry", None),
            Column::new("per request", Some("g CO2e")),
            Column::new("per 1,000 requests", Some("g CO2e")),
        ],
    )
    .caption(format!(
        "Energy {}, mean and 95% CI; site {} [{}]",
        basis.as_str(),
        site.name,
        site.id
    ));
    t.row(vec![
        Cell::interval(d.ci(), 4),
        Cell::interval(r.pue, 3),
        Cell::num(r.grid_g_per_kwh, 2),
        Cell::text(&r.grid_id),
        Cell::interval_sig(r.g_per_request, 4),
        Cell::interval_sig(r.g_per_request.scale(1000.0), 4),
    ]);
    s.tables.push(t);

    let mut e = Table::new(
        "equivalents",
        vec![
            Column::new("equivalent", None),
            Column::new("value", None),
            Column::new("from", None),
        ],
    )
    .caption("Everyday equivalents of the mean energy per request");
    let wh = d.mean / 3600.0;
    if let Some(b) = p.device("phone-battery-5000mah") {
        e.row(vec![
            Cell::text("share of a 5000 mAh phone charge"),
            Cell::text(format!(
                "{} %",
                Cell::sig(ask_or_search::share_of_charge_pct(wh, b.value.low()), 4).display()
            )),
            Cell::text(format!("{} Wh [{}]", fmt_num(b.value.low(), 1), b.id)),
        ]);
    }
    // No "Google searches of 2009" here: that figure is the whole fleet's
    // (provisioned rung) and this run is one machine's CPU; `hoeveel compare`
    // sets the two side by side on one rung.
    if let Some(l) = p.device("laptop-browsing") {
        let secs = Interval::new(d.mean / l.value.high(), None, d.mean / l.value.low());
        e.row(vec![
            Cell::text("seconds of laptop browsing"),
            Cell::interval_sig(secs, 3),
            Cell::text(format!("{} W [{}]", l.value.display(0), l.id)),
        ]);
    }
    s.tables.push(e);
    let fallbacks: Vec<(String, String)> = r
        .grid_fallback
        .then(|| (site.id.clone(), r.grid_id.clone()))
        .into_iter()
        .collect();
    s.notes.extend(sites::grid_notes(&opts.grid, &fallbacks));
    s.notes.push(format!(
        "Method: g CO2e = energy (kWh) x PUE x grid; the energy's 95% CI and the PUE range combine by interval arithmetic (low x low .. high x high). PUE status {}{}.",
        site.meta.status,
        site.meta
            .note
            .as_ref()
            .map(|n| format!(": {}", n.trim_end_matches('.')))
            .unwrap_or_default()
    ));
    // The ranked sites as a chart, for the HTML report.
    let ranked = sites::section(p, d.ci(), &m.record, false, &opts.grid);
    s.charts.extend(ranked.charts);
    s.data = serde_json::json!({ "energy_basis": basis, "energy_per_request_j": d.ci(), "grid_dataset": opts.grid, "site": r });
    Ok(s)
}

/// The whole report for some records.
pub fn report(
    p: &ProfileSet,
    records: &[Record],
    opts: &ReportOptions,
) -> anyhow::Result<Document> {
    let mut doc = Document {
        title: "hoeveel report".into(),
        basis: Basis::measured(None),
        sections: Vec::new(),
        warnings: Vec::new(),
    };
    for record in records {
        doc.warnings.extend(crate::cli::record_warnings(record));
        let m = PerRequest::of(record, opts.basis)?;
        doc.basis = doc.basis.combine(&Basis::measured(m.provenance));
        let mut summary = Section::new(
            &format!("summary:{}", m.record),
            &format!("Run summary: {}", m.record),
        );
        if let Some(d) = m.stats() {
            use crate::stats::CiInterval;
            let ci = d.ci();
            summary.lead.push(format!(
                "Answer: {} per request (95% CI {}–{}, n = {}), {}.",
                ask_or_search::fmt_energy(d.mean),
                ask_or_search::fmt_energy(ci.low),
                ask_or_search::fmt_energy(ci.high),
                d.n,
                crate::rungs::describe(&m, record)
            ));
        }
        summary.preformatted = Some(Summary::of(record).render_text());
        summary.basis = Some(Basis::measured(m.provenance));
        summary.data = serde_json::json!({
            "record": m.record,
            "energy_basis": m.basis,
            "workload_kind": m.kind,
            "workload_label": m.label,
            "provenance": m.provenance,
            "requests_per_repetition": m.requests_per_repetition,
            "status": record.run_end.as_ref().map(|e| e.status.as_str()),
        });
        if let Some(c) = PowerChart::of(record) {
            summary.charts.push(Chart::Power(c));
        }
        doc.sections.push(summary);
        let mut st = stats_section(&m);
        st.basis = Some(Basis::measured(m.provenance));
        doc.sections.push(st);
        if m.is_empty() {
            doc.warnings.push(format!(
                "{}: no measured repetition completed; nothing to compute CO2e from",
                m.record
            ));
            continue;
        }
        let mut c = co2e_section(p, &m, opts)?;
        c.basis = Some(Basis::measured(m.provenance));
        doc.sections.push(c);
        if let Some(mut s) = crate::protocol::section(p, record) {
            s.basis = Some(Basis::measured(m.provenance));
            doc.sections.push(s);
        }
    }
    Ok(doc)
}

/// `hoeveel compare A B`: A / B with a 95% bootstrap CI, next to the published figures.
/// Both sides are on one basis: `basis` when both records can give it (else an
/// error naming the one that cannot), by default net when both have an idle
/// baseline and gross otherwise.
pub fn compare(
    p: &ProfileSet,
    a: &Record,
    b: &Record,
    basis: Option<EnergyBasis>,
    all_published: bool,
) -> anyhow::Result<Document> {
    let (basis, why) = common_basis(&[a, b], basis)?;
    let (ma, mb) = (
        PerRequest::of(a, Some(basis))?,
        PerRequest::of(b, Some(basis))?,
    );
    let mut doc = Document {
        title: format!("hoeveel compare: {} / {}", ma.record, mb.record),
        basis: Basis::measured(hoeveel_record::Provenance::weakest(
            ma.provenance.into_iter().chain(mb.provenance),
        )),
        sections: Vec::new(),
        warnings: crate::cli::record_warnings(a)
            .into_iter()
            .chain(crate::cli::record_warnings(b))
            .collect(),
    };
    if ma.is_empty() || mb.is_empty() {
        anyhow::bail!("both records need at least one completed repetition");
    }
    let mut s = Section::new("ratio", "Ratio of the energy per request");
    let mut t = Table::new(
        "ratio",
        vec![
            Column::new("measurement", None),
            Column::new("kind", None),
            Column::new("n", None),
            Column::new("basis", None),
            Column::new("mean", Some("J")),
            Column::new("95% CI", Some("J")),
            Column::new("provenance", None),
        ],
    );
    for m in [&ma, &mb] {
        if let Some(d) = m.stats() {
            t.row(vec![
                Cell::text(format!("{} ({})", m.label, m.record)),
                Cell::text(m.kind.name()),
                Cell::num(d.n as f64, 0),
                Cell::text(m.basis.name()),
                Cell::num(d.mean, 4),
                Cell::interval(d.ci(), 4),
                Cell::text(m.provenance_label()),
            ]);
        }
    }
    s.tables.push(t);
    if let Some(why) = &why {
        s.notes.push(format!("Energy basis: {why}."));
    }
    match ask_or_search::measured_ratio(&ma, &mb) {
        Ok(r) => {
            let ci = match (r.ci_low, r.ci_high) {
                (Some(l), Some(h)) => format!("95% CI {}–{}", fmt_num(l, 2), fmt_num(h, 2)),
                _ => "no CI".to_string(),
            };
            s.notes.push(format!(
                "{} / {} = {}x ({ci}); energy {}.",
                ma.record,
                mb.record,
                fmt_num(r.ratio, 2),
                basis.as_str()
            ));
            s.notes.push(format!("Method: {}.", r.method));
            s.charts
                .push(crate::plot::Chart::Bars(crate::plot::BarChart {
                    title: format!("{} / {}: ratio with its 95% CI", ma.record, mb.record),
                    unit: "ratio of the energy per request".into(),
                    bars: vec![crate::plot::Bar {
                        label: format!("{} / {}", ma.record, mb.record),
                        low: r.ci_low.unwrap_or(r.ratio),
                        typical: Some(r.ratio),
                        high: r.ci_high.unwrap_or(r.ratio),
                        highlight: true,
                    }],
                }));
            s.data = serde_json::json!({ "ratio": r, "basis": basis });
        }
        Err(why) => {
            s.notes.push(format!("No ratio: {why}."));
            s.data = serde_json::json!({ "ratio": null, "no_ratio_because": why, "basis": basis });
        }
    }
    doc.sections.push(s);
    if matches!(ma.kind, WorkloadKind::Llm | WorkloadKind::AiSearch)
        && mb.kind == WorkloadKind::Search
    {
        let inputs = ask_or_search::Inputs {
            all_published,
            ..Default::default()
        }
        .measured(a, b)?;
        // Case 1 leads: the answer first, then the two records' table.
        let ratio = doc.sections.pop();
        doc.sections.push(ask_or_search::section(p, &inputs));
        doc.sections.extend(ratio);
    } else {
        let mut pubs = Section::new("published", "Published per-request figures, for context");
        pubs.basis = Some(Basis::reference());
        pubs.tables.push(ask_or_search::published_table(
            p,
            &[ma.kind.name()],
            all_published,
        ));
        doc.sections.push(pubs);
    }
    Ok(doc)
}
