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
    /// Every entry with its value, unit, year, status and source.
    List,
    /// One entry with all its fields and the file it came from.
    Show { id: String },
    /// Validate every profile file; problems name the file, the entry and the field.
    Check,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    match a.action {
        Action::Check => check(g),
        Action::List => super::emit(g, &list(&g.profiles()?)),
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
                eprintln!("hoeveel: error: {p}");
            }
            eprintln!("hoeveel: {} problem(s) in the profiles", problems.len());
            Ok(ExitCode::from(1))
        }
    }
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
    s.notes.push("Status: V verified in the source, S secondary source, D derived, NV not verified. `hoeveel profiles show ID` prints every field.".into());
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
            out.push_str(&format!("  {k:<15} {text}\n"));
        }
    }
    if value.get("status").and_then(|s| s.as_str()) == Some("NV") {
        out.push_str("  NOT VERIFIED: this figure was not found in a primary source; treat it as a claim to check.\n");
    }
    for source in cited {
        out.push_str(&format!("\nSource `{}` (profiles/SOURCES.md):\n", source.id));
        for paragraph in source.text.split("\n\n") {
            for line in crate::output::text::wrap(paragraph, 76, 76) {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    super::print_out(&out)
}
