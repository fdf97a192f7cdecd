//! A command run once per repetition, or N times back to back with `--batch N`
//! (`--batch auto`: as many times as last 10 update periods of the slowest sensor,
//! [`super::batch`]), as hyperfine does for short commands; the repetition then
//! reports `requests: N` and the energy is divided by it. Started through sudo, it
//! runs as the invoking user (SUDO_UID/SUDO_GID), never as root: only the agent
//! needs the privilege to read energy counters.

use super::batch::BatchPolicy;
use super::{Calibration, Outcome, Resolution, RunContext, Workload, WorkloadError};
use crate::privilege::{self, RunAs};
use crate::run_loop::CURRENT_CHILD;
use anyhow::Context;
use hoeveel_record::{WorkloadInfo, WorkloadKind};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;

pub struct CommandWorkload {
    argv: Vec<String>,
    run_as: Option<RunAs>,
    show_output: bool,
    /// `Fixed(1)` (the default): one run per repetition, no batching.
    policy: BatchPolicy,
    /// Runs per repetition, once calibrated.
    runs_per_repetition: u64,
}

impl CommandWorkload {
    /// `argv[0]` must be found now, so that a typo fails before anything is measured.
    pub fn new(argv: Vec<String>, show_output: bool) -> anyhow::Result<CommandWorkload> {
        let Some(program) = argv.first() else {
            anyhow::bail!(
                "no command given: put it after `--`, e.g. `hoeveel-agent run -- sleep 0.2`"
            );
        };
        if !program.contains('/') && find_in_path(program).is_none() {
            anyhow::bail!("unknown command `{program}`: not found in PATH");
        }
        if program.contains('/') && !std::path::Path::new(program).exists() {
            anyhow::bail!("unknown command `{program}`: no such file");
        }
        let run_as = privilege::invoking_user_from_env()?;
        Ok(CommandWorkload {
            argv,
            run_as,
            show_output,
            policy: BatchPolicy::Fixed(1),
            runs_per_repetition: 1,
        })
    }

    /// Runs the command several times per repetition (`--batch`).
    pub fn batched(mut self, policy: BatchPolicy) -> anyhow::Result<CommandWorkload> {
        policy.validate()?;
        self.runs_per_repetition = match policy {
            BatchPolicy::Fixed(n) => n,
            BatchPolicy::Auto { .. } => 1,
        };
        self.policy = policy;
        Ok(self)
    }

    fn batching(&self) -> bool {
        self.policy != BatchPolicy::Fixed(1)
    }

    /// Runs the command once; its exit status decides.
    fn run_one(&self, ctx: &RunContext<'_>) -> Result<(), WorkloadError> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]).stdin(Stdio::null());
        if !self.show_output {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        if let Some(user) = self.run_as {
            // std drops supplementary groups (setgroups(0)) when root changes uid.
            cmd.uid(user.uid).gid(user.gid);
        }
        let mut child = cmd.spawn().map_err(|e| {
            WorkloadError::Fatal(anyhow::anyhow!("cannot start `{}`: {e}", self.argv[0]))
        })?;
        CURRENT_CHILD.store(child.id() as i32, Ordering::SeqCst);
        let status = child.wait();
        CURRENT_CHILD.store(0, Ordering::SeqCst);
        let status = status.map_err(|e| {
            WorkloadError::Fatal(anyhow::anyhow!("waiting for `{}`: {e}", self.argv[0]))
        })?;
        if ctx.interrupted.load(Ordering::SeqCst) {
            return Err(WorkloadError::Interrupted);
        }
        match status.code() {
            Some(0) => Ok(()),
            Some(code) => Err(WorkloadError::Failed {
                message: format!(
                    "`{}` exited with status {code}{}",
                    self.argv[0],
                    self.hidden_output_hint()
                ),
                exit_code: Some(code),
            }),
            None => {
                use std::os::unix::process::ExitStatusExt;
                Err(WorkloadError::Failed {
                    message: format!(
                        "`{}` was killed by signal {}{}",
                        self.argv[0],
                        status.signal().unwrap_or_default(),
                        self.hidden_output_hint()
                    ),
                    exit_code: None,
                })
            }
        }
    }

    /// Appended to a failure message when the command's output was discarded.
    fn hidden_output_hint(&self) -> &'static str {
        if self.show_output {
            ""
        } else {
            " (its output was discarded; --show-output shows it)"
        }
    }
}

fn find_in_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Quotes an argument for display when it needs it.
fn shell_word(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

impl Workload for CommandWorkload {
    fn info(&self) -> WorkloadInfo {
        WorkloadInfo {
            kind: WorkloadKind::Command,
            label: self
                .argv
                .iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" "),
            batching: self.batching().then(|| self.policy.describe()),
            details: serde_json::json!({
                "argv": self.argv,
                "run_as_uid": self.run_as.map(|r| r.uid),
                "run_as_gid": self.run_as.map(|r| r.gid),
            }),
        }
    }

    fn calibrate(
        &mut self,
        target: &Resolution,
        interrupted: &std::sync::atomic::AtomicBool,
    ) -> anyhow::Result<Option<Calibration>> {
        if !self.batching() {
            return Ok(None);
        }
        // A signal stops the command, and is seen before the next one starts.
        let ctx = RunContext::new(interrupted);
        let calibration = self
            .policy
            .calibrate(target, 1, || self.run_one(&ctx))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("timing the command to choose the batch size")?;
        self.runs_per_repetition = calibration.requests_per_repetition;
        Ok(Some(calibration))
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
        let n = self.runs_per_repetition;
        for run in 1..=n {
            // Ctrl-C between runs is seen before the next one starts.
            if ctx.interrupted.load(Ordering::SeqCst) {
                return Err(WorkloadError::Interrupted);
            }
            self.run_one(ctx).map_err(|e| match e {
                WorkloadError::Failed { message, exit_code } if n > 1 => WorkloadError::Failed {
                    message: format!("{message} (run {run} of {n} in this repetition)"),
                    exit_code,
                },
                other => other,
            })?;
        }
        Ok(Outcome {
            requests: n,
            exit_code: Some(0),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn unknown_command_fails_before_measuring() {
        let err = CommandWorkload::new(vec!["no-such-command-hoeveel".into()], false)
            .err()
            .expect("must fail");
        assert!(
            err.to_string()
                .contains("unknown command `no-such-command-hoeveel`")
        );
        assert!(CommandWorkload::new(vec![], false).is_err());
    }

    #[test]
    fn exit_codes_become_outcomes() {
        let flag = AtomicBool::new(false);
        let ctx = RunContext::new(&flag);
        let mut ok = CommandWorkload::new(vec!["true".into()], false).expect("true exists");
        assert_eq!(ok.run_once(&ctx).expect("ok").exit_code, Some(0));
        let mut bad = CommandWorkload::new(vec!["sh".into(), "-c".into(), "exit 3".into()], false)
            .expect("sh");
        match bad.run_once(&ctx) {
            Err(WorkloadError::Failed { exit_code, .. }) => assert_eq!(exit_code, Some(3)),
            other => panic!("expected failure, got {other:?}"),
        }
    }

    fn sh(script: &str) -> CommandWorkload {
        CommandWorkload::new(vec!["sh".into(), "-c".into(), script.into()], false).expect("sh")
    }

    #[test]
    fn a_batch_runs_the_command_n_times_and_counts_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("runs");
        let flag = AtomicBool::new(false);
        let ctx = RunContext::new(&flag);
        let mut w = sh(&format!("echo x >> '{}'", log.display()))
            .batched(BatchPolicy::Fixed(3))
            .expect("batch");
        assert!(w.info().batching.expect("batching").contains("3 requests"));
        assert_eq!(w.run_once(&ctx).expect("ok").requests, 3);
        let runs = std::fs::read_to_string(&log).expect("log");
        assert_eq!(runs.lines().count(), 3);
    }

    #[test]
    fn a_failed_run_fails_the_repetition_naming_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mark = dir.path().join("ran");
        let flag = AtomicBool::new(false);
        let ctx = RunContext::new(&flag);
        // The first run succeeds, the second fails.
        let mut w = sh(&format!(
            "test -e '{0}' && exit 4; touch '{0}'",
            mark.display()
        ))
        .batched(BatchPolicy::Fixed(3))
        .expect("batch");
        match w.run_once(&ctx) {
            Err(WorkloadError::Failed { message, exit_code }) => {
                assert_eq!(exit_code, Some(4));
                assert!(
                    message.contains("(run 2 of 3 in this repetition)"),
                    "{message}"
                );
            }
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn ctrl_c_between_runs_is_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("runs");
        let flag = AtomicBool::new(true);
        let ctx = RunContext::new(&flag);
        let mut w = sh(&format!("echo x >> '{}'", log.display()))
            .batched(BatchPolicy::Fixed(3))
            .expect("batch");
        assert!(matches!(w.run_once(&ctx), Err(WorkloadError::Interrupted)));
        assert!(!log.exists(), "no run starts after Ctrl-C");
    }

    #[test]
    fn auto_batches_a_short_command_to_the_target() {
        let mut w = CommandWorkload::new(vec!["true".into()], false)
            .expect("true")
            .batched(BatchPolicy::Auto {
                min_repetition_s: None,
            })
            .expect("batch");
        let target = Resolution {
            min_window_s: 0.1,
            slowest_sensor: Some(hoeveel_record::SensorKind::Model),
        };
        let c = w
            .calibrate(&target, &std::sync::atomic::AtomicBool::new(false))
            .expect("calibrate")
            .expect("a batch");
        // `true` starts and exits in about a millisecond.
        assert!(c.requests_per_repetition > 1, "{c:?}");
        assert!(
            c.note
                .contains("10 update periods of the slowest sensor (model, 10 ms)")
        );
        let flag = AtomicBool::new(false);
        let ctx = RunContext::new(&flag);
        assert_eq!(
            w.run_once(&ctx).expect("ok").requests,
            c.requests_per_repetition
        );
    }

    #[test]
    fn without_batch_the_record_is_unchanged() {
        let mut w = CommandWorkload::new(vec!["true".into()], false).expect("true");
        assert_eq!(w.info().batching, None);
        let target = Resolution {
            min_window_s: 0.1,
            slowest_sensor: Some(hoeveel_record::SensorKind::Model),
        };
        assert_eq!(
            w.calibrate(&target, &std::sync::atomic::AtomicBool::new(false))
                .expect("calibrate"),
            None
        );
        assert!(
            CommandWorkload::new(vec!["true".into()], false)
                .expect("true")
                .batched(BatchPolicy::Fixed(0))
                .is_err()
        );
    }

    #[test]
    fn label_quotes_what_needs_quoting() {
        let w = CommandWorkload::new(vec!["sh".into(), "-c".into(), "echo hi".into()], false)
            .expect("sh");
        assert_eq!(w.info().label, "sh -c 'echo hi'");
    }
}
