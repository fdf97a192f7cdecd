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
