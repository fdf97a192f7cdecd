//! hoeveel-agent: measures the energy of a request on real hardware.
//!
//! Data flows one way:
//!
//! ```text
//! hoeveel-measure: sensors --readings--> meter --running totals--> sampler
//!                                                                     |
//!                                                       window marks  v
//! hoeveel-agent:   workload (command | llm | search) --> run_loop --events--> record (JSONL)
//! ```
//!
//! - The measuring core (sensors, discovery, meter, sampler, windows, baseline,
//!   machine checks) is the crate `hoeveel-measure`; it is re-exported here under
//!   its own module names.
//! - [`run_loop`]: baseline, warm-ups and repetitions of a [`workload::Workload`],
//!   with a background sampler; writes the record as it goes.
//! - [`workload`]: what is measured (a command, an LLM request, a search) and the
//!   fetcher of the shipped model and corpus.
//! - [`exporter`]: `serve`, the Prometheus exporter on the same sensors.
//! - [`cli`]: one module per subcommand; `main.rs` only wires them.

pub mod cli;
pub mod exporter;
pub mod privilege;
pub mod run_loop;
pub mod workload;

pub use hoeveel_measure::{host, machine_checks, meter, sampler, sensors};
