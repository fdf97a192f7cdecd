//! `hoeveel-agent run --sysfs-root FIXTURE`: a fake powercap tree whose counters
//! this test advances at known rates, as RAPL would under constant power. The
//! agent must report rate × duration for each domain, correct the counter wrap,
//! and leave nested domains out of the total.

use hoeveel_record::RunStatus;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One zone: its directory name, `name` file, power, and wrap range.
struct Zone {
    dir: &'static str,
    name: &'static str,
    power_w: f64,
    max_energy_range_uj: u64,
}

const ZONES: [Zone; 4] = [
    // A 5 J range wraps several times per 0.4 s repetition at 30 W (12 J), but
    // never twice between the agent's 100 ms samples (3 J).
    Zone {
        dir: "intel-rapl:0",
        name: "package-0",
        power_w: 30.0,
        max_energy_range_uj: 5_000_000,
    },
    Zone {
        dir: "intel-rapl:0:0",
        name: "core",
        power_w: 20.0,
        max_energy_range_uj: 262_143_328_850,
    },
    Zone {
        dir: "intel-rapl:0:1",
        name: "dram",
        power_w: 4.0,
        max_energy_range_uj: 65_712_999_613,
    },
    Zone {
        dir: "intel-rapl:1",
        name: "package-1",
        power_w: 12.0,
        max_energy_range_uj: 262_143_328_850,
    },
];

fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Builds the tree the way sysfs lays it out: every zone appears directly under
/// class/powercap (subzones too), with name, energy_uj and max_energy_range_uj.
fn build_tree(root: &Path) -> Vec<PathBuf> {
    write_file(&root.join("class/powercap/intel-rapl/enabled"), "1\n");
    ZONES
        .iter()
        .map(|z| {
            let dir = root.join("class/powercap").join(z.dir);
            write_file(&dir.join("name"), &format!("{}\n", z.name));
            write_file(
                &dir.join("max_energy_range_uj"),
                &format!("{}\n", z.max_energy_range_uj),
            );
            write_file(&dir.join("enabled"), "1\n");
            // A power limit a third above the zone's draw, as the kernel lists
            // PL1/PL2: it bounds how fast the counter can wrap (the 5 J package
            // range at 40 W: every 125 ms, above the default 100 ms interval).
            write_file(
                &dir.join("constraint_0_power_limit_uw"),
                &format!("{}\n", (z.power_w * 4.0 / 3.0 * 1e6) as u64),
            );
            let energy = dir.join("energy_uj");
            write_file(&energy, &format!("{:020}\n", 0));
            energy
        })
        .collect()
}

/// Advances every counter to rate × elapsed (mod its range) every half
/// millisecond, writing fixed-width text in place: the agent keeps the files
/// open and re-reads them, as it does in sysfs.
fn advance(files: Vec<PathBuf>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let handles: Vec<File> = files
            .iter()
            .map(|p| {
                OpenOptions::new()
                    .write(true)
                    .open(p)
                    .expect("open counter")
            })
            .collect();
        let t0 = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            let t = t0.elapsed().as_secs_f64();
            for (zone, file) in ZONES.iter().zip(&handles) {
                let uj = (zone.power_w * t * 1e6) as u64 % (zone.max_energy_range_uj + 1);
                file.write_at(format!("{uj:020}\n").as_bytes(), 0)
                    .expect("write counter");
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    })
}

#[test]
fn fixture_powercap_energies_match_rates_within_one_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sys = dir.path().join("sys");
    let files = build_tree(&sys);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = advance(files, stop.clone());
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(["run", "--sensors", "rapl-powercap", "--sysfs-root"])
        .arg(&sys)
        .args([
            "--runs",
            "3",
            "--warmup",
            "1",
            "--baseline",
            "0.5",
            "--no-progress",
            "--output",
            "r.jsonl",
            "--",
        ])
        .args(["sleep", "0.4"])
        .current_dir(dir.path())
        .output()
        .expect("agent runs");
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The counters advance at the same rates during the baseline and the
    // repetitions, as on a machine whose baseline already draws what the
    // workload does: the net energy is no measurement, said so, and the run
    // is degraded (exit 3); it used to print `Energy, net: 0.000 µJ` and exit 0.
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Energy, net:    not resolved"), "{stdout}");
    assert!(stdout.contains("net energy is not resolved"), "{stdout}");
    assert!(stdout.contains("[counter]"), "{stdout}");
    assert!(!stdout.contains("MODELLED"), "{stdout}");

    let record = hoeveel_record::read_record(&dir.path().join("r.jsonl")).expect("record");
    assert_eq!(
        record.run_end.as_ref().map(|e| e.status),
        Some(RunStatus::Ok)
    );
    let total: Vec<&str> = record
        .run_start
        .domains
        .iter()
        .filter(|d| d.in_total)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(
        total,
        ["package-0", "dram-0", "package-1"],
        "cores are inside the package"
    );
    let baseline = record.baseline.as_ref().expect("baseline");
    assert!(
        (baseline.total_power_w - 46.0).abs() < 0.46,
        "baseline {} W",
        baseline.total_power_w
    );

    let measured: Vec<_> = record.measured_ok().collect();
    assert_eq!(measured.len(), 3);
    for r in measured {
        let d = r.duration_s;
        for (id, power_w) in [
            ("package-0", 30.0),
            ("cores-0", 20.0),
            ("dram-0", 4.0),
            ("package-1", 12.0),
        ] {
            let e = r.energy_j[id];
            let expect = power_w * d;
            assert!(
                (e - expect).abs() <= 0.01 * expect,
                "{id}: {e} J, expected {expect} J over {d} s"
            );
        }
        assert!((r.total_energy_j - 46.0 * d).abs() <= 0.01 * 46.0 * d);
        assert!(
            r.wraps_corrected.contains(&"package-0".to_string()),
            "{:?}",
            r.wraps_corrected
        );
        assert!(r.net_energy_j.expect("net").abs() <= 0.01 * 46.0 * d);
    }
}

#[test]
fn an_interval_at_which_a_counter_could_wrap_twice_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sys = dir.path().join("sys");
    build_tree(&sys);
    let out = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(["run", "--sensors", "rapl-powercap", "--sysfs-root"])
        .arg(&sys)
        .args([
            "--interval",
            "200ms",
            "--runs",
            "1",
            "--no-progress",
            "--",
            "true",
        ])
        .current_dir(dir.path())
        .output()
        .expect("agent runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--interval 0.2 s is too long for rapl-powercap: the package-0 counter can wrap every 0.125 s (5.0 J range at 40 W, constraint_0_power_limit_uw)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Use an --interval below 0.062 s"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("runs").exists(),
        "refused before anything is measured or written"
    );
}
