//! `hoeveel-agent search`: measures a plain search per request, with the built-in
//! engine over a corpus or against a search service URL; with `--answer`, an AI
//! search (the same retrieval, then an LLM answer from the top passages).

use crate::cli::common::{self, MeasureArgs};
use crate::cli::llm::backend::{self, GenerationArgs};
use crate::workload::ai_search::{self, AiSearch};
use crate::workload::batch::BatchPolicy;
use crate::workload::fetch;
use crate::workload::llm::prompts::PromptSet;
use crate::workload::search::passages::PassageStore;
use crate::workload::search::{Queries, SearchOptions, SearchWorkload, Target};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
// The LLM's options mean something only for an answer.
#[command(mut_group("GenerationArgs", |g| g.requires("answer")))]
pub struct Args {
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// A query; repeat for several (they are cycled).
    #[arg(
        short = 'q',
        long = "query",
        value_name = "TEXT",
        required_unless_present = "queries_file"
    )]
    pub query: Vec<String>,
    /// A file of queries, one per line (cycled), or a shipped question set
    /// (`everyday`, as `llm --prompts` takes it).
    #[arg(long = "queries", value_name = "SET|FILE", conflicts_with = "query")]
    pub queries_file: Option<PathBuf>,
    /// A folder of .txt, .md, .html and .json files to search (default: English Wikipedia
    /// summaries of the vital articles, fetched into the cache on first use).
    #[arg(long, value_name = "DIR", conflicts_with = "url")]
    pub corpus: Option<PathBuf>,
    /// Measure requests to a search service instead; `{q}` is replaced by the URL-encoded
    /// query, e.g. "http://127.0.0.1:8080/search?q={q}".
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Results returned per query.
    #[arg(short = 'k', long, value_name = "N", default_value_t = 10, value_parser = parse_top_k)]
    pub top_k: usize,
    /// Each repetition runs a batch of queries lasting at least this long, e.g. 200ms or 1s
    /// (default: 10 update periods of the slowest sensor in the total, the shortest
    /// window it resolves).
    #[arg(long, value_name = "DURATION", value_parser = common::parse_duration_s)]
    pub min_repetition_time: Option<f64>,
    /// Run exactly N queries per repetition instead of calibrating the batch.
    #[arg(long, value_name = "N", conflicts_with = "min_repetition_time")]
    pub batch: Option<u64>,
    /// Index only the corpus's first N documents (in its document order), to measure
    /// search energy against corpus size; each N has its own cached index.
    #[arg(long, value_name = "N", conflicts_with = "url", value_parser = clap::value_parser!(u64).range(1..))]
    pub corpus_docs: Option<u64>,

    /// Measure an AI search instead: the same retrieval, then an LLM writes an answer
    /// from the top --passages results, as one request; the record splits each
    /// repetition into its retrieval and generation parts. One request per repetition.
    #[arg(long, conflicts_with_all = ["url", "batch", "min_repetition_time"], help_heading = "AI search")]
    pub answer: bool,
    /// Passages the answer is written from (the top results, each cut to 600 characters).
    #[arg(long, value_name = "K", default_value_t = ai_search::DEFAULT_PASSAGES, requires = "answer", help_heading = "AI search")]
    pub passages: usize,
    /// The model that answers: in-process `smollm2-135m` (default), `gemma3-270m`, a
    /// .gguf file or `ollama:NAME[:TAG]`; with --endpoint, the server's model name.
    #[arg(
        short = 'm',
        long,
        value_name = "MODEL",
        requires = "answer",
        help_heading = "AI search"
    )]
    pub model: Option<String>,
    #[command(flatten, next_help_heading = "AI search: the LLM (with --answer)")]
    pub generation: GenerationArgs,
}

impl Args {
    /// The workload's options, with the cache at `cache_root`.
    pub fn options(&self, cache_root: std::path::PathBuf) -> anyhow::Result<SearchOptions> {
        let queries = match &self.queries_file {
            Some(path) => Queries::from_set_or_file(path)?,
            None => Queries::given(self.query.clone())?,
        };
        let target = match &self.url {
            Some(url) => Target::Service { url: url.clone() },
            None => Target::Engine {
                corpus: self.corpus.clone(),
            },
        };
        let batch = match self.batch {
            Some(n) => BatchPolicy::Fixed(n),
            None => BatchPolicy::Auto {
                min_repetition_s: self.min_repetition_time,
            },
        };
        Ok(SearchOptions {
            target,
            queries,
            top_k: self.top_k,
            batch,
            cache_root,
            corpus_docs: self.corpus_docs,
        })
    }
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    args.generation.verbose = args.measure.sensor.verbose;
    // Check the measuring options before fetching or indexing anything.
    args.measure.loop_settings()?;
    // The queries file and a --corpus folder are read with the rights of the
    // user who ran sudo; a shipped query set, the shipped corpus and the index
    // cache are the agent's.
    let user_paths = crate::privilege::UserPaths::from_env()?;
    if let Some(path) = &args.queries_file
        && !is_shipped_set(path)
    {
        user_paths.check_readable(path)?;
    }
    if let Some(dir) = &args.corpus {
        user_paths.check_readable(dir)?;
    }
    // Checked as root, whose cache it is under sudo.
    let cache_root = fetch::checked_cache_dir()?;
    let options = user_paths.as_user(|| args.options(cache_root))??;
    let new_search = |options| match &args.corpus {
        Some(_) => user_paths.as_user(|| SearchWorkload::new(options))?,
        None => SearchWorkload::new(options),
    };
    if args.answer {
        // The passages are read from a --corpus folder as the user too: they
        // go into the prompts and the record.
        return answer(&args, options, |options| {
            let read = || -> anyhow::Result<_> {
                let search = SearchWorkload::new(options)?;
                let store = search.passage_store()?;
                Ok((search, store))
            };
            match &args.corpus {
                Some(_) => user_paths.as_user(read)?,
                None => read(),
            }
        });
    }
    let mut workload = new_search(options)?;
    common::measure(&args.measure, "search", &mut workload)
}

/// The most results a query may ask for: far above a results page, far below
/// what would make the collector's buffer a memory problem.
pub const MAX_TOP_K: usize = 10_000;

/// Parses `--top-k`: 1 to [`MAX_TOP_K`].
fn parse_top_k(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(k) if (1..=MAX_TOP_K).contains(&k) => Ok(k),
        _ => Err(format!("`{text}`: --top-k is 1 to {MAX_TOP_K} results")),
    }
}

/// Whether `--queries` names a shipped set rather than a file.
fn is_shipped_set(path: &std::path::Path) -> bool {
    crate::workload::llm::prompts::SHIPPED
        .iter()
        .any(|(name, _)| path.to_str() == Some(*name))
}

/// `--answer`: an AI search.
fn answer(
    args: &Args,
    mut options: SearchOptions,
    new_search: impl FnOnce(SearchOptions) -> anyhow::Result<(SearchWorkload, PassageStore)>,
) -> anyhow::Result<ExitCode> {
    if args.passages > args.top_k {
        anyhow::bail!(
            "--passages {} is more than the {} results a search returns (--top-k)",
            args.passages,
            args.top_k
        );
    }
    // One AI search per repetition: its generation lasts long enough to measure.
    options.batch = BatchPolicy::Fixed(1);
    let (search, store) = new_search(options)?;
    // The backend's own prompt set is never asked: each prompt is written from
    // the passages of its query.
    let llm = backend::build_as_user(
        &args.generation,
        args.model.as_deref(),
        backend::Request::single(PromptSet::single(ai_search::INSTRUCTION), &args.generation),
        crate::privilege::UserPaths::from_env()?,
    )?;
    let mut workload = AiSearch::new(search, store, llm, args.passages)?;
    common::measure(&args.measure, "ai-search", &mut workload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("search").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn queries_urls_and_batches_parse() {
        let args =
            parse(&["-q", "a", "--query", "b c", "--batch", "100", "-k", "3"]).expect("parse");
        let options = args
            .options(std::path::PathBuf::from("cache"))
            .expect("options");
        assert_eq!(options.queries.list, ["a", "b c"]);
        assert_eq!(options.batch, BatchPolicy::Fixed(100));
        assert_eq!(options.top_k, 3);
        assert_eq!(options.target, Target::Engine { corpus: None });

        let args = parse(&[
            "-q",
            "x",
            "--url",
            "http://127.0.0.1:9/s?q={q}",
            "--min-repetition-time",
            "1s",
        ])
        .expect("parse");
        let options = args
            .options(std::path::PathBuf::from("cache"))
            .expect("options");
        assert_eq!(
            options.batch,
            BatchPolicy::Auto {
                min_repetition_s: Some(1.0)
            }
        );
        assert!(matches!(options.target, Target::Service { .. }));

        // By default the batch aims at the sensors' calibration target.
        let options = parse(&["-q", "x"])
            .expect("parse")
            .options(std::path::PathBuf::from("cache"))
            .expect("options");
        assert_eq!(
            options.batch,
            BatchPolicy::Auto {
                min_repetition_s: None
            }
        );
    }

    #[test]
    fn contradictions_are_refused() {
        assert!(parse(&[]).is_err(), "a query is required");
        assert!(parse(&["-q", "x", "--url", "http://h/{q}", "--corpus", "d"]).is_err());
        assert!(parse(&["-q", "x", "--queries", "f.txt"]).is_err());
        assert!(parse(&["-q", "x", "--batch", "5", "--min-repetition-time", "1s"]).is_err());
        assert!(parse(&["--queries", "f.txt"]).is_ok());
    }

    #[test]
    fn answer_options_need_answer_and_fit_a_search() {
        let args = parse(&[
            "-q",
            "x",
            "--answer",
            "--max-tokens",
            "8",
            "--passages",
            "2",
        ])
        .expect("parse");
        assert!(args.answer);
        assert_eq!(args.passages, 2);
        assert_eq!(args.generation.max_tokens, 8);
        // The defaults do not count as given.
        let plain = parse(&["-q", "x"]).expect("parse");
        assert!(!plain.answer);
        assert_eq!(plain.passages, ai_search::DEFAULT_PASSAGES);
        // An LLM option without --answer is refused, not ignored.
        assert!(parse(&["-q", "x", "--max-tokens", "8"]).is_err());
        assert!(parse(&["-q", "x", "--passages", "2"]).is_err());
        assert!(parse(&["-q", "x", "--model", "gemma3-270m"]).is_err());
        // An answer is one request per repetition, from the built-in engine.
        assert!(parse(&["-q", "x", "--answer", "--batch", "5"]).is_err());
        assert!(parse(&["-q", "x", "--answer", "--url", "http://h/{q}"]).is_err());
        // Server options as llm has them.
        let server = parse(&[
            "-q",
            "x",
            "--answer",
            "--endpoint",
            "http://127.0.0.1:1/v1",
            "--api",
            "openai",
            "--model",
            "m",
            "--stream",
        ])
        .expect("parse");
        assert!(server.generation.stream);
        assert!(
            parse(&["-q", "x", "--answer", "--stream"]).is_err(),
            "needs --endpoint"
        );
    }

    #[test]
    fn corpus_docs_must_be_at_least_one_and_is_for_the_engine() {
        assert_eq!(
            parse(&["-q", "x", "--corpus-docs", "100"])
                .expect("parse")
                .options(std::path::PathBuf::from("cache"))
                .expect("options")
                .corpus_docs,
            Some(100)
        );
        assert!(parse(&["-q", "x", "--corpus-docs", "0"]).is_err());
        assert!(parse(&["-q", "x", "--corpus-docs", "5", "--url", "http://h/{q}"]).is_err());
    }

    #[test]
    fn the_shipped_question_set_works_as_queries() {
        let options = parse(&["--queries", "everyday"])
            .expect("parse")
            .options(std::path::PathBuf::from("cache"))
            .expect("options");
        assert_eq!(options.queries.list.len(), 20);
        assert_eq!(options.queries.source, "everyday (shipped set)");
    }
}
