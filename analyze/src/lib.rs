//! hoeveel: reads records written by `hoeveel-agent` and turns them into answers:
//! per-request statistics with confidence intervals, CO2e per hosting site with
//! sourced profiles, and the four workshop cases.
//!
//! Modules: [`profiles`] (sourced data), [`measure`] (per-request values of a
//! record), [`stats`], [`cases`] (the four workshop cases), [`report`] (`report` and
//! `compare`), [`output`] (text, JSON, CSV, Markdown), [`html`], [`plot`] (SVG), [`cli`].

pub mod cases;
pub mod cli;
pub mod compare_many;
pub mod html;
pub mod output;
pub mod plot;
pub mod protocol;
pub mod raster;
pub mod report;
pub mod rungs;
pub mod stats;

/// The sourced profiles, loaded and checked (the crate `hoeveel-profiles`).
pub use hoeveel_profiles as profiles;
