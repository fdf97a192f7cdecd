//! `hoeveel profiles list | show ID | check`

use super::Global;
use crate::output::{Basis, Cell, Column, Document, Section, Table};
use crate::profiles::{AnyEntry, ProfileErrors, ProfileSet};
use anyhow::anyhow;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Every entry, one per row: kind, id, value, unit, year, status. The text
    /// fits 80 columns; `show ID` prints the source, licence and vintage, and
    /// `--json` (or --csv, --markdown) every field of every entry.
    List,
    /// One entry with all its fields and the file it came from.
    Show { id: String },
    /// Validate every profile file; problems name the file, the entry and the field.
    Check,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    match a.action {
        Action::Check => check(g),
        Action::List => list_command(g, &g.profiles()?),
        Action::Show { id } => show(g, &g.profiles()?, &id),
    }
}

fn check(g: &Global) -> anyhow::Result<ExitCode> {
    let dirs = ProfileSet::user_dirs(&g.profiles);
    match ProfileSet::load(&dirs) {
        Ok(p) => {
            let n =
                p.grid.len() + p.sites.len() + p.requests.len() + p.models.len() + p.devices.len();
            let mut out = format!("ok: {} file(s), {n} entries checked\n", p.files.len());
            for f in &p.files {
                out.push_str(&format!("  {f}\n"));
            }
            for s in &p.skipped {
                out.push_str(&format!("  skipped {s}\n"));
            }
            crate::cases::municipality::Scenario::parse(
                crate::profiles::MUNICIPALITY_SCENARIO,
                "shipped:scenarios/municipality.toml",
            )?;
            out.push_str("  shipped:scenarios/municipality.toml (scenario)\n");
            super::print_out(&out)
        }
        Err(ProfileErrors(problems)) => {
            for p in &problems {
                let message = p.to_string();
                eprintln!(
                    "hoeveel: error: {}",
                    hoeveel_record::printable::text(&message)
                );
            }
            eprintln!("hoeveel: {} problem(s) in the profiles", problems.len());
            Ok(ExitCode::from(1))
        }
    }
}

/// The widest the text listing gets: an 80-column terminal.
const LIST_WIDTH: usize = 80;

/// The legend printed under the text listing.
const STATUS_LEGEND: &str = "Status: V verified in the source, S secondary source, D derived, NV not verified. `hoeveel profiles show ID` prints every field, the source in full.";

fn list_command(g: &Global, p: &ProfileSet) -> anyhow::Result<ExitCode> {
    if g.format() != crate::output::Format::Text || g.html.is_some() {
        return super::emit(g, &list(p));
    }
    let width = g
        .text_layout()
        .width
        .map_or(usize::MAX, |w| w.min(LIST_WIDTH));
    super::print_out(&list_text(p, width))
}

/// A number as a reader scans it: four significant digits, trailing zeros
/// dropped, thousands grouped (`252.7`, `1.14`, `11,390`, `0.001875`).
fn scan_num(v: f64) -> String {
    let s = crate::output::fmt_num(v, crate::output::sig_decimals(v, 4));
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `1.14`, `1.04–1.15`, or `9 (6.9–8.9)` with a typical value.
fn scan_quantity(q: &crate::profiles::Quantity) -> String {
    match (q.is_range(), q.typical()) {
        (false, _) => scan_num(q.low()),
        (true, Some(t)) => format!(
            "{} ({}–{})",
            scan_num(t),
            scan_num(q.low()),
            scan_num(q.high())
        ),
        (true, None) => format!("{}–{}", scan_num(q.low()), scan_num(q.high())),
    }
}

/// One row per entry: kind, id, value, unit, year, status.
fn scan_rows(p: &ProfileSet) -> Vec<Vec<String>> {
    use crate::profiles::{Meta, Quantity};
    let row = |kind: &str, id: &str, value: String, unit: &str, m: &Meta| {
        vec![
            kind.to_string(),
            id.to_string(),
            value,
            unit.to_string(),
            m.year.to_string(),
            m.status.clone(),
        ]
    };
    let mut rows = Vec::new();
    for (e, _) in &p.grid {
        rows.push(row("grid", &e.id, scan_num(e.value), &e.unit, &e.meta));
    }
    for (e, _) in &p.sites {
        rows.push(row("site", &e.id, scan_quantity(&e.pue), &e.unit, &e.meta));
    }
    for (e, _) in &p.requests {
        // A published figure is read with its rung: "Wh, node".
        rows.push(row(
            "request",
            &e.id,
            scan_quantity(&e.energy),
            &format!("{}, {}", e.unit, e.rung),
            &e.meta,
        ));
    }
    for (e, _) in &p.models {
        let v = Quantity::Value(e.location_tco2e);
        rows.push(row("model", &e.id, scan_quantity(&v), &e.unit, &e.meta));
    }
    for (e, _) in &p.devices {
        rows.push(row(
            "device",
            &e.id,
            scan_quantity(&e.value),
            &e.unit,
            &e.meta,
        ));
    }
    rows
}

/// The text listing, within `width` columns (a longer id takes a line of its own).
fn list_text(p: &ProfileSet, width: usize) -> String {
    use crate::output::entry_list::{self, Align, ListColumn};
    let col = |header, align| ListColumn { header, align };
    let columns = [
        col("kind", Align::Left),
        col("id", Align::Left),
        col("value", Align::Right),
        col("unit", Align::Left),
        col("year", Align::Left),
        col("status", Align::Left),
    ];
    let mut out = format!("hoeveel profiles: {} entries\n\n", scan_rows(p).len());
    out.push_str(&entry_list::render(&columns, &scan_rows(p), 1, width));
    out.push('\n');
    out.push_str(&crate::output::text::wrap_paragraph(
        STATUS_LEGEND,
        "",
        "",
        width,
    ));
    out
}

fn list(p: &ProfileSet) -> Document {
    let mut t = Table::new(
        "profiles",
        [
            "kind", "id", "name", "value", "unit", "year", "status", "source", "licence", "vintage",
        ]
        .iter()
        .map(|c| Column::new(c, None))
        .collect(),
    );
    let mut push =
        |kind: &str, id: &str, name: &str, value: Cell, unit: &str, m: &crate::profiles::Meta| {
            t.row(vec![
                Cell::text(kind),
                Cell::text(id),
                Cell::text(name),
                value,
                Cell::text(unit),
                Cell::text(m.year.to_string()),
                Cell::text(if m.unverified() {
                    "NV (unverified)"
                } else {
                    m.status.as_str()
                }),
                Cell::text(&m.source),
                Cell::text(&m.licence),
                Cell::text(&m.vintage),
            ]);
        };
    for (e, _) in &p.grid {
        push(
            "grid",
            &e.id,
            &e.name,
            Cell::num(e.value, 2),
            &e.unit,
            &e.meta,
        );
    }
    for (e, _) in &p.sites {
        push(
            "site",
            &e.id,
            &e.name,
            Cell::interval(e.pue.interval(), 3),
            &e.unit,
            &e.meta,
        );
    }
    for (e, _) in &p.requests {
        push(
            "request",
            &e.id,
            &e.name,
            Cell::interval(e.energy.interval(), 3),
            &e.unit,
            &e.meta,
        );
    }
    for (e, _) in &p.models {
        push(
            "model",
            &e.id,
            &e.name,
            Cell::num(e.location_tco2e, 2),
            &e.unit,
            &e.meta,
        );
    }
    for (e, _) in &p.devices {
        push(
            "device",
            &e.id,
            &e.name,
            Cell::interval(e.value.interval(), 3),
            &e.unit,
            &e.meta,
        );
    }
    let mut s = Section::new("profiles", "Profiles");
    s.tables.push(t);
    s.notes.push(STATUS_LEGEND.into());
    Document {
        title: "hoeveel profiles".into(),
        basis: Basis {
            provenance: None,
            reference_inputs: false,
        },
        sections: vec![s],
        warnings: vec![],
    }
}

fn show(g: &Global, p: &ProfileSet, id: &str) -> anyhow::Result<ExitCode> {
    let (entry, origin) = p.find(id).ok_or_else(|| {
        anyhow!("no profile entry `{id}`; `hoeveel profiles list` shows them all")
    })?;
    let (kind, value) = match entry {
        AnyEntry::Grid(e) => ("grid", serde_json::to_value(e)?),
        AnyEntry::Site(e) => ("site", serde_json::to_value(e)?),
        AnyEntry::Request(e) => ("request", serde_json::to_value(e)?),
        AnyEntry::Model(e) => ("model", serde_json::to_value(e)?),
        AnyEntry::Device(e) => ("device", serde_json::to_value(e)?),
    };
    let cited: Vec<&hoeveel_profiles::sources::Source> = value
        .get("cite")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
        .filter_map(hoeveel_profiles::sources::find)
        .collect();
    if g.json {
        let sources: Vec<_> = cited
            .iter()
            .map(|s| serde_json::json!({ "id": s.id, "text": s.text }))
            .collect();
        let v = serde_json::json!({ "kind": kind, "file": origin.file, "entry": value, "sources": sources });
        return super::print_out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = format!("{kind} `{id}` (from {})\n", origin.file);
    if let serde_json::Value::Object(map) = &value {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // Long values wrap under themselves, so `show` fits 100 columns.
            for (i, line) in crate::output::text::wrap(&text, 80, 80).iter().enumerate() {
                let key = if i == 0 { k.as_str() } else { "" };
                out.push_str(&format!("  {key:<15} {line}\n"));
            }
        }
    }
    if value.get("status").and_then(|s| s.as_str()) == Some("NV") {
        out.push_str("  NOT VERIFIED: this figure was not found in a primary source; treat it as a claim to check.\n");
    }
    for source in cited {
        out.push_str(&format!(
            "\nSource `{}` (profiles/SOURCES.md):\n",
            source.id
        ));
        for paragraph in source.text.split("\n\n") {
            for line in crate::output::text::wrap(paragraph, 76, 76) {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    super::print_out(&out)
}
