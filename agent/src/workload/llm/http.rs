//! What the Ollama and OpenAI-compatible clients share: one blocking HTTP agent,
//! server errors turned into [`WorkloadError::Failed`] with the server's own
//! message, and a line reader for streamed bodies that counts bytes.
//!
//! A broken or hostile server cannot hang the agent or fill its memory: opening a
//! connection may take [`CONNECT_TIMEOUT_S`], a whole request `--timeout`; an
//! answer may hold at most [`MAX_RESPONSE_BYTES`], a streamed line at most
//! [`MAX_LINE_BYTES`], a stream at most [`streamed_token_cap`] content chunks;
//! bytes that are not UTF-8 are refused. Each limit ends the request with an
//! error that names it; the repetitions measured before are kept.
//!
//! The clients talk to the server directly (no proxy from the environment): the
//! point is to measure a local server, and a proxy would add its own work.
//! This build speaks plain HTTP only; TLS would put a crypto library's work into
//! every measured request.

use crate::workload::WorkloadError;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

/// How long a connection may take to open: a local server answers at once.
pub const CONNECT_TIMEOUT_S: u64 = 10;

/// The most bytes one answer may hold: far more than any answer within
/// `--max-tokens` (an OpenAI stream spends a few hundred bytes per token).
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// The longest line of a streamed answer (one event or one JSON object).
pub const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// The most content chunks a stream may carry for `max_tokens`: one per token,
/// with a margin for servers that split a token's text; a server that does not
/// honour `max_tokens` is cut off here instead of streaming until `--timeout`.
pub fn streamed_token_cap(max_tokens: u32) -> u64 {
    let n = u64::from(max_tokens);
    n + n / 10 + 16
}

/// The error for a stream that went past [`streamed_token_cap`].
pub fn too_many_tokens(url: &str, max_tokens: u32) -> WorkloadError {
    failed(format!(
        "{url} streamed more than {} pieces of content for a request of at most {max_tokens} tokens: it does not honour the token limit, so the request was cut off",
        streamed_token_cap(max_tokens)
    ))
}

/// Checks the endpoint and drops a trailing `/`.
pub fn normalise_endpoint(endpoint: &str) -> anyhow::Result<String> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.starts_with("https://") {
        anyhow::bail!(
            "--endpoint {endpoint}: this build speaks plain HTTP only (it measures local servers); \
             use http://"
        );
    }
    if !endpoint.starts_with("http://") || endpoint.len() <= "http://".len() {
        anyhow::bail!(
            "--endpoint `{endpoint}` is not an http:// URL (e.g. http://127.0.0.1:11434)"
        );
    }
    Ok(endpoint.to_string())
}

/// The clients' HTTP agent: every wait for the server looks at the run's
/// interrupt flag ([`super::interruptible`]), so a signal stops a request.
pub fn agent(timeout_s: f64) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(CONNECT_TIMEOUT_S)))
        .timeout_global(Some(Duration::from_secs_f64(timeout_s)))
        .build();
    ureq::Agent::with_parts(
        config,
        super::interruptible::WatchingConnector::new(crate::run_loop::signals::flag()),
        ureq::unversioned::resolver::DefaultResolver::default(),
    )
}

pub fn failed(message: String) -> WorkloadError {
    WorkloadError::Failed {
        message,
        exit_code: None,
    }
}

/// Posts `body` as JSON; a transport failure or a non-2xx answer becomes `Failed`,
/// quoting the server's error message when it gives one.
pub fn post_json(
    agent: &ureq::Agent,
    url: &str,
    body: &Value,
) -> Result<ureq::http::Response<ureq::Body>, WorkloadError> {
    let response = agent
        .post(url)
        .send_json(body)
        .map_err(|e| failed(format!("cannot reach {url}: {}", describe(&e))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response
        .into_body()
        .into_with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    let reason = server_error(&text).unwrap_or_else(|| text.trim().chars().take(300).collect());
    Err(failed(format!(
        "{url} answered HTTP {}: {}",
        status.as_u16(),
        if reason.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            reason
        }
    )))
}

fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is the server running?)".into()
            }
            _ => io.to_string(),
        },
        ureq::Error::Timeout(_) => "timed out (see --timeout)".into(),
        other => other.to_string(),
    }
}

/// The message in an error body: Ollama's `{"error": "..."}` or OpenAI's
/// `{"error": {"message": "..."}}`.
/// Parses one response object from the server at `url`; an `error` object becomes `Failed`.
pub fn parse_object(url: &str, text: &str) -> Result<Value, WorkloadError> {
    let object: Value = serde_json::from_str(text).map_err(|e| {
        failed(format!(
            "{url} sent something that is not JSON ({e}): {:.200}",
            text.trim()
        ))
    })?;
    if let Some(message) = server_error_value(&object) {
        return Err(failed(format!("{url} reported an error: {message}")));
    }
    Ok(object)
}

/// How the message for an answer with no content starts (counted when several
/// requests of a repetition fail).
pub const EMPTY_ANSWER: &str = "answered with no content";

/// How the message for an answer the server cut starts.
pub const CUT_ANSWER: &str = "cut the answer";

/// Why a finished answer is not a request served: it holds no content (a server
/// that drops earlier requests when a new one arrives, as llama-cpp-python's
/// does by default, answers them empty), or the server ended it for a reason
/// other than one of `finished` (`stop`, `length`). Counting such an answer
/// would divide the energy by requests that were not served.
pub fn check_served(
    url: &str,
    text: &str,
    finish_reason: Option<&str>,
    finished: &[&str],
) -> Result<(), WorkloadError> {
    if let Some(reason) = finish_reason.filter(|r| !finished.contains(r)) {
        return Err(failed(format!(
            "{url} {CUT_ANSWER} (finish reason `{reason}`, not {}): the request was not served whole",
            finished.join(" or ")
        )));
    }
    if text.is_empty() {
        return Err(failed(format!(
            "{url} {EMPTY_ANSWER}: an empty answer is not a request served (a server that interrupts earlier requests when a new one arrives gives them)"
        )));
    }
    Ok(())
}

pub fn server_error(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text.trim()).ok()?;
    server_error_value(&value)
}

pub fn server_error_value(value: &Value) -> Option<String> {
    match value.get("error")? {
        Value::String(message) => Some(message.clone()),
        Value::Object(object) => object
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| Some(Value::Object(object.clone()).to_string())),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads a body line by line, counting the bytes received, within
/// [`MAX_RESPONSE_BYTES`] and [`MAX_LINE_BYTES`].
pub struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    pub bytes: u64,
    url: String,
}

impl Lines {
    pub fn new(response: ureq::http::Response<ureq::Body>, url: &str) -> Self {
        Self::from_reader(Box::new(response.into_body().into_reader()), url)
    }

    pub fn from_reader(reader: Box<dyn Read + Send>, url: &str) -> Self {
        Self {
            reader: BufReader::new(reader),
            bytes: 0,
            url: url.to_string(),
        }
    }

    fn read_error(&self, e: &std::io::Error) -> WorkloadError {
        let ureq_timeout = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
        let why = match e.kind() {
            _ if ureq_timeout => "timed out (see --timeout)".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                "timed out (see --timeout)".to_string()
            }
            _ => e.to_string(),
        };
        failed(format!(
            "the answer from {} broke off after {} bytes: {why}",
            self.url, self.bytes
        ))
    }

    fn too_large(&self) -> WorkloadError {
        failed(format!(
            "the answer from {} is larger than {} MiB: no answer within the token limit is, so it was cut off",
            self.url,
            MAX_RESPONSE_BYTES / (1024 * 1024)
        ))
    }

    fn text(&self, bytes: Vec<u8>) -> Result<String, WorkloadError> {
        String::from_utf8(bytes).map_err(|e| {
            failed(format!(
                "the answer from {} is not UTF-8 text (invalid bytes {} from its start)",
                self.url,
                self.bytes - (e.as_bytes().len() - e.utf8_error().valid_up_to()) as u64
            ))
        })
    }

    /// Everything left in the body.
    pub fn rest(&mut self) -> Result<String, WorkloadError> {
        let room = MAX_RESPONSE_BYTES.saturating_sub(self.bytes);
        let mut bytes = Vec::new();
        let n = (&mut self.reader)
            .take(room + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.read_error(&e))?;
        self.bytes += n as u64;
        if n as u64 > room {
            return Err(self.too_large());
        }
        self.text(bytes)
    }

    /// The next line without its line ending, or `None` at the end of the body.
    pub fn next_line(&mut self) -> Result<Option<String>, WorkloadError> {
        let limit = MAX_LINE_BYTES.min(MAX_RESPONSE_BYTES.saturating_sub(self.bytes));
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(limit + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.read_error(&e))?;
        if n == 0 {
            return Ok(None);
        }
        self.bytes += n as u64;
        if n as u64 > limit {
            return Err(if limit < MAX_LINE_BYTES {
                self.too_large()
            } else {
                failed(format!(
                    "the answer from {} has a line longer than {} MiB: no event of a token stream is that long, so it was cut off",
                    self.url,
                    MAX_LINE_BYTES / (1024 * 1024)
                ))
            });
        }
        let text = self.text(line)?;
        Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked() {
        assert_eq!(
            normalise_endpoint("http://127.0.0.1:11434/").expect("ok"),
            "http://127.0.0.1:11434"
        );
        assert!(normalise_endpoint("https://api.example/v1").is_err());
        assert!(normalise_endpoint("127.0.0.1:8080").is_err());
    }

    fn lines(body: Vec<u8>) -> Lines {
        Lines::from_reader(Box::new(std::io::Cursor::new(body)), "http://test")
    }

    #[test]
    fn lines_are_read_within_their_limits() {
        let mut l = lines(b"a\r\nb\n\nlast".to_vec());
        let got: Vec<_> = std::iter::from_fn(|| l.next_line().expect("reads")).collect();
        assert_eq!(got, ["a", "b", "", "last"]);
        assert_eq!(l.bytes, 10);

        let long = vec![b'x'; MAX_LINE_BYTES as usize + 10];
        let err = lines(long).next_line().expect_err("too long");
        assert!(err.to_string().contains("line longer than 1 MiB"), "{err}");

        let err = lines(b"ok\n\xff\xfe\n".to_vec())
            .rest()
            .expect_err("not UTF-8");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let mut l = lines(b"ok\n\xff\xfe\n".to_vec());
        assert_eq!(l.next_line().expect("first line").as_deref(), Some("ok"));
        let err = l.next_line().expect_err("not UTF-8");
        assert!(
            err.to_string().contains("invalid bytes 3 from its start"),
            "{err}"
        );
    }

    #[test]
    fn a_body_past_the_cap_is_refused_without_being_kept() {
        // An endless body: the reader stops one byte past the cap.
        let endless = std::io::repeat(b' ');
        let mut l = Lines::from_reader(Box::new(endless), "http://test");
        let err = l.rest().expect_err("too large");
        assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
        assert_eq!(l.bytes, MAX_RESPONSE_BYTES + 1);
    }

    #[test]
    fn the_token_cap_leaves_a_margin() {
        assert_eq!(streamed_token_cap(10), 27);
        assert_eq!(streamed_token_cap(1000), 1116);
    }

    #[test]
    fn server_errors_are_quoted() {
        assert_eq!(
            server_error(r#"{"error":"model 'x' not found"}"#).as_deref(),
            Some("model 'x' not found")
        );
        assert_eq!(
            server_error(r#"{"error":{"message":"bad request","type":"invalid_request_error"}}"#)
                .as_deref(),
            Some("bad request")
        );
        assert_eq!(server_error("<html>"), None);
    }
}
