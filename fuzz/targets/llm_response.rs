//! The LLM server response parsers: the bytes are a response body, read as each
//! of the four kinds the clients take in: a whole OpenAI answer, an OpenAI
//! server-sent-event stream, a whole Ollama answer and an Ollama NDJSON stream
//! (for `/api/chat` and `/api/generate`), and as an error body.

use hoeveel_agent::workload::llm::{http, http_ollama, http_openai};

const URL: &str = "http://127.0.0.1:8080/v1/chat/completions";

/// The body as the clients read it: through their reader, with its size,
/// line and UTF-8 checks.
fn body(data: &[u8]) -> http::Lines {
    http::Lines::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), URL)
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        // Whole answers, and error bodies.
        if let Ok(text) = body(data).rest() {
            let bytes = text.len() as u64;
            let _ = http::server_error(&text);
            let _ = http_openai::parse_answer(URL, &text);
            for generate in [false, true] {
                if let Ok(answer) = http_ollama::Answer::whole(URL, &text, generate) {
                    let _ = answer.finish(URL, bytes);
                }
            }
        }

        // Streams, line by line.
        let mut lines = body(data);
        let mut stream = http_openai::Stream::default();
        while let Ok(Some(line)) = lines.next_line() {
            if stream.push_line(URL, &line).is_err() || stream.finished {
                break;
            }
        }
        let _ = stream.tokens(URL, lines.bytes);

        for generate in [false, true] {
            let mut lines = body(data);
            let mut answer = http_ollama::Answer::default();
            let complete = loop {
                match lines.next_line() {
                    Ok(Some(line)) => {
                        if answer.push_line(URL, &line, generate).is_err() {
                            break false;
                        }
                        if answer.is_done() {
                            break true;
                        }
                    }
                    Ok(None) => break true,
                    Err(_) => break false,
                }
            };
            if complete {
                let _ = answer.finish(URL, lines.bytes);
            }
        }
    });
}
