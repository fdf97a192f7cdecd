//! The record reader: the bytes are a record file's content, read as the
//! analysis commands read a file (the time series kept, skipped and
//! averaged), then summarised as the report summarises it.

use hoeveel_record::per_request::PerRequest;
use hoeveel_record::prefill::PrefillDecode;
use hoeveel_record::steady::SteadyState;
use hoeveel_record::summary::Summary;
use hoeveel_record::{Samples, read_record_from, read_record_str, warnings};
use std::path::Path;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // Line by line from bytes, as every analysis command reads a file: the
        // series kept, skipped unparsed, and averaged; invalid UTF-8 is an error
        // of its line there.
        for samples in [Samples::All, Samples::Skip, Samples::AtMost(4)] {
            let _ = read_record_from(data, Path::new("fuzz.jsonl"), samples);
        }
        // What read, summarised as the report summarises it.
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(record) = read_record_str(text, Path::new("fuzz.jsonl")) else {
            return;
        };
        for record in record.by_window() {
            let _ = Summary::of(&record).render_text();
            let _ = warnings::of(&record);
            let per_request = PerRequest::auto(&record);
            let _ = per_request.stats();
            let _ = per_request.per_token_stats();
            let _ = PrefillDecode::of(&record);
            let _ = SteadyState::of(&record);
        }
    });
}
