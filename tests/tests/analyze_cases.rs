//! The four workshop cases through the binary: reference inputs without records,
//! measurements with them, and the workshop's figures reproduced exactly.

mod analyze_support;

use analyze_support::*;
use hoeveel_record::Provenance;
use hoeveel_record::WorkloadKind;
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let o = run(args);
    assert!(
        o.status.success(),
        "hoeveel {args:?} failed: {}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

fn table<'a>(v: &'a Value, section: &str, table: &str) -> &'a Value {
    v["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == section)
        .and_then(|s| s["tables"].as_array())
        .and_then(|t| t.iter().find(|t| t["id"] == table))
        .unwrap_or_else(|| panic!("no table {section}/{table}"))
}

#[test]
fn cases_without_records_use_reference_inputs_and_say_so() {
    let o = run(&["cases"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("REFERENCE INPUTS"), "{text}");
    for heading in ["Case 1", "Case 2", "Case 3", "Case 4"] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    assert!(text.contains("23.0–29.7x"), "{text}");
    assert!(text.contains("21.1x"), "{text}");
    assert!(text.contains("OUTSIDE the LCA boundary"), "{text}");
    // Case 2's reproduction stays on the workshop's values whatever --grid says.
    for grid in ["em-2024", "workshop"] {
        let v = json(&["cases", "--json", "--grid", grid]);
        let check = table(&v, "sites", "workshop_check");
        let rounded: Vec<f64> = check["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .take(4)
            .map(|r| r[2].as_f64().expect("number"))
            .collect();
        assert_eq!(rounded, [288.0, 649.0, 70.0, 550.0], "--grid {grid}");
    }
    let v = json(&["cases", "--json"]);
    assert_eq!(v["reference_inputs"], true);
    assert_eq!(v["modelled"], false);
}

#[test]
fn cases_with_records_use_the_measurements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, search) = llm_and_search(dir.path(), Provenance::Counter);
    let v = json(&[
        "cases",
        "--json",
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    ]);
    let case1 = v["sections"]
        .as_array()
        .expect("s")
        .iter()
        .find(|s| s["id"] == "ask_or_search")
        .expect("case 1");
    assert_eq!(case1["basis"]["reference_inputs"], false);
    // Case 1 is on gross energy, the published figures' basis: 32.083 J over
    // 102.917 J per batch of 100.
    let ratio = case1["data"]["ratio"]["ratio"].as_f64().expect("ratio");
    assert!((ratio - 32.083_333 / 1.029_167).abs() < 0.01, "{ratio}");
    assert_eq!(case1["data"]["basis"], "gross");
    let text = stdout(&run(&[
        "cases",
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    ]));
    assert!(text.contains("measured LLM query"), "{text}");
}

#[test]
fn sites_reproduce_the_workshop_factors_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, _) = llm_and_search(dir.path(), Provenance::Counter);
    let v = json(&["sites", "--json", llm.to_str().expect("l")]);
    let check = table(&v, "sites", "workshop_check");
    let rows = check["rows"].as_array().expect("rows");
    for (name, expected) in [
        ("Netherlands", 288.0),
        ("Singapore", 649.0),
        ("France", 70.0),
        ("Germany", 550.0),
    ] {
        let row = rows
            .iter()
            .find(|r| {
                r[0].as_str()
                    .is_some_and(|s| s.contains(name) && !s.contains("AWS"))
            })
            .expect(name);
        assert_eq!(row[2].as_f64(), Some(expected), "{name}: {row}");
        assert_eq!(row[3].as_f64(), Some(expected));
        assert_eq!(row[4].as_f64(), Some(0.0));
    }
    let ranked = table(&v, "sites", "ranked")["rows"]
        .as_array()
        .expect("rows");
    assert!(
        ranked.len() >= 15,
        "the six options and the major cloud regions"
    );
    // AWS publishes PUE per region: Stockholm, Frankfurt and Singapore rank with
    // theirs (2024); Chile has none, so its range is carried to the figure.
    let pue = |id: &str| {
        let row = ranked
            .iter()
            .find(|r| {
                r[1].as_str()
                    .is_some_and(|s| s.contains(&format!("[{id}]")))
            })
            .unwrap_or_else(|| panic!("{id}"));
        match row[2].as_f64() {
            Some(v) => (v, v),
            None => (
                row[2]["low"].as_f64().expect("low"),
                row[2]["high"].as_f64().expect("high"),
            ),
        }
    };
    assert_eq!(pue("aws-stockholm"), (1.10, 1.10));
    assert_eq!(pue("aws-eu-central-1"), (1.35, 1.35));
    assert_eq!(pue("aws-ap-southeast-1"), (1.32, 1.32));
    assert_eq!(pue("aws-chile"), (1.09, 1.17));
    let text = stdout(&run(&["sites", llm.to_str().expect("l")]));
    assert!(
        text.contains("nearest published values"),
        "the range is explained: {text}"
    );
}

#[test]
fn training_reproduces_the_cards_and_the_ratio() {
    let v = json(&["training", "--json", "llama-2", "llama-3.1", "llama-3.3"]);
    let s = &v["sections"][0];
    let ratio = s["data"]["ratio_llama31_over_llama2"]
        .as_f64()
        .expect("ratio");
    assert_eq!((ratio * 10.0).round() / 10.0, 21.1);
    let models = s["data"]["models"].as_array().expect("models");
    assert_eq!(models[0]["card_location_t"], 539.0);
    assert_eq!(models[1]["card_location_t"], 11390.0);
    assert_eq!(models[2]["inconsistent"], true);
    let text = stdout(&run(&["training", "llama-3.3"]));
    assert!(text.contains("internally inconsistent"), "{text}");
    let o = run(&["training", "llama-99"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no model card `llama-99`"),
        "{}",
        stderr(&o)
    );
    // A measured LLM request gives the break-even.
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, _) = llm_and_search(dir.path(), Provenance::Counter);
    let v = json(&[
        "training",
        "--json",
        "--record",
        llm.to_str().expect("l"),
        "--requests",
        "1000",
    ]);
    let be = table(&v, "training", "break_even");
    assert_eq!(be["rows"].as_array().expect("rows").len(), 2);
}

#[test]
fn scenario_separates_what_is_outside_the_boundary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../profiles/scenarios/municipality.toml");
    let o = run(&["scenario", root.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for element in [
        "web hosting",
        "networking",
        "user terminals",
        "OUTSIDE the LCA boundary",
        "desk visits",
    ] {
        assert!(text.contains(element), "{element}: {text}");
    }
    // Every CO2e figure carries its grid dataset; an unknown one is refused.
    assert!(
        text.contains("Grid: ") && text.contains("(dataset "),
        "{text}"
    );
    let ws = stdout(&run(&[
        "scenario",
        "--grid",
        "workshop",
        root.to_str().expect("path"),
    ]));
    assert!(
        ws.contains("(dataset workshop)") && ws.contains("NL/workshop"),
        "{ws}"
    );
    let o = run(&[
        "scenario",
        "--grid",
        "ember-1999",
        root.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no grid dataset `ember-1999`") && stderr(&o).contains("workshop"),
        "{}",
        stderr(&o)
    );
    // Travel is quantified with the shipped factors, under assumptions said so.
    let wide = stdout(&run(&["scenario", "--wide", root.to_str().expect("path")]));
    assert!(
        wide.contains("travel-car-desnz-2025") && wide.contains("travel-bus-desnz-2025"),
        "{wide}"
    );
    assert!(!wide.contains("not quantified"), "{wide}");
    assert!(wide.contains("assumption: minutes per view"), "{wide}");
    // A measured hosting record replaces the hosting profile and is labelled.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = Spec::new(WorkloadKind::Command, vec![3.0, 3.1, 2.9]);
    spec.provenance = Provenance::Modelled;
    let rec = write(dir.path(), "host.jsonl", &spec);
    // One line per row: the label is checked whole, not where a narrow table wraps it.
    let o = run(&[
        "scenario",
        "--wide",
        root.to_str().expect("path"),
        "--hosting-record",
        rec.to_str().expect("rec"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("MODELLED") && stdout(&o).contains("measured (host.jsonl"),
        "{}",
        stdout(&o)
    );
}

/// Case 1 from synthetic records with known energies: an AI search (20 J gross a
/// request, 0.1% of it retrieval) over a search of the same corpus (100 requests a
/// batch of 10.005 J), with a corpus series and two model sizes for the scaling.
#[test]
fn case_1_leads_with_the_ai_search_ratio_and_a_chain_that_multiplies_to_the_distance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus =
        |docs: f64| serde_json::json!({"corpus": {"documents": docs, "fingerprint_sha256": "abc"}});
    let mut ai = Spec::new(WorkloadKind::AiSearch, vec![20.0, 20.4, 19.6, 20.2, 19.8]);
    ai.label = "search --answer: waste collection";
    ai.output_tokens = Some(40);
    ai.retrieval_share = Some(0.001);
    // As the agent writes an AI search's details: retrieval.corpus, generation.model.
    ai.details = serde_json::json!({
        "retrieval": corpus(10_033.0),
        "generation": {"model": {"parameters": 134_515_008.0}},
    });
    let ai_path = write(dir.path(), "ai.jsonl", &ai);
    let mut search_paths = Vec::new();
    // Gross per request: 2 W idle x 1 s per batch of 100 plus the query's own work,
    // growing with the corpus as N^0.5 (known).
    for docs in [100.0f64, 1_000.0, 10_033.0] {
        let per_query = 0.02 + 0.0001 * docs.sqrt();
        let batch: Vec<f64> = [1.0, 1.01, 0.99, 1.005, 0.995]
            .iter()
            .map(|k| 100.0 * per_query * k)
            .collect();
        let mut q = Spec::new(WorkloadKind::Search, batch);
        q.requests = 100;
        q.baseline_w = Some(1.0);
        q.details = corpus(docs);
        search_paths.push(write(dir.path(), &format!("search-{docs}.jsonl"), &q));
    }
    let mut bigger = Spec::new(WorkloadKind::Llm, vec![40.0, 40.5, 39.5]);
    bigger.output_tokens = Some(40);
    bigger.details = serde_json::json!({"model": {"parameters": 268_098_176.0}});
    let bigger_path = write(dir.path(), "gemma.jsonl", &bigger);
    let mut args: Vec<String> = vec!["cases".into(), ai_path.display().to_string()];
    args.extend(search_paths.iter().map(|p| p.display().to_string()));
    args.push(bigger_path.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    if let Ok(out) = std::env::var("HOEVEEL_TEST_DUMP") {
        std::fs::write(out, &text).expect("dump");
    }
    let head: Vec<&str> = text.lines().take(15).collect();
    let head = head.join("\n");
    assert!(head.contains("Answer: AI search / search = "), "{head}");
    assert!(head.contains("rung cpu"), "{head}");
    assert!(head.contains("Published: 23–30x"), "{head}");
    assert!(head.contains("Distance: published"), "{head}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(text.contains("retrieval part"), "{text}");
    // The search set against the AI search is the one over the same corpus.
    assert!(!text.contains("did not search the same corpus"), "{text}");
    assert!(text.contains("search-10033.jsonl"), "{text}");
    assert!(text.contains("EXTRAPOLATED"), "{text}");
    // The JSON: the chain's factors multiply exactly to the distance.
    let mut json_args = vec!["--json"];
    json_args.extend(&args);
    let v = json(&json_args);
    let case1 = v["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"] == "ask_or_search")
        .expect("case 1");
    let chain = &case1["data"]["chain"];
    let product: f64 = chain["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| l["multiplier"].as_f64().expect("multiplier"))
        .product();
    let distance = chain["distance"].as_f64().expect("distance");
    assert!(
        (product - distance).abs() / distance < 1e-9,
        "{product} vs {distance}"
    );
    // The measured ratio on gross energy: AI 20 J / search 0.02 + 0.0001 sqrt(10033) J.
    let per_query = 0.02 + 0.0001 * 10_033f64.sqrt();
    let ratio = case1["data"]["ratio"]["ratio"].as_f64().expect("ratio");
    assert!((ratio - 20.0 / per_query).abs() / ratio < 1e-9, "{ratio}");
    let corpus_link = chain["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| {
            l["what"]
                .as_str()
                .is_some_and(|w| w.starts_with("corpus size"))
        })
        .expect("corpus link");
    assert_eq!(corpus_link["extrapolated"], true);
    // Against a search over another corpus size, case 1 says so.
    let o = run(&["compare", args[1], args[2]]);
    assert!(
        stdout(&o).contains("did not search the same corpus"),
        "{}",
        stdout(&o)
    );
    assert!(
        chain["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["what"]
                .as_str()
                .is_some_and(|w| w.starts_with("model size"))),
        "two model sizes give a model-size factor: {chain}"
    );
}
