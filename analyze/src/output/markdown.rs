//! Markdown: the same tables as pipes, for notes and reports.
//!
//! It renders a [`Document::printable`], so no control character is left; and
//! since Markdown passes raw HTML through, `&`, `<` and `>` in every string become
//! entities (a label's `<script>` is shown, not run), and `|` in a table cell is
//! escaped so it cannot add a column. The run summary goes in a fence longer than
//! any run of backticks inside it, which therefore cannot close it.

use super::{Document, Table};
use std::fmt::Write as _;

pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", inline(&doc.title));
    if let Some(b) = doc.basis.banner() {
        for line in b.lines() {
            let _ = writeln!(out, "> **{}**", inline(line));
        }
        out.push('\n');
    }
    for w in &doc.warnings {
        let _ = writeln!(out, "- warning: {}", inline(w));
    }
    for section in &doc.sections {
        let _ = writeln!(out, "\n## {}\n", inline(&section.title));
        // A section's own banner only where it differs from the document's.
        if let Some(b) = section
            .basis
            .as_ref()
            .filter(|b| **b != doc.basis)
            .and_then(|b| b.banner())
        {
            let _ = writeln!(out, "> **{}**\n", inline(&b));
        }
        for line in &section.lead {
            let _ = writeln!(out, "**{}**\n", inline(line));
        }
        if let Some(p) = &section.preformatted {
            let fence = fence_for(p);
            let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", p.trim_end());
        }
        for table in section.tables.iter().filter(|t| !t.complete_only) {
            out.push_str(&table_markdown(table));
            out.push('\n');
        }
        for note in &section.notes {
            let _ = writeln!(out, "- {}", inline(note));
        }
    }
    out
}

/// Text outside a fence, with the characters that start HTML as entities.
fn inline(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table cell: [`inline`], and `|` escaped.
fn escape(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

/// A code fence of backticks, one longer than the longest run of them in `text`
/// (three at least), so nothing inside can close it.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
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
    fn markup_is_shown_not_passed_through_and_fences_hold() {
        use crate::output::{Basis, Section};
        let mut section = Section::new("s", "<b>bold</b> & co");
        section.notes.push("<img src=x onerror=alert(1)>".into());
        section.preformatted = Some("Workload: ``` <i>\n".into());
        let mut t = Table::new("t", vec![Column::new("label", None)]);
        t.row(vec![Cell::text("<a href=x>|</a>")]);
        section.tables.push(t);
        let doc = Document {
            title: "t".into(),
            basis: Basis::measured(None),
            sections: vec![section],
            warnings: vec!["a <script>".into()],
        };
        let md = render(&doc);
        // Inside a fence nothing is markup: kept as is, in a fence of four that
        // its three backticks cannot close.
        let fenced = "````text\nWorkload: ``` <i>\n````\n";
        assert!(md.contains(fenced), "{md}");
        assert!(!md.replace(fenced, "").contains('<'), "{md}");
        assert!(md.contains("## &lt;b&gt;bold&lt;/b&gt; &amp; co"), "{md}");
        assert!(md.contains("- &lt;img src=x onerror=alert(1)&gt;"), "{md}");
        assert!(md.contains("- warning: a &lt;script&gt;"), "{md}");
        assert!(md.contains("| &lt;a href=x&gt;\\|&lt;/a&gt; |"), "{md}");
    }

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
