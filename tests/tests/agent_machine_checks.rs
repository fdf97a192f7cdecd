//! Machine checks on a fake sysfs and procfs: `hoeveel-agent sensors` names
//! what disturbs a measurement (marked `!`), and a run records the same checks
//! in its `run_start`.

use hoeveel_record::{Event, MachineCheck, MachineCheckKind};
use std::path::Path;
use std::process::{Command, Output};

fn agent() -> std::path::PathBuf {
    hoeveel_e2e::bin("hoeveel-agent")
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A noisy laptop: governors that differ, 5% of memory in swap, throttling
/// since boot, on battery; turbo on (information only).
fn noisy_machine(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (sys, proc) = (root.join("sys"), root.join("proc"));
    let cpu = "devices/system/cpu";
    write(
        &sys,
        &format!("{cpu}/cpu0/cpufreq/scaling_governor"),
        "performance\n",
    );
    write(
        &sys,
        &format!("{cpu}/cpu1/cpufreq/scaling_governor"),
        "powersave\n",
    );
    write(
        &sys,
        &format!("{cpu}/cpu0/thermal_throttle/core_throttle_count"),
        "7\n",
    );
    write(
        &sys,
        &format!("{cpu}/cpu0/thermal_throttle/package_throttle_count"),
        "0\n",
    );
    write(&sys, &format!("{cpu}/intel_pstate/no_turbo"), "0\n");
    write(&sys, "class/power_supply/AC/type", "Mains\n");
    write(&sys, "class/power_supply/AC/online", "0\n");
    write(&sys, "class/power_supply/BAT0/type", "Battery\n");
    write(&sys, "class/power_supply/BAT0/status", "Discharging\n");
    write(
        &proc,
        "meminfo",
        "MemTotal:       16000000 kB\nMemFree:         8000000 kB\n\
         SwapTotal:       2097148 kB\nSwapFree:        1265660 kB\n",
    );
    (sys, proc)
}

fn agent_output(args: &[&str], dir: &Path) -> Output {
    Command::new(agent())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary starts")
}

#[test]
fn sensors_marks_what_disturbs_a_measurement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sys, proc) = noisy_machine(dir.path());
    let args = [
        "sensors",
        "--sysfs-root",
        sys.to_str().expect("utf-8"),
        "--proc-root",
        proc.to_str().expect("utf-8"),
    ];
    let out = agent_output(&args, dir.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let state: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "Machine state")
        .skip(1)
        .collect();
    let concern = |start: &str| {
        state
            .iter()
            .any(|l| l.starts_with("  ! ") && l[4..].starts_with(start))
    };
    for start in [
        "CPU frequency governors differ between CPUs (performance on 1, powersave on 1)",
        "swap in use: 812 MiB (5.2% of memory); paging disturbs timing and energy",
        "thermal throttling since boot: 7 events",
        "on battery",
    ] {
        assert!(
            concern(start),
            "no concern `{start}` under Machine state:\n{stdout}"
        );
    }
    assert!(
        state.iter().any(|l| l.starts_with("    turbo/boost: on")),
        "turbo is information, not a concern:\n{stdout}"
    );

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = agent_output(&json_args, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks: Vec<MachineCheck> =
        serde_json::from_value(value["machine_checks"].clone()).expect("machine checks");
    let concerns: Vec<MachineCheckKind> = checks
        .iter()
        .filter(|c| c.concern)
        .map(|c| c.check)
        .collect();
    assert_eq!(
        concerns,
        [
            MachineCheckKind::Governor,
            MachineCheckKind::Swap,
            MachineCheckKind::ThermalThrottle,
            MachineCheckKind::OnBattery,
        ]
    );
    let swap = checks
        .iter()
        .find(|c| c.check == MachineCheckKind::Swap)
        .expect("swap check");
    assert_eq!(swap.value, "831488");
}

#[test]
fn a_run_records_the_checks_in_run_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sys, proc) = noisy_machine(dir.path());
    let out = agent_output(
        &[
            "run",
            "--sensors",
            "model",
            "--sysfs-root",
            sys.to_str().expect("utf-8"),
            "--proc-root",
            proc.to_str().expect("utf-8"),
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--no-progress",
            "--output",
            "r.jsonl",
            "--",
            "true",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let body = std::fs::read_to_string(dir.path().join("r.jsonl")).expect("record");
    let first = body.lines().next().expect("a first line");
    let Event::RunStart(start) = serde_json::from_str(first).expect("an event") else {
        panic!("first line is not run_start: {first}");
    };
    let kinds: Vec<MachineCheckKind> = start.machine_checks.iter().map(|c| c.check).collect();
    assert_eq!(
        kinds,
        [
            MachineCheckKind::Governor,
            MachineCheckKind::Turbo,
            MachineCheckKind::Swap,
            MachineCheckKind::ThermalThrottle,
            MachineCheckKind::OnBattery,
        ]
    );
}
