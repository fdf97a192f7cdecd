//! The LLM clients and the search service client against servers that misbehave:
//! each request ends, within its limits, with an error that says what the server
//! did; none hangs the agent or fills its memory. A test that would hang fails
//! after a minute instead.

mod support;

use hoeveel_agent::workload::llm::Sampling;
use hoeveel_agent::workload::llm::prompts::PromptSet;
use hoeveel_agent::workload::llm::{http_ollama, http_openai};
use hoeveel_agent::workload::search::service::Service;
use hoeveel_agent::workload::{RunContext, Workload, WorkloadError};
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use support::hostile::{Hostile, Misbehaviour};

/// Runs `f` in a thread and gives its result, or fails the test after a minute.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the client hung on a misbehaving server")
}

fn sampling() -> Sampling {
    Sampling {
        temperature: 0.0,
        seed: 42,
        max_tokens: 16,
    }
}

fn openai(how: Misbehaviour, stream: bool) -> String {
    let server = Hostile::start(how);
    let url = format!("{}/v1", server.url());
    within_a_minute(move || {
        let mut client = http_openai::OpenAiClient::new(http_openai::Settings {
            endpoint: url,
            model: "m".into(),
            prompts: PromptSet::single("Hello?"),
            split_prefill: false,
            concurrency: 1,
            steady_state: false,
            sampling: sampling(),
            stream,
            timeout_s: 2.0,
        })
        .expect("client");
        let flag = AtomicBool::new(false);
        match client.run_once(&RunContext::new(&flag)) {
            Err(WorkloadError::Failed { message, .. }) => message,
            other => panic!("expected a failed request, got {other:?}"),
        }
    })
}

fn ollama(how: Misbehaviour) -> String {
    let server = Hostile::start(how);
    let url = server.url();
    within_a_minute(move || {
        let mut client = http_ollama::OllamaClient::new(http_ollama::Settings {
            endpoint: url,
            model: "m".into(),
            prompts: PromptSet::single("Hello?"),
            split_prefill: false,
            concurrency: 1,
            steady_state: false,
            sampling: sampling(),
            stream: true,
            generate: false,
            context_tokens: None,
            threads: None,
            include_load: false,
            timeout_s: 2.0,
        })
        .expect("client");
        let flag = AtomicBool::new(false);
        match client.run_once(&RunContext::new(&flag)) {
            Err(WorkloadError::Failed { message, .. }) => message,
            other => panic!("expected a failed request, got {other:?}"),
        }
    })
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out() {
    for stream in [false, true] {
        let message = openai(Misbehaviour::Silent, stream);
        assert!(message.contains("timed out (see --timeout)"), "{message}");
    }
    let message = ollama(Misbehaviour::Silent);
    assert!(message.contains("timed out (see --timeout)"), "{message}");
}

#[test]
fn a_server_that_streams_tokens_forever_is_cut_off_at_the_token_cap() {
    let message = openai(Misbehaviour::EndlessTokens, true);
    assert!(
        message
            .contains("streamed more than 33 pieces of content for a request of at most 16 tokens"),
        "{message}"
    );
    let message = ollama(Misbehaviour::EndlessNdjson);
    assert!(
        message.contains("does not honour the token limit"),
        "{message}"
    );
}

#[test]
fn a_server_that_streams_without_content_forever_times_out() {
    let message = openai(Misbehaviour::EndlessKeepAlive, true);
    assert!(message.contains("timed out (see --timeout)"), "{message}");
}

#[test]
fn a_two_gigabyte_body_is_refused_at_the_cap() {
    let message = openai(Misbehaviour::HugeBody, false);
    assert!(message.contains("larger than 64 MiB"), "{message}");
}

#[test]
fn invalid_utf8_and_invalid_json_are_named() {
    let message = openai(Misbehaviour::InvalidUtf8, true);
    assert!(message.contains("is not UTF-8 text"), "{message}");
    let message = openai(Misbehaviour::InvalidJson, true);
    assert!(
        message.contains("sent something that is not JSON"),
        "{message}"
    );
}

#[test]
fn the_search_service_client_has_the_same_limits() {
    let silent = Hostile::start(Misbehaviour::Silent);
    let url = format!("{}/search?q={{q}}", silent.url());
    let err = within_a_minute(move || {
        Service::with_timeout(&url, Duration::from_secs(2))
            .expect("service")
            .request("waste")
            .expect_err("no answer")
            .to_string()
    });
    assert!(err.contains("failed: no answer within 2 s"), "{err}");

    let huge = Hostile::start(Misbehaviour::HugeBody);
    let url = format!("{}/search?q={{q}}", huge.url());
    let err = within_a_minute(move || {
        Service::with_timeout(&url, Duration::from_secs(30))
            .expect("service")
            .request("waste")
            .expect_err("too large")
            .to_string()
    });
    assert!(err.contains("larger than 64 MiB"), "{err}");
}
