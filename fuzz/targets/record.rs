//! The record reader: the bytes are a record file's content, read as
//! `hoeveel report` reads a file, then summarised as the report summarises it;
//! and read again with the time series skipped and averaged, as text reports
//! and charts read it.

use hoeveel_record::per_request::PerRequest;
use hoeveel_record::prefill::PrefillDecode;
use hoeveel_record::summary::Summary;
use hoeveel_record::steady::SteadyState;
use hoeveel_record::{Samples, read_record_from, read_record_str, warnings};
use std::path::Path;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // `read_record` reads the file as UTF-8 text; anything else fails there.
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
        // The reader takes bytes line by line; invalid UTF-8 is its own error there.
        for samples in [Samples::Skip, Samples::AtMost(4)] {
            let _ = read_record_from(data, Path::new("fuzz.jsonl"), samples);
        }
    });
}
