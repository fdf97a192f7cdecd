//! The Ollama client against a loopback server that answers with the response
//! bodies of Ollama's API documentation (docs/api.md: "Generate a chat
//! completion", "Generate a completion", "Load a model", errors).

mod support;

use hoeveel_agent::workload::llm::Sampling;
use hoeveel_agent::workload::llm::http_ollama::{OllamaClient, Settings};
use hoeveel_agent::workload::llm::prompts::PromptSet;
use hoeveel_agent::workload::{RunContext, Workload, WorkloadError};
use serde_json::{Value, json};
use std::sync::atomic::AtomicBool;
use support::fake_http::{FakeServer, Reply, Seen};

/// Streamed chat pieces, as in the docs' "Chat request (Streaming)" response.
fn chat_piece(content: &str) -> Value {
    json!({
        "model": "llama3.2",
        "created_at": "2023-08-04T08:52:19.385406455-07:00",
        "message": {"role": "assistant", "content": content, "images": null},
        "done": false
    })
}

/// The docs' final streamed chat object.
fn chat_final() -> Value {
    json!({
        "model": "llama3.2",
        "created_at": "2023-08-04T19:22:45.499127Z",
        "message": {"role": "assistant", "content": ""},
        "done": true,
        "total_duration": 4883583458u64,
        "load_duration": 1334875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342546000,
        "eval_count": 282,
        "eval_duration": 4535599000u64
    })
}

/// The docs' non-streamed chat response, pretty-printed as the docs show it.
const CHAT_WHOLE: &str = r#"{
  "model": "llama3.2",
  "created_at": "2023-12-12T14:13:43.416799Z",
  "message": {
    "role": "assistant",
    "content": "Hello! How are you today?"
  },
  "done": true,
  "total_duration": 5191566416,
  "load_duration": 2154458,
  "prompt_eval_count": 26,
  "prompt_eval_duration": 383809000,
  "eval_count": 298,
  "eval_duration": 4799921000
}"#;

fn generate_piece(response: &str) -> Value {
    json!({
        "model": "llama3.2",
        "created_at": "2023-08-04T08:52:19.385406455-07:00",
        "response": response,
        "done": false
    })
}

fn generate_final() -> Value {
    json!({
        "model": "llama3.2",
        "created_at": "2023-08-04T19:22:45.499127Z",
        "response": "",
        "done": true,
        "context": [1, 2, 3],
        "total_duration": 10706818083u64,
        "load_duration": 6338219291u64,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 130079000,
        "eval_count": 259,
        "eval_duration": 4232710000u64
    })
}

/// The docs' answer to "Load a model" (an empty generate request).
const LOAD_WHOLE: &str = r#"{
  "model": "llama3.2",
  "created_at": "2023-12-18T19:52:07.071755Z",
  "response": "",
  "done": true
}"#;

fn ndjson(objects: &[Value]) -> Vec<String> {
    objects.iter().map(|o| format!("{o}\n")).collect()
}

fn whole(status: u16, body: &str) -> Reply {
    Reply::Whole {
        status,
        content_type: "application/json; charset=utf-8",
        body: body.to_string(),
    }
}

fn stream(objects: &[Value], complete: bool) -> Reply {
    Reply::Chunked {
        content_type: "application/x-ndjson",
        pieces: ndjson(objects),
        complete,
    }
}

/// A documented Ollama: loads on an empty generate, streams or not as asked.
fn documented(seen: &Seen) -> Reply {
    let streaming = seen.body.get("stream").and_then(Value::as_bool) != Some(false);
    match seen.path.as_str() {
        "/api/generate" if seen.body.get("prompt").is_none() => whole(200, LOAD_WHOLE),
        "/api/generate" => stream(
            &[
                generate_piece("The"),
                generate_piece(" sky"),
                generate_final(),
            ],
            true,
        ),
        "/api/chat" if streaming => stream(
            &[
                chat_piece("The"),
                chat_piece(" sky"),
                chat_piece(" is blue."),
                chat_final(),
            ],
            true,
        ),
        "/api/chat" => whole(200, CHAT_WHOLE),
        _ => whole(404, "404 page not found"),
    }
}

fn settings(url: &str, stream: bool, generate: bool) -> Settings {
    Settings {
        endpoint: url.to_string(),
        model: "llama3.2".into(),
        prompts: PromptSet::single("Why is the sky blue?"),
        split_prefill: false,
        concurrency: 1,
        steady_state: false,
        sampling: Sampling {
            temperature: 0.0,
            seed: 42,
            max_tokens: 64,
        },
        stream,
        generate,
        context_tokens: Some(4096),
        threads: None,
        include_load: false,
        timeout_s: 10.0,
    }
}

fn run(client: &mut OllamaClient) -> Result<hoeveel_agent::workload::Outcome, WorkloadError> {
    let flag = AtomicBool::new(false);
    client.run_once(&RunContext::new(&flag))
}

#[test]
fn streamed_chat_counts_the_servers_tokens_and_times_the_first() {
    let server = FakeServer::start(Box::new(documented));
    let mut client = OllamaClient::new(settings(&server.url(), true, false)).expect("client");
    client.prepare().expect("loads");
    let outcome = run(&mut client).expect("answers");
    let m = &outcome.metrics;
    assert_eq!(outcome.requests, 1);
    assert_eq!(m.prompt_tokens, Some(26));
    assert_eq!(m.output_tokens, Some(282));
    let rate = m.tokens_per_s.expect("rate");
    assert!((rate - 282.0 / 4.535599).abs() < 1e-6, "{rate}");
    assert!(m.time_to_first_token_s.is_some());
    assert_eq!(m.output_text.as_deref(), Some("The sky is blue."));
    assert!(m.response_bytes.unwrap_or(0) > 100);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/api/generate");
    assert_eq!(
        requests[0].body,
        json!({"model": "llama3.2", "stream": false})
    );
    let chat = &requests[1].body;
    assert_eq!(requests[1].path, "/api/chat");
    assert_eq!(chat["model"], "llama3.2");
    assert_eq!(chat["stream"], true);
    assert_eq!(chat["messages"][0]["role"], "user");
    assert_eq!(chat["messages"][0]["content"], "Why is the sky blue?");
    assert_eq!(chat["options"]["temperature"], 0.0);
    assert_eq!(chat["options"]["seed"], 42);
    assert_eq!(chat["options"]["num_predict"], 64);
    assert_eq!(chat["options"]["num_ctx"], 4096);
}

#[test]
fn whole_chat_answer_reads_the_documented_body() {
    let server = FakeServer::start(Box::new(documented));
    let mut client = OllamaClient::new(settings(&server.url(), false, false)).expect("client");
    let outcome = run(&mut client).expect("answers");
    let m = &outcome.metrics;
    assert_eq!(m.prompt_tokens, Some(26));
    assert_eq!(m.output_tokens, Some(298));
    assert_eq!(m.time_to_first_token_s, None);
    assert_eq!(m.output_text.as_deref(), Some("Hello! How are you today?"));
    assert_eq!(server.requests()[0].body["stream"], false);
}

#[test]
fn generate_endpoint_streams_responses() {
    let server = FakeServer::start(Box::new(documented));
    let mut client = OllamaClient::new(settings(&server.url(), true, true)).expect("client");
    let outcome = run(&mut client).expect("answers");
    assert_eq!(outcome.metrics.output_tokens, Some(259));
    assert_eq!(outcome.metrics.output_text.as_deref(), Some("The sky"));
    let seen = server.requests();
    assert_eq!(seen[0].path, "/api/generate");
    assert_eq!(seen[0].body["prompt"], "Why is the sky blue?");
    let details = client.info().details;
    assert_eq!(details["api"], "/api/generate");
}

#[test]
fn an_unknown_model_fails_with_the_servers_message() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        whole(
            404,
            r#"{"error":"model \"nope\" not found, try pulling it first"}"#,
        )
    }));
    let mut client = OllamaClient::new(settings(&server.url(), true, false)).expect("client");
    let err = client.prepare().expect_err("no such model");
    assert!(
        format!("{err:#}").contains("not found, try pulling it first"),
        "{err:#}"
    );
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(message.contains("HTTP 404"), "{message}");
            assert!(message.contains("try pulling it first"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn an_error_inside_the_stream_fails_the_request() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        stream(
            &[
                chat_piece("The"),
                json!({"error": "an error was encountered while running the model"}),
            ],
            true,
        )
    }));
    let mut client = OllamaClient::new(settings(&server.url(), true, false)).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(message.contains("while running the model"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn a_stream_cut_off_mid_answer_fails_the_request() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        stream(&[chat_piece("The"), chat_piece(" sky")], false)
    }));
    let mut client = OllamaClient::new(settings(&server.url(), true, false)).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(
                message.contains("broke off") || message.contains("ended before"),
                "{message}"
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn a_server_that_goes_down_mid_run_fails_the_next_request() {
    let mut server = FakeServer::start(Box::new(documented));
    let mut client = OllamaClient::new(settings(&server.url(), true, false)).expect("client");
    run(&mut client).expect("first request answers");
    server.shut_down();
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(message.contains("cannot reach"), "{message}");
            assert!(message.contains(&server.url()), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}
