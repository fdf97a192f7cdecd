//! `hoeveel-agent run --batch`: a command too short for the sensors, run N times
//! per repetition and divided, as hyperfine does.

use hoeveel_record::{Event, RunStatus};
use std::path::Path;
use std::process::Command;

fn measure(args: &[&str], dir: &Path) -> Vec<Event> {
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary starts");
    assert!(
        out.status.success(),
        "agent failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let body = std::fs::read_to_string(dir.join("r.jsonl")).expect("record exists");
    body.lines()
        .filter(|line| !line.starts_with('[')) // the time series
        .map(|line| serde_json::from_str(line).expect("known event"))
        .collect()
}

fn requests(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Repetition(r) => Some(r.requests),
            _ => None,
        })
        .collect()
}

fn batching(events: &[Event]) -> Option<String> {
    match events.first() {
        Some(Event::RunStart(start)) => start.workload.batching.clone(),
        other => panic!("first event is not run_start: {other:?}"),
    }
}

fn status(events: &[Event]) -> RunStatus {
    match events.last() {
        Some(Event::RunEnd(end)) => end.status,
        other => panic!("last event is not run_end: {other:?}"),
    }
}

const MODEL: &str =
    "run --runs 2 --warmup 0 --baseline 0 --no-progress --sensors model --output r.jsonl";

#[test]
fn a_fixed_batch_runs_the_command_n_times_per_repetition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<&str> = MODEL.split_whitespace().collect();
    args.extend(["--batch", "3", "--", "true"]);
    let events = measure(&args, dir.path());
    assert_eq!(status(&events), RunStatus::Ok);
    assert_eq!(requests(&events), [3, 3]);
    let batching = batching(&events).expect("the record says it batched");
    assert!(batching.contains("3 requests per repetition"), "{batching}");
}

#[test]
fn without_batch_a_command_is_one_request_and_no_batching() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<&str> = MODEL.split_whitespace().collect();
    args.extend(["--", "true"]);
    let events = measure(&args, dir.path());
    assert_eq!(requests(&events), [1, 1]);
    assert_eq!(batching(&events), None);
}

#[test]
fn an_auto_batch_aims_at_ten_model_ticks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<&str> = MODEL.split_whitespace().collect();
    args.extend(["--batch", "auto", "--", "true"]);
    let events = measure(&args, dir.path());
    assert_eq!(status(&events), RunStatus::Ok);
    let requests = requests(&events);
    assert_eq!(requests.len(), 2);
    // `true` lasts about a millisecond, far below the model's 0.1 s.
    assert!(requests.iter().all(|&n| n > 1), "{requests:?}");
    let batching = batching(&events).expect("the record says it batched");
    assert!(
        batching.contains("10 update periods of the slowest sensor"),
        "{batching}"
    );
    let notice = events
        .iter()
        .find_map(|e| match e {
            Event::Notice(n) if n.message.starts_with("batched") => Some(n.message.clone()),
            _ => None,
        })
        .expect("a calibration notice");
    assert!(
        notice.contains(&format!("batched {} requests per repetition", requests[0])),
        "{notice}"
    );
    assert!(
        notice.contains("0.1 s = 10 update periods of the slowest sensor (model, 10 ms)"),
        "{notice}"
    );
}

#[test]
fn a_failure_in_a_batch_names_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mark = dir.path().join("ran");
    let script = format!("test -e '{0}' && exit 5; touch '{0}'", mark.display());
    let mut args: Vec<&str> = MODEL.split_whitespace().collect();
    args.extend(["--batch", "4", "--", "sh", "-c", &script]);
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(&args)
        .current_dir(dir.path())
        .output()
        .expect("binary starts");
    assert!(!out.status.success(), "a failed run fails the agent");
    let body = std::fs::read_to_string(dir.path().join("r.jsonl")).expect("record exists");
    assert!(
        body.contains("(run 2 of 4 in this repetition)"),
        "{body}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
