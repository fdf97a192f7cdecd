//! The search corpus extractors: the bytes are one corpus file, read as each kind
//! of file a corpus folder may hold (text, Markdown, HTML, JSON).

use hoeveel_agent::workload::search::extract::{Kind, documents, html_text};
use std::path::Path;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // The corpus reads files as UTF-8 text.
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        for (name, kind) in [
            ("doc.txt", Kind::Text),
            ("doc.md", Kind::Markdown),
            ("doc.html", Kind::Html),
            ("doc.json", Kind::Json),
        ] {
            let _ = documents(Path::new(name), kind, text);
        }
        let _ = html_text(text);
    });
}
