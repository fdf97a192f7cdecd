//! Case 1, "ask or search?": an AI-powered search against a plain search.
//!
//! With an `ai-search` record (`hoeveel-agent search --answer`: the retrieval, then
//! an LLM answer from the top passages) and a plain `search` record of the same
//! corpus, the measured ratio with its bootstrap 95% CI leads. Then the distance
//! to De Vries' 23–30x, as the chain of [`crate::rungs::chain`]: the rungs each
//! side is lifted to, measured scaling (corpus size, model size) where records
//! for it are given, and what remains. A plain LLM record against a search still
//! works, labelled as what it is: an LLM answer against a search, not an AI search.
//! Without records, the published figures stand in (reference inputs).

use crate::output::{Basis, Cell, Column, Section, Table, fmt_num, fmt_sig};
use crate::plot::{Bar, BarChart, Chart};
use crate::profiles::{ProfileSet, RequestEntry};
use crate::rungs::chain::{self, Chain, ScaleLink, Side};
use crate::rungs::ladder::{self, Lifted};
use crate::rungs::scaling::{Fit, Point};
use crate::stats::{CiInterval, Interval, RatioCi, ratio_of_means};
use hoeveel_record::{PerRequest, Record, Rung, WorkloadKind};

/// The workshop's answer: 6.9/0.3 = 23x to 8.9/0.3 = 29.7x ("23-30x").
pub const WORKSHOP_RATIO: (f64, f64) = (23.0, 30.0);
/// "9 Wh per request is 50% of a 5000 mAh phone battery."
pub const WORKSHOP_CHARGE_WH: f64 = 9.0;
/// The published figures of the comparison.
pub const PUBLISHED_AI_SEARCH: &str = "devries-ai-search-2023";
pub const PUBLISHED_SEARCH: &str = "google-search-2009";
/// The published side's model, for the model-size factor: an assumption.
pub const PUBLISHED_PARAMETERS: f64 = 175e9;
/// The published side's index, for the corpus-size factor: an assumption.
pub const PUBLISHED_DOCUMENTS: f64 = 4e11;
/// The most published figures shown by default (`--all` shows every one).
pub const PUBLISHED_SHOWN: usize = 5;

/// Share of a phone battery (Wh) that `energy_wh` is, in percent.
pub fn share_of_charge_pct(energy_wh: f64, battery_wh: f64) -> f64 {
    100.0 * energy_wh / battery_wh
}

/// The measured ratio `a` / `b` of the energy per request, both on one basis; or why
/// there is none to print, naming the record at fault: no completed repetition, a
/// denominator or a numerator whose 95% CI (or the bootstrap's) reaches zero or
/// lies below it, where any ratio is as good as another.
pub fn measured_ratio(a: &PerRequest, b: &PerRequest) -> Result<RatioCi, String> {
    if a.basis != b.basis {
        return Err(format!(
            "{} is on the {} basis and {} on the {} basis; a ratio needs one basis",
            a.record, a.basis, b.record, b.basis
        ));
    }
    let (Some(da), Some(db)) = (a.stats(), b.stats()) else {
        return Err("both records need at least one completed repetition".into());
    };
    let fix =
        "Measure more repetitions, use --gross, or batch more requests per repetition (--batch)";
    // The denominator first: a ratio to zero is unbounded.
    for (m, d) in [(b, &db), (a, &da)] {
        if let Some(why) = not_above_zero(m, d) {
            return Err(format!("{why}, so a ratio of the two means nothing. {fix}"));
        }
    }
    let r = ratio_of_means(&a.energy_j, &b.energy_j)
        .ok_or_else(|| "both records need at least one completed repetition".to_string())?;
    // With a CI, a resample whose denominator mean was 0 was dropped (fewer
    // resamples than drawn), and one below 0 gives a ratio at or below 0.
    let bootstrap_reaches_zero = r.ci_low.is_some()
        && (r.ci_low.is_some_and(|l| l <= 0.0) || r.resamples < crate::stats::BOOTSTRAP_RESAMPLES);
    if bootstrap_reaches_zero {
        let m = reaching_zero(a, b);
        let so = if std::ptr::eq(m, b) {
            "the ratio's interval is unbounded"
        } else {
            "the ratio's interval reaches zero or below"
        };
        return Err(format!(
            "{}: the bootstrap of its {} energy per request reaches zero or below, so {so}. {fix}",
            m.record, m.basis
        ));
    }
    if !r.ratio.is_finite() {
        return Err(format!(
            "{} / {}: the ratio is {}, not a finite number: {} is too close to zero. {fix}",
            a.record, b.record, r.ratio, b.record
        ));
    }
    Ok(r)
}

/// Why a measurement's energy per request is no side of a ratio: its 95% CI
/// (with one value, the value) includes zero or lies wholly below it; None when
/// it lies above zero.
fn not_above_zero(m: &PerRequest, d: &hoeveel_record::stats::Describe) -> Option<String> {
    let ci = d.ci();
    let clause = if ci.high < 0.0 {
        // Realistic for net energy: the idle baseline drew more than the run.
        match m.basis {
            hoeveel_record::EnergyBasis::Net => {
                "which lies wholly below zero (its idle baseline drew more power than the run: was the machine busier while the baseline was measured?)"
            }
            hoeveel_record::EnergyBasis::Gross => "which lies wholly below zero",
        }
    } else if ci.low <= 0.0 || d.mean <= 0.0 {
        "which includes zero"
    } else {
        return None;
    };
    Some(format!(
        "{}: its {} energy per request has a 95% CI from {} J to {} J, {clause}",
        m.record,
        m.basis,
        fmt_num(ci.low, 6),
        fmt_num(ci.high, 6)
    ))
}

/// The side whose bootstrap resamples can reach zero: only one with a value at
/// or below zero has a resample mean there; the denominator where both have.
fn reaching_zero<'a>(a: &'a PerRequest, b: &'a PerRequest) -> &'a PerRequest {
    let reaches = |m: &PerRequest| m.energy_j.iter().any(|e| *e <= 0.0);
    if reaches(b) || !reaches(a) { b } else { a }
}

fn battery_wh(p: &ProfileSet) -> f64 {
    p.device("phone-battery-5000mah")
        .map(|d| d.value.low())
        .unwrap_or(18.5)
}

/// One measured side: the record and its per-request figures on the common basis.
#[derive(Debug, Clone)]
pub struct Measured<'a> {
    pub record: &'a Record,
    pub per_request: PerRequest,
}

/// What case 1 is given.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    /// An `ai-search` record, or a plain `llm` one (then labelled as such).
    pub answer: Option<Measured<'a>>,
    pub search: Option<Measured<'a>>,
    /// Search records of one corpus at several sizes (`--corpus-docs`).
    pub corpus_series: Vec<&'a Record>,
    /// LLM or AI-search records of several models.
    pub model_series: Vec<&'a Record>,
    /// Every published figure, not only the few of the same kind.
    pub all_published: bool,
}

impl<'a> Inputs<'a> {
    /// With the two sides measured, on gross energy: the published figures count
    /// every watt their machines drew, idle included, so a net figure (what a
    /// request adds) would sit below all of them; and a net figure taken on a busy
    /// machine can vanish altogether.
    pub fn measured(mut self, answer: &'a Record, search: &'a Record) -> anyhow::Result<Self> {
        let gross = Some(hoeveel_record::EnergyBasis::Gross);
        self.answer = Some(Measured {
            record: answer,
            per_request: PerRequest::of(answer, gross)?,
        });
        self.search = Some(Measured {
            record: search,
            per_request: PerRequest::of(search, gross)?,
        });
        Ok(self)
    }
}

/// The corpus a search or an AI search searched: `corpus` in a search's
/// details, `retrieval.corpus` in an AI search's.
pub fn corpus_details(record: &Record) -> &serde_json::Value {
    let d = &record.run_start.workload.details;
    if d["corpus"].is_object() {
        &d["corpus"]
    } else {
        &d["retrieval"]["corpus"]
    }
}

/// Whether two records searched the same corpus (the same fingerprint and
/// count); `None` where either record does not say.
pub fn same_corpus(a: &Record, b: &Record) -> Option<bool> {
    let key = |r: &Record| {
        let c = corpus_details(r);
        (
            c["fingerprint_sha256"].as_str().map(str::to_string),
            c["documents"].as_f64(),
        )
    };
    let (ka, kb) = (key(a), key(b));
    (ka.0.is_some() && kb.0.is_some()).then(|| ka == kb)
}

/// Documents a search or an AI search searched.
pub fn documents(record: &Record) -> Option<f64> {
    corpus_details(record)["documents"].as_f64()
}

/// Parameters of the model a record ran: `model` in an LLM's details,
/// `generation.model` in an AI search's.
pub fn parameters(record: &Record) -> Option<f64> {
    let d = &record.run_start.workload.details;
    d["model"]["parameters"]
        .as_f64()
        .or_else(|| d["generation"]["model"]["parameters"].as_f64())
}

/// Points of gross per-request figures (`y`) against a record's `x`, one per record.
fn points(
    series: &[&Record],
    x: fn(&Record) -> Option<f64>,
    y: fn(PerRequest) -> (Vec<f64>, String),
) -> Vec<Point> {
    series
        .iter()
        .filter_map(|r| {
            let x = x(r)?;
            let pr = PerRequest::of(r, Some(hoeveel_record::EnergyBasis::Gross)).ok()?;
            let (y, record) = y(pr);
            Some(Point { x, y, record })
        })
        .collect()
}

/// Search energy per query against corpus size: gross, per request; at least
/// three sizes over a decade.
pub fn corpus_fit(series: &[&Record]) -> Result<Fit, String> {
    let pts = points(series, documents, |pr| (pr.energy_j, pr.record));
    crate::rungs::scaling::fit(pts, 3, 1.0).map_err(|e| e.to_string())
}

/// Energy per output token against parameters: gross, per request. The shipped
/// models differ by a factor of two (135 M, 270 M parameters).
pub fn model_fit(series: &[&Record]) -> Result<Fit, String> {
    let pts = points(series, parameters, |pr| {
        (pr.energy_per_output_token_j, pr.record)
    });
    crate::rungs::scaling::fit(pts, 2, 0.25).map_err(|e| e.to_string())
}

/// Case 1 with or without measurements.
pub fn section(p: &ProfileSet, i: &Inputs<'_>) -> Section {
    let mut s = Section::new("ask_or_search", "Case 1: ask or search?");
    let ai_pub = p.request(PUBLISHED_AI_SEARCH);
    let search_pub = p.request(PUBLISHED_SEARCH);
    let mut check = super::answer_check_table();
    let mut bars = Vec::new();
    match (&i.answer, &i.search) {
        (Some(a), Some(q)) => {
            measured_part(i, a, q, ai_pub, search_pub, &mut s, &mut check, &mut bars)
        }
        _ => {
            s.basis = Some(Basis::reference());
            s.lead.push("No AI-search and search records given: published figures stand in (reference inputs). Measure with `hoeveel-agent search --answer` and `hoeveel-agent search` on the same queries, then `hoeveel cases AI.jsonl SEARCH.jsonl`.".into());
        }
    }
    if i.answer.is_some() && i.search.is_some() {
        s.notes.push("Energy basis: gross, as the published figures count all the power their machines drew, idle included.".into());
    }
    published_checks(p, ai_pub, search_pub, &mut check, &mut bars, &mut s);
    s.tables.push(check);
    let kinds: &[&str] = if i
        .answer
        .as_ref()
        .is_some_and(|a| a.per_request.kind == WorkloadKind::Llm)
    {
        &["llm", "search"]
    } else {
        &["ai-search", "search"]
    };
    s.tables.push(published_table(p, kinds, i.all_published));
    if !i.all_published {
        // HTML and JSON keep every published figure.
        let mut every = published_table(p, kinds, true);
        every.id = "published_all".into();
        every.caption = Some("Every published figure, nearest rung first".into());
        every.complete_only = true;
        s.tables.push(every);
    }
    s.charts.push(Chart::Bars(BarChart {
        title: "Energy ratio to a plain search (whisker: 95% CI or range)".into(),
        unit: "times a search".into(),
        bars,
    }));
    s.charts.push(Chart::Bars(ladder_chart(p, i)));
    s
}

/// Lines of a ratio with its CI: "1,234x (95% CI 1,100–1,400)".
fn ratio_text(r: &RatioCi) -> String {
    match (r.ci_low, r.ci_high) {
        (Some(l), Some(h)) => format!(
            "{}x (95% CI {}–{})",
            fmt_sig(r.ratio, 3),
            fmt_sig(l, 3),
            fmt_sig(h, 3)
        ),
        _ => format!("{}x (no CI: one repetition)", fmt_sig(r.ratio, 3)),
    }
}

#[allow(clippy::too_many_arguments)]
fn measured_part(
    i: &Inputs<'_>,
    a: &Measured<'_>,
    q: &Measured<'_>,
    ai_pub: Option<&RequestEntry>,
    search_pub: Option<&RequestEntry>,
    s: &mut Section,
    check: &mut Table,
    bars: &mut Vec<Bar>,
) {
    let (ma, mq) = (&a.per_request, &q.per_request);
    let is_ai = ma.kind == WorkloadKind::AiSearch;
    let what = if is_ai {
        "AI search / search"
    } else {
        "LLM answer / search (an LLM answer alone, not an AI search)"
    };
    s.basis = Some(Basis::measured(hoeveel_record::Provenance::weakest(
        ma.provenance.into_iter().chain(mq.provenance),
    )));
    let rung_a = crate::rungs::describe(ma, a.record);
    let rung_q = crate::rungs::describe(mq, q.record);
    let ratio = measured_ratio(ma, mq);
    match &ratio {
        Ok(r) => {
            s.lead.push(format!(
                "Answer: {what} = {}, measured here; {} on {rung_a}, {} on {rung_q}.",
                ratio_text(r),
                ma.record,
                mq.record
            ));
            let ci = Interval::new(
                r.ci_low.unwrap_or(r.ratio),
                Some(r.ratio),
                r.ci_high.unwrap_or(r.ratio),
            );
            bars.push(Bar {
                label: format!("measured {what}"),
                low: ci.low,
                typical: Some(r.ratio),
                high: ci.high,
                highlight: true,
            });
            check.row(vec![
                Cell::text(format!("{what} (measured)")),
                Cell::text(ratio_text(r)),
                Cell::text("23–30x (AI search vs search)"),
                Cell::text(
                    "not comparable as it stands: other rungs and scales (the factors above)",
                ),
                Cell::text(format!("this machine; {}", ma.provenance_label())),
            ]);
            s.data = serde_json::json!({ "ratio": r, "basis": ma.basis, "kind": what });
        }
        Err(why) => s.lead.push(format!("No measured ratio: {why}.")),
    }
    if let (Ok(r), Some(ap), Some(sp)) = (&ratio, ai_pub, search_pub) {
        s.lead.push(format!(
            "Published: 23–30x (De Vries 2023: {} on rung {} over {} on rung {}; the two \
             figures sit on different rungs). On one rung: {}.",
            fmt_wh_range(ap),
            ap.rung,
            fmt_wh_range(sp),
            sp.rung,
            one_rung_published(ap, sp)
        ));
        explain(i, a, q, r, ap, sp, s);
    }
    if is_ai && same_corpus(a.record, q.record) == Some(false) {
        s.lead.push(format!(
            "Note: {} and {} did not search the same corpus (documents or fingerprint differ), so the ratio mixes corpus sizes.",
            ma.record, mq.record
        ));
    }
    s.tables.push(measured_table(a, q));
}

fn fmt_wh_range(e: &RequestEntry) -> String {
    let i = e.energy.interval();
    if i.is_point() {
        format!("{} {}", fmt_sig(i.low, 2), e.unit)
    } else {
        format!("{}–{} {}", fmt_sig(i.low, 2), fmt_sig(i.high, 2), e.unit)
    }
}

/// De Vries' AI search (node) lifted to the search figure's rung (provisioned)
/// with the ladder's own facility and idle factors.
fn one_rung_published(ai: &RequestEntry, search: &RequestEntry) -> String {
    if ai.rung != Rung::Node || search.rung != Rung::Provisioned {
        return "not computed for these rungs".into();
    }
    let pue = ladder::PUE_WITHOUT_SITE;
    let k = ladder::PROVISIONED_IDLE;
    let (lo, hi) = (ai.energy.low(), ai.energy.high());
    let q = search.energy.low();
    format!(
        "{}–{}x on rung provisioned (the AI-search servers × PUE {}–{} × idle {}, ASSUMPTION: \
         the ladder's factors)",
        fmt_sig(lo * pue.0 * k / q, 2),
        fmt_sig(hi * pue.1 * k / q, 2),
        pue.0,
        pue.1,
        fmt_sig(k, 3)
    )
}

/// The chain from the measured ratio to the published one.
fn explain(
    i: &Inputs<'_>,
    a: &Measured<'_>,
    q: &Measured<'_>,
    r: &RatioCi,
    ap: &RequestEntry,
    sp: &RequestEntry,
    s: &mut Section,
) {
    let (Some(ma), Some(mq)) = (
        crate::rungs::measured(a.record),
        crate::rungs::measured(q.record),
    ) else {
        return;
    };
    let lifted = (
        ladder::lift(&ma, ap.rung, None),
        ladder::lift(&mq, sp.rung, None),
    );
    let (la, lq) = match lifted {
        (Ok(la), Ok(lq)) => (la, lq),
        (Err(e), _) | (_, Err(e)) => {
            s.lead
                .push(format!("No chain to the published ratio: {e}."));
            return;
        }
    };
    let model = model_link(a.record, &i.model_series);
    let corpus = corpus_link(q.record, &i.corpus_series);
    for (what, link) in [("model size", &model), ("corpus size", &corpus)] {
        if let Err(why) = link {
            s.notes.push(format!("{what} not measured: {why}."));
        }
    }
    let (Some(ea), Some(eq)) = (ap.energy_j(), sp.energy_j()) else {
        return;
    };
    let inputs = chain::Inputs {
        ai: Side {
            basis_j: crate::stats::mean(&a.per_request.energy_j),
            gross_j: crate::stats::mean(&a.per_request.gross_j),
            lifted: &la,
        },
        search: Side {
            basis_j: crate::stats::mean(&q.per_request.energy_j),
            gross_j: crate::stats::mean(&q.per_request.gross_j),
            lifted: &lq,
        },
        published_ai_j: ea.centre(),
        published_search_j: eq.centre(),
        model: model.ok(),
        corpus: corpus.ok(),
    };
    let c = chain::explain(&inputs);
    s.lead.push(format!(
        "Distance: published {}x / measured {}x = {}; the factors below multiply to it.",
        fmt_sig(c.published_ratio, 3),
        fmt_sig(r.ratio, 3),
        fmt_sig(c.distance, 3)
    ));
    s.tables.push(chain_table(&c));
    s.tables.push(ladder_table(&la, &a.per_request.record));
    s.tables.push(ladder_table(&lq, &q.per_request.record));
    s.data["chain"] = serde_json::to_value(&c).unwrap_or_default();
}

/// The model-size factor from a fit over the model series, or why there is none.
fn model_link(answer: &Record, series: &[&Record]) -> Result<ScaleLink, String> {
    let here = parameters(answer).ok_or("the answer's record names no parameter count")?;
    let fit = model_fit(series)?;
    Ok(ScaleLink {
        scaled: fit.scale(here, PUBLISHED_PARAMETERS),
        what: format!(
            "model size: {} to {} parameters, J/token ∝ N^{} ({}–{})",
            fmt_count(here),
            fmt_count(PUBLISHED_PARAMETERS),
            fmt_sig(fit.exponent, 2),
            fmt_sig(fit.exponent_low, 2),
            fmt_sig(fit.exponent_high, 2)
        ),
        grounds: format!(
            "measured on {} models ({}–{} parameters); ASSUMPTION: the published answer is a \
             175 B model (GPT-3.5 class) with an answer as long as ours",
            fit.points.len(),
            fmt_count(fit.x_min),
            fmt_count(fit.x_max)
        ),
    })
}

/// The corpus-size factor from a fit over the corpus series, or why there is none.
fn corpus_link(search: &Record, series: &[&Record]) -> Result<ScaleLink, String> {
    let here = documents(search).ok_or("the search record names no document count")?;
    let fit = corpus_fit(series)?;
    Ok(ScaleLink {
        scaled: fit.scale(here, PUBLISHED_DOCUMENTS),
        what: format!(
            "corpus size: {} to {} documents, J/query ∝ N^{} ({}–{})",
            fmt_count(here),
            fmt_count(PUBLISHED_DOCUMENTS),
            fmt_sig(fit.exponent, 2),
            fmt_sig(fit.exponent_low, 2),
            fmt_sig(fit.exponent_high, 2)
        ),
        grounds: format!(
            "measured at {} sizes ({}–{} documents); ASSUMPTION: a web index of 4e11 pages \
             ('hundreds of billions', SOURCES.md#google-search-index)",
            fit.points.len(),
            fmt_count(fit.x_min),
            fmt_count(fit.x_max)
        ),
    })
}

fn chain_table(c: &Chain) -> Table {
    let mut t = Table::new(
        "distance_chain",
        vec![
            Column::new("factor", None),
            Column::new("×", None),
            Column::new("range", None),
            Column::new("grounds", None),
        ],
    )
    .caption(format!(
        "Why {}x and not {}x: the factors multiply to {} (product {})",
        fmt_sig(c.measured_ratio, 3),
        fmt_sig(c.published_ratio, 3),
        fmt_sig(c.distance, 3),
        fmt_sig(c.product(), 3)
    ));
    for l in &c.links {
        t.row(vec![
            Cell::text(if l.extrapolated {
                format!("{} (EXTRAPOLATED)", l.what)
            } else {
                l.what.clone()
            }),
            Cell::text(fmt_sig(l.multiplier, 3)),
            Cell::text(match (l.low, l.high) {
                (Some(lo), Some(hi)) => format!("{}–{}", fmt_sig(lo, 2), fmt_sig(hi, 2)),
                _ => "–".into(),
            }),
            Cell::text(&l.grounds),
        ]);
    }
    t
}

fn ladder_table(l: &Lifted, record: &str) -> Table {
    let mut t = Table::new(
        "ladder",
        vec![
            Column::new("step", None),
            Column::new("to", None),
            Column::new("×", None),
            Column::new("grounds", None),
        ],
    )
    .caption(format!(
        "{record}: from rung {} to {} (gross energy, × {} in all)",
        l.from,
        l.rung,
        fmt_sig(l.factor(), 3)
    ));
    for step in &l.steps {
        t.row(vec![
            Cell::text(&step.what),
            Cell::text(step.to.as_str()),
            Cell::text(if step.factor.is_point() {
                fmt_sig(step.factor.low, 3)
            } else {
                format!(
                    "{}–{}",
                    fmt_sig(step.factor.low, 3),
                    fmt_sig(step.factor.high, 3)
                )
            }),
            Cell::text(step.grounds.describe()),
        ]);
    }
    t
}

/// The measured sides, with an AI search's retrieval and generation apart.
fn measured_table(a: &Measured<'_>, q: &Measured<'_>) -> Table {
    let mut t = Table::new(
        "measured",
        vec![
            Column::new("request", None),
            Column::new("n", None),
            Column::new("energy", None),
            Column::new("95% CI", None),
            Column::new("basis", None),
        ],
    )
    .caption("Measured on this machine, per request");
    for m in [a, q] {
        let pr = &m.per_request;
        if let Some(d) = pr.stats() {
            t.row(vec![
                Cell::text(format!("{} ({})", pr.kind.name(), pr.record)),
                Cell::num(d.n as f64, 0),
                Cell::text(fmt_energy(d.mean)),
                Cell::text(format!(
                    "{}–{}",
                    fmt_energy(d.ci().low),
                    fmt_energy(d.ci().high)
                )),
                Cell::text(pr.basis.name()),
            ]);
        }
        let split = hoeveel_record::parts::PartsSplit::of(m.record, pr.basis);
        for part in split.iter().flat_map(|s| &s.parts) {
            t.row(vec![
                Cell::text(format!("  {} part", part.name)),
                Cell::num(part.energy_j.n as f64, 0),
                Cell::text(fmt_energy(part.energy_j.mean)),
                Cell::text(part.share.map_or_else(
                    || "no share (net near zero)".to_string(),
                    |s| format!("{}% of the request", fmt_sig(s * 100.0, 2)),
                )),
                Cell::text(pr.basis.name()),
            ]);
        }
    }
    t
}

/// A count in words a reader scans: 135 M, 175 B, 10.0 k.
pub fn fmt_count(v: f64) -> String {
    let a = v.abs();
    let (k, unit) = if a >= 1e9 {
        (1e-9, " B")
    } else if a >= 1e6 {
        (1e-6, " M")
    } else if a >= 1e4 {
        (1e-3, " k")
    } else {
        (1.0, "")
    };
    format!("{}{unit}", fmt_sig(v * k, 3))
}

/// Joules in the unit the run summary chooses ([`hoeveel_record::summary::energy_unit`]),
/// to three significant figures: 66.1 µJ, 10.2 J, 3.00 Wh.
pub fn fmt_energy(j: f64) -> String {
    let unit = hoeveel_record::summary::energy_unit(j);
    format!("{} {}", fmt_sig(j / unit.per_unit, 3), unit.unit)
}

/// The published ratios, checked: the circular one said to be circular.
fn published_checks(
    p: &ProfileSet,
    ai: Option<&RequestEntry>,
    search: Option<&RequestEntry>,
    check: &mut Table,
    bars: &mut Vec<Bar>,
    s: &mut Section,
) {
    let battery = battery_wh(p);
    let (Some(q), Some(a)) = (search, ai) else {
        return;
    };
    let q_wh = q.energy.low();
    let ai_ratio = Interval::new(a.energy.low() / q_wh, None, a.energy.high() / q_wh);
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
        Cell::text(format!(
            "[{}] rung {} / [{}] rung {}",
            a.id, a.rung, q.id, q.rung
        )),
    ]);
    if let Some(l) = p.request("devries-llm-2023") {
        check.row(vec![
            Cell::text("published: LLM interaction / search"),
            Cell::text(format!(
                "{}x, by construction",
                fmt_num(l.energy.low() / q_wh, 1)
            )),
            Cell::text("about 10x"),
            Cell::text("not a check: 3 Wh is 10 x 0.3 Wh"),
            Cell::text(format!("[{}]", l.id)),
        ]);
    }
    if let Some(f) = p.request("devries-chatgpt-2023") {
        check.row(vec![
            Cell::text("published: ChatGPT (SemiAnalysis) / search"),
            Cell::text(format!("{}x", fmt_num(f.energy.low() / q_wh, 1))),
            Cell::text("about 10x"),
            Cell::text(format!(
                "{} (rung {} / rung {})",
                fmt_num(f.energy.low() / q_wh - 10.0, 1),
                f.rung,
                q.rung
            )),
            Cell::text(format!("[{}], independent of 0.3 Wh", f.id)),
        ]);
    }
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
    s.notes.push(
        "Published figures are compared on one rung only; `hoeveel profiles show ID` gives each one's rung, what it includes and excludes, and its sources.".into(),
    );
}

/// Rounds to one decimal, as the figures are quoted (23.0x, 29.7x).
fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Published per-request figures of the given kinds, nearest rung to the search
/// comparison first (at most [`PUBLISHED_SHOWN`]), or every figure with `all`.
pub fn published_table(p: &ProfileSet, kinds: &[&str], all: bool) -> Table {
    let mut rows: Vec<&RequestEntry> = p
        .requests
        .iter()
        .map(|(r, _)| r)
        .filter(|r| all || kinds.contains(&r.kind.as_str()))
        .collect();
    // Nearest rung first: the node-to-provisioned rungs the comparison climbs to.
    rows.sort_by_key(|r| (r.rung.level().abs_diff(2), r.meta.year.wrapping_neg()));
    let shown = if all { rows.len() } else { PUBLISHED_SHOWN };
    let left = rows.len().saturating_sub(shown);
    let mut t = Table::new(
        "published",
        vec![
            Column::new("figure", None),
            Column::new("kind", None),
            Column::new("per request", None),
            Column::new("rung", None),
            Column::new("year", None),
            Column::new("status", None),
        ],
    )
    .caption(if left > 0 {
        format!("Published figures of the same kind, nearest rung first ({left} more with --all)")
    } else {
        "Published figures, nearest rung first".to_string()
    });
    for r in rows.into_iter().take(shown) {
        let value = match (r.energy_j(), r.co2e_g()) {
            (Some(j), _) => {
                if j.is_point() {
                    fmt_energy(j.low)
                } else {
                    format!("{}–{}", fmt_energy(j.low), fmt_energy(j.high))
                }
            }
            (None, Some(g)) => format!("{} gCO2e", fmt_sig(g.centre(), 3)),
            (None, None) => "–".into(),
        };
        t.row(vec![
            Cell::text(format!("{} [{}]", r.name, r.id)),
            Cell::text(&r.kind),
            Cell::text(value),
            Cell::text(r.rung.as_str()),
            Cell::text(r.meta.year.to_string()),
            Cell::text(&r.meta.status),
        ]);
    }
    t
}

/// The rung ladder: every published energy figure and each measurement, one bar
/// each, labelled with its rung and ordered by it.
fn ladder_chart(p: &ProfileSet, i: &Inputs<'_>) -> BarChart {
    let mut bars: Vec<(u8, Bar)> = p
        .requests
        .iter()
        .filter_map(|(r, _)| {
            let j = r.energy_j()?;
            Some((
                r.rung.level(),
                Bar {
                    label: format!("{} · {}", r.rung, r.id),
                    low: j.low / 3600.0,
                    typical: j.typical.map(|t| t / 3600.0),
                    high: j.high / 3600.0,
                    highlight: false,
                },
            ))
        })
        .collect();
    for m in [&i.answer, &i.search].into_iter().flatten() {
        if let Some(d) = PerRequest::of(m.record, Some(hoeveel_record::EnergyBasis::Gross))
            .ok()
            .and_then(|pr| pr.stats())
        {
            let rung = crate::rungs::rung_of(m.record);
            let ci = d.ci();
            bars.push((
                rung.level(),
                Bar {
                    label: format!("{rung} · measured {}", m.per_request.record),
                    low: ci.low / 3600.0,
                    typical: Some(d.mean / 3600.0),
                    high: ci.high / 3600.0,
                    highlight: true,
                },
            ));
        }
    }
    bars.sort_by_key(|(level, _)| *level);
    BarChart {
        title: "The rung ladder: each figure on its rung (gross energy per request)".into(),
        unit: "Wh per request".into(),
        bars: bars.into_iter().map(|(_, b)| b).collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Per-request figures with the given net energies, as `PerRequest` holds
    /// them (the comparison's tests use them too).
    pub(crate) fn measured(record: &str, energy_j: &[f64]) -> PerRequest {
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
    fn a_negative_net_energy_is_blamed_on_its_own_record_and_called_below_zero() {
        let search = measured("search.jsonl", &[0.010, 0.011, 0.009]);
        // The LLM's baseline ran on a busier machine: its net energies are below zero.
        let below = measured("llm.jsonl", &[-1.0, -1.2, -0.9]);
        let why = measured_ratio(&below, &search).expect_err("no ratio");
        assert!(
            why.starts_with("llm.jsonl: its net energy per request has a 95% CI"),
            "the numerator is named: {why}"
        );
        assert!(why.contains("lies wholly below zero"), "{why}");
        assert!(!why.contains("includes zero"), "{why}");
        assert!(
            !why.contains("search.jsonl"),
            "the denominator is fine: {why}"
        );
        // The same below zero as the denominator.
        let llm = measured("llm.jsonl", &[10.0, 11.0, 9.0]);
        let why = measured_ratio(&llm, &measured("search.jsonl", &[-0.010, -0.011, -0.012]))
            .expect_err("no ratio");
        assert!(why.starts_with("search.jsonl: its net energy"), "{why}");
        assert!(why.contains("lies wholly below zero"), "{why}");
        assert!(!why.contains("includes zero"), "{why}");
        // A numerator whose interval spans zero is named, and said to include it.
        let noisy = measured("noisy.jsonl", &[0.5, -0.4, 0.1]);
        let why = measured_ratio(&noisy, &search).expect_err("no ratio");
        assert!(why.starts_with("noisy.jsonl: its net energy"), "{why}");
        assert!(why.contains("includes zero"), "{why}");
        assert!(!why.contains("search.jsonl"), "{why}");
    }

    #[test]
    fn a_bootstrap_reaching_zero_is_blamed_on_the_record_whose_values_reach_it() {
        let positive = measured("search.jsonl", &[1.0, 1.1, 0.9]);
        let reaching = measured("llm.jsonl", &[10.0, 10.0, -20.0, 10.0]);
        // Only a record with a value at or below zero has resamples there.
        assert_eq!(reaching_zero(&reaching, &positive).record, "llm.jsonl");
        assert_eq!(reaching_zero(&positive, &reaching).record, "llm.jsonl");
        // Both: the denominator, whose zero leaves the ratio unbounded.
        let also = measured("also.jsonl", &[0.0, 1.0]);
        assert_eq!(reaching_zero(&reaching, &also).record, "also.jsonl");
    }

    #[test]
    fn a_ratio_that_overflows_is_refused_not_printed_as_inf() {
        let llm = measured("llm.jsonl", &[10.0, 11.0, 9.0]);
        let tiny = measured("tiny.jsonl", &[1e-310, 1e-310]);
        let why = measured_ratio(&llm, &tiny).expect_err("10 J / 1e-310 J is inf");
        assert!(
            why.starts_with("llm.jsonl / tiny.jsonl: the ratio is inf, not a finite number"),
            "{why}"
        );
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
    fn reference_section_gives_23_to_30_and_calls_the_10x_circular() {
        let p = ProfileSet::shipped().expect("profiles");
        let s = section(&p, &Inputs::default());
        let check = s
            .tables
            .iter()
            .find(|t| t.id == "workshop_check")
            .expect("check");
        let text = crate::output::text::table_text(check);
        assert!(text.contains("23.0–29.7x"), "{text}");
        assert!(text.contains("not a check: 3 Wh is 10 x 0.3 Wh"), "{text}");
        assert!(text.contains("48.6 %"), "{text}");
        assert_eq!(s.basis.as_ref().map(|b| b.reference_inputs), Some(true));
    }

    #[test]
    fn published_figures_show_their_rung_and_at_most_five_by_default() {
        let p = ProfileSet::shipped().expect("profiles");
        let few = published_table(&p, &["ai-search", "search"], false);
        assert!(few.rows.len() <= PUBLISHED_SHOWN && !few.rows.is_empty());
        let all = published_table(&p, &[], true);
        assert_eq!(all.rows.len(), p.requests.len());
        // The text leaves the complete table to HTML and JSON.
        let s = section(&p, &Inputs::default());
        let every = s
            .tables
            .iter()
            .find(|t| t.id == "published_all")
            .expect("all");
        assert!(every.complete_only && every.rows.len() == p.requests.len());
        let doc = crate::output::Document {
            title: "t".into(),
            basis: Basis::reference(),
            sections: vec![s],
            warnings: vec![],
        };
        let text = crate::output::render(&doc, crate::output::Format::Text);
        assert!(!text.contains("Every published figure"), "{text}");
        let text = crate::output::text::table_text(&few);
        assert!(
            text.contains("provisioned") && text.contains("node"),
            "{text}"
        );
    }

    #[test]
    fn energies_keep_three_significant_figures() {
        assert_eq!(fmt_energy(66.1e-6), "66.1 µJ");
        assert_eq!(fmt_energy(10.24), "10.2 J");
        assert_eq!(fmt_energy(0.392), "392 mJ");
        assert_eq!(fmt_energy(0.3 * 3600.0), "1,080 J");
        assert_eq!(fmt_energy(3.0 * 3600.0), "3.00 Wh");
        assert_eq!(fmt_count(134_515_008.0), "135 M");
        assert_eq!(fmt_count(175e9), "175 B");
        assert_eq!(fmt_count(10_033.0), "10.0 k");
        assert_eq!(fmt_count(100.0), "100");
    }
}
