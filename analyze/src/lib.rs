//! hoeveel: reads records written by `hoeveel-agent` and turns them into answers.
pub mod cli;
