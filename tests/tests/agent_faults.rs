//! Faults a careful user will meet, each tried for real: the agent killed with
//! SIGKILL, a second Ctrl-C, a read-only output folder, the wall clock jumping
//! during a run, and two agents measuring at once. The README's fault table
//! points here (and to the other tests that back its rows).

use hoeveel_record::RunStatus;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn agent() -> PathBuf {
    hoeveel_e2e::bin("hoeveel-agent")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `hoeveel-agent run` measuring `argv` `runs` times into `dir/r.jsonl`, looking
/// for other agents' lock in `lock_dir`.
fn run_command(dir: &Path, lock_dir: &Path, runs: &str, argv: &[&str]) -> Command {
    let mut command = Command::new(agent());
    command
        .args(["run", "--runs", runs, "--warmup", "0", "--baseline", "0"])
        .args(["--no-progress", "--output", "r.jsonl", "--"])
        .args(argv)
        .current_dir(dir)
        .env("TMPDIR", lock_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn start_run(dir: &Path, runs: &str, argv: &[&str]) -> Child {
    run_command(dir, dir, runs, argv)
        .spawn()
        .expect("agent starts")
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on a child we started.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
}

fn report(dir: &Path) -> Output {
    Command::new(hoeveel_e2e::bin("hoeveel"))
        .args(["report", "r.jsonl"])
        .current_dir(dir)
        .output()
        .expect("hoeveel starts")
}

#[test]
fn kill_9_mid_run_keeps_every_finished_repetition_and_the_report_says_the_run_was_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    let mut child = start_run(dir.path(), "1000", &["sleep", "0.1"]);
    hoeveel_e2e::wait_for_repetitions(&path, 2);
    signal(&child, libc::SIGKILL);
    let status = child.wait().expect("agent ends");
    assert_eq!(status.code(), None, "killed by a signal");
    let record = hoeveel_record::read_record(&path).expect("the record reads");
    assert!(record.run_end.is_none());
    assert!(
        record.measured_ok().count() >= 2,
        "finished repetitions are kept"
    );
    assert!(
        record.warnings.iter().any(|w| w.contains("run_end")),
        "{:?}",
        record.warnings
    );
    let out = report(dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("run_end"),
        "the report says the run was cut: {stdout}"
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once_when_the_workload_ignores_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    // The first repetition finishes; the second one ignores SIGINT and SIGTERM
    // (ignored signals stay ignored across exec) and would sleep for a minute.
    let mut child = start_run(
        dir.path(),
        "3",
        &[
            "sh",
            "-c",
            r#"if [ -e done ]; then trap "" INT TERM; exec sleep 60; fi; touch done"#,
        ],
    );
    hoeveel_e2e::wait_for_repetitions(&path, 1);
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the first Ctrl-C waits for the workload"
    );
    signal(&child, libc::SIGINT);
    let output = child.wait_with_output().expect("agent ends");
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "it did not wait for the workload"
    );
    assert_eq!(output.status.code(), Some(130));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("second signal: stopped at once"),
        "{stderr}"
    );
    let record = hoeveel_record::read_record(&path).expect("the record reads");
    assert!(
        record.measured_ok().count() >= 1,
        "the finished repetition is kept"
    );
    assert!(record.run_end.is_none(), "no run_end: the reader says so");
}

#[test]
fn a_read_only_output_folder_fails_before_anything_is_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root may write anywhere: as root, the agent runs as an unprivileged user.
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(agent());
        c
    } else {
        Command::new(agent())
    };
    let out = command
        .args([
            "run",
            "--runs",
            "2",
            "--baseline",
            "1",
            "--no-progress",
            "--output",
        ])
        .arg(ro.join("r.jsonl"))
        .args(["--", "true"])
        .current_dir(dir.path())
        .output()
        .expect("agent starts");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot create the record file"), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(!ro.join("r.jsonl").exists());
}

/// libfaketime's multi-threaded preload library, where the package put it.
fn libfaketime() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib")
        .ok()?
        .flatten()
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.is_file())
}

#[test]
fn a_wall_clock_jump_during_a_run_changes_no_duration() {
    let Some(lib) = libfaketime() else {
        let message = "libfaketime is not installed (Debian package faketime)";
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{message}");
        }
        eprintln!("\n*** SKIPPED: {message} ***\n");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("wall-clock");
    std::fs::write(&clock, "@2020-01-01 00:00:00\n").expect("write");
    let path = dir.path().join("r.jsonl");
    // The wall clock (CLOCK_REALTIME) is whatever the file says, re-read at each
    // call; the monotonic clock is left alone, as an NTP step leaves it.
    let mut child = Command::new(agent())
        .args([
            "run",
            "--runs",
            "6",
            "--warmup",
            "0",
            "--baseline",
            "0.3",
            "--no-progress",
            "--output",
            "r.jsonl",
            "--",
            "sleep",
            "0.2",
        ])
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("agent starts");
    hoeveel_e2e::wait_for_repetitions(&path, 2);
    std::fs::write(&clock, "@2035-06-01 00:00:00\n").expect("jump 15 years ahead");
    let status = child.wait().expect("agent ends");
    // `sleep`'s net energy may be unresolved (exit 3), not what this is about.
    assert!(matches!(status.code(), Some(0 | 3)), "{status:?}");
    let record = hoeveel_record::read_record(&path).expect("the record reads");
    assert!(
        record.run_start.started_at.starts_with("2020-01-01"),
        "{}",
        record.run_start.started_at
    );
    let end = record.run_end.as_ref().expect("run_end");
    assert!(
        end.ended_at.starts_with("2035-"),
        "the wall clock did jump: {}",
        end.ended_at
    );
    assert_eq!(end.status, RunStatus::Ok);
    // Every duration comes from the monotonic clock: a 0.2 s sleep stays 0.2 s.
    assert!(end.duration_s < 60.0, "{}", end.duration_s);
    for r in record.measured() {
        assert!((0.15..5.0).contains(&r.duration_s), "{}", r.duration_s);
    }
}

#[test]
fn two_agents_at_once_both_finish_and_the_second_is_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first_dir = dir.path().join("first");
    let second_dir = dir.path().join("second");
    std::fs::create_dir(&first_dir).expect("mkdir");
    std::fs::create_dir(&second_dir).expect("mkdir");
    // Both look for the lock in the same temporary folder, as on one machine.
    let lock_dir = dir.path();
    // Nothing reads the first agent's output while it runs: not piped.
    let mut first = run_command(&first_dir, lock_dir, "1000", &["sleep", "0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("first agent starts");
    // The first agent is measuring.
    hoeveel_e2e::wait_for_repetitions(&first_dir.join("r.jsonl"), 1);
    let second = run_command(&second_dir, lock_dir, "2", &["true"])
        .output()
        .expect("second agent starts");
    signal(&first, libc::SIGTERM);
    let first_status = first.wait().expect("first agent ends");
    assert_eq!(first_status.code(), Some(143));
    let stderr = text(&second.stderr);
    let stdout = text(&second.stdout);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("another hoeveel-agent was measuring"),
        "{stderr}"
    );
    assert!(
        stdout.contains("another hoeveel-agent was measuring"),
        "in the summary's warnings: {stdout}"
    );
    let record = hoeveel_record::read_record(&second_dir.join("r.jsonl")).expect("record");
    assert!(
        record
            .notices
            .iter()
            .any(|n| n.message.contains("another hoeveel-agent"))
    );
    let first_record = hoeveel_record::read_record(&first_dir.join("r.jsonl")).expect("record");
    assert!(
        !first_record
            .notices
            .iter()
            .any(|n| n.message.contains("another hoeveel-agent")),
        "the first was alone when it started"
    );
}
