//! `hoeveel compare A B C …`: several records side by side (typically one model
//! size each, from `hoeveel-agent llm --model A --model B …`), each row with its
//! 95% intervals and its ratio to the first, and a chart of energy per output
//! token against parameter count on log axes.

use crate::output::{Basis, Cell, Column, Document, Section, Table, fmt_num};
use crate::plot::{Chart, Point, ScatterChart};
use crate::stats::{CiInterval, Describe, ratio_of_means};
use hoeveel_record::per_request::common_basis;
use hoeveel_record::prefill::PrefillDecode;
use hoeveel_record::{EnergyBasis, PerRequest, Provenance, Record};

fn ci_cell(values: &[f64], scale: f64) -> (Cell, Cell) {
    match Describe::of(values) {
        Some(d) => (
            Cell::sig(d.mean * scale, 3),
            Cell::interval_sig(d.ci().scale(scale), 3),
        ),
        None => (Cell::text("–"), Cell::text("–")),
    }
}

/// The N-way comparison document; all records on one energy basis.
pub fn compare_many(records: &[Record], basis: Option<EnergyBasis>) -> anyhow::Result<Document> {
    let refs: Vec<&Record> = records.iter().collect();
    let (basis, why) = common_basis(&refs, basis)?;
    let ms = records
        .iter()
        .map(|r| PerRequest::of(r, Some(basis)))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(empty) = ms.iter().find(|m| m.is_empty()) {
        anyhow::bail!("{}: no measured repetition completed", empty.record);
    }
    let mut doc = Document {
        title: format!(
            "hoeveel compare: {}",
            ms.iter()
                .map(|m| m.record.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        basis: Basis::measured(Provenance::weakest(ms.iter().filter_map(|m| m.provenance))),
        sections: Vec::new(),
        warnings: records
            .iter()
            .flat_map(crate::cli::record_warnings)
            .collect(),
    };
    let mut s = Section::new("compare", "Energy per request, side by side");
    let mut t = Table::new(
        "compare",
        vec![
            Column::new("measurement", None),
            Column::new("n", None),
            Column::new("per request", Some("J")),
            Column::new("95% CI", Some("J")),
            Column::new("per output token", Some("mJ")),
            Column::new("95% CI", Some("mJ")),
            Column::new("per input token (prefill)", Some("mJ")),
            Column::new("tokens/s", None),
            Column::new("first token", Some("ms")),
            Column::new("parameters", Some("M")),
            Column::new("quantisation", None),
            Column::new("ratio to the first (95% CI)", None),
            Column::new("provenance", None),
        ],
    );
    let first = &ms[0];
    let mut points = Vec::new();
    for (m, record) in ms.iter().zip(records) {
        let (mean, ci) = ci_cell(&m.energy_j, 1.0);
        let (tok, tok_ci) = ci_cell(&m.energy_per_output_token_j, 1e3);
        let model = &record.run_start.workload.details["model"];
        let parameters = model["parameters"].as_f64();
        let prefill = PrefillDecode::of(record).and_then(|p| p.prefill_per_input_token_j);
        let ratio =
            ratio_of_means(&m.energy_j, &first.energy_j).map(|r| match (r.ci_low, r.ci_high) {
                (Some(lo), Some(hi)) => format!(
                    "{} ({}–{})",
                    fmt_num(r.ratio, 3),
                    fmt_num(lo, 3),
                    fmt_num(hi, 3)
                ),
                _ => fmt_num(r.ratio, 3),
            });
        t.row(vec![
            Cell::text(format!("{} ({})", m.label, m.record)),
            Cell::num(m.energy_j.len() as f64, 0),
            mean,
            ci,
            tok,
            tok_ci,
            prefill.map_or(Cell::text("–"), |e| Cell::sig(e.mean * 1e3, 3)),
            Describe::of(&m.tokens_per_s).map_or(Cell::text("–"), |d| Cell::num(d.mean, 1)),
            Describe::of(&m.time_to_first_token_s)
                .map_or(Cell::text("–"), |d| Cell::num(d.mean * 1e3, 1)),
            parameters.map_or(Cell::text("–"), |n| Cell::num(n / 1e6, 0)),
            Cell::text(model["quantisation"].as_str().unwrap_or("–")),
            Cell::text(ratio.unwrap_or_else(|| "–".into())),
            Cell::text(m.provenance_label()),
        ]);
        if let (Some(n), Some(d)) = (parameters, Describe::of(&m.energy_per_output_token_j)) {
            let ci = d.ci();
            points.push(Point {
                // The model, without the prompt: "smollm2-135m (in-process): …".
                label: m.label.split(" (").next().unwrap_or(&m.label).to_string(),
                x: n,
                y: d.mean,
                y_low: ci.low,
                y_high: ci.high,
            });
        }
    }
    s.tables.push(t);
    s.notes.push(format!(
        "Energy basis: {}{}. Intervals are 95% Student-t intervals of the mean; the ratio to the first is a ratio of means with a 95% percentile bootstrap interval. Per input token is the prefill probes' energy over their prompt tokens (runs with --split-prefill or a protocol), else –.",
        basis.name(),
        why.map(|w| format!(" ({w})")).unwrap_or_default()
    ));
    if points.len() >= 2 {
        s.charts.push(Chart::Scatter(ScatterChart {
            title: "Energy per output token against model size".into(),
            x_unit: "parameters".into(),
            y_unit: format!("J per output token ({})", basis.name()),
            points,
        }));
    }
    s.data = serde_json::json!({
        "basis": basis,
        "records": ms.iter().map(|m| &m.record).collect::<Vec<_>>(),
    });
    doc.sections.push(s);
    Ok(doc)
}
