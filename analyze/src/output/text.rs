//! The default, readable format: aligned tables, notes below them.

use super::{Document, Table};
use std::fmt::Write as _;

pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", doc.title);
    let _ = writeln!(out, "{}", "=".repeat(doc.title.chars().count()));
    if let Some(b) = doc.basis.banner() {
        let _ = writeln!(out, "{b}");
    }
    for w in &doc.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    for section in &doc.sections {
        let _ = writeln!(out, "\n{}", section.title);
        let _ = writeln!(out, "{}", "-".repeat(section.title.chars().count()));
        // A section's own banner only where it differs from the document's.
        if let Some(b) = section
            .basis
            .as_ref()
            .filter(|b| **b != doc.basis)
            .and_then(|b| b.banner())
        {
            let _ = writeln!(out, "{b}");
        }
        if let Some(p) = &section.preformatted {
            out.push_str(p);
            if !p.ends_with('\n') {
                out.push('\n');
            }
        }
        for table in &section.tables {
            out.push('\n');
            out.push_str(&table_text(table));
        }
        for note in &section.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    out
}

/// An aligned plain-text table; numbers right-aligned.
pub fn table_text(table: &Table) -> String {
    let headers: Vec<String> = table.columns.iter().map(|c| c.header()).collect();
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.display()).collect())
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    if let Some(c) = &table.caption {
        let _ = writeln!(out, "  {c}");
    }
    let line = |cols: &[String], numeric: &[bool]| {
        let mut l = String::from("  ");
        for (i, s) in cols.iter().enumerate() {
            let pad = widths[i].saturating_sub(s.chars().count());
            if numeric.get(i).copied().unwrap_or(false) {
                l.push_str(&" ".repeat(pad));
                l.push_str(s);
            } else {
                l.push_str(s);
                l.push_str(&" ".repeat(pad));
            }
            l.push_str("  ");
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&headers, &[]));
    let _ = writeln!(
        out,
        "  {}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    );
    for (r, row) in cells.iter().enumerate() {
        let numeric: Vec<bool> = table.rows[r].iter().map(|c| c.is_numeric()).collect();
        let _ = writeln!(out, "{}", line(row, &numeric));
    }
    out
}
