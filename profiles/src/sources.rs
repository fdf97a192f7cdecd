//! The sources the profiles cite, from `profiles/SOURCES.md`.
//!
//! The document is written for people and read by the program: each source is a
//! level-2 heading holding its id (`## ember-yearly`) followed by its text, up to
//! the next heading. Entries cite sources by id ([`crate::Meta::cite`]), and
//! printed strings point at them as `SOURCES.md#id`; [`undefined_pointers`] finds
//! any pointer without a source, so a test can refuse it.

use std::sync::OnceLock;

/// The document, compiled in.
pub const SOURCES_MD: &str = include_str!("../SOURCES.md");

/// One source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: String,
    /// The text under the heading, trimmed.
    pub text: String,
}

/// Parses the document: every `## id` heading starts a source.
pub fn parse(md: &str) -> Vec<Source> {
    let mut out: Vec<Source> = Vec::new();
    for line in md.lines() {
        if let Some(id) = line.strip_prefix("## ") {
            out.push(Source {
                id: id.trim().to_string(),
                text: String::new(),
            });
        } else if let Some(s) = out.last_mut() {
            s.text.push_str(line);
            s.text.push('\n');
        }
    }
    for s in &mut out {
        s.text = s.text.trim().to_string();
    }
    out
}

/// The shipped sources, parsed once.
pub fn all() -> &'static [Source] {
    static SOURCES: OnceLock<Vec<Source>> = OnceLock::new();
    SOURCES.get_or_init(|| parse(SOURCES_MD))
}

/// A source by id.
pub fn find(id: &str) -> Option<&'static Source> {
    all().iter().find(|s| s.id == id)
}

/// Every `SOURCES.md#id` pointer in `text` whose id is not a source.
pub fn undefined_pointers(text: &str) -> Vec<String> {
    const MARK: &str = "SOURCES.md#";
    text.match_indices(MARK)
        .map(|(i, _)| {
            text[i + MARK.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .collect::<String>()
                .trim_end_matches('.')
                .to_string()
        })
        .filter(|id| find(id).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_well_formed_and_have_text() {
        let all = all();
        assert!(all.len() > 20, "{}", all.len());
        let mut seen = std::collections::HashSet::new();
        for s in all {
            assert!(seen.insert(&s.id), "{} twice", s.id);
            assert!(
                s.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                s.id
            );
            assert!(s.text.len() > 40, "{} has almost no text", s.id);
        }
    }

    #[test]
    fn pointers_are_checked() {
        assert!(undefined_pointers("see SOURCES.md#ccf.").is_empty());
        assert_eq!(
            undefined_pointers("see SOURCES.md#nowhere, and SOURCES.md#ccf"),
            vec!["nowhere".to_string()]
        );
    }
}
