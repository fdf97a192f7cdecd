//! `hoeveel profiles list | show | check` and user overrides.

mod analyze_support;

use analyze_support::*;

#[test]
fn shipped_profiles_check_clean_and_list() {
    let o = run(&["profiles", "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ok: 5 file(s)"), "{}", stdout(&o));
    let list = stdout(&run(&["profiles", "list"]));
    for id in [
        "NL/workshop",
        "ms-nl",
        "aws-chile",
        "devries-ai-search-2023",
        "llama-3.3",
        "phone-battery-5000mah",
        "network-aslan-2018",
        "page-weight-mobile-2024",
    ] {
        assert!(list.contains(id), "{id}");
    }
    assert!(list.contains("Status: V verified"), "{list}");
}

#[test]
fn list_fits_80_columns_with_each_id_on_a_line_of_its_own() {
    // Piped (`| cat`): stdout is not a terminal, and no COLUMNS is set.
    let o = hoeveel()
        .env_remove("COLUMNS")
        .args(["profiles", "list"])
        .output()
        .expect("run hoeveel");
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&o);
    for line in list.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
    assert!(!list.contains("[1]"), "cells moved to notes:\n{list}");
    let row = |id: &str| {
        list.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no row of its own for {id}:\n{list}"))
            .to_string()
    };
    // kind, id, value, unit, year, status.
    let fields =
        |id: &str| -> Vec<String> { row(id).split_whitespace().map(str::to_string).collect() };
    assert_eq!(
        fields("NL/workshop"),
        ["grid", "NL/workshop", "253", "gCO2e/kWh", "2024", "V"]
    );
    assert_eq!(
        fields("llama-2"),
        ["model", "llama-2", "539", "tCO2eq", "2023", "V"]
    );
    assert_eq!(fields("ms-nl")[..4], ["site", "ms-nl", "1.14", "PUE"]);
    assert_eq!(fields("aws-chile")[2], "1.09–1.17");
    // An id too long for its column keeps its whole line rather than being cut.
    let long = "gcp-northamerica-northeast1/google-2024";
    assert_eq!(fields(long), ["grid", long]);
    // Sources are for `show`, not the listing; --json keeps every field.
    assert!(!list.contains("co2.js"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&run(&["--json", "profiles", "list"]))).expect("json");
    let columns = json["sections"][0]["tables"][0]["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    for c in [
        "kind", "id", "name", "value", "unit", "year", "status", "source", "licence", "vintage",
    ] {
        assert!(
            columns.iter().any(|x| x == c),
            "--json lacks {c}: {columns:?}"
        );
    }
}

#[test]
fn show_prints_source_year_licence_and_unverified() {
    let o = run(&["profiles", "show", "local-fr"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    for field in [
        "source",
        "year",
        "licence",
        "vintage",
        "1.6",
        "NOT VERIFIED",
    ] {
        assert!(text.contains(field), "{field}: {text}");
    }
    // The cited sources are printed in full from profiles/SOURCES.md.
    let o = run(&["profiles", "show", "ms-sg"]);
    let text = stdout(&o);
    for field in [
        "1.3",
        "Source `microsoft-efficiency` (profiles/SOURCES.md):",
        "datacenters.microsoft.com/sustainability/efficiency",
        "Source `workshop-slides`",
    ] {
        assert!(text.contains(field), "{field}: {text}");
    }
    assert!(!text.contains("NOT VERIFIED"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
    // Every request figure shows its rung.
    let text = stdout(&run(&["profiles", "show", "mlenergy-llama31-8b-h100-c8"]));
    assert!(
        text.contains("rung") && text.contains("accelerator"),
        "{text}"
    );
    let o = run(&["profiles", "show", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn negative_pue_is_an_error_naming_file_entry_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("sites.toml");
    std::fs::write(
        &file,
        r#"kind = "sites"
[[entry]]
id = "my-host"
name = "My host"
operator = "me"
location = "NL"
grid = "NL"
pue = -1.2
unit = "PUE"
source = "my notes"
year = 2025
licence = "mine"
vintage = "2025"
status = "V"
"#,
    )
    .expect("write");
    let d = dir.path().to_str().expect("dir");
    let o = run(&["--profiles", d, "profiles", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("sites.toml: entry `my-host`: field `pue`: -1.2 is out of range"),
        "{err}"
    );
    // Any command that loads the profiles refuses them too.
    let o = run(&["--profiles", d, "cases"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("entry `my-host`: field `pue`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_user_file_overrides_a_shipped_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("grid.toml"),
        r#"kind = "grid"
[[entry]]
id = "NL/workshop"
zone = "NL"
name = "Netherlands"
dataset = "workshop"
value = 100.0
unit = "gCO2e/kWh"
year = 2025
source = "my utility"
licence = "mine"
vintage = "2025 bill"
status = "V"
"#,
    )
    .expect("write");
    let o = run(&[
        "--profiles",
        dir.path().to_str().expect("dir"),
        "profiles",
        "show",
        "NL/workshop",
    ]);
    assert!(
        stdout(&o).contains("my utility") && stdout(&o).contains("grid.toml"),
        "{}",
        stdout(&o)
    );
}
