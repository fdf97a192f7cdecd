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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Basis, Column, Section};
    use crate::stats::Interval;

    #[test]
    fn ranges_become_three_columns_and_rows_carry_provenance() {
        let mut t = Table::new(
            "t",
            vec![Column::new("site, name", None), Column::new("PUE", None)],
        );
        t.row(vec![
            Cell::text("a \"b\""),
            Cell::interval(Interval::new(1.04, None, 1.15), 2),
        ]);
        t.row(vec![Cell::text("c"), Cell::num(1.14, 2)]);
        let mut s = Section::new("sites", "Sites");
        s.tables.push(t);
        let doc = Document {
            title: "x".into(),
            basis: Basis::measured(Some(hoeveel_record::Provenance::Modelled)),
            sections: vec![s],
            warnings: vec![],
        };
        let csv = render(&doc);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "table,\"site, name\",PUE low,PUE typical,PUE high,provenance"
        );
        assert_eq!(lines[1], "sites/t,\"a \"\"b\"\"\",1.04,,1.15,modelled");
        assert_eq!(lines[2], "sites/t,c,1.14,1.14,1.14,modelled");
    }
}
