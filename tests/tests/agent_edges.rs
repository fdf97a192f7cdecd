//! The edges where a number could mislead without a word, driven as a user would:
//! signals from a service manager, a window too short for the sensor, a
//! comparison on a basis one record cannot give, a disk that cannot take the record.

use hoeveel_record::{Event, RunStatus};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
fn agent() -> std::path::PathBuf {
    hoeveel_e2e::bin("hoeveel-agent")
}

fn hoeveel() -> std::path::PathBuf {
    hoeveel_e2e::bin("hoeveel")
}

fn run(bin: std::path::PathBuf, args: &[&str], dir: &Path) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ctrl_c_sigterm_and_sighup_end_a_run_as_interrupted_and_keep_what_was_measured() {
    for (signal, name, code) in [
        (libc::SIGINT, "SIGINT (Ctrl-C)", 130),
        (libc::SIGTERM, "SIGTERM", 143),
        (libc::SIGHUP, "SIGHUP", 129),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.jsonl");
        let mut child = Command::new(agent())
            .args([
                "run",
                "--runs",
                "1000",
                "--warmup",
                "0",
                "--baseline",
                "0",
                "--no-progress",
                "--output",
                "r.jsonl",
                "--",
                "sleep",
                "0.1",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("agent starts");
        hoeveel_e2e::wait_for_repetitions(&path, 2);
        // SAFETY: kill(2) on the child we started.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        let stdout = BufReader::new(child.stdout.take().expect("stdout"))
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n");
        let status = child.wait().expect("agent ends");
        assert_eq!(status.code(), Some(code), "{name}: {stdout}");
        assert!(stdout.contains("status interrupted"), "{name}: {stdout}");
        assert!(
            stdout.contains(&format!("interrupted by {name}")),
            "{name}: {stdout}"
        );
        let record = hoeveel_record::read_record(&path).expect("the record reads");
        let end = record.run_end.as_ref().expect("run_end was written");
        assert_eq!(end.status, RunStatus::Interrupted, "{name}");
        assert!(
            record.measured_ok().count() >= 2,
            "{name}: finished runs are kept"
        );
        assert!(
            record
                .measured()
                .all(|r| r.status != hoeveel_record::RepetitionStatus::Failed),
            "{name}: the interrupted repetition is not a failed one"
        );
    }
}

#[test]
fn a_window_shorter_than_ten_sensor_updates_is_flagged_and_batching_clears_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The model sensor updates every USER_HZ tick (10 ms): `true` takes about 1 ms.
    let out = run(
        agent(),
        &[
            "run",
            "--runs",
            "3",
            "--baseline",
            "0",
            "--sensors",
            "model",
            "--no-progress",
            "--output",
            "short.jsonl",
            "--",
            "true",
        ],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Warnings:"), "{stdout}");
    // `true` takes about a millisecond: only a machine loaded enough to stretch
    // a start past 100 ms would make fewer than all three short.
    assert!(stdout.contains("repetitions lasted less than"), "{stdout}");
    assert!(
        stdout.contains("--batch auto"),
        "the fix is named: {stdout}"
    );
    let record = hoeveel_record::read_record(&dir.path().join("short.jsonl")).expect("record");
    assert!(record.measured().any(|r| r.too_short.is_some()));
    let report = run(hoeveel(), &["report", "--wide", "short.jsonl"], dir.path());
    assert!(
        text(&report.stdout).contains("repetitions lasted less than"),
        "report shows the record's warning: {}",
        text(&report.stdout)
    );

    let out = run(
        agent(),
        &[
            "run",
            "--runs",
            "3",
            "--baseline",
            "0",
            "--sensors",
            "model",
            "--no-progress",
            "--batch",
            "12",
            "--output",
            "batched.jsonl",
            "--",
            "sleep",
            "0.01",
        ],
        dir.path(),
    );
    // 12 sleeps of 10 ms last at least 120 ms on any machine: above 10 ticks.
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains("lasted less than"), "{stdout}");
}

#[test]
fn net_on_a_record_without_baseline_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, baseline) in [("with.jsonl", "1"), ("without.jsonl", "0")] {
        let out = run(
            agent(),
            &[
                "run",
                "--runs",
                "2",
                "--warmup",
                "0",
                "--baseline",
                baseline,
                "--no-progress",
                "--output",
                name,
                "--",
                "sleep",
                "0.05",
            ],
            dir.path(),
        );
        // `sleep` draws what the baseline draws: a net energy may be left
        // unresolved (exit 3), which is not what this test is about.
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(
        hoeveel(),
        &["compare", "--net", "with.jsonl", "without.jsonl"],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("without.jsonl: net energy needs an idle baseline"),
        "{stderr}"
    );
    // Without --net, both sides go gross, and the output says why.
    let out = run(
        hoeveel(),
        &["compare", "--wide", "with.jsonl", "without.jsonl"],
        dir.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("gross for every record, since without.jsonl has no idle baseline"),
        "{stdout}"
    );
    assert!(!stdout.contains("energy net"), "{stdout}");
    let report = run(hoeveel(), &["report", "--net", "without.jsonl"], dir.path());
    assert!(!report.status.success());
    assert!(text(&report.stderr).contains("without.jsonl: net energy needs an idle baseline"));
}

#[test]
fn a_record_that_cannot_be_written_fails_once_before_measuring() {
    if !Path::new("/dev/full").exists() {
        return; // not a Linux machine with /dev/full; the run loop's unit test covers the rest
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        agent(),
        &[
            "run",
            "--runs",
            "2",
            "--baseline",
            "0",
            "--no-progress",
            "--output",
            "/dev/full",
            "--",
            "true",
        ],
        dir.path(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.matches("No space left on device").count(),
        1,
        "said once: {stderr}"
    );
}

#[test]
fn a_record_with_a_warning_notice_shows_it_in_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        agent(),
        &[
            "run",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--baseline",
            "1",
            "--no-progress",
            "--output",
            "r.jsonl",
            "--",
            "sleep",
            "0.05",
        ],
        dir.path(),
    );
    // `sleep`'s net energy may be unresolved (exit 3), not what this is about.
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{}",
        text(&out.stderr)
    );
    // Add a warning as the agent writes one when a sensor is lost mid-run.
    let path = dir.path().join("r.jsonl");
    let body = std::fs::read_to_string(&path).expect("record");
    let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
    let end = lines.pop().expect("run_end");
    let rep: Event = serde_json::from_str(
        lines
            .iter()
            .rev()
            .find(|l| l.contains(r#""type":"repetition""#))
            .expect("a repetition"),
    )
    .expect("event");
    let Event::Repetition(rep) = rep else {
        panic!("not a repetition")
    };
    lines.push(
        serde_json::to_string(&Event::Notice(hoeveel_record::Notice {
            t_s: rep.start_s + rep.duration_s / 2.0,
            level: hoeveel_record::NoticeLevel::Warning,
            sensor: Some(hoeveel_record::SensorKind::Nvml),
            message: "sensor lost (GPU is lost)".into(),
        }))
        .expect("json"),
    );
    lines.push(end);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let expect = format!(
        "during repetition {}): nvml: sensor lost (GPU is lost)",
        rep.index
    );
    // One line per row and per warning (`--wide`), so the match does not depend
    // on where a line wraps.
    for args in [
        vec!["report", "--wide", "r.jsonl"],
        vec!["report", "--json", "r.jsonl"],
        vec!["compare", "--wide", "r.jsonl", "r.jsonl"],
        vec!["sites", "--wide", "r.jsonl"],
        vec!["cases", "--wide", "r.jsonl"],
    ] {
        let out = run(hoeveel(), &args, dir.path());
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(stdout.contains(&expect), "{args:?}: {stdout}");
    }
    let out = run(
        hoeveel(),
        &["report", "--html", "r.html", "r.jsonl"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.path().join("r.html")).expect("html written");
    assert!(
        html.contains("nvml: sensor lost (GPU is lost)"),
        "the HTML report carries the warning"
    );
}

#[test]
fn numbers_out_of_range_are_refused_when_parsed_and_nothing_is_measured() {
    // Each used to panic inside the run (a Duration from 1e300 seconds, a
    // collector sized for u64::MAX results) and then hang or exit 0.
    let cases: [(&[&str], &str); 5] = [
        (&["run", "--baseline", "1e300", "--", "true"], "--baseline"),
        (&["run", "--baseline", "nan", "--", "true"], "--baseline"),
        (&["run", "--interval", "1e19s", "--", "true"], "too long"),
        (
            &["search", "--top-k", "18446744073709551615"],
            "--top-k is 1 to 10000",
        ),
        (&["serve", "--resolution", "1e300s"], "too long"),
    ];
    for (args, said) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run(agent(), args, dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !dir.path().join("runs").exists(),
            "{args:?}: nothing is recorded"
        );
    }
}

#[test]
fn a_fifo_nobody_writes_is_refused_at_once_as_a_record_and_as_an_output() {
    // `hoeveel report FIFO` and `--output FIFO` with no peer used to wait for
    // one forever.
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let fifo_arg = fifo.to_str().expect("utf-8");
    let (tx, rx) = std::sync::mpsc::channel();
    let (report_dir, agent_dir) = (dir.path().to_path_buf(), dir.path().to_path_buf());
    let fifo_report = fifo_arg.to_string();
    let fifo_output = fifo_arg.to_string();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let _ = tx.send((
            "report",
            run(hoeveel(), &["report", &fifo_report], &report_dir),
        ));
    });
    std::thread::spawn(move || {
        let args = [
            "run",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--no-progress",
            "--output",
            &fifo_output,
            "--",
            "true",
        ];
        let _ = tx2.send(("output", run(agent(), &args, &agent_dir)));
    });
    for _ in 0..2 {
        let (what, out) = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("both return instead of waiting for a peer");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(fifo_arg), "{what} names the FIFO: {stderr}");
    }
}

#[test]
fn one_sigterm_stops_a_request_to_a_server_that_never_answers_and_keeps_run_end() {
    // A server that accepts, reads the request and never answers: the agent
    // used to wait for the whole --timeout (600 s) before it saw SIGTERM, and
    // the SIGKILL that systemd or Docker send next lost the record's end.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let (got_request, request_seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = got_request.send(());
            held.push((stream, reader)); // open, silent
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let child = Command::new(agent())
        .args([
            "llm",
            "--endpoint",
            &url,
            "--api",
            "openai",
            "--model",
            "m",
            "--stream",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--sensors",
            "model",
            "--no-progress",
            "--output",
            "r.jsonl",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("agent starts");
    request_seen
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the agent sends its request");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = std::time::Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().expect("agent ends");
    let waited_s = sent.elapsed().as_secs_f64();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    // Within a few slices of 100 ms, not the request's 600 s: 30 s leaves a
    // loaded machine room and is still far from the timeout.
    assert!(
        waited_s < 30.0,
        "took {waited_s:.1} s after SIGTERM: {stderr}"
    );
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    let end = record.run_end.as_ref().expect("run_end written");
    assert_eq!(end.status, RunStatus::Interrupted, "{stderr}");
    assert!(!stderr.contains("second signal"), "{stderr}");
}
