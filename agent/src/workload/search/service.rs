//! A search service behind a URL: measures the local share of a request (building it,
//! the network stack, receiving and reading the answer), as a user's terminal spends it.

use std::io::Read;
use std::time::Duration;

/// The placeholder in the URL template that the URL-encoded query replaces.
pub const PLACEHOLDER: &str = "{q}";

/// A request that takes longer than this fails rather than stalling the run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes one answer may hold: a results page is kilobytes; a service
/// that sends more is cut off rather than measured for its whole body.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

pub struct Service {
    template: String,
    agent: ureq::Agent,
    timeout: Duration,
}

/// Why a request failed, in words for the record.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

impl Service {
    /// Checks the template: an `http://` URL holding `{q}`.
    pub fn new(template: &str) -> anyhow::Result<Service> {
        Self::with_timeout(template, REQUEST_TIMEOUT)
    }

    /// The same, with `timeout` for a whole request.
    pub fn with_timeout(template: &str, timeout: Duration) -> anyhow::Result<Service> {
        if !template.contains(PLACEHOLDER) {
            anyhow::bail!(
                "--url {template} has no {PLACEHOLDER} where the query goes \
                 (example: http://127.0.0.1:8080/search?q={PLACEHOLDER})"
            );
        }
        if !template.starts_with("http://") {
            anyhow::bail!(
                "--url {template}: only http:// is supported (this build has no TLS; a local \
                 search service is measured over loopback)"
            );
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Service {
            template: template.to_string(),
            agent,
            timeout,
        })
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    pub fn url_for(&self, query: &str) -> String {
        self.template.replace(PLACEHOLDER, &url_encode(query))
    }

    /// GETs the URL for `query` and reads the whole answer; returns the body's size in bytes.
    pub fn request(&self, query: &str) -> Result<u64, RequestError> {
        let url = self.url_for(query);
        let mut response = self.agent.get(&url).call().map_err(|e| match e {
            ureq::Error::Timeout(_) => RequestError(format!(
                "GET {url} failed: no answer within {} s",
                self.timeout.as_secs_f64()
            )),
            e => RequestError(format!("GET {url} failed: {e}")),
        })?;
        let status = response.status();
        let mut bytes = 0u64;
        let mut buf = [0u8; 16 * 1024];
        let mut reader = response.body_mut().as_reader();
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    bytes += n as u64;
                    if bytes > MAX_RESPONSE_BYTES {
                        return Err(RequestError(format!(
                            "GET {url}: the answer is larger than {} MiB, so it was cut off (a results page is kilobytes)",
                            MAX_RESPONSE_BYTES / (1024 * 1024)
                        )));
                    }
                }
                Err(e) => {
                    return Err(RequestError(format!(
                        "GET {url}: reading the answer failed after {bytes} bytes: {e}"
                    )));
                }
            }
        }
        if !status.is_success() {
            return Err(RequestError(format!("GET {url} answered {status}")));
        }
        Ok(bytes)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so the query can sit
/// in a path segment or a query value alike.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(url_encode("waste collection"), "waste%20collection");
        assert_eq!(url_encode("a&b=c/d?"), "a%26b%3Dc%2Fd%3F");
        assert_eq!(url_encode("café"), "caf%C3%A9");
        assert_eq!(url_encode("A-z_0.9~"), "A-z_0.9~");
    }

    #[test]
    fn templates_need_the_placeholder_and_http() {
        assert!(Service::new("http://127.0.0.1:1/search").is_err());
        assert!(Service::new("https://example.org/?q={q}").is_err());
        let service = Service::new("http://127.0.0.1:1/s?q={q}&n=10").expect("valid");
        assert_eq!(service.url_for("a b"), "http://127.0.0.1:1/s?q=a%20b&n=10");
    }
}
