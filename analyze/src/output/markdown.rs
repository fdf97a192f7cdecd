//! Markdown: the same tables as pipes, for notes and reports.

use super::{Document, Table};
use std::fmt::Write as _;

pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", doc.title);
    if let Some(b) = doc.basis.banner() {
        for line in b.lines() {
            let _ = writeln!(out, "> **{line}**");
        }
        out.push('\n');
    }
    for w in &doc.warnings {
        let _ = writeln!(out, "- warning: {w}");
    }
    for section in &doc.sections {
        let _ = writeln!(out, "\n## {}\n", section.title);
        // A section's own banner only where it differs from the document's.
        if let Some(b) = section
            .basis
            .as_ref()
            .filter(|b| **b != doc.basis)
            .and_then(|b| b.banner())
        {
            let _ = writeln!(out, "> **{b}**\n");
        }
        for line in &section.lead {
            let _ = writeln!(out, "**{line}**\n");
        }
        if let Some(p) = &section.preformatted {
            let _ = writeln!(out, "```text\n{}\n```\n", p.trim_end());
        }
        for table in section.tables.iter().filter(|t| !t.complete_only) {
            out.push_str(&table_markdown(table));
            out.push('\n');
        }
        for note in &section.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn table_markdown(table: &Table) -> String {
    let mut out = String::new();
    if let Some(c) = &table.caption {
        let _ = writeln!(out, "*{}*\n", escape(c));
    }
    let headers: Vec<String> = table.columns.iter().map(|c| escape(&c.header())).collect();
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let aligns: Vec<&str> = (0..headers.len())
        .map(|i| {
            if table
                .rows
                .iter()
                .any(|r| r.get(i).is_some_and(|c| c.is_numeric()))
            {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(out, "|{}|", aligns.join("|"));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| escape(&c.display())).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Cell, Column};

    #[test]
    fn pipes_are_escaped_and_numbers_right_aligned() {
        let mut t = Table::new(
            "t",
            vec![Column::new("a|b", None), Column::new("n", Some("J"))],
        );
        t.row(vec![Cell::text("x|y"), Cell::num(1234.5, 1)]);
        let md = table_markdown(&t);
        assert!(md.contains("| a\\|b | n (J) |"), "{md}");
        assert!(md.contains("|---|---:|"), "{md}");
        assert!(md.contains("| x\\|y | 1,234.5 |"), "{md}");
    }
}
