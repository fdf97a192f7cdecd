//! `hoeveel-agent search`: measures a plain search per request, with the built-in
//! engine over a corpus or against a search service URL.

use crate::cli::common::{self, MeasureArgs};
use crate::workload::batch::BatchPolicy;
use crate::workload::fetch;
use crate::workload::search::{Queries, SearchOptions, SearchWorkload, Target};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
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
    /// A file of queries, one per line (cycled).
    #[arg(long = "queries", value_name = "FILE", conflicts_with = "query")]
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
    #[arg(short = 'k', long, value_name = "N", default_value_t = 10)]
    pub top_k: usize,
    /// Each repetition runs a batch of queries lasting at least this long, e.g. 200ms or 1s
    /// (default: 10 update periods of the slowest sensor in the total, the shortest
    /// window it resolves).
    #[arg(long, value_name = "DURATION", value_parser = common::parse_duration_s)]
    pub min_repetition_time: Option<f64>,
    /// Run exactly N queries per repetition instead of calibrating the batch.
    #[arg(long, value_name = "N", conflicts_with = "min_repetition_time")]
    pub batch: Option<u64>,
}

impl Args {
    pub fn options(&self) -> anyhow::Result<SearchOptions> {
        let queries = match &self.queries_file {
            Some(path) => Queries::from_file(path)?,
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
            cache_root: fetch::cache_dir(),
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Check the measuring options before fetching or indexing anything.
    args.measure.loop_settings()?;
    // The queries file and a --corpus folder are read with the rights of the
    // user who ran sudo; the shipped corpus and the index cache are the agent's.
    let user_paths = crate::privilege::UserPaths::from_env()?;
    if let Some(path) = &args.queries_file {
        user_paths.check_readable(path)?;
    }
    let options = user_paths.as_user(|| args.options())??;
    let mut workload = match &args.corpus {
        Some(dir) => {
            user_paths.check_readable(dir)?;
            user_paths.as_user(|| SearchWorkload::new(options))??
        }
        None => SearchWorkload::new(options)?,
    };
    common::measure(&args.measure, "search", &mut workload)
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
        let options = args.options().expect("options");
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
        let options = args.options().expect("options");
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
            .options()
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
}
