//! `hoeveel-agent search --answer` as a user runs it: the real default corpus and
//! the shipped default model (fetched into the user's cache on first use), a
//! loopback server that fails every answer, and `--corpus-docs` subsets.

mod support;

use hoeveel_record::{PartName, RepetitionStatus, WorkloadKind, read_record};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};
use support::fake_http::{FakeServer, Reply};

fn agent(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoeveel-agent"))
        .args(args)
        .args(["--no-progress", "--output", "r.jsonl"])
        .current_dir(dir)
        .output()
        .expect("agent starts")
}

fn said(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parts add up to their repetition: exactly but for rounding, whatever the
/// sensor, since both subtract the same running totals.
const SUM_TOLERANCE: f64 = 1e-9;

#[cfg(feature = "llm")]
#[test]
fn an_answer_in_process_records_retrieval_and_generation_that_add_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent(
        dir.path(),
        &[
            "search",
            "--answer",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "0.5",
            "--max-tokens",
            "8",
            "--threads",
            "2",
            "--queries",
            "everyday",
        ],
    );
    assert!(out.status.success(), "{}", said(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for part in ["Retrieval:", "Generation:"] {
        assert!(
            stdout
                .lines()
                // The share is left out when the net request is near zero (a busy
                // machine under a saturated power model): not asserted here.
                .any(|l| l.trim_start().starts_with(part) && l.contains(" per request")),
            "{part} {stdout}"
        );
    }

    let record = read_record(&dir.path().join("r.jsonl")).expect("record reads");
    assert_eq!(
        record.run_start.schema_version,
        hoeveel_record::SCHEMA_VERSION
    );
    let workload = &record.run_start.workload;
    assert_eq!(workload.kind, WorkloadKind::AiSearch);
    assert_eq!(workload.details["answer_prompt"]["passages"], 3);
    assert_eq!(workload.details["answer_prompt"]["passage_chars"], 600);
    assert_eq!(workload.details["retrieval"]["corpus"]["documents"], 10_033);
    assert_eq!(
        workload.details["retrieval"]["queries"]["source"],
        "everyday (shipped set)"
    );
    let reps: Vec<_> = record.measured().collect();
    assert_eq!(reps.len(), 2);
    for (i, r) in reps.iter().enumerate() {
        assert_eq!(r.status, RepetitionStatus::Ok);
        let names: Vec<_> = r.parts.iter().map(|p| p.name).collect();
        assert_eq!(names, [PartName::Retrieval, PartName::Generation]);
        let sum: f64 = r.parts.iter().map(|p| p.total_energy_j).sum();
        assert!(
            (sum - r.total_energy_j).abs() <= SUM_TOLERANCE * r.total_energy_j.abs(),
            "{sum} vs {}",
            r.total_energy_j
        );
        let net: f64 = r.parts.iter().filter_map(|p| p.net_energy_j).sum();
        let request_net = r.net_energy_j.expect("a baseline was taken");
        assert!((net - request_net).abs() <= SUM_TOLERANCE * r.total_energy_j.abs());
        let duration: f64 = r.parts.iter().map(|p| p.duration_s).sum();
        assert!((duration - r.duration_s).abs() < 1e-9);
        let (retrieval, generation) = (&r.parts[0], &r.parts[1]);
        assert_eq!(retrieval.metrics.results, Some(10));
        let output = generation.metrics.output_tokens.expect("output tokens");
        assert!(output > 0 && output <= 8, "{:?}", generation.metrics);
        // The passages are in the prompt: far more than the question alone.
        assert!(generation.metrics.prompt_tokens.unwrap_or(0) > 100);
        assert_eq!(r.metrics.output_tokens, Some(output));
        assert_eq!(r.metrics.prompt_index, Some(i as u64));
        assert!(generation.duration_s > retrieval.duration_s);
    }
}

#[test]
fn a_failed_generation_fails_the_repetition_and_keeps_the_retrieval() {
    let docs = tempfile::tempdir().expect("docs");
    std::fs::write(
        docs.path().join("glass.txt"),
        "Glass bottles go to the bottle bank.",
    )
    .expect("write");
    // The first request (the unmeasured check before the run) is answered; every
    // measured one fails.
    let server = FakeServer::start(Box::new(|seen| {
        if seen.body["max_tokens"] == json!(1) {
            Reply::Whole {
                status: 200,
                content_type: "application/json",
                body: json!({
                    "choices": [{"message": {"content": "ok"}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1}
                })
                .to_string(),
            }
        } else {
            Reply::Whole {
                status: 500,
                content_type: "application/json",
                body: r#"{"error":{"message":"out of memory"}}"#.into(),
            }
        }
    }));
    let endpoint = format!("{}/v1", server.url());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent(
        dir.path(),
        &[
            "search",
            "--answer",
            "--corpus",
            docs.path().to_str().expect("utf-8 path"),
            "-q",
            "glass",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--endpoint",
            &endpoint,
            "--api",
            "openai",
            "--model",
            "m",
        ],
    );
    // As any failed run: 1.
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let record = read_record(&dir.path().join("r.jsonl")).expect("record reads");
    assert_eq!(record.repetitions.len(), 1, "the run stops at the failure");
    let r = &record.repetitions[0];
    assert_eq!(r.status, RepetitionStatus::Failed);
    let error = r.error.as_deref().unwrap_or("");
    assert!(
        error.contains("HTTP 500") && error.contains("out of memory"),
        "{error}"
    );
    let retrieval = r.parts.first().expect("the retrieval part is kept");
    assert_eq!(retrieval.name, PartName::Retrieval);
    assert!(retrieval.total_energy_j.is_finite() && retrieval.total_energy_j >= 0.0);
    assert_eq!(retrieval.metrics.results, Some(1));
}

#[test]
fn corpus_docs_indexes_a_subset_and_refuses_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "search",
            "-q",
            "recycling",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--batch",
            "10",
        ];
        args.extend_from_slice(extra);
        agent(dir.path(), &args)
    };
    let out = run(&["--corpus-docs", "100"]);
    assert!(out.status.success(), "{}", said(&out));
    let record = read_record(&dir.path().join("r.jsonl")).expect("record reads");
    let corpus = &record.run_start.workload.details["corpus"];
    assert_eq!(corpus["documents"], 100);
    assert_eq!(corpus["subset_of"], 10_033);
    let subset_index = record.run_start.workload.details["index"]["path"].clone();

    // The whole corpus keeps its own index, and its record says nothing of subsets.
    // (The agent never overwrites a record: the first one goes first.)
    std::fs::remove_file(dir.path().join("r.jsonl")).expect("remove the first record");
    let out = run(&[]);
    assert!(out.status.success(), "{}", said(&out));
    let record = read_record(&dir.path().join("r.jsonl")).expect("record reads");
    let details = &record.run_start.workload.details;
    assert_eq!(details["corpus"]["documents"], 10_033);
    assert!(details["corpus"].get("subset_of").is_none(), "{details}");
    assert_ne!(details["index"]["path"], subset_index);

    let out = run(&["--corpus-docs", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    let out = run(&["--corpus-docs", "20000"]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds 10033 documents"),
        "{}",
        said(&out)
    );
}
