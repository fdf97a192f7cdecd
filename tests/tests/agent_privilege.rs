//! Least privilege, end to end: what an unprivileged user is told, what
//! CAP_PERFMON on the binary allows, and what `sudo` does with the workload and
//! the record. These need root to set up (to switch users, set file
//! capabilities, and act as sudo); CI runs as root, elsewhere they are skipped
//! loudly.
//!
//! The perf path is tried on a fake `power` PMU whose events are the kernel's
//! software PMU (`cpu-clock`), which every Linux machine has: opened system-wide,
//! as RAPL must be, it needs the same privilege.

#[path = "../../measure/tests/support/nvml_standin.rs"]
mod nvml_standin;

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

/// What a hostile user aims at: a file only root may read or write.
const VICTIM_TEXT: &str = "root:$6$secret-hash-only-root-may-read:19000::::::\n";

/// The test folder (every user may enter it), a folder the unprivileged user
/// may write, and a root-only victim file, mode 0600, beside them.
struct SudoScene {
    dir: tempfile::TempDir,
    agent: PathBuf,
    out: PathBuf,
    victim: PathBuf,
}

impl SudoScene {
    fn new() -> SudoScene {
        let (dir, agent) = world_readable_dir();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, VICTIM_TEXT).expect("write the victim");
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        SudoScene {
            dir,
            agent,
            out,
            victim,
        }
    }

    /// The agent as root, as sudo leaves it for the unprivileged user.
    fn sudo(&self, args: &[&std::ffi::OsStr]) -> Output {
        Command::new(&self.agent)
            .args(args)
            .current_dir(&self.out)
            .env("SUDO_UID", NOBODY.to_string())
            .env("SUDO_GID", NOBODY.to_string())
            .env_remove("HOEVEEL_NVML_LIBRARY")
            .env_remove("NVML_STANDIN_SCRIPT")
            .output()
            .expect("agent starts")
    }

    fn assert_victim_untouched(&self) {
        let meta = std::fs::symlink_metadata(&self.victim).expect("the victim is still there");
        assert!(meta.file_type().is_file());
        assert_eq!(
            (meta.uid(), meta.gid()),
            (0, 0),
            "the victim is still root's"
        );
        assert_eq!(meta.mode() & 0o7777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&self.victim).expect("read"),
            VICTIM_TEXT
        );
    }

    /// No file the run left in the test folder, and neither stream, holds a
    /// byte of the victim's secret.
    fn assert_secret_nowhere(&self, out: &Output) {
        let secret = "secret-hash-only-root-may-read";
        for stream in [&out.stdout, &out.stderr] {
            assert!(!String::from_utf8_lossy(stream).contains(secret));
            assert!(!String::from_utf8_lossy(stream).contains("root:$6$"));
        }
        for entry in walk(&self.out) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{} holds the victim's secret",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(std::ffi::OsString::from).collect()
}

/// `run` of `true`, briefly, into `output`.
fn quick_run_into(output: &Path) -> Vec<std::ffi::OsString> {
    let mut args = os(&[
        "run",
        "--sensors",
        "model",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--no-progress",
        "--output",
    ]);
    args.push(output.into());
    args.extend(os(&["--", "true"]));
    args
}

fn refs(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    args.iter().map(|a| a.as_os_str()).collect()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn under_sudo_an_output_that_links_to_a_root_file_is_refused_and_the_file_kept() {
    if !root_or_skip("the sudo --output link test") {
        return;
    }
    let scene = SudoScene::new();
    let link = scene.out.join("r.jsonl");
    std::os::unix::fs::symlink(&scene.victim, &link).expect("symlink");
    let out = scene.sudo(&refs(&quick_run_into(&link)));
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("r.jsonl"), "names the path: {err}");
    scene.assert_victim_untouched();
    // The link itself is left as it was.
    assert_eq!(std::fs::read_link(&link).expect("readlink"), scene.victim);
}

#[test]
fn under_sudo_an_output_at_a_root_file_is_refused_and_the_file_kept() {
    if !root_or_skip("the sudo --output test") {
        return;
    }
    let scene = SudoScene::new();
    let out = scene.sudo(&refs(&quick_run_into(&scene.victim)));
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("victim"), "names the path: {err}");
    scene.assert_victim_untouched();
    // Nor a new file in a folder only root may write.
    let out = scene.sudo(&refs(&quick_run_into(&scene.dir.path().join("new.jsonl"))));
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write there"), "{err}");
    assert!(!scene.dir.path().join("new.jsonl").exists());
}

#[test]
fn under_sudo_input_files_the_user_cannot_read_are_refused_and_never_copied() {
    if !root_or_skip("the sudo input-file test") {
        return;
    }
    let scene = SudoScene::new();
    let victim = scene.victim.to_str().expect("utf-8");
    let record = scene.out.join("r.jsonl");
    let record = record.to_str().expect("utf-8");
    let measure = [
        "--runs",
        "1",
        "--warmup",
        "0",
        "--baseline",
        "0",
        "--no-progress",
        "--sensors",
        "model",
        "--output",
        record,
    ];
    // A root-only folder of documents for --corpus, and a root-only .gguf name.
    let corpus = scene.dir.path().join("corpus");
    std::fs::create_dir(&corpus).expect("mkdir");
    std::fs::write(corpus.join("doc.txt"), VICTIM_TEXT).expect("write");
    std::fs::set_permissions(&corpus, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let model = scene.dir.path().join("model.gguf");
    std::fs::copy(&scene.victim, &model).expect("copy");
    std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let server = "http://127.0.0.1:9";
    let search_url = "http://127.0.0.1:9/?q={q}";
    let cases: Vec<(Vec<&str>, &Path)> = vec![
        (
            vec![
                "llm",
                "--endpoint",
                server,
                "--model",
                "m",
                "--prompts",
                victim,
            ],
            &scene.victim,
        ),
        (
            vec!["llm", "--model", model.to_str().expect("utf-8")],
            &model,
        ),
        (
            vec!["search", "--url", search_url, "--queries", victim],
            &scene.victim,
        ),
        (
            vec![
                "search",
                "-q",
                "root",
                "--corpus",
                corpus.to_str().expect("utf-8"),
            ],
            &corpus,
        ),
    ];
    for (args, named) in cases {
        let mut all = os(&args);
        all.extend(os(&measure));
        let out = scene.sudo(&refs(&all));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&named.display().to_string()) && err.contains("cannot read it"),
            "{args:?}: names the file and says the user cannot read it: {err}"
        );
        assert!(!scene.out.join("r.jsonl").exists(), "{args:?}: no record");
        scene.assert_secret_nowhere(&out);
    }
    scene.assert_victim_untouched();
}

#[test]
fn under_sudo_an_nvml_library_the_user_owns_is_refused_before_it_is_loaded() {
    if !root_or_skip("the sudo --nvml-library test") {
        return;
    }
    let scene = SudoScene::new();
    let standin = nvml_standin::StandIn::new(
        "[device]\nname = NVIDIA T4\nuuid = GPU-1\nbus_id = 00000000:01:00.0\npower_limit_mw = 70000\nenergy_mj = unsupported\npower_mw = 61000\n",
    );
    // The user's own copy, in the test folder, beside the script it would replay.
    let library = scene.dir.path().join("libnvidia-ml.so.1");
    std::fs::copy(standin.library(), &library).expect("copy the library");
    std::fs::copy(
        standin.library().with_file_name("nvml-standin.script"),
        scene.dir.path().join("nvml-standin.script"),
    )
    .expect("copy the script");
    std::os::unix::fs::chown(&library, Some(NOBODY), Some(NOBODY)).expect("chown");
    let run = |library: &Path, output: &str| {
        let mut args = os(&["run", "--sensors", "nvml,model", "--nvml-library"]);
        args.push(library.into());
        let mut rest = quick_run_into(&scene.out.join(output));
        rest.drain(..3); // `run --sensors model`
        args.extend(rest);
        scene.sudo(&refs(&args))
    };
    let out = run(&library, "user.jsonl");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&library.display().to_string()) && err.contains("owned by uid 65534"),
        "names the library and why: {err}"
    );
    assert!(!scene.out.join("user.jsonl").exists());
    // The environment variable is the same option.
    let mut args = quick_run_into(&scene.out.join("env.jsonl"));
    args.splice(1..3, os(&["--sensors", "nvml,model"]));
    let out = Command::new(&scene.agent)
        .args(&args)
        .env("SUDO_UID", NOBODY.to_string())
        .env("SUDO_GID", NOBODY.to_string())
        .env("HOEVEEL_NVML_LIBRARY", &library)
        .env_remove("NVML_STANDIN_SCRIPT")
        .output()
        .expect("agent starts");
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("owned by uid 65534"));
    // A root-owned copy in a folder only root can write is loaded and read.
    let out = run(standin.library(), "root.jsonl");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    let record = hoeveel_record::read_record(&scene.out.join("root.jsonl")).expect("record");
    assert_eq!(record.run_start.gpus.len(), 1, "the stand-in GPU was read");
}

#[test]
fn under_sudo_a_sysfs_root_or_cache_of_the_user_is_refused() {
    if !root_or_skip("the sudo --sysfs-root and cache test") {
        return;
    }
    let scene = SudoScene::new();
    // The user's own "sysfs": a powercap zone whose counter is a link to the
    // root-only victim, read by root it would have been echoed.
    let fake = scene.dir.path().join("fake-sys");
    let zone = fake.join("class/powercap/intel-rapl:0");
    std::fs::create_dir_all(&zone).expect("mkdir");
    std::fs::write(zone.join("name"), "package-0\n").expect("write");
    std::os::unix::fs::symlink(&scene.victim, zone.join("energy_uj")).expect("symlink");
    std::os::unix::fs::symlink(&scene.victim, zone.join("max_energy_range_uj")).expect("symlink");
    for entry in [
        &fake,
        &fake.join("class"),
        &fake.join("class/powercap"),
        &zone,
    ] {
        std::os::unix::fs::lchown(entry, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    let fake_arg = fake.clone().into_os_string();
    for command in [
        [
            os(&["sensors", "--json", "--sysfs-root"]),
            vec![fake_arg.clone()],
        ]
        .concat(),
        {
            let mut args = quick_run_into(&scene.out.join("r.jsonl"));
            args.splice(
                1..1,
                [std::ffi::OsString::from("--sysfs-root"), fake_arg.clone()],
            );
            args
        },
    ] {
        let out = scene.sudo(&refs(&command));
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
        assert!(
            err.contains(
                "under sudo the agent reads a root other than /sys only when root owns it"
            ) && err.contains("owned by uid 65534"),
            "{command:?}: {err}"
        );
        scene.assert_secret_nowhere(&out);
    }
    assert!(!scene.out.join("r.jsonl").exists(), "nothing was measured");

    // `sudo -E`: the cache the user's environment names is the user's.
    let cache = scene.dir.path().join("user-cache");
    std::fs::create_dir(&cache).expect("mkdir");
    std::os::unix::fs::chown(&cache, Some(NOBODY), Some(NOBODY)).expect("chown");
    let out = Command::new(&scene.agent)
        .arg("fetch")
        .current_dir(&scene.out)
        .env("SUDO_UID", NOBODY.to_string())
        .env("SUDO_GID", NOBODY.to_string())
        .env("HOEVEEL_CACHE_DIR", &cache)
        .output()
        .expect("agent starts");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("under sudo the agent writes and reads its cache only where root owns it")
            && err.contains("owned by uid 65534"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&cache).expect("read_dir").count(),
        0,
        "nothing was written into the user's cache"
    );
    scene.assert_victim_untouched();
}
