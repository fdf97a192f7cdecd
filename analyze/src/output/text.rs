//! The default, readable format: aligned tables, notes below them.
//!
//! Text fits a width ([`TextLayout`]): the terminal's, or [`DEFAULT_WIDTH`] columns
//! when stdout is not a terminal. A table wider than that is narrowed in steps, each
//! taken only when the one before is not enough:
//!
//! 1. the widest text columns wrap inside their column at word boundaries (the other
//!    columns stay blank on continuation lines); numbers are never wrapped or cut,
//!    only their headers wrap;
//! 2. the longest text columns move to numbered notes under the table, each cell
//!    keeping its reference `[1]`;
//! 3. when the numbers alone are too wide, the columns are split into several
//!    tables, each repeating the first column so the rows can be matched.
//!
//! Notes, captions and banners wrap with a hanging indent. [`TextLayout::WIDE`]
//! (`--wide`) keeps one line per row and per note, however long.

use super::{Document, Table};
use std::fmt::Write as _;

/// The width used when stdout is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 100;

/// A wrapped text column is not made narrower than this (unless its text is).
const MIN_TEXT_WIDTH: usize = 12;
/// A word longer than this (a URL, a file name) may be broken to let its column
/// narrow; shorter words keep their column at least as wide as they are.
const LONGEST_UNBROKEN_WORD: usize = 24;
/// The shortest piece of a broken word left at the end of a line.
const MIN_WORD_PIECE: usize = 4;

/// How wide text output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLayout {
    /// Columns available; None keeps one line per table row (`--wide`).
    pub width: Option<usize>,
}

impl TextLayout {
    /// One line per table row and per note, however long.
    pub const WIDE: TextLayout = TextLayout { width: None };

    pub fn within(width: usize) -> TextLayout {
        TextLayout { width: Some(width) }
    }

    /// The layout for standard output: `COLUMNS` when set, else the terminal's width
    /// when stdout is a terminal, else [`DEFAULT_WIDTH`].
    pub fn for_stdout() -> TextLayout {
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|c| *c > 0);
        TextLayout::within(
            columns
                .or_else(terminal::stdout_columns)
                .unwrap_or(DEFAULT_WIDTH),
        )
    }
}

pub fn render(doc: &Document, layout: TextLayout) -> String {
    let width = layout.width;
    let mut out = String::new();
    let _ = writeln!(out, "{}", doc.title);
    let _ = writeln!(out, "{}", "=".repeat(doc.title.chars().count()));
    if let Some(b) = doc.basis.banner() {
        push_paragraph(&mut out, &b, "", "  ", width);
    }
    // A few warnings lead; more go to the end, so the answer stays on the
    // first screen, with a line here that says where they are.
    let warnings_last = doc.warnings.len() > WARNINGS_FIRST;
    if warnings_last {
        push_paragraph(
            &mut out,
            &format!(
                "warning: {} warnings about the records, listed at the end",
                doc.warnings.len()
            ),
            "",
            "  ",
            width,
        );
    } else {
        for w in &doc.warnings {
            push_paragraph(&mut out, &format!("warning: {w}"), "", "  ", width);
        }
    }
    for section in &doc.sections {
        // A long title wraps, and its rule is no wider than the text.
        out.push('\n');
        let title_lines = match width {
            Some(w) => wrap(&section.title, w, w),
            None => vec![section.title.clone()],
        };
        let rule = title_lines.iter().map(|l| chars(l)).max().unwrap_or(0);
        for line in &title_lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "{}", "-".repeat(rule));
        // A section's own banner only where it differs from the document's.
        if let Some(b) = section
            .basis
            .as_ref()
            .filter(|b| **b != doc.basis)
            .and_then(|b| b.banner())
        {
            push_paragraph(&mut out, &b, "", "  ", width);
        }
        for line in &section.lead {
            push_paragraph(&mut out, line, "", "  ", width);
        }
        if let Some(p) = &section.preformatted {
            // Kept as laid out (aligned figures), but a line wider than the
            // terminal wraps under its own indent.
            for line in p.lines() {
                match width {
                    Some(w) if chars(line) > w => push_paragraph(&mut out, line, "", "  ", width),
                    _ => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        for table in section.tables.iter().filter(|t| !t.complete_only) {
            out.push('\n');
            out.push_str(&table_text_at(table, layout));
        }
        for note in &section.notes {
            push_paragraph(&mut out, note, "  ", "    ", width);
        }
    }
    if warnings_last {
        let _ = writeln!(out, "\nWarnings\n--------");
        for w in &doc.warnings {
            push_paragraph(&mut out, &format!("warning: {w}"), "", "  ", width);
        }
    }
    out
}

/// Warnings printed above the sections; with more, all go below them.
pub const WARNINGS_FIRST: usize = 2;

/// An aligned plain-text table, one line per row; numbers right-aligned.
pub fn table_text(table: &Table) -> String {
    table_text_at(table, TextLayout::WIDE)
}

/// An aligned plain-text table that fits the layout's width where it can (see the
/// module documentation for how).
pub fn table_text_at(table: &Table, layout: TextLayout) -> String {
    let mut grid = Grid::new(table);
    let all: Vec<usize> = (0..grid.headers.len()).collect();
    let mut out = String::new();
    if let Some(c) = &table.caption {
        push_paragraph(&mut out, c, "  ", "    ", layout.width);
    }
    let Some(width) = layout.width else {
        out.push_str(&grid.block(&all, &grid.naturals(&all)));
        return out;
    };
    let mut notes = Vec::new();
    if grid.fits_with_notes(&all, width) {
        let widths = grid.lay_out(&all, width, &mut notes);
        out.push_str(&grid.block(&all, &widths));
    } else {
        for (i, group) in grid.split(width).iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let widths = grid.lay_out(group, width, &mut notes);
            out.push_str(&grid.block(group, &widths));
        }
    }
    for (i, note) in notes.iter().enumerate() {
        let reference = format!("[{}] ", i + 1);
        let hanging = " ".repeat(2 + reference.len());
        push_paragraph(
            &mut out,
            &format!("{reference}{note}"),
            "  ",
            &hanging,
            Some(width),
        );
    }
    out
}

/// A table's cells as displayed, and which of them hold numbers.
struct Grid {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Right-aligned cells (numbers), row by row.
    right: Vec<Vec<bool>>,
    /// Columns with a number in any row: their cells are never wrapped or cut.
    numeric: Vec<bool>,
    /// Columns whose contents went to the notes.
    moved: Vec<bool>,
}

impl Grid {
    fn new(table: &Table) -> Grid {
        let headers: Vec<String> = table.columns.iter().map(|c| c.header()).collect();
        let n = headers.len();
        let mut rows = Vec::with_capacity(table.rows.len());
        let mut right = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            rows.push(
                (0..n)
                    .map(|c| row.get(c).map(|v| v.display()).unwrap_or_default())
                    .collect(),
            );
            right.push(
                (0..n)
                    .map(|c| row.get(c).is_some_and(|v| v.is_numeric()))
                    .collect(),
            );
        }
        let numeric = (0..n)
            .map(|c| right.iter().any(|r: &Vec<bool>| r[c]))
            .collect();
        Grid {
            headers,
            rows,
            right,
            numeric,
            moved: vec![false; n],
        }
    }

    fn natural(&self, c: usize) -> usize {
        self.rows
            .iter()
            .map(|r| chars(&r[c]))
            .chain([chars(&self.headers[c])])
            .max()
            .unwrap_or(0)
    }

    fn naturals(&self, cols: &[usize]) -> Vec<usize> {
        cols.iter().map(|&c| self.natural(c)).collect()
    }

    /// The narrowest a column may become by wrapping.
    fn floor(&self, c: usize) -> usize {
        let header_word = longest_word(&self.headers[c]);
        if self.numeric[c] {
            let cells = self.rows.iter().map(|r| chars(&r[c])).max().unwrap_or(0);
            return header_word.max(cells);
        }
        let cell_word = self
            .rows
            .iter()
            .map(|r| longest_word(&r[c]))
            .max()
            .unwrap_or(0);
        self.natural(c).min(
            header_word
                .max(MIN_TEXT_WIDTH)
                .max(cell_word.min(LONGEST_UNBROKEN_WORD)),
        )
    }

    fn floors(&self, cols: &[usize]) -> Vec<usize> {
        cols.iter().map(|&c| self.floor(c)).collect()
    }

    /// Column widths that fit `width` by wrapping alone, or None.
    fn fit(&self, cols: &[usize], width: usize) -> Option<Vec<usize>> {
        let budget = width.checked_sub(line_overhead(cols.len()))?;
        let floors = self.floors(cols);
        if floors.iter().sum::<usize>() > budget {
            return None;
        }
        let mut widths = self.naturals(cols);
        let mut total: usize = widths.iter().sum();
        while total > budget {
            // The widest column gives a column first. A number column only wraps its
            // header: that costs lines once, where wrapped text costs them in every row.
            let i = (0..cols.len())
                .filter(|&i| widths[i] > floors[i])
                .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)))?;
            widths[i] -= 1;
            total -= 1;
        }
        Some(widths)
    }

    /// The widest cell of a column.
    fn widest_cell(&self, c: usize) -> usize {
        self.rows.iter().map(|r| chars(&r[c])).max().unwrap_or(0)
    }

    /// Whether a column of `cols` may go to the notes: text wider than a reference,
    /// and not the first column, which names the rows.
    fn movable(&self, cols: &[usize], c: usize) -> bool {
        c != cols[0]
            && !self.numeric[c]
            && !self.moved[c]
            && self.widest_cell(c) > reference_width(self.rows.len())
    }

    /// Whether `cols` would fit `width` once every movable column went to the notes.
    fn fits_with_notes(&self, cols: &[usize], width: usize) -> bool {
        let narrowest: usize = cols
            .iter()
            .map(|&c| {
                if self.movable(cols, c) {
                    // A reference such as `[12]`, or the header's longest word.
                    let reference =
                        longest_word(&self.headers[c]).max(reference_width(self.rows.len()));
                    self.floor(c).min(reference)
                } else {
                    self.floor(c)
                }
            })
            .sum();
        narrowest + line_overhead(cols.len()) <= width
    }

    /// Widths for `cols` within `width`: wrapping, then moving the longest text
    /// columns to `notes` one at a time. The narrowest widths when even that fails.
    fn lay_out(&mut self, cols: &[usize], width: usize, notes: &mut Vec<String>) -> Vec<usize> {
        loop {
            if let Some(widths) = self.fit(cols, width) {
                return widths;
            }
            let longest = cols
                .iter()
                .copied()
                .filter(|&c| self.movable(cols, c))
                .max_by_key(|&c| (self.widest_cell(c), std::cmp::Reverse(c)));
            match longest {
                Some(c) => self.move_to_notes(c, notes),
                None => return self.floors(cols),
            }
        }
    }

    /// Replaces a column's cells by references to `notes`; equal texts share a note.
    fn move_to_notes(&mut self, c: usize, notes: &mut Vec<String>) {
        for row in &mut self.rows {
            let text = &row[c];
            // An empty cell stays as it is: a reference would point at nothing.
            if text.trim().is_empty() || text == "–" {
                continue;
            }
            let n = match notes.iter().position(|n| n == text) {
                Some(i) => i + 1,
                None => {
                    notes.push(text.clone());
                    notes.len()
                }
            };
            row[c] = format!("[{n}]");
        }
        self.moved[c] = true;
    }

    /// Groups of columns, each repeating the first (which names the rows): as few
    /// groups as fit `width` by wrapping, cut where the most crowded group needs the
    /// least wrapping.
    fn split(&self, width: usize) -> Vec<Vec<usize>> {
        let n = self.headers.len();
        let all: Vec<usize> = (0..n).collect();
        let floors = self.floors(&all);
        let naturals = self.naturals(&all);
        // Columns first..end with the first column; None when they cannot fit.
        let crowding = |first: usize, end: usize| {
            let cols = end - first + 1;
            let sum = |w: &[usize]| w[0] + w[first..end].iter().sum::<usize>();
            let overhead = line_overhead(cols);
            (sum(&floors) + overhead <= width || cols == 2)
                .then(|| (sum(&naturals) + overhead).saturating_sub(width))
        };
        // The fewest groups: fill each as far as the floors allow.
        let mut count = 1;
        let mut used = line_overhead(1) + floors[0];
        let mut in_group = 0;
        for floor in floors.iter().skip(1) {
            if used + 2 + floor > width && in_group > 0 {
                count += 1;
                used = line_overhead(1) + floors[0];
                in_group = 0;
            }
            used += 2 + floor;
            in_group += 1;
        }
        let ends = best_cuts(1, n, count, &crowding).map_or_else(|| vec![n], |(_, ends)| ends);
        let mut first = 1;
        ends.into_iter()
            .map(|end| {
                let group = std::iter::once(0).chain(first..end).collect();
                first = end;
                group
            })
            .collect()
    }

    /// The table for `cols` at `widths`: header (wrapped, bottom-aligned), rule, rows.
    fn block(&self, cols: &[usize], widths: &[usize]) -> String {
        let headers: Vec<Vec<String>> = cols
            .iter()
            .zip(widths)
            .map(|(&c, &w)| fit_cell(&self.headers[c], w))
            .collect();
        let rows: Vec<Vec<Vec<String>>> = self
            .rows
            .iter()
            .map(|row| {
                cols.iter()
                    .zip(widths)
                    .map(|(&c, &w)| {
                        if self.numeric[c] {
                            vec![row[c].clone()]
                        } else {
                            fit_cell(&row[c], w)
                        }
                    })
                    .collect()
            })
            .collect();
        // Wrapped text may need less than the width it was given.
        let tight: Vec<usize> = (0..cols.len())
            .map(|i| {
                headers[i]
                    .iter()
                    .chain(rows.iter().flat_map(|r| &r[i]))
                    .map(|s| chars(s))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |parts: &[(&str, bool)]| {
            let mut l = String::from("  ");
            for (i, (s, right)) in parts.iter().enumerate() {
                let pad = " ".repeat(tight[i].saturating_sub(chars(s)));
                if *right {
                    l.push_str(&pad);
                    l.push_str(s);
                } else {
                    l.push_str(s);
                    l.push_str(&pad);
                }
                l.push_str("  ");
            }
            l.trim_end().to_string()
        };
        let mut out = String::new();
        let height = headers.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..height {
            let parts: Vec<(&str, bool)> = headers
                .iter()
                .map(|h| {
                    let blank = height - h.len();
                    (if k < blank { "" } else { h[k - blank].as_str() }, false)
                })
                .collect();
            let _ = writeln!(out, "{}", line(&parts));
        }
        let rule: Vec<String> = tight.iter().map(|w| "-".repeat(*w)).collect();
        let _ = writeln!(out, "  {}", rule.join("  "));
        for (r, row) in rows.iter().enumerate() {
            let height = row.iter().map(Vec::len).max().unwrap_or(1);
            for k in 0..height {
                let parts: Vec<(&str, bool)> = row
                    .iter()
                    .zip(cols)
                    .map(|(cell, &c)| {
                        (
                            cell.get(k).map_or("", String::as_str),
                            k == 0 && self.right[r][c],
                        )
                    })
                    .collect();
                let _ = writeln!(out, "{}", line(&parts));
            }
        }
        out
    }
}

/// Cuts columns `first..n` into `groups` runs, minimising the worst `crowding` of a
/// run; returns that crowding and each run's end. None when no cut fits.
fn best_cuts(
    first: usize,
    n: usize,
    groups: usize,
    crowding: &dyn Fn(usize, usize) -> Option<usize>,
) -> Option<(usize, Vec<usize>)> {
    if groups <= 1 || first + groups > n {
        return crowding(first, n).map(|c| (c, vec![n]));
    }
    let mut best: Option<(usize, Vec<usize>)> = None;
    for end in first + 1..=n + 1 - groups {
        let Some(here) = crowding(first, end) else {
            break;
        };
        if let Some((rest, mut ends)) = best_cuts(end, n, groups - 1, crowding) {
            let worst = here.max(rest);
            if best.as_ref().is_none_or(|(b, _)| worst < *b) {
                ends.insert(0, end);
                best = Some((worst, ends));
            }
        }
    }
    best
}

/// The indent and the gaps of a table line with `n` columns.
fn line_overhead(n: usize) -> usize {
    2 + 2 * n.saturating_sub(1)
}

/// The width of the widest reference `[n]` a table of `rows` rows can need.
fn reference_width(rows: usize) -> usize {
    format!("[{}]", rows.max(1)).len()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn longest_word(s: &str) -> usize {
    s.split_whitespace().map(chars).max().unwrap_or(0)
}

/// A cell as it is when it fits, else wrapped to `width`.
fn fit_cell(text: &str, width: usize) -> Vec<String> {
    if chars(text) <= width {
        vec![text.to_string()]
    } else {
        wrap(text, width, width)
    }
}

/// Writes each line of `text` after `indent`, wrapped to `width` with continuation
/// lines after `hanging`; a line's own leading spaces are kept on all its lines.
/// A paragraph wrapped within `width` with a hanging indent, as notes are.
pub fn wrap_paragraph(text: &str, indent: &str, hanging: &str, width: usize) -> String {
    let mut out = String::new();
    push_paragraph(&mut out, text, indent, hanging, Some(width));
    out
}

fn push_paragraph(out: &mut String, text: &str, indent: &str, hanging: &str, width: Option<usize>) {
    for line in text.lines() {
        let Some(width) = width else {
            let _ = writeln!(out, "{indent}{line}");
            continue;
        };
        let body = line.trim_start();
        let lead = &line[..line.len() - body.len()];
        let first = width.saturating_sub(chars(indent) + chars(lead));
        let rest = width.saturating_sub(chars(hanging) + chars(lead));
        for (i, part) in wrap(body, first, rest).iter().enumerate() {
            let prefix = if i == 0 { indent } else { hanging };
            let _ = writeln!(out, "{prefix}{lead}{part}");
        }
    }
}

/// Greedy word wrap: the first line holds `first` characters, the others `rest`.
/// A word longer than a line is broken (see [`break_word`]).
pub(crate) fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split_whitespace() {
        let mut word = word;
        loop {
            let limit = if lines.is_empty() { first } else { rest }.max(1);
            let word_len = chars(word);
            let need = if len == 0 {
                word_len
            } else {
                len + 1 + word_len
            };
            if need <= limit {
                if len > 0 {
                    line.push(' ');
                }
                line.push_str(word);
                len = need;
                break;
            }
            // A word too long for any line starts where it is, if there is room.
            let room = limit.saturating_sub(len + 1);
            if len > 0 && (word_len <= rest.max(1) || room < MIN_WORD_PIECE) {
                lines.push(std::mem::take(&mut line));
                len = 0;
                continue;
            }
            let (head, tail) = break_word(word, if len > 0 { room } else { limit });
            if len > 0 {
                line.push(' ');
            }
            line.push_str(head);
            lines.push(std::mem::take(&mut line));
            len = 0;
            word = tail;
        }
    }
    if len > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Splits a word longer than `limit` characters: after the last `/`, `-`, `.` or `_`
/// in the second half of the line, else at `limit`.
fn break_word(word: &str, limit: usize) -> (&str, &str) {
    let cut = word
        .char_indices()
        .nth(limit)
        .map_or(word.len(), |(i, _)| i);
    let soft = word[..cut]
        .char_indices()
        .filter(|&(i, ch)| matches!(ch, '/' | '-' | '.' | '_') && chars(&word[..i]) >= limit / 2)
        .map(|(i, ch)| i + ch.len_utf8())
        .next_back();
    word.split_at(soft.unwrap_or(cut))
}

/// The terminal's width, read from the kernel (`TIOCGWINSZ`, tty_ioctl(4)).
mod terminal {
    use std::io::IsTerminal;

    pub fn stdout_columns() -> Option<usize> {
        if !std::io::stdout().is_terminal() {
            return None;
        }
        window_columns(1)
    }

    /// The columns of the terminal on `fd`, from TIOCGWINSZ; `None` when `fd` is
    /// not a terminal.
    #[cfg(unix)]
    fn window_columns(fd: libc::c_int) -> Option<usize> {
        // SAFETY: a zeroed winsize is valid; TIOCGWINSZ writes one through the
        // pointer, which lives until the call returns.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
        (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
    }

    #[cfg(not(unix))]
    fn window_columns(_fd: i32) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Cell, Column, Section};

    const SOURCE: &str = "Luccioni, Jernite and Strubell, 'Power Hungry Processing: Watts Driving the Cost of AI Deployment?', ACM FAccT 2024, table 2, https://example.org/papers/power-hungry-processing.pdf (read 2025), with the raw measurements per model and task";

    fn sourced_table() -> Table {
        let mut t = Table::new(
            "t",
            vec![
                Column::new("item", None),
                Column::new("energy", Some("Wh")),
                Column::new("source", None),
            ],
        );
        t.row(vec![
            Cell::text("text generation"),
            Cell::num(1234.5678, 4),
            Cell::text(SOURCE),
        ]);
        t.row(vec![Cell::text("search"), Cell::num(0.3, 4), Cell::Empty]);
        t
    }

    fn too_long(text: &str, width: usize) -> Vec<&str> {
        text.lines().filter(|l| l.chars().count() > width).collect()
    }

    #[test]
    fn a_long_source_wraps_inside_its_column() {
        assert!(SOURCE.chars().count() >= 200);
        let text = table_text_at(&sourced_table(), TextLayout::within(80));
        assert_eq!(too_long(&text, 80), Vec::<&str>::new(), "{text}");
        let words: Vec<&str> = text.split_whitespace().collect();
        for word in SOURCE.split_whitespace() {
            // A word may be broken only when it is longer than a column may be narrow.
            if word.chars().count() <= LONGEST_UNBROKEN_WORD {
                assert!(words.contains(&word), "{word}: {text}");
            }
        }
        let flat: String = text.split_whitespace().collect();
        assert!(
            flat.contains("https://example.org/papers/power-hungry-processing.pdf"),
            "{text}"
        );
        // The number is whole, on the row's first line; continuation lines leave
        // the number column blank.
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].contains(" 1,234.5678 "), "{text}");
        assert!(lines[2].starts_with("  text generation"), "{text}");
        let continuation = lines[3];
        assert!(continuation.starts_with("                 "), "{text}");
        assert!(!continuation.contains("1,234"), "{text}");
        assert!(
            text.lines().filter(|l| l.starts_with("  search")).count() == 1,
            "{text}"
        );
    }

    #[test]
    fn wide_keeps_one_line_per_row() {
        let text = table_text_at(&sourced_table(), TextLayout::WIDE);
        assert_eq!(text.lines().count(), 2 + 2, "{text}");
        assert!(
            text.lines().nth(2).is_some_and(|l| l.contains(SOURCE)),
            "{text}"
        );
        assert_eq!(text, table_text(&sourced_table()));
        // A table that fits is the same either way.
        let mut short = Table::new(
            "s",
            vec![Column::new("a", None), Column::new("b", Some("g"))],
        );
        short.row(vec![Cell::text("x"), Cell::num(1.0, 1)]);
        assert_eq!(
            table_text_at(&short, TextLayout::within(80)),
            table_text_at(&short, TextLayout::WIDE)
        );
    }

    /// Three wide numbers leave no room to wrap a note column of long words.
    fn crowded_table() -> Table {
        let mut t = Table::new(
            "n",
            vec![
                Column::new("site", None),
                Column::new("low", None),
                Column::new("typical", None),
                Column::new("high", None),
                Column::new("note", None),
            ],
        );
        let note_a = "unverified: organisation-reported figure without methodology";
        let note_b = "interpolated between neighbouring measurement campaigns";
        for (site, note) in [("a", note_a), ("b", note_b), ("c", note_a), ("d", "–")] {
            t.row(vec![
                Cell::text(site),
                Cell::num(1_234_567.0, 2),
                Cell::num(2_345_678.0, 2),
                Cell::num(3_456_789.0, 2),
                Cell::text(note),
            ]);
        }
        t
    }

    #[test]
    fn notes_are_numbered_under_the_table() {
        let text = table_text_at(&crowded_table(), TextLayout::within(70));
        assert_eq!(too_long(&text, 70), Vec::<&str>::new(), "{text}");
        let rows: Vec<&str> = text.lines().skip(2).take(4).collect();
        assert!(
            rows[0].starts_with("  a ") && rows[0].ends_with("[1]"),
            "{text}"
        );
        assert!(rows[1].ends_with("[2]"), "{text}");
        // Equal notes share a number; an empty cell gets none.
        assert!(rows[2].ends_with("[1]"), "{text}");
        assert!(rows[3].ends_with("–"), "{text}");
        assert!(rows[0].contains("1,234,567.00"), "{text}");
        let notes: Vec<&str> = text.lines().skip(6).collect();
        assert_eq!(notes.len(), 2, "{text}");
        assert!(notes[0].starts_with("  [1] unverified:"), "{text}");
        assert!(notes[1].starts_with("  [2] interpolated"), "{text}");
    }

    #[test]
    fn numbers_too_wide_for_one_table_are_split_repeating_the_first_column() {
        let text = table_text_at(&crowded_table(), TextLayout::within(40));
        assert_eq!(too_long(&text, 40), Vec::<&str>::new(), "{text}");
        for number in ["1,234,567.00", "2,345,678.00", "3,456,789.00"] {
            assert_eq!(text.matches(number).count(), 4, "{number}: {text}");
        }
        assert!(text.matches("site").count() >= 2, "{text}");
    }

    #[test]
    fn section_notes_wrap_with_a_hanging_indent() {
        let mut section = Section::new("s", "Section");
        section.notes.push(format!("Sources: {SOURCE}"));
        section.tables.push(sourced_table());
        let doc = Document {
            title: "Title".into(),
            basis: crate::output::Basis::reference(),
            sections: vec![section],
            warnings: vec![],
        };
        let text = render(&doc, TextLayout::within(60));
        assert_eq!(too_long(&text, 60), Vec::<&str>::new(), "{text}");
        let note: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("  Sources:"))
            .collect();
        assert!(note.len() > 2, "{text}");
        assert!(note[1..].iter().all(|l| l.starts_with("    ")), "{text}");
        let wide = render(&doc, TextLayout::WIDE);
        assert!(
            wide.lines().any(|l| l == format!("  Sources: {SOURCE}")),
            "{wide}"
        );
    }

    #[test]
    fn words_wrap_and_overlong_words_break() {
        assert_eq!(wrap("one two three", 7, 7), ["one two", "three"]);
        assert_eq!(wrap("", 10, 10), [""]);
        assert_eq!(
            wrap("a path/to/some/long-file.txt", 12, 12),
            ["a path/to/", "some/long-", "file.txt"]
        );
        assert_eq!(wrap("ääääää", 3, 3), ["äää", "äää"]);
    }
}
