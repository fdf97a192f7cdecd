//! `hoeveel compare A B`

use super::{BasisArgs, Global};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The numerator (e.g. an LLM record).
    pub a: PathBuf,
    /// The denominator (e.g. a search record).
    pub b: PathBuf,
    #[command(flatten)]
    pub basis: BasisArgs,
}

pub fn run(g: &Global, a: Args) -> anyhow::Result<ExitCode> {
    let profiles = g.profiles()?;
    let (ra, rb) = (super::read(&a.a)?, super::read(&a.b)?);
    let doc = crate::report::compare(&profiles, &ra, &rb, a.basis.basis())?;
    super::emit(g, &doc)
}
