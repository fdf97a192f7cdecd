//! CSV: one block per table, separated by a blank line. Ranges become three
//! columns (`_low`, `_typical`, `_high`), and every row carries the provenance of
//! the energy it rests on, so a modelled figure stays labelled in a spreadsheet.

use super::{Cell, Document, Table};

pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    for section in &doc.sections {
        let basis = section.basis.as_ref().unwrap_or(&doc.basis).label();
        for table in &section.tables {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&table_csv(&section.id, table, &basis));
        }
    }
    out
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(v: f64) -> String {
    format!("{v}")
}

fn table_csv(section: &str, table: &Table, basis: &str) -> String {
    let is_range: Vec<bool> = (0..table.columns.len())
        .map(|i| {
            table
                .rows
                .iter()
                .any(|r| matches!(r.get(i), Some(Cell::Range { .. })))
        })
        .collect();
    let mut header = vec!["table".to_string()];
    for (i, c) in table.columns.iter().enumerate() {
        let name = match &c.unit {
            Some(u) => format!("{} ({u})", c.name),
            None => c.name.clone(),
        };
        if is_range[i] {
            for suffix in ["low", "typical", "high"] {
                header.push(quote(&format!("{name} {suffix}")));
            }
        } else {
            header.push(quote(&name));
        }
    }
    header.push("provenance".into());
    let mut out = header.join(",");
    out.push('\n');
    for row in &table.rows {
        let mut cells = vec![quote(&format!("{section}/{}", table.id))];
        for (i, cell) in row.iter().enumerate() {
            let range = is_range.get(i).copied().unwrap_or(false);
            match (cell, range) {
                (
                    Cell::Range {
                        low, typical, high, ..
                    },
                    _,
                ) => {
                    cells.push(num(*low));
                    cells.push(typical.map(num).unwrap_or_default());
                    cells.push(num(*high));
                }
                (Cell::Num { value, .. }, true) => {
                    cells.extend([num(*value), num(*value), num(*value)]);
                }
                (Cell::Num { value, .. }, false) => cells.push(num(*value)),
                (Cell::Text(s), true) => cells.extend([quote(s), String::new(), String::new()]),
                (Cell::Text(s), false) => cells.push(quote(s)),
                (Cell::Empty, true) => cells.extend([String::new(), String::new(), String::new()]),
                (Cell::Empty, false) => cells.push(String::new()),
            }
        }
        cells.push(basis.to_string());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
