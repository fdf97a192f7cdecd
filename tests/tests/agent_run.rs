//! `hoeveel-agent run` and `hoeveel report` driven as a user would, on this machine.

use hoeveel_record::{Event, RunStatus};
use std::path::Path;
use std::process::{Command, Output};

fn agent() -> std::path::PathBuf {
    hoeveel_e2e::bin("hoeveel-agent")
}

fn hoeveel() -> std::path::PathBuf {
    hoeveel_e2e::bin("hoeveel")
}

/// Splits a command line on spaces; arguments that contain spaces are passed separately.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn run(bin: std::path::PathBuf, args: &[&str], dir: &Path) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every event line parses as an event and serialises back to the same JSON: a
/// field the types do not know would be lost on the way and fail this. Sample
/// lines (bare arrays since schema 2.0) must hold the time and one value per domain.
fn assert_lines_roundtrip(path: &Path) -> Vec<Event> {
    let body = std::fs::read_to_string(path).expect("record exists");
    assert!(
        body.ends_with('\n'),
        "every event is flushed as a whole line"
    );
    let domains = body
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["data"]["domains"].as_array().map(Vec::len))
        .expect("run_start names its domains");
    body.lines()
        .filter(|line| {
            if !line.starts_with('[') {
                return true;
            }
            let sample: Vec<Option<f64>> = serde_json::from_str(line).expect("a compact sample");
            assert_eq!(sample.len(), 1 + domains, "{line}");
            assert!(sample[0].is_some_and(|t| t > 0.0), "{line}");
            false
        })
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let event: Event = serde_json::from_str(line).expect("known event");
            let back = serde_json::to_value(&event).expect("serialise");
            assert_eq!(value, back, "event changed on a round trip: {line}");
            event
        })
        .collect()
}

/// The lines of the summary that carry numbers, which both binaries must print alike.
fn figure_lines(summary: &str) -> Vec<String> {
    summary
        .lines()
        .filter(|l| {
            [
                "Energy, gross:",
                "Energy, net:",
                "Duration:",
                "Mean power:",
                "Idle baseline:",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn sleep_run_writes_a_modelled_record_that_report_reads_back_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        agent(),
        &words("run --runs 3 --warmup 1 --baseline 1 --no-progress --output r.jsonl -- sleep 0.2"),
        dir.path(),
    );
    let stdout = text(&out.stdout);
    // `sleep` draws what the idle baseline draws: its net energy may be
    // unresolved, which is exit 3 (degraded), said in the summary.
    let code = out.status.code();
    assert!(
        code == Some(0) || (code == Some(3) && stdout.contains("Energy, net:    not resolved")),
        "agent failed ({code:?}): {}\n{}",
        stdout,
        text(&out.stderr)
    );
    assert!(
        stdout.contains("[modelled]"),
        "summary must say modelled:\n{stdout}"
    );
    assert!(stdout.contains("MODELLED"), "{stdout}");

    let events = assert_lines_roundtrip(&dir.path().join("r.jsonl"));
    assert!(matches!(events.first(), Some(Event::RunStart(_))));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Baseline(_)))
            .count(),
        1
    );
    let measured: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Repetition(r) if !r.warmup => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(measured.len(), 3);
    for r in &measured {
        assert!(r.duration_s >= 0.2, "sleep 0.2 took {} s", r.duration_s);
        assert!(r.total_energy_j > 0.0);
        assert!(r.net_energy_j.is_some());
        assert_eq!(r.exit_code, Some(0));
    }
    match events.last() {
        Some(Event::RunEnd(end)) => {
            assert_eq!(end.status, RunStatus::Ok);
            assert_eq!(end.repetitions, 3);
            assert!(end.agent_cpu_s > 0.0);
        }
        other => panic!("last event is not run_end: {other:?}"),
    }

    let report = run(hoeveel(), &["report", "r.jsonl"], dir.path());
    let report_out = text(&report.stdout);
    assert!(
        report.status.success(),
        "report failed: {}",
        text(&report.stderr)
    );
    let agent_figures = figure_lines(&stdout);
    assert_eq!(agent_figures.len(), 5, "{stdout}");
    assert_eq!(
        agent_figures,
        figure_lines(&report_out),
        "report:\n{report_out}"
    );
    assert!(report_out.contains("modelled"));
}

#[test]
fn unknown_command_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        agent(),
        &words("run --runs 1 --output r.jsonl -- no-such-command-hoeveel"),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown command `no-such-command-hoeveel`"));
    assert!(!dir.path().join("r.jsonl").exists());
}

#[test]
fn unwritable_output_fails_before_measuring() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("file"), "x").expect("write");
    // A path under a regular file cannot be created, even as root.
    let out = run(
        agent(),
        &words("run --runs 1 --baseline 5 --output file/r.jsonl -- true"),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot create the record file file/r.jsonl"),
        "{err}"
    );
    assert!(!err.contains("baseline"), "nothing was measured");
}

#[test]
fn failing_command_is_recorded_as_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        agent(),
        &[
            words("run --runs 3 --warmup 0 --baseline 0 --no-progress --output r.jsonl -- sh -c"),
            vec!["exit 3"],
        ]
        .concat(),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    let end = record.run_end.as_ref().expect("run_end");
    assert_eq!(end.status, RunStatus::Failed);
    assert_eq!(record.measured().count(), 1, "stops at the first failure");
    assert_eq!(record.repetitions[0].exit_code, Some(3));
    let printed = text(&out.stdout);
    assert!(
        printed.contains(
            "Why: `sh` exited with status 3 (its output was discarded; --show-output shows it)"
        ),
        "the summary says why the run failed: {printed}"
    );

    let out = run(
        agent(),
        &[words("run --runs 3 --warmup 0 --baseline 0 --no-progress --ignore-failure --output r2.jsonl -- sh -c"), vec!["exit 3"]].concat(),
        dir.path(),
    );
    let record = hoeveel_record::read_record(&dir.path().join("r2.jsonl")).expect("record");
    assert_eq!(record.measured().count(), 3, "--ignore-failure keeps going");
    assert!(text(&out.stdout).contains("3 failed"));
}

#[test]
fn sensors_explains_what_is_missing_here() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty_sys = dir.path().join("sys");
    std::fs::create_dir(&empty_sys).expect("mkdir");
    let out = run(
        agent(),
        &[
            "sensors",
            "--sysfs-root",
            empty_sys.to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for line in ["rapl-perf", "rapl-powercap", "nvml"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(line) && l.contains("not available")),
            "{line} should be unavailable under an empty sysfs:\n{stdout}"
        );
    }
    assert!(stdout.contains("MODELLED"), "{stdout}");
}

#[test]
fn an_existing_record_is_never_overwritten_and_a_second_agent_on_it_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.jsonl"), "keep\n").expect("write");
    let out = run(
        agent(),
        &words("run --runs 1 --baseline 0 --output old.jsonl -- true"),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("old.jsonl already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("old.jsonl")).expect("read"),
        "keep\n"
    );
    // Two agents given one --output: the first measures, the second is refused
    // at once instead of interleaving its lines with the first one's.
    let first = std::process::Command::new(agent())
        .args(words(
            "run --runs 2 --warmup 0 --baseline 0 --no-progress --output r.jsonl -- sleep 0.5",
        ))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("first agent starts");
    let record = dir.path().join("r.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !record.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first agent made no record"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let second = run(
        agent(),
        &words("run --runs 2 --warmup 0 --baseline 0 --no-progress --output r.jsonl -- true"),
        dir.path(),
    );
    assert_eq!(second.status.code(), Some(2), "{}", text(&second.stderr));
    let first = first.wait_with_output().expect("first agent ends");
    assert!(first.status.success());
    let r = hoeveel_record::read_record(&record).expect("the first agent's record reads whole");
    assert_eq!(
        r.measured_ok().count(),
        2,
        "both repetitions of the first agent"
    );
}
