//! A listing of one entry per row that fits a narrow terminal: the columns are
//! laid out to their widest cell, except the one column allowed to overflow (an
//! id); a cell longer than that column's share takes a line of its own, and the
//! row's other cells follow on the next line, so no id is ever cut or moved
//! into a note.
//!
//! `hoeveel profiles list` uses it: the generic table layout would move long
//! ids to numbered notes, and a reader scanning for an id would see `[206]`.

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One column: its header and alignment.
#[derive(Debug, Clone, Copy)]
pub struct ListColumn<'a> {
    pub header: &'a str,
    pub align: Align,
}

const INDENT: &str = "  ";
const GAP: &str = "  ";

/// Lays `rows` out within `width` columns; column `overflow` shrinks to what
/// the others leave, and a longer cell of it takes a line of its own.
pub fn render(
    columns: &[ListColumn<'_>],
    rows: &[Vec<String>],
    overflow: usize,
    width: usize,
) -> String {
    let count = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = columns.iter().map(|c| count(c.header)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(count(cell));
        }
    }
    let others: usize = widths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != overflow)
        .map(|(_, w)| w + GAP.len())
        .sum();
    let room = width.saturating_sub(INDENT.len() + others);
    widths[overflow] = widths[overflow].min(room.max(count(columns[overflow].header)));

    let line = |cells: &[&str]| -> String {
        let mut out = String::from(INDENT);
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str(GAP);
            }
            let pad = w.saturating_sub(count(cell));
            match columns[i].align {
                Align::Left => {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
                Align::Right => {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(&headers);
    out.push_str(&line(&rules.iter().map(String::as_str).collect::<Vec<_>>()));
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        if count(cells[overflow]) <= widths[overflow] {
            out.push_str(&line(&cells));
            continue;
        }
        // The long cell on a line of its own, at its column; the rest below it.
        let mut head: Vec<&str> = vec![""; cells.len()];
        head[..=overflow].copy_from_slice(&cells[..=overflow]);
        let head_line = line(&head[..=overflow]);
        out.push_str(&head_line);
        let mut rest = cells.clone();
        rest[..=overflow].fill("");
        out.push_str(&line(&rest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> [ListColumn<'static>; 3] {
        [
            ListColumn {
                header: "kind",
                align: Align::Left,
            },
            ListColumn {
                header: "id",
                align: Align::Left,
            },
            ListColumn {
                header: "value",
                align: Align::Right,
            },
        ]
    }

    fn rows(ids: &[&str]) -> Vec<Vec<String>> {
        ids.iter()
            .map(|id| vec!["grid".to_string(), id.to_string(), "253".to_string()])
            .collect()
    }

    #[test]
    fn rows_that_fit_keep_one_line_each() {
        let text = render(&cols(), &rows(&["NL/workshop", "ms-nl"]), 1, 80);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[2], "  grid  NL/workshop    253");
        assert_eq!(lines[3], "  grid  ms-nl          253");
    }

    #[test]
    fn a_long_id_takes_a_line_of_its_own_and_is_never_cut() {
        let long = "gcp-northamerica-northeast1/google-2024";
        let text = render(&cols(), &rows(&["NL/workshop", long]), 1, 30);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 30 || line.trim_end().ends_with(long),
                "{line:?}"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], format!("  grid  {long}"));
        assert_eq!(lines[4].trim(), "253");
        assert!(lines[2].contains("NL/workshop") && lines[2].ends_with("253"));
    }
}
