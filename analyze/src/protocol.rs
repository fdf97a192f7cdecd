//! A run made under a published protocol, restated in the protocol's own unit
//! next to the published figure of the nearest model, with both boundaries.
//!
//! AI Energy Score reports Wh per 1,000 queries of exactly 10 new tokens at
//! batch 1, GPU energy only. Ours is the energy per query on the record's basis
//! × 1,000 / 3,600, over the domains the record measured; when a GPU was
//! measured, its share alone is given too, for the like-for-like boundary.

use crate::output::{Cell, Column, Section, Table};
use hoeveel_profiles::{ProfileSet, RequestEntry};
use hoeveel_record::stats::Describe;
use hoeveel_record::{DomainKind, PerRequest, Record};

/// The protocol a record says it followed.
pub fn of(record: &Record) -> Option<&str> {
    record.run_start.workload.details["protocol"].as_str()
}

/// J per query to Wh per 1,000 queries.
fn wh_per_1000(j: f64) -> f64 {
    j * 1000.0 / 3600.0
}

/// The AI Energy Score section of a record that followed it; `None` for any other.
pub fn section(p: &ProfileSet, record: &Record) -> Option<Section> {
    if of(record) != Some("ai-energy-score") {
        return None;
    }
    let m = PerRequest::auto(record);
    let ours = Describe::of(&m.energy_j)?;
    let gpu_ids: Vec<&str> = record
        .run_start
        .domains
        .iter()
        .filter(|d| d.kind == DomainKind::Gpu && d.in_total)
        .map(|d| d.id.as_str())
        .collect();
    let gpu_j: Vec<f64> = record
        .measured_complete()
        .filter(|_| !gpu_ids.is_empty())
        .map(|r| {
            gpu_ids
                .iter()
                .filter_map(|id| r.energy_j.get(*id))
                .sum::<f64>()
                / r.requests.max(1) as f64
        })
        .collect();
    let parameters = record.run_start.workload.details["model"]["parameters"].as_f64();
    let published: Vec<&RequestEntry> = p
        .requests
        .iter()
        .map(|(e, _)| e)
        .filter(|e| {
            e.protocol
                .as_ref()
                .is_some_and(|pr| pr.name == "ai-energy-score")
        })
        .collect();
    let nearest = parameters.and_then(|n| {
        published
            .iter()
            .filter_map(|e| {
                let params = e.protocol.as_ref()?.parameters?;
                Some((e, (n.ln() - params.ln()).abs()))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(e, _)| *e)
    });

    let mut s = Section::new(
        &format!("protocol:{}", m.record),
        &format!("Under the AI Energy Score protocol: {}", m.record),
    );
    let mut t = Table::new(
        "ai-energy-score",
        vec![
            Column::new("figure", None),
            Column::new("Wh per 1,000 queries", None),
            Column::new("95% CI", None),
            Column::new("boundary", None),
        ],
    );
    let ci = |d: &Describe| match (d.ci_low, d.ci_high) {
        (Some(lo), Some(hi)) => format!("{:.3}–{:.3}", wh_per_1000(lo), wh_per_1000(hi)),
        _ => "–".into(),
    };
    let measured_domains: Vec<&str> = record
        .run_start
        .domains
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.id.as_str())
        .collect();
    t.row(vec![
        Cell::text(format!("this run: {}", record.run_start.workload.label)),
        Cell::num(wh_per_1000(ours.mean), 3),
        Cell::text(ci(&ours)),
        Cell::text(format!(
            "{} energy of {} ({}), this machine, batch 1, 10 new tokens",
            m.basis.name(),
            measured_domains.join(" + "),
            m.provenance.map_or("no sensor", |x| x.as_str())
        )),
    ]);
    if let Some(gpu) = Describe::of(&gpu_j) {
        t.row(vec![
            Cell::text("this run, GPU only"),
            Cell::num(wh_per_1000(gpu.mean), 3),
            Cell::text(ci(&gpu)),
            Cell::text(format!("gross energy of {}", gpu_ids.join(" + "))),
        ]);
    }
    let shown: Vec<&RequestEntry> = match nearest {
        Some(e) => vec![e],
        None => published.clone(),
    };
    for e in &shown {
        let Some(pr) = &e.protocol else { continue };
        t.row(vec![
            Cell::text(format!("published: {} [{}]", pr.model, e.id)),
            Cell::num(wh_per_1000(e.energy_j().centre()), 3),
            Cell::text("–"),
            Cell::text(format!("{} ({})", e.boundary, pr.hardware)),
        ]);
    }
    s.tables.push(t);
    s.notes.push(match (nearest, parameters) {
        (Some(e), Some(n)) => format!(
            "Nearest published model by parameter count: {} ({:.0} M parameters; this run's model has {:.0} M).",
            e.protocol.as_ref().map_or("?", |p| p.model.as_str()),
            e.protocol.as_ref().and_then(|p| p.parameters).unwrap_or(f64::NAN) / 1e6,
            n / 1e6
        ),
        _ => "The run's model has no parameter count in its record, so every published AI Energy Score figure is shown.".into(),
    });
    s.notes.push(
        "The published figures are GPU energy only on an NVIDIA H100; this run's boundary is the domains above on this machine. A small model on a CPU and the same protocol on a datacentre GPU are different requests: the table puts them side by side, it does not make them equal.".into(),
    );
    s.data = serde_json::json!({
        "protocol": "ai-energy-score",
        "wh_per_1000_queries": wh_per_1000(ours.mean),
        "ci": [ours.ci_low.map(wh_per_1000), ours.ci_high.map(wh_per_1000)],
        "nearest_published": nearest.map(|e| &e.id),
    });
    Some(s)
}
