//! In-process llama.cpp with the real shipped models (fetched into the cache on
//! first use): requests generate tokens and record their counts, greedy decoding
//! repeats itself, both shipped sizes load and answer, and damaged or missing
//! model files are refused with their name before llama.cpp sees them.
#![cfg(feature = "llm")]

use hoeveel_agent::workload::llm::in_process::{InProcess, Settings};
use hoeveel_agent::workload::llm::prompts::PromptSet;
use hoeveel_agent::workload::llm::{ModelSpec, Sampling, ShippedModel};
use hoeveel_agent::workload::{Outcome, RunContext, Workload, WorkloadError};
use std::io::Write;
use std::sync::atomic::AtomicBool;

fn settings(max_tokens: u32) -> Settings {
    Settings {
        prompts: PromptSet::single("What is a life cycle assessment?"),
        split_prefill: false,
        ignore_eos: false,
        protocol: None,
        sampling: Sampling {
            temperature: 0.0,
            seed: 42,
            max_tokens,
        },
        context_tokens: 512,
        threads: 2,
        gpu_layers: 0,
        include_load: false,
        verbose: false,
    }
}

fn loaded(model: ShippedModel, settings: Settings) -> InProcess {
    let mut workload =
        InProcess::new(ModelSpec::Shipped(model), settings).expect("model fetched and checked");
    workload.prepare().expect("model loads");
    workload
}

fn run(workload: &mut InProcess) -> Result<Outcome, WorkloadError> {
    let flag = AtomicBool::new(false);
    workload.run_once(&RunContext::new(&flag))
}

#[test]
fn default_model_answers_and_records_token_counts() {
    let mut workload = loaded(ShippedModel::Smollm2_135m, settings(32));
    let outcome = run(&mut workload).expect("answers");
    let m = &outcome.metrics;
    assert_eq!(outcome.requests, 1);
    let output = m.output_tokens.expect("output tokens");
    assert!(output > 0 && output <= 32, "{m:?}");
    assert!(m.prompt_tokens.unwrap_or(0) > 5, "{m:?}");
    assert!(m.time_to_first_token_s.is_some_and(|t| t > 0.0), "{m:?}");
    if output >= 2 {
        assert!(m.tokens_per_s.is_some_and(|r| r > 0.0), "{m:?}");
    }
    let text = m.output_text.as_deref().unwrap_or("");
    assert!(!text.trim().is_empty(), "{m:?}");
    eprintln!(
        "smollm2-135m: {output} tokens, {:?} tokens/s: {text}",
        m.tokens_per_s
    );

    // The record identifies the model.
    let info = workload.info();
    assert_eq!(info.kind, hoeveel_record::WorkloadKind::Llm);
    let model = &info.details["model"];
    assert_eq!(model["file_name"], "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(
        model["sha256"],
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    assert_eq!(model["quantisation"], "Q4_1");
    assert_eq!(model["architecture"], "llama");
    let parameters = model["parameters"].as_u64().expect("parameters");
    assert!(
        (130_000_000..140_000_000).contains(&parameters),
        "{parameters}"
    );
    assert_eq!(info.details["sampling"]["method"], "greedy");
    assert!(
        info.details["chat_template"]
            .as_str()
            .is_some_and(|t| t.starts_with("the model's own")),
        "{}",
        info.details
    );
    assert_eq!(info.details["context_tokens"], 512);
}

#[test]
fn greedy_decoding_gives_the_same_text_twice() {
    let mut workload = loaded(ShippedModel::Smollm2_135m, settings(24));
    let first = run(&mut workload).expect("first");
    let second = run(&mut workload).expect("second");
    assert_eq!(first.metrics.output_text, second.metrics.output_text);
    assert_eq!(first.metrics.output_tokens, second.metrics.output_tokens);
    assert_eq!(first.metrics.prompt_tokens, second.metrics.prompt_tokens);
}

#[test]
fn seeded_sampling_repeats_with_the_same_seed() {
    let mut s = settings(24);
    s.sampling.temperature = 0.8;
    let mut workload = loaded(ShippedModel::Smollm2_135m, s);
    let first = run(&mut workload).expect("first");
    let second = run(&mut workload).expect("second");
    assert_eq!(first.metrics.output_text, second.metrics.output_text);
}

#[test]
fn second_shipped_model_loads_and_answers() {
    let mut workload = loaded(ShippedModel::Gemma3_270m, settings(24));
    let outcome = run(&mut workload).expect("answers");
    let m = &outcome.metrics;
    assert!(m.output_tokens.unwrap_or(0) > 0, "{m:?}");
    assert!(
        !m.output_text.as_deref().unwrap_or("").trim().is_empty(),
        "{m:?}"
    );
    eprintln!(
        "gemma3-270m: {:?} tokens, {:?} tokens/s: {:?}",
        m.output_tokens, m.tokens_per_s, m.output_text
    );
    let details = workload.info().details;
    // The shipped Gemma 3 270M is the base model: no chat template, plain completion.
    assert!(
        details["chat_template"]
            .as_str()
            .is_some_and(|t| t.starts_with("none")),
        "{details}"
    );
    let model = &details["model"];
    assert_eq!(model["quantisation"], "Q4_K_M");
    assert_eq!(model["architecture"], "gemma3");
    assert_eq!(
        model["sha256"],
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    );
}

#[test]
fn ctrl_c_between_tokens_interrupts_the_request() {
    let mut workload = loaded(ShippedModel::Smollm2_135m, settings(16));
    let flag = AtomicBool::new(true);
    let result = workload.run_once(&RunContext::new(&flag));
    assert!(
        matches!(result, Err(WorkloadError::Interrupted)),
        "{result:?}"
    );
}

#[test]
fn load_is_a_measured_phase_only_when_asked() {
    let spec = ModelSpec::Shipped(ShippedModel::Smollm2_135m);
    let plain = InProcess::new(spec.clone(), settings(8)).expect("checked");
    assert_eq!(plain.prepare_phase(), None);
    let mut s = settings(8);
    s.include_load = true;
    let with_load = InProcess::new(spec, s).expect("checked");
    assert_eq!(with_load.prepare_phase(), Some("model_load"));
}

#[test]
fn a_prompt_that_does_not_fit_the_context_is_refused() {
    let mut s = settings(8);
    s.context_tokens = 64;
    s.prompts = PromptSet::single(&"energy ".repeat(200));
    let mut workload =
        InProcess::new(ModelSpec::Shipped(ShippedModel::Smollm2_135m), s).expect("checked");
    let err = workload.prepare().expect_err("too long");
    assert!(format!("{err:#}").contains("--ctx"), "{err:#}");
}

#[test]
fn a_missing_model_file_is_named() {
    let err = InProcess::new(
        ModelSpec::File("/no/such/dir/model.gguf".into()),
        settings(8),
    )
    .err()
    .expect("missing");
    assert!(
        format!("{err:#}").contains("/no/such/dir/model.gguf"),
        "{err:#}"
    );
}

#[test]
fn a_truncated_model_is_refused_before_llama_cpp_sees_it() {
    let real = ModelSpec::Shipped(ShippedModel::Smollm2_135m)
        .resolve()
        .expect("fetched");
    let bytes = std::fs::read(&real).expect("read model");
    let dir = tempfile::tempdir().expect("temp dir");
    // Cut in the tokenizer metadata, and cut in the tensor data.
    for (name, len) in [("head.gguf", 200_000), ("half.gguf", bytes.len() / 2)] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..len]).expect("write");
        let err = InProcess::new(ModelSpec::File(path.clone()), settings(8))
            .err()
            .expect("refused");
        let text = format!("{err:#}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("damaged GGUF header"), "{text}");
    }
}

#[test]
fn a_file_that_is_not_gguf_is_refused() {
    let mut file = tempfile::NamedTempFile::new().expect("temp");
    file.write_all(b"<!DOCTYPE html><title>404</title>")
        .expect("write");
    let err = InProcess::new(ModelSpec::File(file.path().into()), settings(8))
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("not a GGUF file"), "{err:#}");
}

#[test]
fn a_damaged_tensor_table_that_passes_the_header_check_fails_cleanly_in_llama_cpp() {
    // Keep the header intact but break the tensor data's length: the file is the
    // real header followed by too little data for llama.cpp's own bounds check.
    // Whatever layer catches it, the result is an error naming the file, not a crash.
    let real = ModelSpec::Shipped(ShippedModel::Smollm2_135m)
        .resolve()
        .expect("fetched");
    let bytes = std::fs::read(&real).expect("read model");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("short.gguf");
    std::fs::write(&path, &bytes[..bytes.len() - 1024]).expect("write");
    let result = InProcess::new(ModelSpec::File(path.clone()), settings(8))
        .and_then(|mut w| w.prepare().map(|()| w));
    let err = result.err().expect("refused");
    let text = format!("{err:#}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn a_model_in_an_ollama_store_loads_from_its_blob() {
    use hoeveel_agent::workload::llm::ollama_store::{OllamaName, resolve};
    let real = ModelSpec::Shipped(ShippedModel::Smollm2_135m)
        .resolve()
        .expect("fetched");
    let hex = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
    let store = tempfile::tempdir().expect("temp dir");
    let manifests = store
        .path()
        .join("manifests/registry.ollama.ai/library/smollm2");
    std::fs::create_dir_all(&manifests).expect("mkdir");
    std::fs::create_dir_all(store.path().join("blobs")).expect("mkdir");
    std::os::unix::fs::symlink(&real, store.path().join(format!("blobs/sha256-{hex}")))
        .expect("blob");
    std::fs::write(
        manifests.join("135m"),
        format!(
            r#"{{"schemaVersion":2,"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{hex}","size":98362432}}]}}"#
        ),
    )
    .expect("manifest");
    let blob = resolve(
        store.path(),
        &OllamaName::parse("smollm2:135m").expect("name"),
    )
    .expect("resolves");
    let mut workload = InProcess::new(ModelSpec::File(blob), settings(8)).expect("checked");
    workload.prepare().expect("loads");
    assert_eq!(workload.model_info().sha256, hex);
    let outcome = run(&mut workload).expect("answers");
    assert!(outcome.metrics.output_tokens.unwrap_or(0) > 0);
}

#[test]
fn the_shipped_prompt_set_is_asked_in_turn() {
    let mut s = settings(4);
    s.prompts = PromptSet::load("everyday").expect("shipped set");
    let mut workload = loaded(ShippedModel::Smollm2_135m, s);
    let outcomes: Vec<Outcome> = (0..3)
        .map(|_| run(&mut workload).expect("answers"))
        .collect();
    let indices: Vec<_> = outcomes.iter().map(|o| o.metrics.prompt_index).collect();
    assert_eq!(indices, [Some(0), Some(1), Some(2)]);
    // Different questions, different prompt lengths: each request evaluated its own.
    let tokens: Vec<_> = outcomes.iter().map(|o| o.metrics.prompt_tokens).collect();
    assert_ne!(tokens[0], tokens[1], "{tokens:?}");
    let info = workload.info();
    assert!(
        info.label
            .ends_with("20 prompts of the shipped set `everyday`"),
        "{}",
        info.label
    );
    assert_eq!(info.details["prompt"]["set"], "everyday");
    assert_eq!(
        info.details["model"]["prompt_tokens"]
            .as_array()
            .map(Vec::len),
        Some(20),
        "every prompt tokenised at load"
    );
}
