//! The README's Rust snippet is `examples/window.rs`, and it runs as shown: it
//! measures a window and writes a record the reader accepts.

use std::path::Path;

fn readme_rust_block() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme
        .find("```rust\n")
        .expect("the README shows a Rust snippet")
        + "```rust\n".len();
    let end = start + readme[start..].find("```").expect("the snippet ends");
    readme[start..end].to_string()
}

#[test]
fn the_readme_rust_snippet_is_the_example() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/window.rs"))
            .expect("examples/window.rs");
    assert_eq!(
        readme_rust_block(),
        example,
        "the README's Rust snippet and measure/examples/window.rs must be the same"
    );
}

/// The example itself, compiled into this test with the test beside it.
mod example {
    include!("../examples/window.rs");

    #[test]
    fn the_example_runs_as_shown() {
        // The example writes `window.jsonl` where it runs. No other test of this
        // binary depends on the working directory.
        let dir = tempfile::tempdir().expect("tempdir");
        std::env::set_current_dir(dir.path()).expect("cd");
        main().expect("the example runs");
        let record = hoeveel_record::read_record(&dir.path().join("window.jsonl")).expect("record");
        assert_eq!(record.window_names(), ["sum"]);
        let window = &record.repetitions[0];
        assert!(
            window.duration_s > 0.0 && window.total_energy_j > 0.0,
            "{window:?}"
        );
        assert!(record.run_end.is_some());
    }
}
