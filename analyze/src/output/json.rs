//! JSON: the document as one object with a format version, the basis
//! (`provenance`, `modelled`), every table with typed cells (numbers stay numbers,
//! ranges are `{low, typical, high}`), and each section's machine-readable data.

use super::Document;

/// Version of hoeveel's JSON output; bumped when a field changes meaning.
pub const JSON_FORMAT_VERSION: &str = "1.0";

pub fn render(doc: &Document) -> String {
    let value = serde_json::json!({
        "format_version": JSON_FORMAT_VERSION,
        "title": doc.title,
        "provenance": doc.basis.provenance,
        "modelled": doc.basis.modelled(),
        "reference_inputs": doc.basis.reference_inputs,
        "notice": doc.basis.banner(),
        "warnings": doc.warnings,
        "sections": doc.sections,
    });
    let mut s =
        serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
