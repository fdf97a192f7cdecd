//! `hoeveel report` and `hoeveel compare` on records written with the record crate:
//! the agent's summary is reproduced, intervals are right, provenance is carried to
//! every format, and bad records fail or warn as they should.

mod analyze_support;

use analyze_support::*;
use hoeveel_record::Provenance;
use hoeveel_record::WorkloadKind;
use hoeveel_record::summary::Summary;
use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "hoeveel failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

fn section<'a>(v: &'a Value, id_prefix: &str) -> &'a Value {
    v["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["id"].as_str().is_some_and(|i| i.starts_with(id_prefix)))
        .unwrap_or_else(|| panic!("no section {id_prefix}"))
}

#[test]
fn report_prints_the_agents_summary_and_adds_the_ci() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, _) = llm_and_search(dir.path(), Provenance::Counter);
    let o = run(&["report", llm.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let record = hoeveel_record::read_record(&llm).expect("read");
    let summary = Summary::of(&record).render_text();
    assert!(
        text.contains(&summary),
        "the agent's summary must appear verbatim:\n{text}"
    );
    assert!(text.contains("95% CI"), "{text}");
    assert!(text.contains("Student t"), "the method is stated: {text}");
    assert!(
        !text.contains("MODELLED"),
        "a counter record is not modelled"
    );

    // Net per request: 30, 29, 31.5, 30.5, 29.5, 30 J (gross minus 2 W x 1 s).
    let v = json(&run(&["report", "--json", llm.to_str().expect("path")]));
    assert_eq!(v["modelled"], false);
    let net = &section(&v, "stats:")["data"]["energy_net"];
    let values = [30.0, 29.0, 31.5, 30.5, 29.5, 30.0];
    let mean = values.iter().sum::<f64>() / 6.0;
    let sd = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
    // t(0.975, 5) = 2.570582 (tables).
    let half = 2.570_582 * sd / 6f64.sqrt();
    assert!((net["mean"].as_f64().expect("mean") - mean).abs() < 1e-9);
    assert!((net["ci_low"].as_f64().expect("lo") - (mean - half)).abs() < 1e-4);
    assert!((net["ci_high"].as_f64().expect("hi") - (mean + half)).abs() < 1e-4);
    // Per output token: 50 tokens per request.
    let per_token = &section(&v, "stats:")["data"]["energy_per_output_token_net"];
    assert!((per_token["mean"].as_f64().expect("mean") - mean / 50.0).abs() < 1e-9);
    // CO2e at the default site (Microsoft NL, PUE 1.14) on the default grid
    // dataset, which --grid changes: NL/workshop is the workshop's 253 g/kWh.
    let site = &section(&v, "co2e:")["data"]["site"];
    let dataset = section(&v, "co2e:")["data"]["grid_dataset"]["id"]
        .as_str()
        .expect("dataset")
        .to_string();
    assert_eq!(site["grid_id"], format!("NL/{dataset}"));
    let grid = site["grid_g_per_kwh"].as_f64().expect("grid");
    let expected = mean / 3.6e6 * 1.14 * grid;
    let co2e = &site["g_per_request"];
    assert!((co2e["typical"].as_f64().expect("typical") - expected).abs() < 1e-12);
    let w = json(&run(&[
        "report",
        "--json",
        "--grid",
        "workshop",
        llm.to_str().expect("path"),
    ]));
    let co2e = &section(&w, "co2e:")["data"]["site"]["g_per_request"];
    let expected = mean / 3.6e6 * 1.14 * 253.0;
    assert!((co2e["typical"].as_f64().expect("typical") - expected).abs() < 1e-12);
}

#[test]
fn modelled_energy_is_labelled_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, _) = llm_and_search(dir.path(), Provenance::Modelled);
    let path = llm.to_str().expect("path");
    let html = dir.path().join("r.html");
    let text = stdout(&run(&[
        "report",
        path,
        "--html",
        html.to_str().expect("html"),
    ]));
    assert!(text.contains("MODELLED"), "{text}");
    let v = json(&run(&["report", "--json", path]));
    assert_eq!(v["modelled"], true);
    assert_eq!(v["provenance"], "modelled");
    let csv = stdout(&run(&["report", "--csv", path]));
    let data_rows: Vec<&str> = csv
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("table,"))
        .collect();
    assert!(!data_rows.is_empty());
    assert!(data_rows.iter().all(|l| l.ends_with(",modelled")), "{csv}");
    assert!(stdout(&run(&["report", "--markdown", path])).contains("**MODELLED"));
    assert!(
        std::fs::read_to_string(&html)
            .expect("html")
            .contains("MODELLED")
    );
    // And through the cases.
    let (l, s) = (llm.to_str().expect("l"), dir.path().join("search.jsonl"));
    let v = json(&run(&["cases", "--json", l, s.to_str().expect("s")]));
    assert_eq!(v["modelled"], true);
}

#[test]
fn outliers_are_warned_about_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = Spec::new(
        WorkloadKind::Command,
        vec![10.0, 10.1, 9.9, 10.0, 10.2, 9.8, 30.0],
    );
    let path = write(dir.path(), "o.jsonl", &spec);
    let o = run(&["report", path.to_str().expect("path")]);
    let text = stdout(&o);
    assert!(
        text.contains("repetition 6") && text.contains("outlier by the MAD rule"),
        "{text}"
    );
    let v = json(&run(&["report", "--json", path.to_str().expect("path")]));
    assert_eq!(
        section(&v, "stats:")["data"]["energy_gross"]["n"],
        7,
        "never removed"
    );
}

#[test]
fn compare_gives_a_ratio_with_a_ci_next_to_the_published_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, search) = llm_and_search(dir.path(), Provenance::Counter);
    let o = run(&[
        "compare",
        "--json",
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    ]);
    let v = json(&o);
    let r = &section(&v, "ratio")["data"]["ratio"];
    // Net: 30.0833 J / 1.009167 J per request ((102.9167 - 2) / 100).
    let ratio = r["ratio"].as_f64().expect("ratio");
    assert!((ratio - 30.083_333 / 1.009_167).abs() < 1e-3, "{ratio}");
    let (lo, hi) = (
        r["ci_low"].as_f64().expect("lo"),
        r["ci_high"].as_f64().expect("hi"),
    );
    assert!(lo < ratio && ratio < hi && hi - lo < 3.0, "{lo} {hi}");
    // Deterministic: the same interval twice.
    let again = json(&run(&[
        "compare",
        "--json",
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    ]));
    assert_eq!(section(&again, "ratio")["data"]["ratio"], *r);
    let text = stdout(&run(&[
        "compare",
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    ]));
    assert!(
        text.contains("23–30x") && text.contains("bootstrap"),
        "{text}"
    );
}

#[test]
fn truncated_record_is_read_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = Spec::new(WorkloadKind::Command, vec![5.0, 6.0, 7.0]);
    spec.run_end = false;
    let path = write(dir.path(), "t.jsonl", &spec);
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str("{\"type\":\"repetition\",\"data\":{\"index\":3,\"war");
    std::fs::write(&path, text).expect("write");
    let o = run(&["report", path.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    // What the reader tolerated is printed with the output, as every warning is.
    assert!(stdout(&o).contains("cut short"), "{}", stdout(&o));
    assert!(stdout(&o).contains("3 measured run(s)"), "{}", stdout(&o));
}

#[test]
fn unknown_schema_and_empty_records_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "future.jsonl",
        &Spec::new(WorkloadKind::Command, vec![5.0, 6.0]),
    );
    let text = std::fs::read_to_string(&path).expect("read").replacen(
        &format!("\"schema_version\":\"{}\"", hoeveel_record::SCHEMA_VERSION),
        "\"schema_version\":\"3.0\"",
        1,
    );
    std::fs::write(&path, text).expect("write");
    let o = run(&["report", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("future.jsonl") && err.contains("schema_version 3.0"),
        "{err}"
    );

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").expect("write");
    let o = run(&["report", empty.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("empty.jsonl: the record is empty"),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "report",
        dir.path().join("missing.jsonl").to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
}

#[test]
fn a_record_without_repetitions_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "full.jsonl",
        &Spec::new(WorkloadKind::Llm, vec![5.0]),
    );
    let first = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .next()
        .expect("line")
        .to_string();
    let only = dir.path().join("only-start.jsonl");
    std::fs::write(&only, format!("{first}\n")).expect("write");
    let o = run(&["report", only.to_str().expect("path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("No measured repetition completed"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("no run_end"), "{}", stdout(&o));
    let o = run(&["sites", only.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("only-start.jsonl: no measured repetition completed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_folder_given_as_a_record_names_the_os_error_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = run(&["report", dir.path().to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let os = std::io::Error::from_raw_os_error(libc::EISDIR).to_string();
    assert_eq!(err.matches(&os).count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot read {}", dir.path().display())),
        "{err}"
    );
}

#[test]
fn a_schema_version_in_a_form_no_writer_writes_is_refused_by_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "forms.jsonl",
        &Spec::new(WorkloadKind::Command, vec![5.0, 6.0]),
    );
    let text = std::fs::read_to_string(&path).expect("read");
    for bad in ["02.0", "2", "2.0.0.0", "1.x"] {
        let field = format!("\"schema_version\":\"{}\"", hoeveel_record::SCHEMA_VERSION);
        std::fs::write(
            &path,
            text.replacen(&field, &format!("\"schema_version\":\"{bad}\""), 1),
        )
        .expect("write");
        let o = run(&["report", path.to_str().expect("path")]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stdout(&o));
        assert!(
            stderr(&o).contains(&format!("forms.jsonl:1: schema_version `{bad}`")),
            "{bad}: {}",
            stderr(&o)
        );
    }
}

/// The first line of the record at `path` that contains `text`, counted from 1.
fn line_with(path: &std::path::Path, text: &str) -> usize {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .position(|l| l.contains(text))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line with {text} in {}", path.display()))
}

#[test]
fn figures_out_of_range_are_refused_naming_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Means of these overflow to infinity: "Mean power: NaN W" if they were read.
    let huge = write(
        dir.path(),
        "huge.jsonl",
        &Spec::new(WorkloadKind::Command, vec![1.7e308, 1.7e308]),
    );
    let mut negative = Spec::new(WorkloadKind::Command, vec![5.0, -6.0]);
    negative.baseline_w = None;
    let negative = write(dir.path(), "negative.jsonl", &negative);
    let mut backwards = Spec::new(WorkloadKind::Command, vec![5.0, 6.0]);
    backwards.duration_s = -1.0;
    let backwards = write(dir.path(), "backwards.jsonl", &backwards);
    for (path, value, field) in [
        (
            &huge,
            "1.7e+308",
            "repetition.energy_j[\"package-0\"] is 1.7e308",
        ),
        (
            &negative,
            "-6.0",
            "repetition.energy_j[\"package-0\"] is -6",
        ),
        (
            &backwards,
            "\"duration_s\":-1.0",
            "repetition.duration_s is -1",
        ),
    ] {
        let svg = dir.path().join("chart.svg");
        let (p, s) = (path.to_str().expect("path"), svg.to_str().expect("svg"));
        for args in [vec!["report", p], vec!["plot", p, "-o", s]] {
            let command = args[0];
            let o = run(&args);
            assert_eq!(o.status.code(), Some(2), "{command}: {}", stdout(&o));
            let name = path.file_name().expect("name").to_string_lossy();
            let at = format!("{name}:{}: {field}", line_with(path, value));
            assert!(stderr(&o).contains(&at), "{at}: {}", stderr(&o));
            assert!(!stdout(&o).contains("NaN") && !svg.exists(), "{command}");
        }
    }
}

#[test]
fn compare_names_the_record_whose_net_energy_is_below_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (llm, search) = llm_and_search(dir.path(), Provenance::Counter);
    // The baseline ran on a busier machine: 40 W idle, 32 J gross in 1 s.
    let mut busy = Spec::new(WorkloadKind::Llm, vec![32.0, 31.0, 33.5, 32.5]);
    busy.baseline_w = Some(40.0);
    let busy = write(dir.path(), "busy.jsonl", &busy);
    let (b, l, s) = (
        busy.to_str().expect("b"),
        llm.to_str().expect("l"),
        search.to_str().expect("s"),
    );
    // Net asked for: the record at fault is named. (Without --net such a
    // record's net energy is not resolved and the comparison is gross, below.)
    for (args, named, other) in [
        (
            vec!["compare", "--wide", "--net", b, s],
            "busy.jsonl",
            "search.jsonl",
        ),
        (
            vec!["compare", "--wide", "--net", l, b],
            "busy.jsonl",
            "llm.jsonl",
        ),
        (
            vec!["compare", "--wide", "--net", b, l, s],
            "busy.jsonl",
            "search.jsonl",
        ),
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        let why = format!("{named}: its net energy per request has a 95% CI from -");
        assert!(text.contains(&why), "{args:?}: {text}");
        assert!(text.contains("lies wholly below zero"), "{args:?}: {text}");
        assert!(!text.contains("includes zero"), "{args:?}: {text}");
        assert!(
            !text.contains(&format!("{other}: the bootstrap")),
            "{args:?}: the other record is not blamed: {text}"
        );
    }
    for args in [
        vec!["compare", "--wide", b, s],
        vec!["compare", "--wide", b, l, s],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains("since the net energy of busy.jsonl is not resolved"),
            "{args:?}: gross, and why: {text}"
        );
    }
}

/// Control characters in `text` other than newline, as `(index, char)`.
fn controls(text: &str) -> Vec<(usize, char)> {
    text.char_indices()
        .filter(|(_, c)| c.is_control() && *c != '\n')
        .collect()
}

/// Markdown without its fenced code blocks.
fn unfenced(markdown: &str) -> String {
    let mut inside = false;
    let mut out = String::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            inside = !inside;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn control_characters_and_markup_from_a_record_are_not_passed_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = Spec::new(WorkloadKind::Command, vec![5.0, 6.0, 7.0]);
    // Clears the screen, forges a line of the summary, and carries C1 CSI, DEL
    // and raw HTML.
    spec.label =
        "\u{1b}[2J<script>alert(1)</script>\n    Energy, gross:  0.000 J\r\u{9b}31m\u{7f} a|b & c";
    let path = write(dir.path(), "hostile.jsonl", &spec);
    let p = path.to_str().expect("path");
    let html = dir.path().join("r.html");
    let text = stdout(&run(&["report", p, "--html", html.to_str().expect("html")]));
    assert!(controls(&text).is_empty(), "{:?}", controls(&text));
    assert!(text.contains("\\x1b[2J<script>"), "escaped visibly: {text}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("Energy, gross:  0.000 J")),
        "no forged line: {text}"
    );
    let markdown = stdout(&run(&["report", "--markdown", p]));
    assert!(controls(&markdown).is_empty(), "{:?}", controls(&markdown));
    // Raw HTML only inside the summary's code fence, where it is shown as text.
    assert!(!unfenced(&markdown).contains("<script>"), "{markdown}");
    assert!(
        markdown.contains("<script>"),
        "the label is in the fence: {markdown}"
    );
    let csv = stdout(&run(&["report", "--csv", p]));
    assert!(controls(&csv).is_empty(), "{:?}", controls(&csv));
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(
        controls(&page).iter().all(|(_, c)| *c == '\t'),
        "{:?}",
        controls(&page)
    );
    assert!(!page.contains("<script>"));
    for args in [
        vec!["compare", "--wide", p, p],
        vec!["compare", "--markdown", p, p, p],
    ] {
        let out = stdout(&run(&args));
        assert!(controls(&out).is_empty(), "{args:?}: {:?}", controls(&out));
        if args[1] == "--markdown" {
            assert!(!unfenced(&out).contains("<script>"), "{out}");
            // The label in a table cell: markup as entities, its pipe escaped.
            assert!(
                out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{out}"
            );
            assert!(out.contains("a\\|b &amp; c"), "{out}");
        }
    }
    // And in a message: a schema version that sets the terminal's title.
    let field = format!("\"schema_version\":\"{}\"", hoeveel_record::SCHEMA_VERSION);
    let record = std::fs::read_to_string(&path).expect("read");
    let titled = record.replacen(&field, "\"schema_version\":\"\\u001b]0;owned\\u0007\"", 1);
    assert_ne!(titled, record);
    std::fs::write(&path, titled).expect("write");
    let o = run(&["report", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(controls(&stderr(&o)).is_empty(), "{:?}", stderr(&o));
    assert!(stderr(&o).contains("\\x1b]0;owned\\x07"), "{}", stderr(&o));
}

#[test]
fn at_n_3_an_interval_of_a_gross_energy_stays_above_zero_and_says_how() {
    // Gross energies 1, 5 and 9 J: the Student-t interval, 5 ± 9.9 J, reached
    // -4.9 J for a quantity that cannot be negative.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = Spec::new(WorkloadKind::Command, vec![1.0, 5.0, 9.0]);
    spec.baseline_w = None;
    let path = write(dir.path(), "n3.jsonl", &spec);
    let v = json(&run(&["report", "--json", path.to_str().expect("path")]));
    let gross = &section(&v, "stats:")["data"]["energy_gross"];
    assert_eq!(gross["ci_method"], "log-normal-cox", "{gross}");
    let low = gross["ci_low"].as_f64().expect("low");
    let high = gross["ci_high"].as_f64().expect("high");
    assert!(low > 0.0 && low < 5.0 && high > 5.0, "{low} {high}");
    let o = run(&["report", path.to_str().expect("path")]);
    let text = stdout(&o);
    assert!(
        text.contains("The 95% CI of energy, gross is log-normal (modified Cox)"),
        "the method is said: {text}"
    );
}
