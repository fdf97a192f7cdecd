//! hoeveel-agent: measures the energy of a request on real hardware.
//!
//! Data flows one way:
//!
//! ```text
//! sensors --sample--> meter --interval energy--> run_loop --events--> record (JSONL)
//!                                                    ^
//!                                      workload (command | llm | search)
//! ```
//!
//! - [`sensors`]: one module per source (perf_event RAPL, powercap RAPL, NVML, the
//!   labelled power model). Sensors do I/O and return [`sensors::Reading`]s.
//! - [`meter`]: pure arithmetic that turns successive readings into energy,
//!   correcting and flagging counter wraps.
//! - [`run_loop`]: baseline, warm-ups and repetitions of a [`workload::Workload`],
//!   with a background sampler; writes the record as it goes.
//! - [`machine_checks`]: the machine's state that disturbs a measurement (governor,
//!   swap, throttling, battery, other processes' CPU use), recorded in `run_start`.
//! - [`cli`]: one module per subcommand; `main.rs` only wires them.

pub mod cli;
pub mod host;
pub mod machine_checks;
pub mod meter;
pub mod run_loop;
pub mod sensors;
pub mod workload;
