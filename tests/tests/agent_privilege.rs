//! Least privilege, end to end: what an unprivileged user is told, what
//! CAP_PERFMON on the binary allows, and what `sudo` does with the workload and
//! the record. These need root to set up (to switch users, set file
//! capabilities, and act as sudo); CI runs as root, elsewhere they are skipped
//! loudly.
//!
//! The perf path is tried on a fake `power` PMU whose events are the kernel's
//! software PMU (`cpu-clock`), which every Linux machine has: opened system-wide,
//! as RAPL must be, it needs the same privilege.

use hoeveel_sysfs_fixture::{PmuSpec, ZoneSpec, build_power_pmu, build_powercap};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The unprivileged user the tests switch to.
const NOBODY: u32 = 65534;

fn root_or_skip(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    let message = format!("{what} needs root to switch users and set file capabilities");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{message}: CI runs as root");
    }
    eprintln!("\n*** SKIPPED: {message} ***\n");
    false
}

/// A folder every user can enter and read, with a copy of the agent in it (file
/// capabilities belong to a file, so the test sets them on its own copy).
fn world_readable_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let agent = dir.path().join("hoeveel-agent");
    std::fs::copy(hoeveel_e2e::bin("hoeveel-agent"), &agent).expect("copy the agent");
    // A child that another test thread forked while the copy was open for
    // writing holds that descriptor until it execs, and until then the copy
    // cannot run (ETXTBSY). Wait for that moment to pass.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Command::new(&agent).arg("--version").output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the copy stays busy: {e}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => {
                result.expect("the copy of the agent runs");
                break;
            }
        }
    }
    (dir, agent)
}

fn chmod_tree(path: &Path, dirs: u32, files: u32) {
    let meta = std::fs::metadata(path).expect("stat");
    let mode = if meta.is_dir() { dirs } else { files };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
            chmod_tree(&entry.path(), dirs, files);
        }
    }
}

/// `agent args…` as the unprivileged user, with no capabilities kept.
fn as_nobody(agent: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
        ])
        .arg(agent)
        .args(args)
        .env_remove("SUDO_UID")
        .env_remove("SUDO_GID")
        .output()
        .expect("setpriv runs")
}

fn paranoid() -> i32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(2)
}

fn fake_perf_tree(dir: &Path) -> PathBuf {
    let root = dir.join("sys");
    build_power_pmu(
        &root,
        &PmuSpec::software_backed(&[("energy-pkg", "event=0x00")]),
    )
    .expect("fake power PMU");
    chmod_tree(&root, 0o755, 0o644);
    root
}

/// Opens the software cpu-clock event on CPU 0 for every process, as the perf
/// path opens RAPL's, straight through perf_event_open(2).
fn root_opens_a_system_wide_event() -> Result<(), std::io::Error> {
    /// The head of struct perf_event_attr; the rest zero (128 bytes in all).
    #[repr(C)]
    struct Attr {
        kind: u32,
        size_bytes: u32,
        config: u64,
        rest: [u64; 14],
    }
    const PERF_TYPE_SOFTWARE: u32 = 1;
    const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
    let attr = Attr {
        kind: PERF_TYPE_SOFTWARE,
        size_bytes: std::mem::size_of::<Attr>() as u32,
        config: PERF_COUNT_SW_CPU_CLOCK,
        rest: [0; 14],
    };
    // SAFETY: `attr` outlives the call and is as large as the size it declares.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const Attr,
            -1 as libc::pid_t,
            0 as libc::c_int,
            -1 as libc::c_int,
            0 as libc::c_ulong,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor this function opened and nothing else holds.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}

/// `sensors --json` against the sysfs tree at `root`.
fn sensors_args(root: &Path) -> [&str; 4] {
    [
        "sensors",
        "--json",
        "--sysfs-root",
        root.to_str().expect("utf-8"),
    ]
}

fn sensors_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sensors --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// rapl-perf's entry in `sensors --json`: whether it is usable, and the fix.
fn rapl_perf(inventory: &serde_json::Value) -> (bool, String) {
    let text = inventory.to_string();
    let usable = inventory["sensors"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["sensor"] == "rapl-perf"))
        .and_then(|x| x["available"].as_bool())
        .expect("sensors --json lists rapl-perf");
    (usable, text)
}

#[test]
fn unprivileged_the_perf_path_names_its_fixes_as_commands() {
    if !root_or_skip("the unprivileged perf test") {
        return;
    }
    let (dir, agent) = world_readable_dir();
    let root = fake_perf_tree(dir.path());
    let out = as_nobody(&agent, &sensors_args(&root));
    let (usable, text) = rapl_perf(&sensors_json(&out));
    if paranoid() <= 0 {
        eprintln!("kernel.perf_event_paranoid <= 0 here: anyone may open system-wide events");
        assert!(usable, "{text}");
        return;
    }
    assert!(!usable, "opened without privilege: {text}");
    assert!(
        text.contains("sudo setcap cap_perfmon+ep $(which hoeveel-agent)"),
        "{text}"
    );
    assert!(
        text.contains("sudo sysctl -w kernel.perf_event_paranoid=0"),
        "{text}"
    );
}

#[test]
fn with_cap_perfmon_on_the_binary_an_unprivileged_user_reads_the_perf_path() {
    if !root_or_skip("the CAP_PERFMON test") {
        return;
    }
    let (dir, agent) = world_readable_dir();
    let root = fake_perf_tree(dir.path());
    // Where even root cannot open a system-wide event (a seccomp profile that
    // forbids perf_event_open), no capability can help: nothing to try here.
    // Asked of the kernel directly, not of the agent under test, so that a
    // broken perf path in the agent fails this test instead of skipping it.
    if let Err(why) = root_opens_a_system_wide_event() {
        eprintln!("\n*** SKIPPED: root cannot open system-wide perf events here ({why}) ***\n");
        return;
    }
    let setcap = Command::new("setcap")
        .args(["cap_perfmon+ep"])
        .arg(&agent)
        .output()
        .expect("setcap runs (package libcap2-bin)");
    if !setcap.status.success() {
        // A kernel before 5.8 has no CAP_PERFMON, and some file systems keep
        // no capabilities: the set-up cannot be tried here.
        eprintln!(
            "\n*** SKIPPED: setcap cap_perfmon+ep failed here: {} ***\n",
            String::from_utf8_lossy(&setcap.stderr).trim()
        );
        return;
    }
    let out = as_nobody(&agent, &sensors_args(&root));
    let (usable, text) = rapl_perf(&sensors_json(&out));
    assert!(
        usable,
        "CAP_PERFMON did not open the system-wide event: {text}"
    );
    // And a measurement through it, as that user.
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let record = work.join("r.jsonl");
    let out = as_nobody(
        &agent,
        &[
            "run",
            "--sysfs-root",
            root.to_str().expect("utf-8"),
            "--sensors",
            "rapl-perf",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--no-progress",
            "--output",
            record.to_str().expect("utf-8"),
            "--",
            "sleep",
            "0.2",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = hoeveel_record::read_record(&record).expect("record");
    assert!(
        r.run_start
            .sensors
            .iter()
            .any(|s| s.kind.name() == "rapl-perf"),
        "{:?}",
        r.run_start.sensors
    );
    assert_eq!(std::fs::metadata(&record).expect("stat").uid(), NOBODY);
}

#[test]
fn unprivileged_the_powercap_path_names_the_chmod_and_the_udev_rule() {
    if !root_or_skip("the unprivileged powercap test") {
        return;
    }
    let (dir, agent) = world_readable_dir();
    let root = dir.path().join("sys");
    build_powercap(&root, &[ZoneSpec::new("intel-rapl:0", "package-0")]).expect("fake powercap");
    chmod_tree(&root, 0o755, 0o644);
    // As since Linux 5.10 (CVE-2020-8694): energy_uj readable by root only.
    let energy = root.join("class/powercap/intel-rapl:0/energy_uj");
    std::fs::set_permissions(&energy, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    let out = as_nobody(&agent, &sensors_args(&root));
    let text = sensors_json(&out).to_string();
    assert!(text.contains("sudo chmod a+r"), "{text}");
    assert!(
        text.contains("/etc/udev/rules.d/70-powercap.rules"),
        "{text}"
    );
    assert!(text.contains("sudo setcap cap_perfmon+ep"), "{text}");
}

#[test]
fn under_sudo_the_workload_runs_as_the_user_and_the_record_is_theirs() {
    if !root_or_skip("the sudo test") {
        return;
    }
    let (dir, agent) = world_readable_dir();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let uid_file = out_dir.join("uid");
    let record = out_dir.join("new/folder/r.jsonl");
    let out = Command::new(&agent)
        .args([
            "run",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0",
            "--no-progress",
        ])
        .arg("--output")
        .arg(&record)
        .args(["--", "sh", "-c"])
        .arg(format!(
            "id -u > {}; id -g >> {}",
            uid_file.display(),
            uid_file.display()
        ))
        .env("SUDO_UID", NOBODY.to_string())
        .env("SUDO_GID", NOBODY.to_string())
        .output()
        .expect("agent starts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = std::fs::read_to_string(&uid_file).expect("the workload ran");
    assert_eq!(
        ids,
        format!("{NOBODY}\n{NOBODY}\n"),
        "the workload ran as the sudo user"
    );
    for path in [
        out_dir.join("new"),
        out_dir.join("new/folder"),
        record.clone(),
    ] {
        let meta = std::fs::metadata(&path).expect("stat");
        assert_eq!(
            (meta.uid(), meta.gid()),
            (NOBODY, NOBODY),
            "{} belongs to the sudo user",
            path.display()
        );
    }
    // The agent itself ran as root: the folder it did not create stays root's.
    assert_eq!(std::fs::metadata(&out_dir).expect("stat").uid(), 0);
}
