//! `hoeveel-agent run` with GPUs behind the stand-in NVML library: the GPU's
//! energy is in the record with its provenance, and a GPU lost mid-run is
//! recorded while the run goes on.

#[path = "../../measure/tests/support/nvml_standin.rs"]
mod nvml_standin;

use hoeveel_record::{Provenance, RunStatus};
use nvml_standin::StandIn;
use std::process::Command;

fn run_with(standin: &StandIn, dir: &std::path::Path, runs: &str) -> std::process::Output {
    Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(["run", "--sensors", "nvml,model", "--nvml-library"])
        .arg(standin.library())
        .args([
            "--runs",
            runs,
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--no-progress",
        ])
        .args(["--output", "r.jsonl", "--", "sleep", "0.2"])
        .current_dir(dir)
        .env_remove("NVML_STANDIN_SCRIPT")
        .output()
        .expect("agent runs")
}

#[test]
fn gpu_power_is_integrated_and_labelled() {
    let standin = StandIn::new(
        "[device]\nname = NVIDIA T4\nuuid = GPU-1\nbus_id = 00000000:01:00.0\npower_limit_mw = 70000\nenergy_mj = unsupported\npower_mw = 61000\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with(&standin, dir.path(), "3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    assert_eq!(record.run_start.gpus.len(), 1);
    assert_eq!(record.run_start.gpus[0].power_limit_w, Some(70.0));
    let gpu = record
        .run_start
        .domains
        .iter()
        .find(|d| d.id == "gpu-0")
        .expect("gpu-0 domain");
    assert_eq!(gpu.provenance, Provenance::Integrated);
    assert!(gpu.in_total);
    // Constant 61 W, integrated over each window.
    for r in record.measured_ok() {
        let e = r.energy_j["gpu-0"];
        assert!(
            (e - 61.0 * r.duration_s).abs() < 1e-6,
            "{e} J over {} s",
            r.duration_s
        );
    }
    // A total with a modelled CPU part is modelled.
    assert_eq!(record.total_provenance(), Some(Provenance::Modelled));
    assert!(stdout.contains("gpu-0"), "{stdout}");
}

#[test]
fn gpu_lost_mid_run_is_recorded_and_the_run_continues() {
    let standin = StandIn::new(
        "[device]\nname = NVIDIA A100\nuuid = GPU-2\nbus_id = 00000000:02:00.0\npower_limit_mw = 400000\nenergy_mj = 1000 2000 3000 4000 5000 6000\npower_mw = 60000\nlost_after = 6\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with(&standin, dir.path(), "6");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The run finishes, but degraded: exit status 3, and the summary says why.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("status ok (degraded)"), "{stdout}");
    assert!(stdout.contains("Left out of the figures above"), "{stdout}");
    assert!(
        stdout.contains("incomplete: gpu-0 not measured (sensor lost)"),
        "{stdout}"
    );
    assert!(stdout.contains("Warnings:"), "{stdout}");
    assert!(stdout.contains("nvml: sensor lost"), "{stdout}");
    // NVML's counter (100 ms) is slower than the model's tick (10 ms): it sets
    // the shortest window the run can resolve.
    assert!(
        stdout.contains(
            "lasted less than 1.000 s (10 update periods of the slowest sensor in the total, nvml)"
        ),
        "{stdout}"
    );
    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    let end = record.run_end.as_ref().expect("run_end");
    assert_eq!(end.status, RunStatus::Ok);
    assert!(end.degraded);
    assert_eq!(
        record.measured_ok().count(),
        6,
        "every repetition is measured"
    );
    assert!(
        record
            .notices
            .iter()
            .any(|n| n.sensor == Some(hoeveel_record::SensorKind::Nvml)
                && n.message.contains("gpu-0")),
        "{:?}",
        record.notices
    );
    let last = record.measured().last().expect("repetition");
    assert!(!last.energy_j.contains_key("gpu-0"));
    assert!(last.energy_j["cpu-model"] > 0.0);
    assert_eq!(last.incomplete, vec!["gpu-0".to_string()]);
    assert!(
        record.measured_complete().count() < 6,
        "the incomplete repetitions are not averaged with the complete ones"
    );
    // `hoeveel report` shows the same warning from the file.
    let report = std::process::Command::new(hoeveel_e2e::bin("hoeveel"))
        .args(["report", "--wide", "r.jsonl"])
        .current_dir(dir.path())
        .output()
        .expect("hoeveel runs");
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("nvml: sensor lost"), "{text}");
    assert!(
        text.contains(
            "incomplete: gpu-0 not measured (sensor lost); left out of the per-request figures"
        ),
        "{text}"
    );
}
