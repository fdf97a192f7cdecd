//! `hoeveel compare A B C …`: several records side by side (typically one model
//! size each, from `hoeveel-agent llm --model A --model B …`), each row with its
//! 95% intervals and its ratio to the first, and a chart of energy per output
//! token against parameter count on log axes.

use crate::cases::ask_or_search::measured_ratio;
use crate::output::{Basis, Cell, Column, Document, Section, Table, fmt_num};
use crate::plot::{Chart, Point, ScatterChart};
use crate::stats::{CiInterval, Describe};
use hoeveel_record::per_request::common_basis;
use hoeveel_record::prefill::PrefillDecode;
use hoeveel_record::{EnergyBasis, PerRequest, Provenance, Record};

/// The ratio of `m` to the first record, with its 95% CI; "–" where there is no
/// ratio, and why in `notes` (once), naming the record at fault.
fn ratio_cell(m: &PerRequest, first: &PerRequest, notes: &mut Vec<String>) -> Cell {
    match measured_ratio(m, first) {
        Ok(r) => Cell::text(match (r.ci_low, r.ci_high) {
            (Some(lo), Some(hi)) => format!(
                "{} ({}–{})",
                fmt_num(r.ratio, 3),
                fmt_num(lo, 3),
                fmt_num(hi, 3)
            ),
            _ => fmt_num(r.ratio, 3),
        }),
        Err(why) => {
            // A first record at fault is named once, not once per row.
            let note = format!("No ratio to the first: {why}.");
            if !notes.contains(&note) {
                notes.push(note);
            }
            Cell::text("–")
        }
    }
}

fn ci_cell(m: &PerRequest, values: &[f64], scale: f64) -> (Cell, Cell) {
    match m.describe(values) {
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
    let mut no_ratio = Vec::new();
    for (m, record) in ms.iter().zip(records) {
        let (mean, ci) = ci_cell(m, &m.energy_j, 1.0);
        let (tok, tok_ci) = ci_cell(m, &m.energy_per_output_token_j, 1e3);
        let model = &record.run_start.workload.details["model"];
        let parameters = model["parameters"].as_f64();
        let prefill = PrefillDecode::of(record).and_then(|p| p.prefill_per_input_token_j);
        let ratio = ratio_cell(m, first, &mut no_ratio);
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
            ratio,
            Cell::text(m.provenance_label()),
        ]);
        if let (Some(n), Some(d)) = (parameters, m.per_token_stats()) {
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
    s.notes.extend(no_ratio);
    s.notes.push(format!(
        "Energy basis: {}{}. Intervals are 95% intervals of the mean: Student t, or log-normal (modified Cox) for a gross energy whose Student-t interval would reach below zero; the ratio to the first is a ratio of means with a 95% percentile bootstrap interval. Per input token is the prefill probes' energy over their prompt tokens (runs with --split-prefill or a protocol), else –.",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::ask_or_search::tests::measured;

    #[test]
    fn a_ratio_to_or_of_an_energy_below_zero_is_a_dash_and_a_note_naming_it() {
        let first = measured("small.jsonl", &[10.0, 11.0, 9.0]);
        let busy = measured("busy.jsonl", &[-8.0, -7.5, -8.5]);
        let mut notes = Vec::new();
        let to_itself = ratio_cell(&first, &first, &mut notes).display();
        assert!(to_itself.starts_with("1.000 ("), "{to_itself}");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(ratio_cell(&busy, &first, &mut notes).display(), "–");
        assert_eq!(ratio_cell(&busy, &first, &mut notes).display(), "–");
        assert_eq!(notes.len(), 1, "one note per reason: {notes:?}");
        assert!(
            notes[0].starts_with("No ratio to the first: busy.jsonl: its net energy"),
            "{notes:?}"
        );
        assert!(notes[0].contains("lies wholly below zero"), "{notes:?}");
        // Below zero as the first: every ratio names it.
        let mut notes = Vec::new();
        assert_eq!(ratio_cell(&first, &busy, &mut notes).display(), "–");
        assert_eq!(ratio_cell(&busy, &busy, &mut notes).display(), "–");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("No ratio to the first: busy.jsonl: its net energy"),
            "{notes:?}"
        );
    }
}
