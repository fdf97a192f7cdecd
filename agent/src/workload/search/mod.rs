//! A plain search, measured per request.
//!
//! Two targets:
//! - the built-in engine: tantivy (BM25) over the default corpus (English Wikipedia
//!   summaries of the vital articles, fetched on first use) or a folder of `.txt`,
//!   `.md`, `.html` and `.json` files ([`extract`] says how each becomes documents).
//!   The index is built once and cached ([`index`]); building it is the measured phase
//!   `index_build`, and a cache hit is recorded as such;
//! - a search service behind a URL template ([`service`]): the local share of a request.
//!
//! Queries come from `--query` or a file, cycled. One search is far shorter than an
//! energy counter's update period, so each repetition runs a batch calibrated to 10
//! update periods of the slowest sensor ([`crate::workload::batch`]).
//!
//! - [`corpus`]: locating and fingerprinting a corpus; [`extract`]: files to documents;
//!   [`index`]: the cached index; [`engine`]: ranking; [`service`]: HTTP.

pub mod corpus;
pub mod engine;
pub mod extract;
pub mod index;
pub mod passages;
pub mod service;

use super::batch::BatchPolicy;
use super::{Calibration, Outcome, Resolution, RunContext, Workload, WorkloadError};
use crate::workload::fetch::{self, Artifact};
use anyhow::Context;
use corpus::CorpusSource;
use engine::Engine;
use extract::Document;
use hoeveel_record::capped::read_file_text_at_most;
use hoeveel_record::{Metrics, WorkloadInfo, WorkloadKind};
use index::IndexMeta;
use passages::{Passage, PassageStore};
use serde_json::json;
use service::Service;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Largest queries file read (as for a prompt file): far above any query set,
/// far below memory trouble.
pub const MAX_QUERIES_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What to search.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The built-in engine over a corpus folder, or over the default corpus when `None`.
    Engine { corpus: Option<PathBuf> },
    /// A search service; the URL template holds `{q}`.
    Service { url: String },
}

/// Where the queries came from, for the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    pub list: Vec<String>,
    /// `--query`, or the file they were read from.
    pub source: String,
}

impl Queries {
    pub fn given(list: Vec<String>) -> anyhow::Result<Queries> {
        let list: Vec<String> = list.into_iter().map(|q| q.trim().to_string()).collect();
        if list.is_empty() || list.iter().any(String::is_empty) {
            anyhow::bail!("a query is empty: give --query TEXT, e.g. --query \"waste collection\"");
        }
        Ok(Queries {
            list,
            source: "--query".to_string(),
        })
    }

    /// A shipped prompt set by name (`everyday`: its questions work as queries, so
    /// an AI search and a plain search ask the same), else a file of queries.
    pub fn from_set_or_file(path: &Path) -> anyhow::Result<Queries> {
        let shipped = crate::workload::llm::prompts::SHIPPED
            .iter()
            .find(|(name, _)| path.to_str() == Some(*name));
        match shipped {
            Some((name, _)) => {
                let set = crate::workload::llm::prompts::PromptSet::load(name)?;
                Ok(Queries {
                    list: set.all().to_vec(),
                    source: format!("{name} (shipped set)"),
                })
            }
            None => Self::from_file(path),
        }
    }

    /// One query per line; blank lines are skipped. Fails naming the file when it cannot
    /// be read or holds no query.
    pub fn from_file(path: &Path) -> anyhow::Result<Queries> {
        // Capped whatever the file is: a pipe or a device has no size to check.
        let text = read_file_text_at_most(path, MAX_QUERIES_FILE_BYTES)
            .with_context(|| format!("reading the queries file {}", path.display()))?;
        let list: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if list.is_empty() {
            anyhow::bail!(
                "the queries file {} holds no query (one per line)",
                path.display()
            );
        }
        Ok(Queries {
            list,
            source: path.display().to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub target: Target,
    pub queries: Queries,
    pub top_k: usize,
    pub batch: BatchPolicy,
    /// Where the default corpus and the indexes are cached.
    pub cache_root: PathBuf,
    /// Index only the corpus's first N documents (in its document order), to
    /// measure how a search's energy grows with the corpus; `None`: all.
    pub corpus_docs: Option<u64>,
}

// One value per run: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum IndexState {
    Ready {
        engine: Engine,
        meta: IndexMeta,
        cached: bool,
    },
    ToBuild {
        documents: Vec<Document>,
        /// The corpus's whole document count, when `documents` are its first N.
        subset_of: Option<u64>,
    },
    /// Only while `prepare` runs, or after it failed.
    Empty,
}

#[allow(clippy::large_enum_variant)]
enum Backend {
    Engine {
        source: CorpusSource,
        dir: PathBuf,
        state: IndexState,
        /// `--corpus-docs`.
        corpus_docs: Option<u64>,
    },
    Service(Service),
}

pub struct SearchWorkload {
    backend: Backend,
    queries: Queries,
    top_k: usize,
    policy: BatchPolicy,
    requests_per_repetition: u64,
    next_query: usize,
}

/// What a retrieval found.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    /// Which query of the cycle was asked.
    pub query_index: usize,
    pub query: String,
    /// Hits returned (the plain search's `--top-k`).
    pub results: u64,
    /// The first hits, with their text.
    pub passages: Vec<Passage>,
}

/// The first `n` documents of `source` (all when `None`), with the whole count
/// when they are a subset. Refuses `n` above the corpus's size, naming it.
fn first_documents(
    source: &CorpusSource,
    n: Option<u64>,
) -> anyhow::Result<(Vec<Document>, Option<u64>)> {
    let mut documents = source.load()?;
    let Some(n) = n else {
        return Ok((documents, None));
    };
    let full = documents.len() as u64;
    if n == 0 || n > full {
        anyhow::bail!(
            "--corpus-docs {n}: corpus {} holds {full} documents; give 1 to {full}",
            source.name
        );
    }
    documents.truncate(n as usize);
    Ok((documents, Some(full)))
}

/// What one request gave.
struct Answer {
    results: u64,
    response_bytes: u64,
    top_title: Option<String>,
}

impl SearchWorkload {
    /// Locates the corpus (fetching the default one if needed) and looks for its cached
    /// index; reads the documents only when the index must be built.
    pub fn new(options: SearchOptions) -> anyhow::Result<SearchWorkload> {
        if options.top_k == 0 {
            anyhow::bail!("--top-k must be at least 1");
        }
        options.batch.validate()?;
        let backend = match &options.target {
            Target::Service { url } => Backend::Service(Service::new(url)?),
            Target::Engine { corpus } => {
                let source = match corpus {
                    Some(dir) => {
                        let source = CorpusSource::folder(dir)?;
                        for note in &source.skipped {
                            eprintln!("hoeveel-agent: corpus: {note}");
                        }
                        source
                    }
                    None => {
                        let fetched = fetch::fetch_into(
                            Artifact::WikiVital,
                            &options.cache_root,
                            &mut |note| eprintln!("hoeveel-agent: {note}"),
                        )
                        .context("fetching the default corpus")?;
                        CorpusSource::wiki_vital_at(fetched.path)?
                    }
                };
                let corpus_docs = options.corpus_docs;
                let dir = index::entry_dir(&options.cache_root, &source, corpus_docs);
                let state = match index::open_cached(&dir, &source)? {
                    Some((index, meta)) => IndexState::Ready {
                        engine: Engine::new(&index)?,
                        meta,
                        cached: true,
                    },
                    None => {
                        let (documents, subset_of) = first_documents(&source, corpus_docs)?;
                        IndexState::ToBuild {
                            documents,
                            subset_of,
                        }
                    }
                };
                Backend::Engine {
                    source,
                    dir,
                    state,
                    corpus_docs,
                }
            }
        };
        Ok(SearchWorkload {
            backend,
            requests_per_repetition: match options.batch {
                BatchPolicy::Fixed(n) => n,
                BatchPolicy::Auto { .. } => 1,
            },
            queries: options.queries,
            top_k: options.top_k,
            policy: options.batch,
            next_query: 0,
        })
    }

    /// Whether `prepare` will build the index (false: cached, or a service).
    pub fn builds_index(&self) -> bool {
        matches!(
            self.backend,
            Backend::Engine {
                state: IndexState::ToBuild { .. },
                ..
            }
        )
    }

    /// The next query of the cycle, with its index in the list.
    fn next_query(&mut self) -> (usize, String) {
        let index = self.next_query % self.queries.list.len();
        self.next_query = self.next_query.wrapping_add(1);
        (index, self.queries.list[index].clone())
    }

    /// The passages an answer is written from, read from the corpus (the index
    /// stores titles only, as a results page shows them).
    pub fn passage_store(&self) -> anyhow::Result<PassageStore> {
        match &self.backend {
            Backend::Engine {
                source,
                corpus_docs,
                ..
            } => {
                let (documents, _) = first_documents(source, *corpus_docs)?;
                Ok(PassageStore::new(documents))
            }
            Backend::Service(service) => anyhow::bail!(
                "a search service ({}) returns no passages to answer from; use the built-in engine",
                service.template()
            ),
        }
    }

    /// The next query of the cycle, searched as a plain search does (the top
    /// `--top-k` hits), with the text of the first `passages` hits from `store`.
    pub fn retrieve(
        &mut self,
        passages: usize,
        store: &PassageStore,
    ) -> Result<Retrieved, WorkloadError> {
        let (query_index, query) = self.next_query();
        let Backend::Engine {
            state: IndexState::Ready { engine, .. },
            ..
        } = &self.backend
        else {
            return Err(WorkloadError::Fatal(anyhow::anyhow!(
                "the search index is not ready (prepare failed or did not run)"
            )));
        };
        let hits = engine.search(&query, self.top_k)?;
        let passages = hits
            .iter()
            .take(passages)
            .filter_map(|h| store.passage(&h.title))
            .collect();
        Ok(Retrieved {
            query_index,
            query,
            results: hits.len() as u64,
            passages,
        })
    }

    /// How many queries the cycle holds.
    pub fn query_count(&self) -> usize {
        self.queries.list.len()
    }

    /// Runs one query, the next in the cycle.
    fn request(&mut self) -> Result<Answer, WorkloadError> {
        let (_, query) = self.next_query();
        let query = &query;
        match &self.backend {
            Backend::Engine {
                state: IndexState::Ready { engine, .. },
                ..
            } => {
                let hits = engine.search(query, self.top_k)?;
                Ok(Answer {
                    results: hits.len() as u64,
                    response_bytes: 0,
                    top_title: hits.into_iter().next().map(|h| h.title),
                })
            }
            Backend::Engine { .. } => Err(WorkloadError::Fatal(anyhow::anyhow!(
                "the search index is not ready (prepare failed or did not run)"
            ))),
            Backend::Service(service) => {
                let bytes = service.request(query).map_err(|e| WorkloadError::Failed {
                    message: e.to_string(),
                    exit_code: None,
                })?;
                Ok(Answer {
                    results: 0,
                    response_bytes: bytes,
                    top_title: None,
                })
            }
        }
    }

    fn label(&self) -> String {
        let what = match self.queries.list.as_slice() {
            [one] => format!("\"{one}\""),
            many => format!("{} queries from {}", many.len(), self.queries.source),
        };
        match &self.backend {
            Backend::Engine { source, .. } => {
                format!("search {what} in {} (top {})", source.name, self.top_k)
            }
            Backend::Service(service) => format!("search {what} via {}", service.template()),
        }
    }

    fn details(&self) -> serde_json::Value {
        const SHOWN_QUERIES: usize = 50;
        let queries = json!({
            "source": self.queries.source,
            "count": self.queries.list.len(),
            "list": self.queries.list.iter().take(SHOWN_QUERIES).collect::<Vec<_>>(),
            "cycled": true,
        });
        let batch = match self.policy {
            BatchPolicy::Auto {
                min_repetition_s: Some(s),
            } => {
                json!({"policy": "auto", "min_repetition_s": s, "target": "--min-repetition-time"})
            }
            BatchPolicy::Auto {
                min_repetition_s: None,
            } => json!({
                "policy": "auto",
                "min_repetition_s": null,
                "target": "10 update periods of the slowest sensor in the total",
            }),
            BatchPolicy::Fixed(n) => json!({"policy": "fixed", "requests_per_repetition": n}),
        };
        match &self.backend {
            Backend::Service(service) => json!({
                "target": "service",
                "url_template": service.template(),
                "scope": "the local share of a request (this machine's client side); the service's own energy is not measured unless it runs here",
                "timeout_s": service::REQUEST_TIMEOUT.as_secs_f64(),
                "queries": queries,
                "batch": batch,
            }),
            Backend::Engine {
                source, dir, state, ..
            } => {
                let subset_of = match state {
                    IndexState::Ready { meta, .. } => meta.subset_of,
                    IndexState::ToBuild { subset_of, .. } => *subset_of,
                    IndexState::Empty => None,
                };
                let (documents, index) = match state {
                    IndexState::Ready { meta, cached, .. } => (
                        Some(meta.documents),
                        json!({
                            "path": dir.display().to_string(),
                            "state": if *cached { "cached" } else { "built" },
                            "build_duration_s": meta.build_duration_s,
                            "built_at": meta.built_at,
                        }),
                    ),
                    IndexState::ToBuild { documents, .. } => (
                        Some(documents.len() as u64),
                        json!({
                            "path": dir.display().to_string(),
                            "state": "built in this run (measured phase index_build)",
                        }),
                    ),
                    IndexState::Empty => (None, json!({"path": dir.display().to_string()})),
                };
                let mut index = index;
                index["schema_version"] = json!(index::SCHEMA_VERSION);
                let mut details = json!({
                    "target": "engine",
                    "engine": format!(
                        "{} (BM25, {} tokenizer, title boost {})",
                        tantivy::version_string(),
                        index::TOKENIZER,
                        engine::TITLE_BOOST
                    ),
                    "corpus": {
                        "name": source.name,
                        "files": source.files.len(),
                        "path": source.files.first().map(|f| f.path.display().to_string()),
                        "documents": documents,
                        "bytes": source.size_bytes(),
                        "fingerprint_sha256": source.fingerprint,
                        "skipped": source.skipped,
                        "licence": source.licence,
                    },
                    "index": index,
                    "queries": queries,
                    "top_k": self.top_k,
                    "batch": batch,
                });
                // Only a subset says so: a whole-corpus record stays as it was.
                if let Some(full) = subset_of {
                    details["corpus"]["subset_of"] = json!(full);
                    details["corpus"]["subset"] = json!(
                        "the corpus's first documents, in its document order (--corpus-docs)"
                    );
                }
                details
            }
        }
    }
}

impl Workload for SearchWorkload {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: WorkloadKind::Search,
            label: self.label(),
            batching: Some(self.policy.describe()),
            details: self.details(),
        }
    }

    fn prepare_phase(&self) -> Option<&'static str> {
        self.builds_index().then_some("index_build")
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        if let Backend::Engine {
            source, dir, state, ..
        } = &mut self.backend
            && matches!(state, IndexState::ToBuild { .. })
            && let IndexState::ToBuild {
                documents,
                subset_of,
            } = std::mem::replace(state, IndexState::Empty)
        {
            let (index, meta) = index::build(dir, source, &documents, subset_of)
                .with_context(|| format!("building the search index in {}", dir.display()))?;
            *state = IndexState::Ready {
                engine: Engine::new(&index)?,
                meta,
                cached: false,
            };
        }
        Ok(())
    }

    fn calibrate(
        &mut self,
        target: &Resolution,
        interrupted: &std::sync::atomic::AtomicBool,
    ) -> anyhow::Result<Option<Calibration>> {
        let policy = self.policy;
        let cycle = self.queries.list.len() as u64;
        let calibration = policy
            .calibrate(target, cycle, || {
                // A signal stops calibration between requests, as it stops a run.
                if interrupted.load(Ordering::SeqCst) {
                    return Err(WorkloadError::Interrupted);
                }
                self.request().map(|_| ())
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("timing requests to choose the batch size")?;
        self.requests_per_repetition = calibration.requests_per_repetition;
        // Every run starts its query cycle at the first query.
        self.next_query = 0;
        Ok(Some(calibration))
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let mut results = 0u64;
        let mut response_bytes = 0u64;
        let mut top_title = None;
        for done in 0..self.requests_per_repetition {
            if ctx.interrupted.load(Ordering::Relaxed) {
                return Err(WorkloadError::Interrupted);
            }
            let answer = self.request().map_err(|e| match e {
                WorkloadError::Failed { message, exit_code } => WorkloadError::Failed {
                    message: format!(
                        "{message} (request {} of {} in this repetition)",
                        done + 1,
                        self.requests_per_repetition
                    ),
                    exit_code,
                },
                other => other,
            })?;
            results += answer.results;
            response_bytes += answer.response_bytes;
            top_title = answer.top_title;
        }
        let is_service = matches!(self.backend, Backend::Service(_));
        Ok(Outcome {
            requests: self.requests_per_repetition,
            metrics: Metrics {
                results: (!is_service).then_some(results),
                response_bytes: is_service.then_some(response_bytes),
                output_text: top_title,
                ..Metrics::default()
            },
            exit_code: None,
            steady: None,
            parts: None,
        })
    }
}
