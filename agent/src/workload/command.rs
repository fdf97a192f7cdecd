//! A command run once per repetition. Started through sudo, it runs as the
//! invoking user (SUDO_UID/SUDO_GID), never as root: only the agent needs the
//! privilege to read energy counters.

use super::{Outcome, RunContext, Workload, WorkloadError};
use crate::run_loop::CURRENT_CHILD;
use anyhow::Context;
use hoeveel_record::WorkloadInfo;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;

/// Who the command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Under sudo as root, the invoking user from SUDO_UID/SUDO_GID; else `None`
/// (the command runs as whoever runs the agent).
pub fn invoking_user(
    euid: u32,
    sudo_uid: Option<&str>,
    sudo_gid: Option<&str>,
) -> anyhow::Result<Option<RunAs>> {
    if euid != 0 {
        return Ok(None);
    }
    match (sudo_uid, sudo_gid) {
        (Some(u), Some(g)) => {
            let uid = u
                .parse()
                .with_context(|| format!("SUDO_UID `{u}` is not a user id"))?;
            let gid = g
                .parse()
                .with_context(|| format!("SUDO_GID `{g}` is not a group id"))?;
            Ok((uid != 0).then_some(RunAs { uid, gid }))
        }
        _ => Ok(None),
    }
}

pub struct CommandWorkload {
    argv: Vec<String>,
    run_as: Option<RunAs>,
    show_output: bool,
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
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let run_as = invoking_user(
            euid,
            std::env::var("SUDO_UID").ok().as_deref(),
            std::env::var("SUDO_GID").ok().as_deref(),
        )?;
        Ok(CommandWorkload {
            argv,
            run_as,
            show_output,
        })
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
            kind: "command".into(),
            label: self
                .argv
                .iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" "),
            batching: None,
            details: serde_json::json!({
                "argv": self.argv,
                "run_as_uid": self.run_as.map(|r| r.uid),
                "run_as_gid": self.run_as.map(|r| r.gid),
            }),
        }
    }

    fn run_once(&mut self, ctx: &RunContext<'_>) -> Result<Outcome, WorkloadError> {
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
            Some(0) => Ok(Outcome {
                requests: 1,
                exit_code: Some(0),
                ..Default::default()
            }),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn sudo_user_is_used_only_when_root() {
        assert_eq!(
            invoking_user(1000, Some("1000"), Some("1000")).expect("ok"),
            None
        );
        assert_eq!(
            invoking_user(0, Some("1000"), Some("100")).expect("ok"),
            Some(RunAs {
                uid: 1000,
                gid: 100
            })
        );
        assert_eq!(invoking_user(0, None, None).expect("ok"), None);
        assert_eq!(invoking_user(0, Some("0"), Some("0")).expect("ok"), None);
        assert!(invoking_user(0, Some("bob"), Some("1")).is_err());
    }

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
        let ctx = RunContext { interrupted: &flag };
        let mut ok = CommandWorkload::new(vec!["true".into()], false).expect("true exists");
        assert_eq!(ok.run_once(&ctx).expect("ok").exit_code, Some(0));
        let mut bad = CommandWorkload::new(vec!["sh".into(), "-c".into(), "exit 3".into()], false)
            .expect("sh");
        match bad.run_once(&ctx) {
            Err(WorkloadError::Failed { exit_code, .. }) => assert_eq!(exit_code, Some(3)),
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn label_quotes_what_needs_quoting() {
        let w = CommandWorkload::new(vec!["sh".into(), "-c".into(), "echo hi".into()], false)
            .expect("sh");
        assert_eq!(w.info().label, "sh -c 'echo hi'");
    }
}
