//! AI-powered search as one request: the plain search's BM25 retrieval, then an
//! LLM writes an answer from the top passages, as an AI overview does.
//!
//! The sensors are read between the two parts ([`RunContext::mark`]), so each
//! repetition records `retrieval` (the search and reading the passages' text)
//! and `generation` (the prompt built, templated, evaluated and the answer
//! decoded) apart, and their sum is the request. One request per repetition: the
//! generation alone lasts far longer than the sensors need.
//!
//! The prompt is a fixed instruction, the passages (title and text, each cut to
//! [`PASSAGE_CHARS`] characters so that K of them fit any context), and the
//! question; the backend applies the model's chat template, as `llm` does.
//!
//! When the generation fails (a server error, a prompt too long for the
//! context), the repetition fails and keeps its retrieval part.

use super::llm::{Generation, LlmBackend};
use super::search::passages::{Passage, PassageStore};
use super::search::{Retrieved, SearchWorkload};
use super::{EndedPart, Outcome, PartMarks, RunContext, Workload, WorkloadError};
use hoeveel_record::{Metrics, PartName, WorkloadInfo, WorkloadKind};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Passages an answer is written from when `--passages` is not given.
pub const DEFAULT_PASSAGES: usize = 3;

/// Characters kept of each passage: three of them and the instruction stay well
/// inside the smallest context (2,048 tokens) with room for the answer.
pub const PASSAGE_CHARS: usize = 600;

/// What the model is told before the passages.
pub const INSTRUCTION: &str = "Answer the question using only the passages below. Be brief, and say so if the passages do not answer it.";

/// How the prompt is put together, for the record.
const TEMPLATE: &str = "{instruction}\n\n[1] {title}: {text}\n[2] …\n\nQuestion: {query}\nAnswer:";

pub struct AiSearch {
    search: SearchWorkload,
    store: PassageStore,
    llm: Box<dyn LlmBackend>,
    passages: usize,
}

impl AiSearch {
    /// `search` must be the built-in engine over a corpus, and `store` its
    /// passages ([`SearchWorkload::passage_store`], read by the caller with the
    /// rights that corpus needs); its index is built now, unmeasured (a plain
    /// search run of the same corpus measures `index_build`).
    pub fn new(
        mut search: SearchWorkload,
        store: PassageStore,
        llm: Box<dyn LlmBackend>,
        passages: usize,
    ) -> anyhow::Result<AiSearch> {
        if passages == 0 {
            anyhow::bail!("--passages must be at least 1");
        }
        if search.builds_index() {
            eprintln!(
                "hoeveel-agent: building the search index (not measured here; a plain search of this corpus measures it as index_build)"
            );
            search.prepare()?;
        }
        Ok(AiSearch {
            search,
            store,
            llm,
            passages,
        })
    }

    fn details(&self) -> Value {
        let mut retrieval = self.search.info().details;
        if let Some(map) = retrieval.as_object_mut() {
            // One request per repetition: the plain search's batch does not apply.
            map.remove("batch");
        }
        let mut generation = self.llm.info().details;
        if let Some(map) = generation.as_object_mut() {
            // The backend's own prompt is not asked: the prompt is written per query.
            map.remove("prompt");
            if let Some(model) = map.get_mut("model").and_then(Value::as_object_mut) {
                model.remove("prompt_tokens");
            }
        }
        json!({
            "retrieval": retrieval,
            "generation": generation,
            "answer_prompt": {
                "instruction": INSTRUCTION,
                "template": TEMPLATE,
                "passages": self.passages,
                "passage_chars": PASSAGE_CHARS,
                "truncation": format!("each passage's text cut to its first {PASSAGE_CHARS} characters, with … where it was cut"),
                "chat_template": "applied by the backend, as for llm",
            },
            "parts": {
                "retrieval": "the BM25 search (the plain search's --top-k hits) and reading the top passages' text from the corpus in memory",
                "generation": "the prompt built from the passages and the question, templated, tokenised and evaluated, and the answer decoded",
                "boundary": "the sensors are read between the parts; the parts' energies add up to the request's",
            },
            "request": "one AI search per repetition (no batching)",
        })
    }

    /// The whole request's metrics: the retrieval's results, the generation's
    /// tokens and text, and time to first token counted from the request's start.
    fn request_metrics(
        retrieved: &Retrieved,
        generation: &Generation,
        generation_start_s: f64,
        queries: usize,
    ) -> Metrics {
        Metrics {
            results: Some(retrieved.results),
            prompt_index: (queries > 1).then_some(retrieved.query_index as u64),
            time_to_first_token_s: generation
                .time_to_first_token_s
                .map(|t| generation_start_s + t),
            ..generation_metrics(generation)
        }
    }
}

fn generation_metrics(g: &Generation) -> Metrics {
    Metrics {
        prompt_tokens: g.prompt_tokens,
        output_tokens: g.output_tokens,
        time_to_first_token_s: g.time_to_first_token_s,
        tokens_per_s: g.tokens_per_s,
        response_bytes: g.response_bytes,
        output_text: Some(g.text.clone()),
        ..Metrics::default()
    }
}

/// The prompt for `query` from `passages`.
pub fn prompt(query: &str, passages: &[Passage]) -> String {
    let mut out = format!("{INSTRUCTION}\n\n");
    for (i, p) in passages.iter().enumerate() {
        out.push_str(&format!(
            "[{}] {}: {}\n",
            i + 1,
            p.title,
            truncate(p.text.trim(), PASSAGE_CHARS)
        ));
    }
    if passages.is_empty() {
        out.push_str("(no passage matched the question)\n");
    }
    out.push_str(&format!("\nQuestion: {query}\nAnswer:"));
    out
}

/// The first `chars` characters of `text`, with … where it was cut.
fn truncate(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_string(),
    }
}

impl Workload for AiSearch {
    fn info(&self) -> WorkloadInfo {
        let llm = self.llm.info().label;
        let model = llm.split(" (").next().unwrap_or(&llm).to_string();
        let search = self.search.info().label;
        WorkloadInfo {
            kind: WorkloadKind::AiSearch,
            label: format!(
                "AI {search}, answered by {model} from the top {} passages",
                self.passages
            ),
            batching: None,
            details: self.details(),
        }
    }

    fn prepare_phase(&self) -> Option<&'static str> {
        self.llm.prepare_phase()
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        self.llm.prepare()
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        if ctx.interrupted.load(Ordering::Relaxed) {
            return Err(WorkloadError::Interrupted);
        }
        let mark = ctx.mark.ok_or_else(|| {
            WorkloadError::Fatal(anyhow::anyhow!(
                "an AI search reads the sensors between retrieval and generation, and this run reads none"
            ))
        })?;
        let start = Instant::now();
        let retrieved = self.search.retrieve(self.passages, &self.store)?;
        let split = mark().map_err(|e| {
            WorkloadError::Fatal(e.context("reading the sensors between retrieval and generation"))
        })?;
        let generation_start_s = start.elapsed().as_secs_f64();
        let retrieval = EndedPart {
            name: PartName::Retrieval,
            metrics: Metrics {
                results: Some(retrieved.results),
                output_text: retrieved.passages.first().map(|p| p.title.clone()),
                ..Metrics::default()
            },
            end: split,
        };
        let text = prompt(&retrieved.query, &retrieved.passages);
        let marks = |last_metrics| PartMarks {
            ended: vec![retrieval.clone()],
            last: PartName::Generation,
            last_metrics,
        };
        match self.llm.chat(&text, ctx) {
            Ok(generation) => Ok(Outcome {
                requests: 1,
                metrics: Self::request_metrics(
                    &retrieved,
                    &generation,
                    generation_start_s,
                    self.search.query_count(),
                ),
                exit_code: None,
                steady: None,
                parts: Some(marks(generation_metrics(&generation))),
            }),
            Err(WorkloadError::Failed { message, .. })
            | Err(WorkloadError::FailedInPart { message, .. }) => {
                Err(WorkloadError::FailedInPart {
                    message: format!("generation: {message}"),
                    parts: Box::new(marks(Metrics::default())),
                })
            }
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_holds_the_instruction_the_cut_passages_and_the_question() {
        let long = "x".repeat(PASSAGE_CHARS + 50);
        let passages = [
            Passage {
                title: "Recycling".into(),
                text: "Glass goes to the bottle bank.".into(),
            },
            Passage {
                title: "Long".into(),
                text: long,
            },
        ];
        let p = prompt("Where does glass go?", &passages);
        assert!(p.starts_with(INSTRUCTION), "{p}");
        assert!(
            p.contains("[1] Recycling: Glass goes to the bottle bank.\n"),
            "{p}"
        );
        let cut = format!("[2] Long: {}…\n", "x".repeat(PASSAGE_CHARS));
        assert!(p.contains(&cut), "{p}");
        assert!(
            p.ends_with("\nQuestion: Where does glass go?\nAnswer:"),
            "{p}"
        );
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("café au lait", 4), "café…");
        assert_eq!(truncate("short", 600), "short");
        assert_eq!(truncate("ab cd", 3), "ab…");
    }

    #[test]
    fn no_passage_is_said_not_hidden() {
        let p = prompt("q", &[]);
        assert!(p.contains("(no passage matched the question)"), "{p}");
    }
}
