//! `hoeveel-agent fetch`: downloads the shipped models and corpus into the cache,
//! verifying every checksum, so a later measurement does not download anything.

use crate::workload::fetch::{self, Artifact, Source};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to fetch (default: all of them).
    #[arg(value_enum, value_name = "ARTIFACT")]
    pub artifacts: Vec<Artifact>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let artifacts = if args.artifacts.is_empty() {
        Artifact::ALL.to_vec()
    } else {
        args.artifacts
    };
    let cache = fetch::checked_cache_dir()?;
    for artifact in artifacts {
        let fetched = fetch::fetch_into(artifact, &cache, &mut |note| {
            eprintln!("hoeveel-agent: {note}");
        })?;
        let how = match fetched.source {
            Source::Cached => "already cached",
            Source::Downloaded => "downloaded",
        };
        println!(
            "{artifact}: {how}, {} ({}), sha256 {} verified\n  licence: {}",
            fetched.path.display(),
            fetch::human_bytes(fetched.size_bytes),
            fetched.sha256,
            artifact.spec().licence
        );
    }
    Ok(ExitCode::SUCCESS)
}
