//! The four workshop cases, each answered next to the workshop's figure, the
//! difference and the sources. With records (an `llm` and a `search` workload) the
//! measured energy is used; without, published reference figures stand in and the
//! output says so.

pub mod ask_or_search;
pub mod municipality;
pub mod sites;
pub mod training;

use crate::output::{Basis, Document};
use crate::profiles::{GridChoice, ProfileSet};
use crate::stats::CiInterval;
use crate::stats::Interval;
use hoeveel_record::PerRequest;
use hoeveel_record::{Record, WorkloadKind};

/// Amortisation points when the user gives none.
pub const DEFAULT_REQUESTS: [f64; 3] = [1e6, 1e9, 1e12];

/// The LLM energy per request used by cases 2 and 4: a measurement's 95% CI, or
/// De Vries' 3 Wh as the reference input.
/// The table every case ends with: its answer, the workshop's figure, the
/// difference and the source, one row per item.
pub fn answer_check_table() -> crate::output::Table {
    use crate::output::{Column, Table};
    Table::new(
        "workshop_check",
        vec![
            Column::new("item", None),
            Column::new("this answer", None),
            Column::new("workshop", None),
            Column::new("difference", None),
            Column::new("source", None),
        ],
    )
    .caption("Answer next to the workshop's figures")
}

pub fn llm_energy(p: &ProfileSet, llm: Option<&PerRequest>) -> (Interval, String, Basis) {
    if let Some(m) = llm
        && let Some(d) = m.stats()
    {
        return (
            d.ci(),
            format!(
                "measured LLM query `{}` ({}), {}, mean and 95% CI, {}",
                m.label,
                m.record,
                m.basis.as_str(),
                m.provenance_label()
            ),
            Basis::measured(m.provenance),
        );
    }
    let reference = p
        .request("devries-llm-2023")
        .and_then(|r| r.energy_j())
        .unwrap_or(Interval::point(3.0 * 3600.0));
    (
        reference,
        "REFERENCE INPUT: De Vries (2023), about 3 Wh per LLM interaction [devries-llm-2023]"
            .into(),
        Basis::reference(),
    )
}

/// The plain search to set against `answer`: one over the same corpus (the same
/// fingerprint and document count), else the one over the most documents.
pub fn main_search<'a>(answer: Option<&Record>, searches: &[&'a Record]) -> Option<&'a Record> {
    if let Some(a) = answer
        && let Some(same) = searches
            .iter()
            .find(|q| ask_or_search::same_corpus(a, q) == Some(true))
    {
        return Some(same);
    }
    searches
        .iter()
        .max_by(|a, b| {
            ask_or_search::documents(a)
                .unwrap_or(0.0)
                .total_cmp(&ask_or_search::documents(b).unwrap_or(0.0))
        })
        .copied()
}

/// All four cases, their CO2e figures on `grid` (case 2's workshop check on the
/// workshop's own values).
pub fn all(
    p: &ProfileSet,
    records: &[Record],
    grid: &crate::profiles::GridDataset,
    all_published: bool,
) -> anyhow::Result<Document> {
    let complete = |kind: WorkloadKind| -> Vec<&Record> {
        records
            .iter()
            .filter(|r| r.run_start.workload.kind == kind && r.measured_complete().next().is_some())
            .collect()
    };
    let (ai_records, llm_records, search_records) = (
        complete(WorkloadKind::AiSearch),
        complete(WorkloadKind::Llm),
        complete(WorkloadKind::Search),
    );
    // The answer side: an AI search, else an LLM answer (labelled as such).
    let answer_record = ai_records.first().or(llm_records.first()).copied();
    let search_record = main_search(answer_record, &search_records);
    let llm = llm_records
        .first()
        .or(ai_records.first())
        .map(|r| PerRequest::auto(r));
    // Case 1 compares the two on gross energy, the basis of the published figures
    // it stands next to (see `Inputs::measured`).
    let mut inputs = ask_or_search::Inputs {
        corpus_series: search_records.clone(),
        model_series: ai_records.iter().chain(&llm_records).copied().collect(),
        all_published,
        ..Default::default()
    };
    if let (Some(a), Some(q)) = (answer_record, search_record) {
        inputs = inputs.measured(a, q)?;
    }
    let mut doc = Document {
        title: "hoeveel cases: the four workshop cases".into(),
        basis: Basis::measured(None),
        sections: Vec::new(),
        warnings: records
            .iter()
            .flat_map(crate::cli::record_warnings)
            .collect(),
    };
    if !records.is_empty() && answer_record.is_none() {
        doc.warnings.push("no record with workload kind `ai-search` or `llm` and a completed repetition: cases 1, 2 and 4 use reference inputs".into());
    }
    if !records.is_empty() && search_record.is_none() {
        doc.warnings.push("no record with workload kind `search` and a completed repetition: case 1 uses reference inputs".into());
    }

    let mut c1 = ask_or_search::section(p, &inputs);
    let b1 = c1.basis.clone().unwrap_or_else(Basis::reference);
    c1.basis = Some(b1.clone());
    doc.basis = doc.basis.combine(&b1);
    doc.sections.push(c1);

    let (energy, label, b2) = llm_energy(p, llm.as_ref());
    let mut c2 = sites::section(p, energy, &label, false, grid);
    c2.basis = Some(b2.clone());
    doc.basis = doc.basis.combine(&b2);
    doc.sections.push(c2);

    let scenario = municipality::Scenario::parse(
        crate::profiles::MUNICIPALITY_SCENARIO,
        "profiles/scenarios/municipality.toml",
    )?;
    let mut c3 = municipality::section(p, &scenario, None, grid)?;
    c3.basis = Some(Basis::reference());
    c3.notes.push("Hosting energy from the Sustainable Web Design model; measure it with `hoeveel-agent run` against a local server and pass `hoeveel scenario FILE --hosting-record r.jsonl`.".into());
    doc.basis = doc.basis.combine(&Basis::reference());
    doc.sections.push(c3);

    let site = training::TrainingSite::default_for(p, grid)
        .ok_or_else(|| anyhow::anyhow!("the profiles lack the US grid entry used for case 4"))?;
    let ws_site = p.site("ms-nl");
    let inference = ws_site
        .and_then(|s| sites::at_site(p, s, energy, GridChoice::In(grid)))
        .map(|r| training::Inference {
            g_per_request: r.g_per_request,
            label: format!("{label}; at {}, grid {}", r.name, r.grid_id),
        });
    let ids: Vec<String> = p.models.iter().map(|(m, _)| m.id.clone()).collect();
    let mut c4 = training::section(p, &ids, &site, &DEFAULT_REQUESTS, inference.as_ref())?;
    c4.basis = Some(Basis::reference().combine(&b2));
    doc.sections.push(c4);
    Ok(doc)
}
