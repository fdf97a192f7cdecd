//! The GGUF header reader: the bytes are the whole model file.

use hoeveel_agent::workload::llm::gguf::{file_type_name, read_header_from};
use std::io::Cursor;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(header) = read_header_from(Cursor::new(data), data.len() as u64) {
            let _ = header.file_type.and_then(file_type_name);
        }
    });
}
