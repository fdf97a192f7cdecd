//! One document model, many formats.
//!
//! Every command builds a [`Document`]: sections of notes, tables and charts, and
//! the provenance of the energy it rests on. The exporters turn that one value into
//! a readable table (default), JSON, CSV, Markdown or HTML, so the same numbers appear
//! in every format and a modelled figure is labelled modelled in all of them.
//!
//! Strings in a document come from records and profiles, which anyone can write.
//! Text, CSV and Markdown are rendered from [`Document::printable`], the one place
//! every string of theirs passes: control characters become visible escapes
//! ([`hoeveel_record::printable`]), so none reaches a terminal and no newline
//! forges a line. Markdown also escapes `&`, `<` and `>` as entities, and `|` in
//! table cells; HTML escapes its own ([`crate::html`]). JSON carries strings as
//! they are, with JSON's own escapes for control characters below U+0020.

pub mod csv;
pub mod entry_list;
pub mod json;
pub mod markdown;
pub mod text;

use crate::plot::Chart;
use hoeveel_record::Provenance;
use serde::Serialize;

/// What the numbers of a document rest on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Basis {
    /// The weakest provenance of the measured energy used; None when no measurement is used.
    pub provenance: Option<Provenance>,
    /// True when published reference figures stand in for a measurement.
    pub reference_inputs: bool,
}

impl Basis {
    pub fn reference() -> Basis {
        Basis {
            provenance: None,
            reference_inputs: true,
        }
    }

    pub fn measured(provenance: Option<Provenance>) -> Basis {
        Basis {
            provenance,
            reference_inputs: false,
        }
    }

    pub fn combine(&self, other: &Basis) -> Basis {
        Basis {
            provenance: Provenance::weakest(self.provenance.into_iter().chain(other.provenance)),
            reference_inputs: self.reference_inputs || other.reference_inputs,
        }
    }

    pub fn modelled(&self) -> bool {
        self.provenance == Some(Provenance::Modelled)
    }

    /// The line printed at the top of every format.
    pub fn banner(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.modelled() {
            parts.push(
                "MODELLED: all or part of the measured energy comes from a power model, not an energy sensor (each run summary says which domains); every figure computed from it is an estimate"
                    .to_string(),
            );
        }
        if self.reference_inputs {
            parts.push(
                "REFERENCE INPUTS: published per-request figures stand in where no record was given"
                    .to_string(),
            );
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    }

    /// Short label for a CSV column or a chart caption.
    pub fn label(&self) -> String {
        match (self.provenance, self.reference_inputs) {
            (Some(p), false) => p.as_str().to_string(),
            (Some(p), true) => format!("{p}+reference"),
            (None, true) => "reference".to_string(),
            (None, false) => "none".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub title: String,
    pub basis: Basis,
    pub sections: Vec<Section>,
    pub warnings: Vec<String>,
}

/// A single-line string with its control characters escaped.
fn line(s: &str) -> String {
    hoeveel_record::printable::line(s).into_owned()
}

impl Document {
    /// The document with every string printable: each on one line, control
    /// characters escaped; the run summary keeps its lines. Text, CSV and
    /// Markdown render this, never the document as built.
    pub fn printable(&self) -> Document {
        Document {
            title: line(&self.title),
            basis: self.basis.clone(),
            sections: self.sections.iter().map(Section::printable).collect(),
            warnings: self.warnings.iter().map(|w| line(w)).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Section {
    pub id: String,
    pub title: String,
    /// Provenance of this section alone, when it differs from the document's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
    /// Text printed as is by the text format (the agent's run summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preformatted: Option<String>,
    /// The answer, printed first, under the title, before any table.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lead: Vec<String>,
    pub notes: Vec<String>,
    pub tables: Vec<Table>,
    #[serde(skip)]
    pub charts: Vec<Chart>,
    /// Machine-readable figures of the section for `--json`.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Section {
    pub fn new(id: &str, title: &str) -> Section {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            ..Section::default()
        }
    }

    fn printable(&self) -> Section {
        let lines = |v: &[String]| v.iter().map(|s| line(s)).collect();
        Section {
            id: line(&self.id),
            title: line(&self.title),
            basis: self.basis.clone(),
            preformatted: self
                .preformatted
                .as_ref()
                .map(|p| hoeveel_record::printable::text(p).into_owned()),
            lead: lines(&self.lead),
            notes: lines(&self.notes),
            tables: self.tables.iter().map(Table::printable).collect(),
            charts: self.charts.clone(),
            data: self.data.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl Column {
    pub fn new(name: &str, unit: Option<&str>) -> Column {
        Column {
            name: name.to_string(),
            unit: unit.map(str::to_string),
        }
    }

    pub fn header(&self) -> String {
        match &self.unit {
            Some(u) => format!("{} ({u})", self.name),
            None => self.name.clone(),
        }
    }
}

/// One table cell. In JSON a number stays a number, a range is
/// `{low, typical, high}`, an empty cell is null; `decimals` only shapes display.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num {
        value: f64,
        decimals: usize,
    },
    Range {
        low: f64,
        typical: Option<f64>,
        high: f64,
        decimals: usize,
    },
    Empty,
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Cell::Text(t) => s.serialize_str(t),
            Cell::Num { value, .. } => s.serialize_f64(*value),
            Cell::Range {
                low, typical, high, ..
            } => {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("low", low)?;
                m.serialize_entry("typical", typical)?;
                m.serialize_entry("high", high)?;
                m.end()
            }
            Cell::Empty => s.serialize_none(),
        }
    }
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn num(value: f64, decimals: usize) -> Cell {
        Cell::Num { value, decimals }
    }

    /// A number shown with `sig` significant digits.
    pub fn sig(value: f64, sig: usize) -> Cell {
        Cell::num(value, sig_decimals(value, sig))
    }

    /// An interval shown with `sig` significant digits on its smallest non-zero bound.
    pub fn interval_sig(i: crate::stats::Interval, sig: usize) -> Cell {
        let smallest = [i.low, i.high]
            .into_iter()
            .chain(i.typical)
            .map(f64::abs)
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        Cell::interval(i, sig_decimals(smallest, sig))
    }

    pub fn interval(i: crate::stats::Interval, decimals: usize) -> Cell {
        if i.is_point() {
            Cell::num(i.low, decimals)
        } else {
            Cell::Range {
                low: i.low,
                typical: i.typical,
                high: i.high,
                decimals,
            }
        }
    }

    /// The value as people read it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num { value, decimals } => fmt_num(*value, *decimals),
            Cell::Range {
                low,
                typical: Some(t),
                high,
                decimals,
            } => format!(
                "{} ({}–{})",
                fmt_num(*t, *decimals),
                fmt_num(*low, *decimals),
                fmt_num(*high, *decimals)
            ),
            Cell::Range {
                low,
                high,
                decimals,
                ..
            } => format!("{}–{}", fmt_num(*low, *decimals), fmt_num(*high, *decimals)),
            Cell::Empty => "–".to_string(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Num { .. } | Cell::Range { .. })
    }
}

/// Decimal places that show `sig` significant digits of `v` (at most 12).
pub fn sig_decimals(v: f64, sig: usize) -> usize {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let magnitude = v.abs().log10().floor() as i64;
    (sig as i64 - 1 - magnitude).clamp(0, 12) as usize
}

/// A number with `decimals` places and thousands separators, or scientific when tiny.
/// `v` to `sig` significant figures, grouped as [`fmt_num`] does: 154,763.62 to
/// three is "155,000", 0.0123456 is "0.0123", 5,158.79 is "5,160". Very small or
/// very large magnitudes use an exponent (1.2e-9, 3.4e14).
pub fn fmt_sig(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1) as i32;
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..15).contains(&magnitude) {
        return format!("{:.*e}", (sig - 1) as usize, v);
    }
    let decimals = (sig - 1 - magnitude).max(0) as usize;
    let step = 10f64.powi(magnitude + 1 - sig);
    let rounded = (v / step).round() * step;
    fmt_num(rounded, decimals)
}

pub fn fmt_num(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v != 0.0 && v.abs() < 10f64.powi(-(decimals as i32)) {
        return format!("{v:.2e}");
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Kept for the complete formats (HTML, JSON, CSV) and left out of the
    /// terminal's text and Markdown, which show the short form beside it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub complete_only: bool,
}

impl Table {
    pub fn new(id: &str, columns: Vec<Column>) -> Table {
        Table {
            id: id.to_string(),
            caption: None,
            columns,
            rows: Vec::new(),
            complete_only: false,
        }
    }

    pub fn caption(mut self, c: impl Into<String>) -> Table {
        self.caption = Some(c.into());
        self
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    fn printable(&self) -> Table {
        Table {
            id: line(&self.id),
            caption: self.caption.as_deref().map(line),
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: line(&c.name),
                    unit: c.unit.as_deref().map(line),
                })
                .collect(),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Cell::Text(t) => Cell::Text(line(t)),
                            other => other.clone(),
                        })
                        .collect()
                })
                .collect(),
            complete_only: self.complete_only,
        }
    }
}

/// Output format chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
    Markdown,
}

/// Renders a document in a format; text keeps one line per table row.
pub fn render(doc: &Document, format: Format) -> String {
    render_with(doc, format, text::TextLayout::WIDE)
}

/// Renders a document in a format; `layout` shapes the text format only. Text,
/// CSV and Markdown render its [`Document::printable`] form.
pub fn render_with(doc: &Document, format: Format, layout: text::TextLayout) -> String {
    match format {
        Format::Text => text::render(&doc.printable(), layout),
        Format::Json => json::render(doc),
        Format::Csv => csv::render(&doc.printable()),
        Format::Markdown => markdown::render(&doc.printable()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn significant_figures() {
        use super::fmt_sig;
        assert_eq!(fmt_sig(154_763.62, 3), "155,000");
        assert_eq!(fmt_sig(5_158.79, 3), "5,160");
        assert_eq!(fmt_sig(0.012_345_6, 3), "0.0123");
        assert_eq!(fmt_sig(23.0, 2), "23");
        assert_eq!(fmt_sig(1.0, 3), "1.00");
        assert_eq!(fmt_sig(-0.5, 2), "-0.50");
        assert_eq!(fmt_sig(3.4e15, 2), "3.4e15");
        assert_eq!(fmt_sig(0.0, 3), "0");
    }

    use super::*;

    #[test]
    fn text_csv_and_markdown_print_no_control_character_from_any_string() {
        let hostile = "a\u{1b}[2J\nEnergy, gross:  0 J\r\u{9b}\u{7f}";
        let mut section = Section::new(hostile, hostile);
        section.lead.push(hostile.into());
        section.notes.push(hostile.into());
        // Laid out in lines by the record crate's summary, which escapes every
        // string it prints (a newline in a label among them); its own lines stay.
        section.preformatted = Some("Workload: \u{1b}]0;title\u{7}\n  next line\n".into());
        let mut t = Table::new(hostile, vec![Column::new(hostile, Some(hostile))]);
        t.row(vec![Cell::text(hostile)]);
        section.tables.push(t.caption(hostile));
        let doc = Document {
            title: hostile.into(),
            basis: Basis::measured(None),
            sections: vec![section],
            warnings: vec![hostile.into()],
        };
        for format in [Format::Text, Format::Csv, Format::Markdown] {
            let out = render(&doc, format);
            let controls: Vec<char> = out
                .chars()
                .filter(|c| c.is_control() && *c != '\n')
                .collect();
            assert!(controls.is_empty(), "{format:?}: {controls:?} in {out}");
            assert!(
                !out.lines().any(|l| l.starts_with("Energy, gross:")),
                "{format:?}: a forged line: {out}"
            );
            assert!(out.contains("a\\x1b[2J\\x0aEnergy"), "{format:?}: {out}");
        }
        let text = render(&doc, Format::Text);
        assert!(
            text.contains("Workload: \\x1b]0;title\\x07\n  next line\n"),
            "the summary keeps its lines: {text}"
        );
    }

    #[test]
    fn numbers_are_grouped_and_ranges_read_well() {
        assert_eq!(fmt_num(11390.0, 0), "11,390");
        assert_eq!(fmt_num(-1234567.891, 2), "-1,234,567.89");
        assert_eq!(fmt_num(0.000_012, 3), "1.20e-5");
        assert_eq!(Cell::sig(0.002_409_7, 4).display(), "0.002410");
        assert_eq!(Cell::sig(11_390.0, 4).display(), "11,390");
        assert_eq!(
            Cell::interval(crate::stats::Interval::new(1.04, None, 1.15), 2).display(),
            "1.04–1.15"
        );
        assert_eq!(
            Cell::interval(crate::stats::Interval::new(1.0, Some(2.0), 3.0), 1).display(),
            "2.0 (1.0–3.0)"
        );
    }
}
