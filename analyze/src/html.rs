//! A self-contained HTML report: one file with its CSS inline and its charts as
//! inline SVG. It loads nothing (no script, no font, no image URL), and its
//! Content-Security-Policy forbids loading anything, so it opens offline and makes
//! no network request.

use crate::output::{Document, Table};
use crate::plot;
use std::fmt::Write as _;

/// `default-src 'none'` blocks every fetch; inline styles are the only thing allowed.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:64em;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-style:italic;margin-bottom:.3em}\
.banner{background:#fff3cd;border:1px solid #e0b100;padding:.6em 1em;font-weight:bold;white-space:pre-line}\
.warning{color:#8a4b00}pre{background:#f7f7f7;padding:1em;overflow-x:auto}figure{margin:1em 0}svg{max-width:100%;height:auto}\
.prov{font-size:.85em;color:#555}";

/// Text as HTML: entities for the markup characters, and control characters
/// other than newline and tab as visible escapes ([`hoeveel_record::printable`]),
/// which HTML does not allow.
fn esc(s: &str) -> String {
    hoeveel_record::printable::text(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report; an error where a chart cannot be drawn ([`plot::NotFinite`]).
pub fn render(doc: &Document) -> Result<String, plot::NotFinite> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><style>{CSS}</style></head><body>\n<h1>{}</h1>\n",
        esc(&doc.title),
        esc(&doc.title)
    );
    let _ = writeln!(
        h,
        "<p class=\"prov\" id=\"provenance\" data-provenance=\"{}\">Basis of the figures: {}</p>",
        esc(&doc.basis.label()),
        esc(&doc.basis.label())
    );
    if let Some(b) = doc.basis.banner() {
        let _ = writeln!(h, "<div class=\"banner\" id=\"banner\">{}</div>", esc(&b));
    }
    for w in &doc.warnings {
        let _ = writeln!(h, "<p class=\"warning\">warning: {}</p>", esc(w));
    }
    for s in &doc.sections {
        let _ = writeln!(
            h,
            "<section id=\"{}\"><h2>{}</h2>",
            esc(&s.id),
            esc(&s.title)
        );
        // A section's own banner only where it differs from the document's.
        if let Some(b) = s
            .basis
            .as_ref()
            .filter(|b| **b != doc.basis)
            .and_then(|b| b.banner())
        {
            let _ = writeln!(h, "<div class=\"banner\">{}</div>", esc(&b));
        }
        for line in &s.lead {
            let _ = writeln!(h, "<p class=\"lead\"><strong>{}</strong></p>", esc(line));
        }
        for c in &s.charts {
            let _ = writeln!(h, "<figure>{}</figure>", plot::svg(c)?);
        }
        if let Some(p) = &s.preformatted {
            let _ = writeln!(h, "<pre>{}</pre>", esc(p));
        }
        for t in &s.tables {
            h.push_str(&table(t));
        }
        if !s.notes.is_empty() {
            h.push_str("<ul>");
            for n in &s.notes {
                let _ = write!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("<p class=\"prov\">Written by hoeveel. This file loads nothing from the network.</p>\n</body></html>\n");
    Ok(h)
}

fn table(t: &Table) -> String {
    let mut h = String::new();
    let _ = write!(h, "<table data-table=\"{}\">", esc(&t.id));
    if let Some(c) = &t.caption {
        let _ = write!(h, "<caption>{}</caption>", esc(c));
    }
    h.push_str("<thead><tr>");
    for c in &t.columns {
        let _ = write!(h, "<th>{}</th>", esc(&c.header()));
    }
    h.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        h.push_str("<tr>");
        for cell in row {
            let class = if cell.is_numeric() {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(h, "<td{class}>{}</td>", esc(&cell.display()));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Basis, Section};

    #[test]
    fn html_is_self_contained_and_labels_modelled() {
        let doc = Document {
            title: "t <x>".into(),
            basis: Basis::measured(Some(hoeveel_record::Provenance::Modelled)),
            sections: vec![Section::new("a", "A")],
            warnings: vec![],
        };
        let h = render(&doc).expect("html");
        assert!(h.contains("MODELLED"));
        assert!(h.contains("t &lt;x&gt;"));
        assert!(!h.contains("<script") && !h.contains("<link") && !h.contains("src="));
        assert!(h.contains(CSP));
    }

    #[test]
    fn control_characters_are_escaped_but_newline_and_tab() {
        let mut section = Section::new("a", "A\u{1b}[2J");
        section.preformatted = Some("one\ttwo\nthree\u{0}\u{9b}".into());
        let doc = Document {
            title: "t\u{7f}".into(),
            basis: Basis::measured(None),
            sections: vec![section],
            warnings: vec![],
        };
        let h = render(&doc).expect("html");
        let controls: Vec<char> = h
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
            .collect();
        assert!(controls.is_empty(), "{controls:?}");
        assert!(h.contains("<h2>A\\x1b[2J</h2>"), "{h}");
        assert!(h.contains("<pre>one\ttwo\nthree\\x00\\u{9b}</pre>"), "{h}");
        assert!(h.contains("<h1>t\\x7f</h1>"), "{h}");
    }
}
