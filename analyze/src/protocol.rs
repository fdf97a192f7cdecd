//! A run made under a published protocol, restated in the protocol's own unit
//! next to the published figure of the nearest model, with both boundaries.
//!
//! ML.ENERGY reports GPU energy per output token in the steady state of N
//! requests in flight, and per response. Ours is the record's steady windows
//! (see `hoeveel_record::steady`) over the domains it measured, with the GPU's
//! share alone when a GPU was measured, next to the published figures, the one at
//! the nearest concurrency first.
//!
//! AI Energy Score reports Wh per 1,000 queries of exactly 10 new tokens at
//! batch 1, GPU energy only. Ours is the energy per query on the record's basis
//! × 1,000 / 3,600, over the domains the record measured; when a GPU was
//! measured, its share alone is given too, for the like-for-like boundary.

use crate::output::{Cell, Column, Section, Table};
use hoeveel_profiles::{ProfileSet, RequestEntry};
use hoeveel_record::prefill::Estimate;
use hoeveel_record::stats::Describe;
use hoeveel_record::steady::SteadyState;
use hoeveel_record::{DomainKind, PerRequest, Record};

/// The protocol a record says it followed.
pub fn of(record: &Record) -> Option<&str> {
    record.run_start.workload.details["protocol"].as_str()
}

/// J per query to Wh per 1,000 queries.
fn wh_per_1000(j: f64) -> f64 {
    j * 1000.0 / 3600.0
}

/// The section of a record made under a protocol; `None` for any other.
pub fn section(p: &ProfileSet, record: &Record) -> Option<Section> {
    match of(record)? {
        "ai-energy-score" => ai_energy_score(p, record),
        "ml-energy" => ml_energy(p, record),
        _ => None,
    }
}

/// The domains in the record's total, joined for a boundary column.
fn measured_domains(record: &Record) -> String {
    record
        .run_start
        .domains
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.id.as_str())
        .collect::<Vec<_>>()
        .join(" + ")
}

fn ci_of(e: &Estimate, decimals: usize) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => format!("{lo:.decimals$}–{hi:.decimals$}"),
        _ => "–".into(),
    }
}

fn ml_energy(p: &ProfileSet, record: &Record) -> Option<Section> {
    let st = SteadyState::of(record)?;
    let name = record.name();
    let mut s = Section::new(
        &format!("protocol:{name}"),
        &format!("Under the ML.ENERGY protocol: {name}"),
    );
    let mut t = Table::new(
        "ml-energy",
        vec![
            Column::new("figure", None),
            Column::new("J per output token", None),
            Column::new("95% CI", None),
            Column::new("J per response", None),
            Column::new("boundary", None),
        ],
    );
    let provenance = record
        .total_provenance()
        .map_or("no sensor", |x| x.as_str());
    match &st.per_output_token_j {
        Some(token) => t.row(vec![
            Cell::text(format!(
                "this run: {}, {} in flight",
                record.run_start.workload.label, st.in_flight
            )),
            Cell::num(token.mean, 4),
            Cell::text(ci_of(token, 4)),
            st.per_response_j
                .as_ref()
                .map_or_else(|| Cell::text("–"), |r| Cell::num(r.mean, 2)),
            Cell::text(format!(
                "{} energy of {} ({provenance}), this machine, steady state of {} of {} repetitions",
                st.basis.name(),
                measured_domains(record),
                st.windows,
                st.repetitions
            )),
        ]),
        None => t.row(vec![
            Cell::text(format!(
                "this run: {}, {} in flight",
                record.run_start.workload.label, st.in_flight
            )),
            Cell::text("no steady state"),
            Cell::text("–"),
            Cell::text("–"),
            Cell::text(format!("{} repetitions, none with a steady state", st.repetitions)),
        ]),
    }
    if let Some(gpu) = &st.gpu_per_output_token_j {
        let per_response = st.output_tokens_per_response.map(|n| gpu.mean * n);
        t.row(vec![
            Cell::text("this run, GPU only"),
            Cell::num(gpu.mean, 4),
            Cell::text(ci_of(gpu, 4)),
            per_response.map_or_else(|| Cell::text("–"), |r| Cell::num(r, 2)),
            Cell::text("gross energy of the GPU domains"),
        ]);
    }
    let mut published: Vec<(&RequestEntry, u32, f64)> = p
        .requests
        .iter()
        .map(|(e, _)| e)
        .filter_map(|e| {
            let pr = e.protocol.as_ref().filter(|pr| pr.name == "ml-energy")?;
            Some((e, pr.concurrency?, pr.j_per_output_token?))
        })
        .collect();
    let distance = |c: u32| (f64::from(c).ln() - f64::from(st.in_flight).ln()).abs();
    published.sort_by(|a, b| distance(a.1).total_cmp(&distance(b.1)));
    for (e, concurrency, per_token) in &published {
        let Some(pr) = &e.protocol else { continue };
        t.row(vec![
            Cell::text(format!(
                "published: {} at {concurrency} in flight [{}]",
                pr.model, e.id
            )),
            Cell::num(*per_token, 4),
            Cell::text("–"),
            Cell::num(e.energy_j().map_or(f64::NAN, |j| j.centre()), 2),
            Cell::text(format!("rung {}: {} ({})", e.rung, e.boundary, pr.hardware)),
        ]);
    }
    s.tables.push(t);
    if st.per_output_token_j.is_none() {
        s.notes.push(format!(
            "No steady state: {}. A server that runs one request at a time (or fewer than {} together) has no moment when all of them are being generated; raise its parallel slots (llama.cpp's llama-server -np {}, Ollama's OLLAMA_NUM_PARALLEL) or lower --concurrency.",
            st.why_none.first().map_or("no window held a token", String::as_str),
            st.in_flight,
            st.in_flight
        ));
    }
    s.notes.push(
        "Per output token is the energy from the moment every request had its first token to the moment the first one ended, over the tokens streamed in between (one per content chunk); per response is that × the run's mean output tokens per response, as the leaderboard derives it.".into(),
    );
    s.notes.push(
        "The published figures are GPU energy only, on an NVIDIA H100 serving Llama-3.1-8B with vLLM; this run's boundary is the domains above on this machine. The table puts them side by side; a different model, server and machine make them different requests.".into(),
    );
    s.data = serde_json::json!({
        "protocol": "ml-energy",
        "in_flight": st.in_flight,
        "j_per_output_token": st.per_output_token_j.map(|e| e.mean),
        "ci": st.per_output_token_j.map(|e| [e.ci_low, e.ci_high]),
        "j_per_response": st.per_response_j.map(|e| e.mean),
        "windows": st.windows,
        "repetitions": st.repetitions,
        "why_none": st.why_none,
        "published": published.iter().map(|(e, _, _)| &e.id).collect::<Vec<_>>(),
    });
    Some(s)
}

/// The AI Energy Score section.
fn ai_energy_score(p: &ProfileSet, record: &Record) -> Option<Section> {
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
    t.row(vec![
        Cell::text(format!("this run: {}", record.run_start.workload.label)),
        Cell::num(wh_per_1000(ours.mean), 3),
        Cell::text(ci(&ours)),
        Cell::text(format!(
            "{} energy of {} ({}), this machine, batch 1, 10 new tokens",
            m.basis.name(),
            measured_domains(record),
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
            Cell::num(
                e.energy_j().map_or(f64::NAN, |j| wh_per_1000(j.centre())),
                3,
            ),
            Cell::text("–"),
            Cell::text(format!("rung {}: {} ({})", e.rung, e.boundary, pr.hardware)),
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
