//! A workload whose one-off preparation opens a file the user named: the
//! in-process LLM, whose `prepare` hands `--model FILE` to llama.cpp, which
//! opens it again by path. The header check and the hash before it ran as the
//! user; without this the load would run as root, and a file swapped in
//! between (a link to a root-only file) would be parsed by llama.cpp, which
//! logs the first bytes of what it cannot read. Everything else is passed
//! through unchanged.

use super::UserPaths;
use crate::workload::llm::{Chat, Generation};
use crate::workload::{Calibration, Outcome, Resolution, RunContext, Workload, WorkloadError};
use hoeveel_record::{Probe, WorkloadInfo};

pub struct PreparedAsUser<W: ?Sized> {
    inner: Box<W>,
    paths: UserPaths,
}

impl<W: ?Sized> PreparedAsUser<W> {
    pub fn new(inner: Box<W>, paths: UserPaths) -> PreparedAsUser<W> {
        PreparedAsUser { inner, paths }
    }
}

/// An LLM asked by another workload (an AI search's answer) chats as it is.
impl<W: Chat + ?Sized> Chat for PreparedAsUser<W> {
    fn chat(&mut self, prompt: &str, ctx: &RunContext<'_>) -> Result<Generation, WorkloadError> {
        self.inner.chat(prompt, ctx)
    }
}

impl<W: Workload + ?Sized> Workload for PreparedAsUser<W> {
    fn info(&self) -> WorkloadInfo {
        self.inner.info()
    }

    fn prepare_phase(&self) -> Option<&'static str> {
        self.inner.prepare_phase()
    }

    fn prepare(&mut self) -> anyhow::Result<()> {
        let inner = &mut self.inner;
        self.paths.as_user(|| inner.prepare())?
    }

    fn calibrate(
        &mut self,
        target: &Resolution,
        interrupted: &std::sync::atomic::AtomicBool,
    ) -> anyhow::Result<Option<Calibration>> {
        self.inner.calibrate(target, interrupted)
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        self.inner.run_once(ctx)
    }

    fn probe(&self) -> Option<Probe> {
        self.inner.probe()
    }

    fn run_probe(&mut self, probe: Probe, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        self.inner.run_probe(probe, ctx)
    }
}
