//! The search workload end to end, without sensors: the real default corpus (fetched
//! into the user's cache on first use, needs `python3 -m pip` and the network), small
//! corpus folders, and a loopback HTTP server standing in for a search service.

use hoeveel_agent::workload::batch::BatchPolicy;
use hoeveel_agent::workload::fetch;
use hoeveel_agent::workload::search::engine::Engine;
use hoeveel_agent::workload::search::{Queries, SearchOptions, SearchWorkload, Target};
use hoeveel_agent::workload::{Resolution, RunContext, Workload, WorkloadError};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

/// What the model sensor asks for: 10 ticks of 10 ms.
fn model_target() -> Resolution {
    Resolution {
        min_window_s: 0.1,
        slowest_sensor: Some(hoeveel_record::SensorKind::Model),
    }
}

fn options(target: Target, queries: &[&str], batch: BatchPolicy, cache: &Path) -> SearchOptions {
    SearchOptions {
        target,
        queries: Queries::given(queries.iter().map(|q| q.to_string()).collect()).expect("queries"),
        top_k: 10,
        batch,
        cache_root: cache.to_path_buf(),
        corpus_docs: None,
    }
}

fn prepared(options: SearchOptions) -> SearchWorkload {
    let mut workload = SearchWorkload::new(options).expect("workload");
    workload.prepare().expect("prepare");
    workload
}

#[test]
fn the_default_corpus_finds_known_articles_first() {
    // The user's cache: the corpus is fetched once and the index built once for all runs.
    let cache = fetch::cache_dir();
    let mut workload = prepared(options(
        Target::Engine { corpus: None },
        &["photosynthesis"],
        BatchPolicy::Fixed(3),
        &cache,
    ));
    let info = workload.info();
    assert_eq!(info.kind, hoeveel_record::WorkloadKind::Search);
    assert_eq!(info.details["corpus"]["name"], "wiki-vital");
    assert_eq!(info.details["corpus"]["documents"], 10_033);
    assert!(
        info.details["corpus"]["licence"]
            .as_str()
            .is_some_and(|l| l.contains("CC BY-SA")),
        "{}",
        info.details
    );

    let interrupted = AtomicBool::new(false);
    let ctx = RunContext::new(&interrupted);
    let outcome = workload.run_once(&ctx).expect("search");
    assert_eq!(outcome.requests, 3);
    assert_eq!(outcome.metrics.results, Some(30));
    assert_eq!(
        outcome.metrics.output_text.as_deref(),
        Some("Photosynthesis")
    );

    // The same index, opened from the cache by a second workload.
    let again = SearchWorkload::new(options(
        Target::Engine { corpus: None },
        &["x"],
        BatchPolicy::Fixed(1),
        &cache,
    ))
    .expect("workload");
    assert_eq!(again.prepare_phase(), None);
    assert_eq!(again.info().details["index"]["state"], "cached");

    let index_dir = info.details["index"]["path"].as_str().expect("index path");
    let engine =
        Engine::new(&tantivy::Index::open_in_dir(index_dir).expect("open")).expect("engine");
    for (query, title) in [
        ("photosynthesis", "Photosynthesis"),
        ("Albert Einstein", "Albert Einstein"),
        ("Everest", "Mount Everest"),
        ("Eiffel Tower Paris", "Eiffel Tower"),
        ("waste management", "Waste management"),
        ("recycling", "Recycling"),
    ] {
        let hits = engine.search(query, 10).expect("search");
        assert_eq!(
            hits.first().map(|h| h.title.as_str()),
            Some(title),
            "query {query:?} gave {:?}",
            hits.iter().map(|h| &h.title).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_corpus_folder_is_indexed_once_then_served_from_the_cache() {
    let cache = tempfile::tempdir().expect("cache");
    let docs = tempfile::tempdir().expect("docs");
    std::fs::write(
        docs.path().join("bins.txt"),
        "Grey bins are collected on Mondays.",
    )
    .expect("write");
    std::fs::write(
        docs.path().join("depot.html"),
        "<title>Recycling depot</title><p>Bring glass and <b>batteries</b> to the depot.</p>",
    )
    .expect("write");
    std::fs::write(
        docs.path().join("faq.json"),
        r#"{"Permits": {"title": "Parking permits", "extract": "Apply at the desk."}}"#,
    )
    .expect("write");
    let target = Target::Engine {
        corpus: Some(docs.path().to_path_buf()),
    };

    let mut first = SearchWorkload::new(options(
        target.clone(),
        &["batteries", "permits"],
        BatchPolicy::Fixed(2),
        cache.path(),
    ))
    .expect("workload");
    assert_eq!(first.prepare_phase(), Some("index_build"));
    let details = first.info().details;
    assert_eq!(details["corpus"]["documents"], 3);
    assert_eq!(details["corpus"]["files"], 3);
    first.prepare().expect("build");
    let interrupted = AtomicBool::new(false);
    let ctx = RunContext::new(&interrupted);
    first
        .calibrate(&model_target(), &AtomicBool::new(false))
        .expect("calibrate");
    let outcome = first.run_once(&ctx).expect("search");
    assert_eq!(outcome.requests, 2);
    assert_eq!(outcome.metrics.results, Some(2));
    assert_eq!(
        outcome.metrics.output_text.as_deref(),
        Some("Parking permits")
    );

    let second = SearchWorkload::new(options(
        target,
        &["glass"],
        BatchPolicy::Fixed(1),
        cache.path(),
    ))
    .expect("workload");
    assert_eq!(second.prepare_phase(), None);
    assert_eq!(second.info().details["index"]["state"], "cached");
    assert_eq!(second.info().details["corpus"]["documents"], 3);
    let mut second = second;
    second.prepare().expect("nothing to build");
    second
        .calibrate(&model_target(), &AtomicBool::new(false))
        .expect("calibrate");
    let outcome = second.run_once(&ctx).expect("search the cached index");
    assert_eq!(
        outcome.metrics.output_text.as_deref(),
        Some("Recycling depot")
    );
}

#[test]
fn auto_calibration_batches_many_queries_and_interrupts_stop_them() {
    let cache = tempfile::tempdir().expect("cache");
    let docs = tempfile::tempdir().expect("docs");
    for i in 0..50 {
        std::fs::write(
            docs.path().join(format!("d{i}.txt")),
            format!("document number {i} about bins"),
        )
        .expect("write");
    }
    let mut workload = prepared(options(
        Target::Engine {
            corpus: Some(docs.path().to_path_buf()),
        },
        &["bins"],
        BatchPolicy::Auto {
            min_repetition_s: None,
        },
        cache.path(),
    ));
    // The model sensor, said to update every 5 ms: the batch aims at 50 ms.
    let target = Resolution {
        min_window_s: 0.05,
        slowest_sensor: Some(hoeveel_record::SensorKind::Model),
    };
    let calibration = workload
        .calibrate(&target, &AtomicBool::new(false))
        .expect("calibrate")
        .expect("a batch");
    // A query over 50 short documents takes far less than 50 ms.
    assert!(calibration.requests_per_repetition > 1, "{calibration:?}");
    assert!(
        calibration.note.contains(
            "last at least 0.05 s = 10 update periods of the slowest sensor (model, 5 ms)"
        ),
        "{}",
        calibration.note
    );
    let interrupted = AtomicBool::new(true);
    let ctx = RunContext::new(&interrupted);
    assert!(matches!(
        workload.run_once(&ctx),
        Err(WorkloadError::Interrupted)
    ));
    // Calibration sees the signal too: a minute-long target is not timed out
    // (it used to be, 25 s after a SIGTERM).
    let long = BatchPolicy::Auto {
        min_repetition_s: Some(60.0),
    };
    let mut workload = prepared(options(
        Target::Engine {
            corpus: Some(docs.path().to_path_buf()),
        },
        &["bins"],
        long,
        cache.path(),
    ));
    let err = workload
        .calibrate(&target, &interrupted)
        .expect_err("interrupted");
    assert!(format!("{err:#}").contains("interrupted"), "{err:#}");
}

#[test]
fn an_empty_corpus_folder_is_a_clear_error() {
    let cache = tempfile::tempdir().expect("cache");
    let docs = tempfile::tempdir().expect("docs");
    let err = SearchWorkload::new(options(
        Target::Engine {
            corpus: Some(docs.path().to_path_buf()),
        },
        &["x"],
        BatchPolicy::Fixed(1),
        cache.path(),
    ))
    .err()
    .expect("empty corpus refused");
    let message = format!("{err:#}");
    assert!(
        message.contains(&docs.path().display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("no .txt, .md, .html or .json files"),
        "{message}"
    );
}

#[test]
fn a_missing_corpus_folder_is_named() {
    let cache = tempfile::tempdir().expect("cache");
    let missing = cache.path().join("my-docs");
    let err = SearchWorkload::new(options(
        Target::Engine {
            corpus: Some(missing.clone()),
        },
        &["x"],
        BatchPolicy::Fixed(1),
        cache.path(),
    ))
    .err()
    .expect("missing corpus refused");
    let message = format!("{err:#}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
}

/// A loopback HTTP/1.1 server answering every GET with `body`, keeping connections
/// alive, counting requests; after `serve` requests it closes everything and stops
/// listening, as a service going down would.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    paths: Arc<std::sync::Mutex<Vec<String>>>,
}

fn start_server(body: &'static str, serve: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/search?q={{q}}",
        listener.local_addr().expect("addr")
    );
    let requests = Arc::new(AtomicUsize::new(0));
    let paths = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, seen) = (requests.clone(), paths.clone());
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            if !serve_connection(stream, body, serve, &count, &seen) {
                break; // down: the listener is dropped with the thread
            }
        }
    });
    Server {
        url,
        requests,
        paths,
    }
}

/// Serves one keep-alive connection; false once the server has served its quota.
fn serve_connection(
    stream: TcpStream,
    body: &str,
    serve: usize,
    count: &AtomicUsize,
    seen: &std::sync::Mutex<Vec<String>>,
) -> bool {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return true; // the client closed the connection
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
        }
        if count.load(Ordering::SeqCst) >= serve {
            let _ = writer.shutdown(Shutdown::Both);
            return false;
        }
        count.fetch_add(1, Ordering::SeqCst);
        if let Some(path) = request_line.split_whitespace().nth(1) {
            seen.lock().expect("lock").push(path.to_string());
        }
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return true;
        }
    }
}

#[test]
fn a_search_service_is_requested_once_per_query_and_bytes_are_counted() {
    const BODY: &str = r#"{"hits": ["Waste management", "Recycling"]}"#;
    let server = start_server(BODY, usize::MAX);
    let cache = tempfile::tempdir().expect("cache");
    let mut workload = prepared(options(
        Target::Service {
            url: server.url.clone(),
        },
        &["waste collection", "a&b"],
        BatchPolicy::Fixed(5),
        cache.path(),
    ));
    assert_eq!(workload.prepare_phase(), None);
    assert_eq!(workload.info().details["url_template"], server.url);
    workload
        .calibrate(&model_target(), &AtomicBool::new(false))
        .expect("calibrate");
    let interrupted = AtomicBool::new(false);
    let ctx = RunContext::new(&interrupted);
    let outcome = workload.run_once(&ctx).expect("requests");
    assert_eq!(outcome.requests, 5);
    assert_eq!(outcome.metrics.response_bytes, Some(5 * BODY.len() as u64));
    assert_eq!(outcome.metrics.results, None);
    assert_eq!(server.requests.load(Ordering::SeqCst), 5);
    let paths = server.paths.lock().expect("lock").clone();
    assert_eq!(paths[0], "/search?q=waste%20collection");
    assert_eq!(paths[1], "/search?q=a%26b");
}

#[test]
fn a_service_that_goes_down_mid_run_fails_the_repetition() {
    let server = start_server("ok", 7);
    let cache = tempfile::tempdir().expect("cache");
    let mut workload = prepared(options(
        Target::Service {
            url: server.url.clone(),
        },
        &["bins"],
        BatchPolicy::Fixed(5),
        cache.path(),
    ));
    workload
        .calibrate(&model_target(), &AtomicBool::new(false))
        .expect("calibrate");
    let interrupted = AtomicBool::new(false);
    let ctx = RunContext::new(&interrupted);
    workload.run_once(&ctx).expect("first repetition is served");
    match workload.run_once(&ctx) {
        Err(WorkloadError::Failed { message, exit_code }) => {
            assert!(message.contains("GET http://127.0.0.1:"), "{message}");
            assert!(message.contains("request 3 of 5"), "{message}");
            assert_eq!(exit_code, None);
        }
        other => panic!("expected a failed repetition, got {other:?}"),
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 7);
}

#[test]
fn an_http_error_status_fails_with_the_status() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/s?q={{q}}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy");
        }
    });
    let cache = tempfile::tempdir().expect("cache");
    let mut workload = prepared(options(
        Target::Service { url },
        &["bins"],
        BatchPolicy::Fixed(1),
        cache.path(),
    ));
    let interrupted = AtomicBool::new(false);
    let ctx = RunContext::new(&interrupted);
    match workload.run_once(&ctx) {
        Err(WorkloadError::Failed { message, .. }) => assert!(message.contains("503"), "{message}"),
        other => panic!("expected a failed repetition, got {other:?}"),
    }
}

#[test]
fn an_unreachable_service_fails_calibration_clearly() {
    // Bind then drop: the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let cache = tempfile::tempdir().expect("cache");
    let mut workload = prepared(options(
        Target::Service {
            url: format!("http://127.0.0.1:{port}/?q={{q}}"),
        },
        &["bins"],
        BatchPolicy::Auto {
            min_repetition_s: Some(0.2),
        },
        cache.path(),
    ));
    let err = workload
        .calibrate(&model_target(), &AtomicBool::new(false))
        .expect_err("unreachable");
    let message = format!("{err:#}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}
