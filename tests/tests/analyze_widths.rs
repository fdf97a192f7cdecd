//! Every command's default text fits 100 columns when stdout is not a terminal
//! (number tables included: split, never overflow), on records of every kind.

mod analyze_support;

use analyze_support::*;
use hoeveel_record::{Provenance, WorkloadKind};

fn widest(args: &[&str]) -> (usize, String) {
    let o = hoeveel()
        .env_remove("COLUMNS")
        .args(args)
        .output()
        .expect("run hoeveel");
    assert!(o.status.success(), "hoeveel {args:?}: {}", stderr(&o));
    let text = stdout(&o);
    if let Ok(dir) = std::env::var("HOEVEEL_TEST_DUMP_DIR") {
        let name = args.join("_").replace('/', "-");
        let _ = std::fs::write(format!("{dir}/{}.txt", &name[..name.len().min(100)]), &text);
    }
    let line = text
        .lines()
        .max_by_key(|l| l.chars().count())
        .unwrap_or_default()
        .to_string();
    (line.chars().count(), line)
}

#[test]
fn every_command_fits_100_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, search) = llm_and_search(dir.path(), Provenance::Modelled);
    let mut ai = Spec::new(WorkloadKind::AiSearch, vec![20.0, 20.5, 19.5]);
    ai.provenance = Provenance::Modelled;
    ai.output_tokens = Some(40);
    ai.retrieval_share = Some(0.001);
    let ai = write(dir.path(), "ai-search-2026-01-01T000000Z.jsonl", &ai);
    let (l, q, a) = (
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
        ai.to_str().expect("a"),
    );
    let commands: Vec<Vec<&str>> = vec![
        vec!["cases"],
        vec!["cases", a, q],
        vec!["cases", l, q],
        vec!["cases", "--all", a, q],
        vec!["compare", a, q],
        vec!["compare", l, q],
        vec!["compare", l, q, a],
        vec!["report", l],
        vec!["report", a],
        vec!["report", q],
        vec!["sites", l],
        vec!["training"],
        vec![
            "scenario",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../profiles/scenarios/municipality.toml"
            ),
        ],
        vec!["profiles", "list"],
        vec!["profiles", "show", "devries-ai-search-2023"],
        vec!["profiles", "show", "NL/ember-2025-08"],
    ];
    for args in &commands {
        let (width, line) = widest(args);
        assert!(width <= 100, "hoeveel {args:?}: {width} columns: {line}");
    }
    // With records, cases, compare and report lead with the answer.
    for args in [
        vec!["cases", a, q],
        vec!["compare", a, q],
        vec!["report", l],
    ] {
        let text = stdout(&hoeveel().args(&args).output().expect("run"));
        let head: Vec<&str> = text.lines().take(15).collect();
        let head = head.join("\n");
        assert!(
            head.contains("Answer: ") && head.contains("rung cpu"),
            "hoeveel {args:?} does not lead with the answer:\n{head}"
        );
    }
}
