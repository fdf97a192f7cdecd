//! Turns one corpus file into documents (title + body text).
//!
//! - `.txt`: one document; the title is the file name without extension.
//! - `.md`, `.markdown`: one document; the title is the first `# ` heading, else the file name.
//! - `.html`, `.htm`: one document; tags stripped (script, style and comments dropped, a few
//!   common entities decoded); the title is `<title>`, else the first `<h1>`, else the file name.
//! - `.json`: records, so that the default corpus format and most exports work as they are:
//!   - an object whose values are all objects (the default corpus: title -> {title, extract, ...}),
//!     or an array of objects: one document per record;
//!   - anything else: one document for the whole file.
//!
//!   A record's title is its `title` string field (else the map key, else `<file>[i]`); its
//!   body is every other string in it, nested ones included, fields taken in key order.

use anyhow::Context;
use serde_json::Value;
use std::path::Path;

/// One searchable document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub body: String,
}

/// The file kinds a corpus folder may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Markdown,
    Html,
    Json,
}

impl Kind {
    /// From the file extension (case-insensitive); `None` for files a corpus ignores.
    pub fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Some(Kind::Text),
            "md" | "markdown" => Some(Kind::Markdown),
            "html" | "htm" => Some(Kind::Html),
            "json" => Some(Kind::Json),
            _ => None,
        }
    }
}

/// The documents in `text`, the content of `path` (used for titles and messages).
pub fn documents(path: &Path, kind: Kind, text: &str) -> anyhow::Result<Vec<Document>> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(match kind {
        Kind::Text => vec![Document {
            title: stem,
            body: text.to_string(),
        }],
        Kind::Markdown => vec![Document {
            title: markdown_title(text).unwrap_or(stem),
            body: text.to_string(),
        }],
        Kind::Html => {
            let (title, body) = html_text(text);
            vec![Document {
                title: title.unwrap_or(stem),
                body,
            }]
        }
        Kind::Json => {
            let value: Value = serde_json::from_str(text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            json_documents(value, &stem)
        }
    })
}

fn markdown_title(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn json_documents(value: Value, stem: &str) -> Vec<Document> {
    match value {
        Value::Object(map) if !map.is_empty() && map.values().all(Value::is_object) => map
            .into_iter()
            .map(|(key, record)| record_document(&record, key))
            .collect(),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => items
            .iter()
            .enumerate()
            .map(|(i, record)| record_document(record, format!("{stem}[{i}]")))
            .collect(),
        other => {
            let doc = record_document(&other, stem.to_string());
            if doc.body.is_empty() && doc.title == stem {
                Vec::new()
            } else {
                vec![doc]
            }
        }
    }
}

fn record_document(record: &Value, fallback_title: String) -> Document {
    let title = record
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut parts = Vec::new();
    collect_strings(record, true, &mut parts);
    Document {
        title: title.unwrap_or(fallback_title),
        body: parts.join("\n"),
    }
}

/// Every string in `value`, skipping the top-level `title` (it is the title already).
fn collect_strings<'a>(value: &'a Value, top: bool, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, false, out)),
        Value::Object(map) => {
            for (key, v) in map {
                if !(top && key == "title" && v.is_string()) {
                    collect_strings(v, false, out);
                }
            }
        }
        _ => {}
    }
}

/// The title (from `<title>`, else the first `<h1>`) and the visible text of an HTML page.
/// A simple tag stripper, not a full HTML parser: enough for indexing words.
pub fn html_text(html: &str) -> (Option<String>, String) {
    let mut body = String::with_capacity(html.len() / 2);
    let mut title: Option<String> = None;
    let mut h1: Option<String> = None;
    let mut capture: Option<(String, String)> = None; // (tag, text so far)
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with("<!--") {
            i += lower[i..].find("-->").map_or(rest.len(), |end| end + 3);
            continue;
        }
        // A tag starts with `<` and a letter, `/` or `!`; any other `<` is text ("a < b").
        if let Some(after) = rest.strip_prefix('<')
            && after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
        {
            let Some(end) = rest.find('>') else {
                break;
            };
            let tag = lower[i + 1..i + end]
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("")
                .to_string();
            let closing = after.starts_with('/');
            i += end + 1;
            if !closing && (tag == "script" || tag == "style") {
                let close = format!("</{tag}");
                i += lower[i..].find(&close).unwrap_or(html.len() - i);
                continue;
            }
            if !closing && (tag == "title" || tag == "h1") && capture.is_none() {
                capture = Some((tag, String::new()));
            } else if closing
                && capture.as_ref().is_some_and(|(t, _)| *t == tag)
                && let Some((tag, text)) = capture.take()
            {
                let text = collapse_spaces(&decode_entities(&text));
                if tag == "title" && title.is_none() && !text.is_empty() {
                    title = Some(text);
                } else if tag == "h1" && h1.is_none() && !text.is_empty() {
                    h1 = Some(text);
                }
            }
            // Tags separate words: `a<br>b` is two words.
            body.push(' ');
            continue;
        }
        // Text runs to the next `<` (the first byte is text even when it is a `<`).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('<').map_or(rest.len(), |n| n + first);
        let text = &rest[..next];
        if let Some((_, captured)) = capture.as_mut() {
            captured.push_str(text);
        }
        body.push_str(text);
        i += next;
    }
    (title.or(h1), collapse_spaces(&decode_entities(&body)))
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How far from its `&` the `;` of an entity [`decode_entities`] knows can
/// lie: the longest, `&#x10FFFF;`, takes 10 bytes; one more allows a leading zero.
const MAX_ENTITY_BYTES: usize = 11;

/// Decodes the named entities common in text (`&amp;` `&lt;` `&gt;` `&quot;` `&apos;`
/// `&nbsp;`) and numeric ones (`&#233;` `&#xE9;`); others are left as they are.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Only the next bytes up to the longest entity can close one this
        // reader knows: looking further would make text of many `&` and no `;`
        // cost its length squared.
        let window = &rest.as_bytes()[..rest.len().min(MAX_ENTITY_BYTES)];
        let semi = window.iter().position(|b| *b == b';');
        let decoded = semi.and_then(|semi| {
            let name = &rest[1..semi];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => num.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            ch.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_within_a_short_window_and_lone_ampersands_stay() {
        assert_eq!(
            decode_entities("a &amp; b &#x41;&#66; &lt;c&gt;"),
            "a & b AB <c>"
        );
        // An entity name cut off, a `;` too far away, and the end of the text.
        assert_eq!(decode_entities("fish & chips; &amp"), "fish & chips; &amp");
        let many = "&".repeat(100_000) + ";";
        assert_eq!(decode_entities(&many), many);
    }

    #[test]
    fn html_is_stripped_to_words_with_its_title() {
        let html = "<html><head><title>Waste &amp; recycling</title><style>p{color:red}</style>\
                    <script>var x = '<p>no</p>';</script></head><body><!-- hidden -->\
                    <h1>Collection</h1><p>Bins are<br>emptied&nbsp;weekly &#8212; caf&#xE9;.</p></body></html>";
        let (title, body) = html_text(html);
        assert_eq!(title.as_deref(), Some("Waste & recycling"));
        assert_eq!(
            body,
            "Waste & recycling Collection Bins are emptied weekly \u{2014} caf\u{e9}."
        );
    }

    #[test]
    fn html_without_title_uses_the_first_h1() {
        let (title, body) =
            html_text("<h1 class=x>Main <b>topic</b></h1><p>text & more, 1 < 2 > 0</p>");
        assert_eq!(title.as_deref(), Some("Main topic"));
        assert_eq!(body, "Main topic text & more, 1 < 2 > 0");
        let (_, body) = html_text("<p>één</p><p>\u{2014}x</p>");
        assert_eq!(body, "één \u{2014}x");
    }

    #[test]
    fn summaries_json_gives_one_document_per_article() {
        let text = r#"{"Photosynthesis": {"title": "Photosynthesis", "extract": "Plants convert light.", "topic": "Biology"},
                       "Sun": {"extract": "A star."}}"#;
        let docs = documents(Path::new("s.json"), Kind::Json, text).expect("parse");
        assert_eq!(
            docs,
            [
                Document {
                    title: "Photosynthesis".into(),
                    body: "Plants convert light.\nBiology".into()
                },
                Document {
                    title: "Sun".into(),
                    body: "A star.".into()
                },
            ]
        );
    }

    #[test]
    fn json_arrays_and_single_objects_are_documents_too() {
        let docs = documents(
            Path::new("faq.json"),
            Kind::Json,
            r#"[{"q": "When?", "a": {"text": "Mondays"}}, {"title": "Where", "a": "Depot"}]"#,
        )
        .expect("parse");
        assert_eq!(docs[0].title, "faq[0]");
        assert_eq!(docs[0].body, "Mondays\nWhen?"); // key order: a, q
        assert_eq!(docs[1].title, "Where");
        let docs = documents(
            Path::new("one.json"),
            Kind::Json,
            r#"{"n": 1, "s": ["x", "y"]}"#,
        )
        .expect("parse");
        assert_eq!(
            docs,
            [Document {
                title: "one".into(),
                body: "x\ny".into()
            }]
        );
        assert!(
            documents(Path::new("e.json"), Kind::Json, "{}")
                .expect("parse")
                .is_empty()
        );
    }

    #[test]
    fn bad_json_names_the_file_line_and_column() {
        let err =
            documents(Path::new("dir/bad.json"), Kind::Json, "{\n  \"a\": }").expect_err("invalid");
        let message = format!("{err:#}");
        assert!(message.contains("dir/bad.json"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn markdown_titles_come_from_the_first_heading() {
        let docs =
            documents(Path::new("notes.md"), Kind::Markdown, "intro\n# Bins\ntext").expect("md");
        assert_eq!(docs[0].title, "Bins");
        let docs = documents(Path::new("notes.txt"), Kind::Text, "# not a title").expect("txt");
        assert_eq!(docs[0].title, "notes");
        assert_eq!(Kind::of(Path::new("a/B.HTM")), Some(Kind::Html));
        assert_eq!(Kind::of(Path::new("a/b.pdf")), None);
    }
}
