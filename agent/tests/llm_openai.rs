//! The OpenAI-compatible client against a real server on loopback (llama-cpp-python
//! serving the default model, started by `scripts/llm-test-server.sh`, which
//! exports its URL as `HOEVEEL_TEST_OPENAI_URL`), and against scripted streams for
//! what a real server cannot be made to do on demand.

mod support;

use hoeveel_agent::workload::llm::Sampling;
use hoeveel_agent::workload::llm::http_openai::{OpenAiClient, Settings, TokenSource};
use hoeveel_agent::workload::llm::prompts::PromptSet;
use hoeveel_agent::workload::{Outcome, RunContext, Workload, WorkloadError};
use serde_json::{Value, json};
use std::sync::atomic::AtomicBool;
use support::fake_http::{FakeServer, Reply, Seen};

const URL_VAR: &str = "HOEVEEL_TEST_OPENAI_URL";
/// The model name the test server answers to (`--model_alias`).
const MODEL_VAR: &str = "HOEVEEL_TEST_OPENAI_MODEL";

/// The real server's URL. In CI its absence is a failure; elsewhere the test is
/// skipped, loudly.
fn real_server() -> Option<(String, String)> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => {
            let model = std::env::var(MODEL_VAR).unwrap_or_else(|_| "smollm2-135m".into());
            Some((url, model))
        }
        _ => {
            let message = format!(
                "{URL_VAR} is not set: start the test server with \
                 `eval \"$(scripts/llm-test-server.sh start)\"` first"
            );
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{message}");
            }
            eprintln!("\n*** SKIPPED against a real OpenAI-compatible server: {message} ***\n");
            None
        }
    }
}

/// The real server serves one request at a time; its tests take turns.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn settings(url: &str, model: &str, stream: bool) -> Settings {
    Settings {
        endpoint: url.to_string(),
        model: model.to_string(),
        prompts: PromptSet::single("What is a life cycle assessment?"),
        split_prefill: false,
        concurrency: 1,
        steady_state: false,
        sampling: Sampling {
            temperature: 0.0,
            seed: 42,
            max_tokens: 24,
        },
        stream,
        timeout_s: 120.0,
    }
}

fn run(client: &mut OpenAiClient) -> Result<Outcome, WorkloadError> {
    let flag = AtomicBool::new(false);
    client.run_once(&RunContext::new(&flag))
}

#[test]
fn real_server_whole_answers_carry_usage() {
    let Some((url, model)) = real_server() else {
        return;
    };
    let _turn = one_at_a_time();
    let mut client = OpenAiClient::new(settings(&url, &model, false)).expect("client");
    client.prepare().expect("server answers");
    let outcome = run(&mut client).expect("answers");
    let m = &outcome.metrics;
    assert!(m.prompt_tokens.unwrap_or(0) > 0, "{m:?}");
    let output = m.output_tokens.expect("usage");
    assert!(output > 0 && output <= 24, "{m:?}");
    assert!(!m.output_text.as_deref().unwrap_or("").is_empty());
    assert_eq!(client.token_source(), Some(TokenSource::Usage));
}

#[test]
fn real_server_streams_with_time_to_first_token_and_greedy_repeats() {
    let Some((url, model)) = real_server() else {
        return;
    };
    let _turn = one_at_a_time();
    let mut client = OpenAiClient::new(settings(&url, &model, true)).expect("client");
    client.prepare().expect("server answers");
    let first = run(&mut client).expect("answers");
    let second = run(&mut client).expect("answers again");
    let m = &first.metrics;
    assert!(m.output_tokens.unwrap_or(0) > 0, "{m:?}");
    assert!(m.time_to_first_token_s.is_some(), "{m:?}");
    assert!(m.output_text.as_deref().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        m.output_text, second.metrics.output_text,
        "greedy decoding differs"
    );
    // Whichever way the server reports, the record says how tokens were counted.
    let source = client.token_source().expect("learnt in prepare");
    let details = client.info().details;
    let described = details["output_tokens_source"].as_str().expect("described");
    match source {
        TokenSource::Usage => assert!(described.starts_with("usage"), "{described}"),
        TokenSource::ContentChunks => {
            assert!(described.starts_with("content chunks"), "{described}");
            assert_eq!(m.prompt_tokens, None);
            // The chunk count is the server's own token count for the same request.
            let mut whole = OpenAiClient::new(settings(&url, &model, false)).expect("client");
            let counted = run(&mut whole).expect("whole answer").metrics;
            assert_eq!(counted.output_text, m.output_text, "same greedy text");
            assert_eq!(
                counted.output_tokens, m.output_tokens,
                "chunks = usage tokens"
            );
        }
    }
    assert!(m.output_tokens.unwrap_or(0) <= 24, "{m:?}");
    eprintln!("streamed output tokens counted from: {described}");
}

#[test]
fn real_server_unknown_port_fails_clearly() {
    // A port nothing listens on: bind one and let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let mut client = OpenAiClient::new(settings(&url, "m", true)).expect("client");
    let err = client.prepare().expect_err("nothing listens");
    assert!(format!("{err:#}").contains("connection refused"), "{err:#}");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(message.contains("cannot reach"), "{message}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn sse(chunks: &[Value], done: bool, complete: bool) -> Reply {
    let mut pieces: Vec<String> = chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect();
    if done {
        pieces.push("data: [DONE]\r\n\r\n".into());
    }
    Reply::Chunked {
        content_type: "text/event-stream",
        pieces,
        complete,
    }
}

/// A chunk as llama-cpp-python streams it: no `usage` at all.
fn chunk(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "logprobs": null, "finish_reason": null}]
    })
}

#[test]
fn a_stream_without_usage_is_counted_in_chunks_and_says_so() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        sse(
            &[
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}),
                chunk("A"),
                chunk(" life"),
                chunk(" cycle"),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}),
            ],
            true,
            true,
        )
    }));
    let mut client =
        OpenAiClient::new(settings(&format!("{}/v1", server.url()), "m", true)).expect("client");
    client.prepare().expect("probe");
    let outcome = run(&mut client).expect("answers");
    assert_eq!(outcome.metrics.output_tokens, Some(3));
    assert_eq!(outcome.metrics.prompt_tokens, None);
    assert_eq!(outcome.metrics.output_text.as_deref(), Some("A life cycle"));
    assert_eq!(client.token_source(), Some(TokenSource::ContentChunks));
    let details = client.info().details;
    assert!(
        details["output_tokens_source"]
            .as_str()
            .is_some_and(|s| s.starts_with("content chunks")),
        "{details}"
    );
    let seen = server.requests();
    assert_eq!(seen[1].path, "/v1/chat/completions");
    assert_eq!(seen[1].body["stream_options"]["include_usage"], true);
    assert_eq!(seen[1].body["max_tokens"], 24);
    assert_eq!(
        seen[0].body["max_tokens"], 1,
        "the probe asks for one token"
    );
}

#[test]
fn a_stream_with_usage_uses_it() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        sse(
            &[
                chunk("Hi"),
                chunk(" there"),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}),
            ],
            true,
            true,
        )
    }));
    let mut client =
        OpenAiClient::new(settings(&format!("{}/v1", server.url()), "m", true)).expect("client");
    let outcome = run(&mut client).expect("answers");
    assert_eq!(outcome.metrics.prompt_tokens, Some(9));
    assert_eq!(outcome.metrics.output_tokens, Some(2));
    assert_eq!(client.token_source(), Some(TokenSource::Usage));
}

#[test]
fn a_stream_cut_before_done_fails() {
    let server = FakeServer::start(Box::new(|_: &Seen| sse(&[chunk("Hi")], false, false)));
    let mut client =
        OpenAiClient::new(settings(&format!("{}/v1", server.url()), "m", true)).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => assert!(
            message.contains("broke off") || message.contains("[DONE]"),
            "{message}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn a_server_error_is_quoted() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        Reply::Whole {
        status: 400,
        content_type: "application/json",
        body: r#"{"error":{"message":"Requested tokens exceed context window of 512","type":"invalid_request_error"}}"#.into(),
    }
    }));
    let mut client =
        OpenAiClient::new(settings(&format!("{}/v1", server.url()), "m", false)).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(message.contains("HTTP 400"), "{message}");
            assert!(message.contains("exceed context window"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn a_prompt_set_is_asked_in_turn_and_each_request_says_which() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        sse(
            &[
                chunk("Yes"),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}),
            ],
            true,
            true,
        )
    }));
    let mut s = settings(&format!("{}/v1", server.url()), "m", true);
    s.prompts = PromptSet::parse("set.txt", "First?\nSecond?\nThird?\n").expect("a set");
    let mut client = OpenAiClient::new(s).expect("client");
    let indices: Vec<Option<u64>> = (0..4)
        .map(|_| run(&mut client).expect("answers").metrics.prompt_index)
        .collect();
    assert_eq!(indices, [Some(0), Some(1), Some(2), Some(0)]);
    let asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.body["messages"][0]["content"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(asked, ["First?", "Second?", "Third?", "First?"]);
    // Parsed from text, the set has no file: its label counts the prompts.
    let info = client.info();
    assert!(
        info.label.contains("(OpenAI-compatible server)"),
        "{}",
        info.label
    );
    assert_eq!(info.details["prompt"]["count"], 3);
    assert_eq!(info.details["prompt"]["prompts"][1], "Second?");
}

#[test]
fn concurrency_sends_requests_at_once_and_counts_them_as_one_repetition() {
    let server = FakeServer::start(Box::new(|_: &Seen| {
        sse(
            &[
                chunk("One"),
                chunk(" two"),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                       "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
            ],
            true,
            true,
        )
    }));
    let mut s = settings(&format!("{}/v1", server.url()), "m", true);
    s.prompts = PromptSet::parse("set.txt", "A?\nB?\nC?\nD?\n").expect("a set");
    s.concurrency = 4;
    let mut client = OpenAiClient::new(s).expect("client");
    let outcome = run(&mut client).expect("answers");
    assert_eq!(outcome.requests, 4);
    assert_eq!(
        outcome.metrics.output_tokens,
        Some(8),
        "summed over the requests"
    );
    assert_eq!(outcome.metrics.prompt_tokens, Some(20));
    let overlap = outcome
        .metrics
        .concurrent_generations
        .expect("streamed: known");
    assert!((1..=4).contains(&overlap), "{overlap}");
    let mut asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.body["messages"][0]["content"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        ["A?", "B?", "C?", "D?"],
        "four different prompts, one each"
    );
    let info = client.info();
    assert!(
        info.batching
            .as_deref()
            .is_some_and(|b| b.starts_with("4 requests sent to the server at once")),
        "{info:?}"
    );
}

#[test]
fn real_server_with_four_requests_in_flight_says_whether_it_overlapped_them() {
    let Some((url, model)) = real_server() else {
        return;
    };
    let _turn = one_at_a_time();
    let mut s = settings(&url, &model, true);
    s.concurrency = 4;
    s.sampling.max_tokens = 12;
    let mut client = OpenAiClient::new(s).expect("client");
    client.prepare().expect("server answers");
    let outcome = run(&mut client).expect("answers");
    assert_eq!(outcome.requests, 4);
    let overlap = outcome
        .metrics
        .concurrent_generations
        .expect("streamed answers give the overlap");
    assert!((1..=4).contains(&overlap), "{overlap}");
    if overlap == 1 {
        eprintln!("the test server served the 4 requests one after another (serialised)");
    } else {
        eprintln!("the test server generated up to {overlap} of the 4 requests together");
    }
}

/// A mark for tests run outside the run loop: a made-up sensor whose running
/// total is the number of marks taken × 10 J, at `t_s` = that number.
fn counting_mark() -> impl Fn() -> anyhow::Result<hoeveel_agent::sampler::Snapshot> + Sync {
    let taken = std::sync::atomic::AtomicU32::new(0);
    move || {
        let n = taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(hoeveel_agent::sampler::Snapshot {
            t_s: f64::from(n),
            totals_j: vec![f64::from(n) * 10.0],
            wraps: vec![0],
            resets: vec![0],
            alive: vec![true],
        })
    }
}

fn steady_settings(url: &str, concurrency: u32) -> Settings {
    let mut s = settings(&format!("{url}/v1"), "m", true);
    s.concurrency = concurrency;
    s.steady_state = true;
    s
}

/// A stream of `tokens` content chunks, one every `pause_ms`, then `[DONE]`.
fn paced_stream(tokens: usize, pause_ms: u64) -> Reply {
    let mut pieces: Vec<String> = (0..tokens)
        .map(|i| format!("data: {}\r\n\r\n", chunk(&format!(" t{i}"))))
        .collect();
    pieces.push("data: [DONE]\r\n\r\n".into());
    Reply::Paced {
        content_type: "text/event-stream",
        pieces,
        pause: std::time::Duration::from_millis(pause_ms),
    }
}

/// One repetition of `client` with marks taken by [`counting_mark`].
fn run_marked(client: &mut OpenAiClient) -> Outcome {
    let flag = AtomicBool::new(false);
    let mark = counting_mark();
    let ctx = RunContext {
        interrupted: &flag,
        mark: Some(&mark),
    };
    client.run_once(&ctx).expect("answers")
}

#[test]
fn ml_energy_marks_the_steady_state_of_a_server_that_generates_requests_together() {
    // 30 tokens per answer, one every 20 ms, all answers at once.
    let server = FakeServer::start_parallel(Box::new(|_: &Seen| paced_stream(30, 20)));
    let mut client = OpenAiClient::new(steady_settings(&server.url(), 4)).expect("client");
    let outcome = run_marked(&mut client);
    assert_eq!(outcome.requests, 4);
    assert_eq!(outcome.metrics.output_tokens, Some(120));
    let steady = outcome.steady.expect("the protocol marks a steady state");
    assert_eq!(steady.in_flight, 4);
    let window = steady.window.expect("all four were generated together");
    assert_eq!((window.start.t_s, window.end.t_s), (1.0, 2.0), "two marks");
    // Between the last first token and the first end, every request streams
    // most of its 29 further tokens; never more than all of them.
    assert!(
        window.output_tokens > 0 && window.output_tokens <= 4 * 29,
        "{}",
        window.output_tokens
    );
    assert_eq!(client.info().details["protocol"], "ml-energy");
}

#[test]
fn ml_energy_says_there_was_no_steady_state_when_the_server_serves_one_at_a_time() {
    // One slot: the second request is not even accepted until the first has
    // been answered in full, slowly.
    let server = FakeServer::start(Box::new(|_: &Seen| paced_stream(5, 40)));
    let mut client = OpenAiClient::new(steady_settings(&server.url(), 2)).expect("client");
    let outcome = run_marked(&mut client);
    let steady = outcome
        .steady
        .expect("the protocol reports on the steady state");
    let why = steady.window.expect_err("never both in flight");
    assert!(why.contains("never generated all of them at once"), "{why}");
    assert_eq!(outcome.metrics.concurrent_generations, Some(1));
}

#[test]
fn empty_and_cut_answers_are_not_requests_served_and_the_failure_counts_them() {
    // llama-cpp-python's server, by default, interrupts earlier requests when a
    // new one arrives: they end at once with no content. 7 of 8 such answers
    // used to count as served, and the energy was divided by 8.
    let served = std::sync::atomic::AtomicUsize::new(0);
    let server = FakeServer::start(Box::new(move |seen: &Seen| {
        let prompt = seen.body["messages"][0]["content"].as_str().unwrap_or("");
        let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let done = |reason: &str| {
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
        };
        match (prompt, n % 8) {
            ("cut", _) => sse(&[chunk("Half an"), done("abort")], true, true),
            (_, 0) => sse(&[chunk("The answer"), done("stop")], true, true),
            _ => sse(&[done("stop")], true, true),
        }
    }));
    let mut s = settings(&format!("{}/v1", server.url()), "m", true);
    s.concurrency = 8;
    let mut client = OpenAiClient::new(s).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => {
            assert!(
                message.starts_with(
                    "7 of 8 requests failed (7 answered empty, 0 cut by the server, 0 otherwise)"
                ),
                "{message}"
            );
            assert!(message.contains("answered with no content"), "{message}");
        }
        other => panic!("expected the repetition to fail, got {other:?}"),
    }
    // One request, cut by the server: a finish reason other than stop or length.
    let mut s = settings(&format!("{}/v1", server.url()), "m", true);
    s.prompts = PromptSet::single("cut");
    let mut client = OpenAiClient::new(s).expect("client");
    match run(&mut client) {
        Err(WorkloadError::Failed { message, .. }) => assert!(
            message.contains("cut the answer (finish reason `abort`, not stop or length)"),
            "{message}"
        ),
        other => panic!("expected Failed, got {other:?}"),
    }
}
