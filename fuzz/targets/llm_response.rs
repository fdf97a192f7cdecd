//! The LLM server response parsers: the bytes are a response body, read as each
//! of the four kinds the clients take in: a whole OpenAI answer, an OpenAI
//! server-sent-event stream, a whole Ollama answer and an Ollama NDJSON stream
//! (for `/api/chat` and `/api/generate`), and as an error body.

use hoeveel_agent::workload::llm::{http, http_ollama, http_openai};

const URL: &str = "http://127.0.0.1:8080/v1/chat/completions";

/// The lines as the clients' line reader gives them: split after each `\n`,
/// without the line ending.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .map(|line| line.trim_end_matches(['\r', '\n']))
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // The clients read bodies as UTF-8 text; anything else fails there.
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let bytes = text.len() as u64;
        let _ = http::server_error(text);

        let _ = http_openai::parse_answer(URL, text);
        let mut stream = http_openai::Stream::default();
        for line in lines(text) {
            if stream.push_line(URL, line).is_err() || stream.finished {
                break;
            }
        }
        let _ = stream.tokens(URL, bytes);

        for generate in [false, true] {
            if let Ok(answer) = http_ollama::Answer::whole(URL, text, generate) {
                let _ = answer.finish(URL, bytes);
            }
            let mut answer = http_ollama::Answer::default();
            let mut failed = false;
            for line in lines(text) {
                if answer.push_line(URL, line, generate).is_err() {
                    failed = true;
                    break;
                }
                if answer.is_done() {
                    break;
                }
            }
            if !failed {
                let _ = answer.finish(URL, bytes);
            }
        }
    });
}
