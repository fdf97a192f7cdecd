//! What the Ollama and OpenAI-compatible clients share: one blocking HTTP agent,
//! server errors turned into [`WorkloadError::Failed`] with the server's own
//! message, and a line reader for streamed bodies that counts bytes.
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
const CONNECT_TIMEOUT_S: u64 = 10;

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

pub fn agent(timeout_s: f64) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(Duration::from_secs(CONNECT_TIMEOUT_S)))
        .timeout_global(Some(Duration::from_secs_f64(timeout_s)))
        .build();
    ureq::Agent::new_with_config(config)
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

/// Reads a streamed body line by line, counting the bytes received.
pub struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    pub bytes: u64,
    url: String,
}

impl Lines {
    pub fn new(response: ureq::http::Response<ureq::Body>, url: &str) -> Self {
        let reader: Box<dyn Read + Send> = Box::new(response.into_body().into_reader());
        Self {
            reader: BufReader::new(reader),
            bytes: 0,
            url: url.to_string(),
        }
    }

    /// Everything left in the body.
    pub fn rest(&mut self) -> Result<String, WorkloadError> {
        let mut text = String::new();
        let n = self.reader.read_to_string(&mut text).map_err(|e| {
            failed(format!(
                "the answer from {} broke off after {} bytes: {e}",
                self.url, self.bytes
            ))
        })?;
        self.bytes += n as u64;
        Ok(text)
    }

    /// The next line without its line ending, or `None` at the end of the body.
    pub fn next_line(&mut self) -> Result<Option<String>, WorkloadError> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| {
            failed(format!(
                "the stream from {} broke off after {} bytes: {e}",
                self.url, self.bytes
            ))
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.bytes += n as u64;
        Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
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
