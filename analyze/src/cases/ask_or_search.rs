//! Case 1, "ask or search?": the energy of an LLM query against a plain search.
//!
//! With records, the ratio of the measured per-request energies, with a bootstrap
//! 95% CI (see [`crate::stats::ratio_of_means`]); without, the published figures.
//! Either way the answer sits next to De Vries' 23-30x and the phone-charge check.

use crate::output::{Basis, Cell, Column, Section, Table, fmt_num};
use crate::plot::{Bar, BarChart, Chart};
use crate::profiles::ProfileSet;
use crate::stats::{CiInterval, Interval, RatioCi, ratio_of_means};
use hoeveel_record::PerRequest;

/// The workshop's answer: 6.9/0.3 = 23x to 8.9/0.3 = 29.7x ("23-30x").
pub const WORKSHOP_RATIO: (f64, f64) = (23.0, 30.0);
/// "9 Wh per request is 50% of a 5000 mAh phone battery."
pub const WORKSHOP_CHARGE_WH: f64 = 9.0;

/// Share of a phone battery (Wh) that `energy_wh` is, in percent.
pub fn share_of_charge_pct(energy_wh: f64, battery_wh: f64) -> f64 {
    100.0 * energy_wh / battery_wh
}

/// The measured ratio `a` / `b` of the energy per request, both on one basis; or why
/// there is none to print: no completed repetition, or a denominator whose 95% CI
/// (or the bootstrap's) reaches zero, where any ratio is as good as another.
pub fn measured_ratio(a: &PerRequest, b: &PerRequest) -> Result<RatioCi, String> {
    if a.basis != b.basis {
        return Err(format!(
            "{} is on the {} basis and {} on the {} basis; a ratio needs one basis",
            a.record, a.basis, b.record, b.basis
        ));
    }
    let (Some(_), Some(db)) = (a.stats(), b.stats()) else {
        return Err("both records need at least one completed repetition".into());
    };
    let fix =
        "Measure more repetitions, use --gross, or batch more requests per repetition (--batch)";
    if db.ci_includes_zero() {
        let ci = db.ci();
        return Err(format!(
            "{}: its {} energy per request has a 95% CI from {} J to {} J, which includes zero, so a ratio to it means nothing. {fix}",
            b.record,
            b.basis,
            fmt_num(ci.low, 6),
            fmt_num(ci.high, 6)
        ));
    }
    let r = ratio_of_means(&a.energy_j, &b.energy_j)
        .ok_or_else(|| "both records need at least one completed repetition".to_string())?;
    // With a CI, a resample whose denominator mean was 0 was dropped (fewer
    // resamples than drawn), and one below 0 gives a ratio at or below 0.
    let bootstrap_reaches_zero = r.ci_low.is_some()
        && (r.ci_low.is_some_and(|l| l <= 0.0) || r.resamples < crate::stats::BOOTSTRAP_RESAMPLES);
    if bootstrap_reaches_zero {
        return Err(format!(
            "{}: the bootstrap of its {} energy per request reaches zero or below, so the ratio's interval is unbounded. {fix}",
            b.record, b.basis
        ));
    }
    Ok(r)
}

/// Rounds to one decimal, as the figures are quoted (23.0x, 29.7x).
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn battery_wh(p: &ProfileSet) -> f64 {
    p.device("phone-battery-5000mah")
        .map(|d| d.value.low())
        .unwrap_or(18.5)
}

/// Case 1 with or without measurements.
/// Case 1 with or without measurements. The two measurements must be on one basis
/// ([`hoeveel_record::per_request::common_basis`]).
pub fn section(p: &ProfileSet, measured: Option<(&PerRequest, &PerRequest)>) -> Section {
    let mut s = Section::new("ask_or_search", "Case 1: ask or search?");
    let battery = battery_wh(p);
    let search = p.request("google-search-2009");
    let llm = p.request("devries-llm-2023");
    let ai = p.request("devries-ai-search-2023");
    let mut check = super::answer_check_table();
    let mut bars = Vec::new();
    match measured {
        Some((l, q)) => {
            let basis = l.basis;
            s.basis = Some(Basis::measured(hoeveel_record::Provenance::weakest(
                l.provenance.into_iter().chain(q.provenance),
            )));
            s.notes.push(format!(
                "Measured on this machine: LLM `{}` ({}, {}) and search `{}` ({}, {}); energy {}.",
                l.label,
                l.record,
                l.provenance_label(),
                q.label,
                q.record,
                q.provenance_label(),
                basis.as_str()
            ));
            let mut t = Table::new(
                "measured",
                vec![
                    Column::new("request", None),
                    Column::new("n", None),
                    Column::new("mean", Some("J")),
                    Column::new("95% CI", Some("J")),
                    Column::new("mean", Some("Wh")),
                    Column::new("provenance", None),
                ],
            );
            for (name, m) in [("LLM query", l), ("search", q)] {
                if let Some(d) = m.stats() {
                    t.row(vec![
                        Cell::text(name),
                        Cell::num(d.n as f64, 0),
                        Cell::num(d.mean, 4),
                        Cell::interval(d.ci(), 4),
                        Cell::num(d.mean / 3600.0, 6),
                        Cell::text(m.provenance_label()),
                    ]);
                }
            }
            s.tables.push(t);
            let ratio = measured_ratio(l, q);
            if let Err(why) = &ratio {
                s.notes.push(format!("No measured ratio: {why}."));
            }
            if let Ok(r) = ratio {
                let ci = Interval::new(
                    r.ci_low.unwrap_or(r.ratio),
                    Some(r.ratio),
                    r.ci_high.unwrap_or(r.ratio),
                );
                let inside = ci.high >= WORKSHOP_RATIO.0 && ci.low <= WORKSHOP_RATIO.1;
                check.row(vec![
                    Cell::text("LLM query / search (measured ratio)"),
                    Cell::text(format!(
                        "{}x (95% CI {}–{})",
                        fmt_num(r.ratio, 1),
                        fmt_num(ci.low, 1),
                        fmt_num(ci.high, 1)
                    )),
                    Cell::text("23–30x (AI search vs search)"),
                    Cell::text(if inside {
                        "overlaps the workshop range".to_string()
                    } else {
                        format!(
                            "{}x the workshop's 30x",
                            fmt_num(r.ratio / WORKSHOP_RATIO.1, 2)
                        )
                    }),
                    Cell::text("De Vries 2023 (NV as cited by the workshop)"),
                ]);
                s.notes.push(format!("Ratio method: {}.", r.method));
                bars.push(Bar {
                    label: "measured LLM / search".into(),
                    low: ci.low,
                    typical: Some(r.ratio),
                    high: ci.high,
                    highlight: true,
                });
                s.data = serde_json::json!({ "ratio": r, "basis": basis });
            }
            if let Some(d) = l.stats() {
                let wh = d.mean / 3600.0;
                check.row(vec![
                    Cell::text("LLM query as share of a 5000 mAh phone charge"),
                    Cell::text(format!(
                        "{} % ({} Wh of {} Wh)",
                        fmt_num(share_of_charge_pct(wh, battery), 4),
                        fmt_num(wh, 5),
                        fmt_num(battery, 1)
                    )),
                    Cell::text(format!(
                        "9 Wh ≈ 50 % (exactly {} %)",
                        fmt_num(share_of_charge_pct(WORKSHOP_CHARGE_WH, battery), 1)
                    )),
                    Cell::text(format!(
                        "{} percentage points",
                        fmt_num(
                            share_of_charge_pct(wh, battery)
                                - share_of_charge_pct(WORKSHOP_CHARGE_WH, battery),
                            2
                        )
                    )),
                    Cell::text("5000 mAh x 3.7 V = 18.5 Wh (D)"),
                ]);
            }
            s.notes.push(
                "Boundary: the measurement covers this machine's measured domains only (no datacentre overhead, no network, no user device); the published figures are datacentre servers at scale. A small local model on a CPU is a different request from a frontier model on a GPU cluster."
                    .into(),
            );
        }
        None => {
            s.basis = Some(Basis::reference());
            s.notes.push("No LLM and search records given: published figures stand in (reference inputs). Measure with `hoeveel-agent llm` and `hoeveel-agent search`, then `hoeveel cases llm.jsonl search.jsonl`.".into());
        }
    }
    if let (Some(q), Some(l), Some(a)) = (search, llm, ai) {
        let q_wh = q.energy.low();
        let llm_ratio = l.energy.low() / q_wh;
        let ai_ratio = Interval::new(a.energy.low() / q_wh, None, a.energy.high() / q_wh);
        check.row(vec![
            Cell::text("published: LLM interaction / search"),
            Cell::text(format!(
                "{}x ({} Wh / {} Wh)",
                fmt_num(llm_ratio, 1),
                fmt_num(l.energy.low(), 1),
                fmt_num(q_wh, 1)
            )),
            Cell::text("about 10x (De Vries)"),
            Cell::text(fmt_num(llm_ratio - 10.0, 1)),
            Cell::text(format!("{}; {}", l.meta.source, q.meta.source)),
        ]);
        check.row(vec![
            Cell::text("published: AI-powered search / search"),
            Cell::text(format!(
                "{}–{}x ({}–{} Wh / {} Wh)",
                fmt_num(ai_ratio.low, 1),
                fmt_num(ai_ratio.high, 1),
                fmt_num(a.energy.low(), 1),
                fmt_num(a.energy.high(), 1),
                fmt_num(q_wh, 1)
            )),
            Cell::text("23–30x"),
            Cell::text(format!(
                "{} / {}",
                fmt_num(round1(ai_ratio.low) - WORKSHOP_RATIO.0, 1),
                fmt_num(round1(ai_ratio.high) - WORKSHOP_RATIO.1, 1)
            )),
            Cell::text(format!("{} ({})", a.meta.source, a.meta.status)),
        ]);
        check.row(vec![
            Cell::text("published: AI search at 9 Wh, share of a phone charge"),
            Cell::text(format!(
                "{} %",
                fmt_num(share_of_charge_pct(WORKSHOP_CHARGE_WH, battery), 1)
            )),
            Cell::text("about 50 %"),
            Cell::text(format!(
                "{} points",
                fmt_num(share_of_charge_pct(WORKSHOP_CHARGE_WH, battery) - 50.0, 1)
            )),
            Cell::text("5000 mAh x 3.7 V = 18.5 Wh"),
        ]);
        bars.push(Bar {
            label: "published AI search / search".into(),
            low: ai_ratio.low,
            typical: None,
            high: ai_ratio.high,
            highlight: false,
        });
        bars.push(Bar {
            label: "published LLM / search".into(),
            low: llm_ratio,
            typical: Some(llm_ratio),
            high: llm_ratio,
            highlight: false,
        });
    }
    s.tables.push(check);
    s.tables.push(published_table(p));
    s.charts.push(Chart::Bars(BarChart {
        title: "Energy ratio to a plain search (whisker: 95% CI or range)".into(),
        unit: "times a search".into(),
        bars,
    }));
    s
}

/// The published per-request figures with their boundaries.
pub fn published_table(p: &ProfileSet) -> Table {
    let mut t = Table::new(
        "published",
        vec![
            Column::new("figure", None),
            Column::new("kind", None),
            Column::new("energy", Some("Wh")),
            Column::new("boundary", None),
            Column::new("year", None),
            Column::new("status", None),
        ],
    )
    .caption("Published per-request figures (what each includes differs: see boundary)");
    for (r, _) in &p.requests {
        let Some(energy_j) = r.energy_j() else {
            continue;
        };
        t.row(vec![
            Cell::text(format!("{} [{}]", r.name, r.id)),
            Cell::text(&r.kind),
            Cell::interval(energy_j.scale(1.0 / 3600.0), 4),
            Cell::text(&r.boundary),
            Cell::text(r.meta.year.to_string()),
            Cell::text(&r.meta.status),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-request figures with the given net energies, as `PerRequest` holds them.
    fn measured(record: &str, energy_j: &[f64]) -> PerRequest {
        PerRequest {
            record: record.into(),
            label: record.into(),
            kind: hoeveel_record::WorkloadKind::Command,
            provenance: Some(hoeveel_record::Provenance::Counter),
            basis: hoeveel_record::EnergyBasis::Net,
            requests_per_repetition: 1,
            repetitions: (0..energy_j.len() as u32).collect(),
            energy_j: energy_j.to_vec(),
            gross_j: energy_j.iter().map(|e| e + 1.0).collect(),
            net_j: energy_j.to_vec(),
            duration_s: vec![1.0; energy_j.len()],
            prompt_tokens: Vec::new(),
            output_tokens: Vec::new(),
            energy_per_output_token_j: Vec::new(),
            time_to_first_token_s: Vec::new(),
            tokens_per_s: Vec::new(),
            left_out: Vec::new(),
            failed: 0,
            interrupted: 0,
        }
    }

    #[test]
    fn no_ratio_to_a_denominator_whose_interval_reaches_zero() {
        let llm = measured("llm.jsonl", &[10.0, 11.0, 9.0]);
        let steady = measured("search.jsonl", &[0.010, 0.011, 0.009]);
        let r = measured_ratio(&llm, &steady).expect("a ratio");
        assert!((r.ratio - 1000.0).abs() < 1e-9);
        // Net energies around zero: the CI of the mean spans it.
        let noisy = measured("noisy.jsonl", &[0.02, -0.015, 0.001]);
        let why = measured_ratio(&llm, &noisy).expect_err("no ratio");
        assert!(
            why.starts_with("noisy.jsonl: its net energy per request has a 95% CI"),
            "{why}"
        );
        assert!(why.contains("includes zero"), "{why}");
        assert!(why.contains("--gross"), "the fix is named: {why}");
        // One value at or below zero: no CI, and no ratio either.
        let why = measured_ratio(&llm, &measured("zero.jsonl", &[0.0])).expect_err("no ratio");
        assert!(why.contains("includes zero"), "{why}");
    }

    #[test]
    fn no_ratio_across_bases() {
        let llm = measured("llm.jsonl", &[10.0, 11.0]);
        let mut search = measured("search.jsonl", &[0.01, 0.011]);
        search.basis = hoeveel_record::EnergyBasis::Gross;
        let why = measured_ratio(&llm, &search).expect_err("refused");
        assert!(why.contains("a ratio needs one basis"), "{why}");
    }

    #[test]
    fn phone_charge_check() {
        assert!((share_of_charge_pct(9.0, 18.5) - 48.648_648).abs() < 1e-5);
        let p = ProfileSet::shipped().expect("profiles");
        assert_eq!(battery_wh(&p), 18.5);
    }

    #[test]
    fn reference_section_gives_23_to_30() {
        let p = ProfileSet::shipped().expect("profiles");
        let s = section(&p, None);
        let text = crate::output::text::table_text(&s.tables[0]);
        assert!(text.contains("23.0–29.7x"), "{text}");
        assert!(text.contains("10.0x"), "{text}");
        assert_eq!(s.basis.as_ref().map(|b| b.reference_inputs), Some(true));
    }
}
