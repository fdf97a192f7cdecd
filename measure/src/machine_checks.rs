//! Machine checks: the state of the machine that disturbs an energy measurement,
//! named so that a reader of the record (and of `hoeveel-agent sensors`) knows.
//!
//! Each check reads what the kernel exposes under a sysfs root and a proc root,
//! both parameters (the real `/sys` and `/proc` appear only at the CLI edge).
//! A check the machine does not expose, or whose files do not parse, is left out
//! silently: a virtual machine without cpufreq is not a problem to report.
//!
//! | check              | source                                              | concern when |
//! |--------------------|-----------------------------------------------------|--------------|
//! | `governor`         | `cpu*/cpufreq/scaling_governor`                     | CPUs differ  |
//! | `turbo`            | `intel_pstate/no_turbo`, `cpufreq/boost`            | never (information) |
//! | `swap`             | `meminfo` SwapTotal − SwapFree                      | > 1% of MemTotal |
//! | `thermal_throttle` | `cpu*/thermal_throttle/{core,package}_throttle_count` | > 0 since boot |
//! | `on_battery`       | `class/power_supply/*/{type,online,status}`         | on battery   |
//! | `other_cpu`        | `stat` and `self/stat`, at two moments ([`CpuUse`]) | > 5% of all CPUs |
//!
//! [`check_all`] gives the first five at one moment (the run's start). The
//! throttle count and other processes' CPU use are about an interval: re-read
//! [`throttle_count`] at the end of a run, and take two [`CpuUse`] readings around
//! the idle baseline.

use hoeveel_record::{MachineCheck, MachineCheckKind};
use std::collections::BTreeMap;
use std::path::Path;

/// Swap in use above this share of memory is a concern. Some swap in use is
/// normal: pages pushed out once under old memory pressure and never touched
/// again cost nothing. More than 1% of memory means a sizeable working set was
/// paged out, and page-ins during a repetition add disk waits and energy that
/// belong to no request.
pub const SWAP_CONCERN_SHARE: f64 = 0.01;

/// Other processes using more than this share of all CPUs during the idle
/// baseline is a concern. The baseline's power is subtracted from every
/// repetition (net = gross − baseline power × duration), so their load is
/// subtracted too, and varies with them. An idle desktop's daemons stay near
/// 1–2% of the machine; above 5% something is working (a browser tab, an
/// indexer, a build).
pub const OTHER_CPU_CONCERN_SHARE: f64 = hoeveel_record::warnings::BUSY_BASELINE_SHARE;

/// Every check this machine exposes at this moment, under `sysfs_root` and
/// `proc_root`: governor, turbo, swap, thermal throttling and battery.
/// (Other CPU use needs an interval: see [`CpuUse`].)
pub fn check_all(sysfs_root: &Path, proc_root: &Path) -> Vec<MachineCheck> {
    [
        governor(sysfs_root),
        turbo(sysfs_root),
        swap(proc_root),
        thermal_throttle(sysfs_root),
        on_battery(sysfs_root),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn read_trimmed(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.trim().to_string())
}

fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// `cpu0`, `cpu1`, … directories under `<sysfs>/devices/system/cpu`, by name
/// (not `cpufreq`, `cpuidle`).
fn cpu_dirs(sysfs_root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(sysfs_root.join("devices/system/cpu")) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries
        .flatten()
        .filter(|e| is_cpu_n(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

fn is_cpu_n(name: &str) -> bool {
    name.strip_prefix("cpu")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The CPU frequency governors in use. Information, not a warning: `powersave`
/// and `schedutil` are the normal choice on laptops, and the figures are right for
/// the machine as it is set up; only runs under the same governor compare.
/// It is a concern when CPUs use different governors, because then a
/// repetition's speed and energy depend on which CPU the scheduler picks.
pub fn governor(sysfs_root: &Path) -> Option<MachineCheck> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for dir in cpu_dirs(sysfs_root) {
        if let Some(name) = read_trimmed(&dir.join("cpufreq/scaling_governor"))
            && !name.is_empty()
        {
            *counts.entry(name).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return None;
    }
    let names: Vec<&str> = counts.keys().map(String::as_str).collect();
    let value = names.join(",");
    if counts.len() == 1 {
        return Some(MachineCheck {
            check: MachineCheckKind::Governor,
            message: format!(
                "CPU frequency governor: {value} (compare only runs under the same governor)"
            ),
            value,
            concern: false,
        });
    }
    let spread: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{name} on {n}"))
        .collect();
    Some(MachineCheck {
        check: MachineCheckKind::Governor,
        value,
        concern: true,
        message: format!(
            "CPU frequency governors differ between CPUs ({}); a repetition's speed and energy depend on the CPU it lands on",
            spread.join(", ")
        ),
    })
}

/// Turbo / boost, from `intel_pstate/no_turbo` (0 = turbo on) or, failing that,
/// `cpufreq/boost` (1 = on). Information: turbo is the normal state, but runs
/// with and without it do not compare.
pub fn turbo(sysfs_root: &Path) -> Option<MachineCheck> {
    let cpu = sysfs_root.join("devices/system/cpu");
    let on = match read_u64(&cpu.join("intel_pstate/no_turbo")) {
        Some(0) => true,
        Some(1) => false,
        Some(_) => return None,
        None => match read_u64(&cpu.join("cpufreq/boost"))? {
            0 => false,
            1 => true,
            _ => return None,
        },
    };
    let value = if on { "on" } else { "off" };
    Some(MachineCheck {
        check: MachineCheckKind::Turbo,
        value: value.to_string(),
        concern: false,
        message: format!("turbo/boost: {value} (compare only runs with turbo {value})"),
    })
}

/// The `kB` value of one `/proc/meminfo` field.
fn meminfo_kib(meminfo: &str, field: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    let (_, rest) = line.split_once(':')?;
    rest.split_whitespace().next()?.parse().ok()
}

/// MemTotal and MemAvailable (when the kernel gives it) in bytes.
pub fn memory_bytes(proc_root: &Path) -> Option<(u64, Option<u64>)> {
    let meminfo = std::fs::read_to_string(proc_root.join("meminfo")).ok()?;
    let total = meminfo_kib(&meminfo, "MemTotal")? * 1024;
    Some((
        total,
        meminfo_kib(&meminfo, "MemAvailable").map(|k| k * 1024),
    ))
}

/// Swap in use (SwapTotal − SwapFree); a concern above [`SWAP_CONCERN_SHARE`] of
/// MemTotal.
pub fn swap(proc_root: &Path) -> Option<MachineCheck> {
    let meminfo = std::fs::read_to_string(proc_root.join("meminfo")).ok()?;
    let mem_total_kib = meminfo_kib(&meminfo, "MemTotal")?;
    let swap_total_kib = meminfo_kib(&meminfo, "SwapTotal")?;
    let swap_free_kib = meminfo_kib(&meminfo, "SwapFree")?;
    if mem_total_kib == 0 {
        return None;
    }
    let in_use_kib = swap_total_kib.saturating_sub(swap_free_kib);
    let in_use_share = in_use_kib as f64 / mem_total_kib as f64;
    let concern = in_use_share > SWAP_CONCERN_SHARE;
    let mut message = format!(
        "swap in use: {} MiB ({:.1}% of memory)",
        in_use_kib / 1024,
        in_use_share * 100.0
    );
    if concern {
        message.push_str("; paging disturbs timing and energy");
    }
    Some(MachineCheck {
        check: MachineCheckKind::Swap,
        value: in_use_kib.to_string(),
        concern,
        message,
    })
}

/// Thermal throttling events since boot: core events once per physical core,
/// package events once per package. Every logical CPU shows its core's and its
/// package's counter, so a plain sum over CPUs would count one event many
/// times; CPUs are grouped by `topology/physical_package_id` and `core_id`, and
/// each CPU counts alone where topology is missing. `None` when the machine has
/// no such counters (AMD, ARM, most virtual machines).
///
/// Re-read it at the end of a run: a count that grew means the run throttled.
pub fn throttle_count(sysfs_root: &Path) -> Option<u64> {
    let mut cores: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut packages: BTreeMap<String, u64> = BTreeMap::new();
    for dir in cpu_dirs(sysfs_root) {
        let cpu_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let package = read_trimmed(&dir.join("topology/physical_package_id"))
            .unwrap_or_else(|| format!("alone:{cpu_name}"));
        let core = read_trimmed(&dir.join("topology/core_id"))
            .unwrap_or_else(|| format!("alone:{cpu_name}"));
        let throttle = dir.join("thermal_throttle");
        if let Some(n) = read_u64(&throttle.join("core_throttle_count")) {
            let seen = cores.entry((package.clone(), core)).or_default();
            *seen = (*seen).max(n);
        }
        if let Some(n) = read_u64(&throttle.join("package_throttle_count")) {
            let seen = packages.entry(package).or_default();
            *seen = (*seen).max(n);
        }
    }
    if cores.is_empty() && packages.is_empty() {
        return None;
    }
    Some(
        cores
            .values()
            .chain(packages.values())
            .fold(0u64, |sum, n| sum.saturating_add(*n)),
    )
}

/// Thermal throttling since boot ([`throttle_count`]); a concern when any
/// happened, since a throttled CPU is a slower machine than the one measured.
pub fn thermal_throttle(sysfs_root: &Path) -> Option<MachineCheck> {
    let count = throttle_count(sysfs_root)?;
    let concern = count > 0;
    let message = if concern {
        format!(
            "thermal throttling since boot: {count} events; a throttled CPU runs slower and its energy per request differs"
        )
    } else {
        "thermal throttling since boot: none".to_string()
    };
    Some(MachineCheck {
        check: MachineCheckKind::ThermalThrottle,
        value: count.to_string(),
        concern,
        message,
    })
}

/// On battery: a `Battery` supply that is `Discharging`, or `Mains` supplies of
/// which none is online. (Any online mains supply counts as plugged in: a laptop
/// with a barrel and a USB-C adapter shows one of them offline.) A concern,
/// since firmware lowers power limits and frequencies on battery. `None` when
/// the machine shows neither mains nor battery (most desktops and servers).
pub fn on_battery(sysfs_root: &Path) -> Option<MachineCheck> {
    let entries = std::fs::read_dir(sysfs_root.join("class/power_supply")).ok()?;
    let (mut mains, mut mains_online, mut batteries, mut discharging) = (0, 0, 0, 0);
    for entry in entries.flatten() {
        let dir = entry.path();
        match read_trimmed(&dir.join("type")).as_deref() {
            Some("Mains") => match read_u64(&dir.join("online")) {
                Some(online) => {
                    mains += 1;
                    if online != 0 {
                        mains_online += 1;
                    }
                }
                None => continue,
            },
            Some("Battery") => match read_trimmed(&dir.join("status")) {
                Some(status) => {
                    batteries += 1;
                    if status == "Discharging" {
                        discharging += 1;
                    }
                }
                None => continue,
            },
            _ => continue,
        }
    }
    if mains + batteries == 0 {
        return None;
    }
    let on = discharging > 0 || (mains > 0 && mains_online == 0);
    Some(MachineCheck {
        check: MachineCheckKind::OnBattery,
        value: on.to_string(),
        concern: on,
        message: if on {
            "on battery: firmware lowers power limits and frequencies on battery; plug in to measure".to_string()
        } else {
            "on mains power".to_string()
        },
    })
}

/// A reading of CPU time at one moment, for the share of the machine that
/// processes other than the agent used between two readings.
///
/// From `<proc>/stat`, the aggregate `cpu` line: busy = user + nice + system +
/// irq + softirq + steal, total = busy + idle + iowait (guest time is already in
/// user). From `<proc>/self/stat`, the agent's own utime + stime (fields 14 and
/// 15, all its threads). Both are in the same USER_HZ ticks (proc(5)).
///
/// ```no_run
/// use hoeveel_measure::machine_checks::CpuUse;
/// use std::path::Path;
///
/// let proc_root = Path::new("/proc");
/// let start = CpuUse::read(proc_root); // before the idle baseline
/// std::thread::sleep(std::time::Duration::from_secs(3));
/// let end = CpuUse::read(proc_root); // after it
/// if let (Some(start), Some(end)) = (start, end) {
///     if let Some(other) = end.other_since(&start) {
///         // other.other_share: 0..1 of all CPUs; other.check("during the baseline")
///         // is the MachineCheck to record, a concern above 5%.
///         println!("{}", other.check("during the baseline").message);
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuUse {
    busy_ticks: u64,
    total_ticks: u64,
    agent_ticks: u64,
    logical_cpus: u32,
}

/// The share of all CPUs that other processes used between two [`CpuUse`] readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OtherCpu {
    /// 0 to 1 of all logical CPUs together.
    pub other_share: f64,
    pub logical_cpus: u32,
}

impl CpuUse {
    /// Reads `<proc_root>/stat` and `<proc_root>/self/stat` now. `None` when
    /// either is missing or does not parse.
    pub fn read(proc_root: &Path) -> Option<CpuUse> {
        let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
        let self_stat = std::fs::read_to_string(proc_root.join("self/stat")).ok()?;
        CpuUse::parse(&stat, &self_stat)
    }

    /// Parses the text of `/proc/stat` and `/proc/self/stat`.
    pub fn parse(stat: &str, self_stat: &str) -> Option<CpuUse> {
        let aggregate = stat
            .lines()
            .find(|l| l.split_whitespace().next() == Some("cpu"))?;
        let ticks: Vec<u64> = aggregate
            .split_whitespace()
            .skip(1)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal [guest guest_nice]
        let field = |i: usize| ticks.get(i).copied().unwrap_or(0);
        if ticks.len() < 4 {
            return None;
        }
        let busy_ticks = [0, 1, 2, 5, 6, 7]
            .into_iter()
            .fold(0u64, |sum, i| sum.saturating_add(field(i)));
        let total_ticks = busy_ticks.saturating_add(field(3)).saturating_add(field(4));
        let logical_cpus = stat
            .lines()
            .filter(|l| l.split_whitespace().next().is_some_and(is_cpu_n))
            .count() as u32;
        // The command name (field 2) is in parentheses and may hold spaces or
        // parentheses itself: count fields after the last `)`, which is field 3.
        let (_, after_comm) = self_stat.rsplit_once(')')?;
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
        let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
        Some(CpuUse {
            busy_ticks,
            total_ticks,
            agent_ticks: utime.saturating_add(stime),
            logical_cpus,
        })
    }

    /// Logical CPUs, counted from the `cpuN` lines of `/proc/stat`.
    pub fn logical_cpus(&self) -> u32 {
        self.logical_cpus
    }

    /// What processes other than the agent used between `start` and this
    /// reading. `None` when no tick passed (readings too close together, or the
    /// counters went backwards).
    pub fn other_since(&self, start: &CpuUse) -> Option<OtherCpu> {
        let total = self.total_ticks.checked_sub(start.total_ticks)?;
        if total == 0 {
            return None;
        }
        let busy = self.busy_ticks.saturating_sub(start.busy_ticks);
        let agent = self.agent_ticks.saturating_sub(start.agent_ticks);
        // The agent's ticks are accounted per task and the machine's per CPU, so
        // they can disagree by a tick: keep the share inside 0..1.
        let other = busy.saturating_sub(agent);
        Some(OtherCpu {
            other_share: (other as f64 / total as f64).clamp(0.0, 1.0),
            logical_cpus: self.logical_cpus,
        })
    }
}

impl OtherCpu {
    /// The check to record; `window` says when, e.g. "during the baseline".
    /// A concern above [`OTHER_CPU_CONCERN_SHARE`].
    pub fn check(&self, window: &str) -> MachineCheck {
        let concern = self.other_share > OTHER_CPU_CONCERN_SHARE;
        let mut message = format!(
            "other processes used {:.1}% of all CPUs (about {:.1} of {}) {window}",
            self.other_share * 100.0,
            self.other_share * f64::from(self.logical_cpus),
            self.logical_cpus
        );
        if concern {
            message.push_str(
                "; their load raises the idle baseline, which is subtracted from every repetition",
            );
        }
        MachineCheck {
            check: MachineCheckKind::OtherCpu,
            value: format!("{:.3}", self.other_share),
            concern,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        (dir, root)
    }

    // governor

    #[test]
    fn one_governor_is_information() {
        let (_dir, sys) = tree();
        for cpu in 0..4 {
            write(
                &sys,
                &format!("devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor"),
                "powersave\n",
            );
        }
        // Not a CPU: must not be read.
        write(
            &sys,
            "devices/system/cpu/cpufreq/scaling_governor",
            "bogus\n",
        );
        let check = governor(&sys).expect("governor");
        assert_eq!(check.check, MachineCheckKind::Governor);
        assert_eq!(check.value, "powersave");
        assert!(!check.concern);
    }

    #[test]
    fn differing_governors_are_a_concern() {
        let (_dir, sys) = tree();
        write(
            &sys,
            "devices/system/cpu/cpu0/cpufreq/scaling_governor",
            "performance\n",
        );
        write(
            &sys,
            "devices/system/cpu/cpu1/cpufreq/scaling_governor",
            "powersave\n",
        );
        write(
            &sys,
            "devices/system/cpu/cpu2/cpufreq/scaling_governor",
            "powersave\n",
        );
        let check = governor(&sys).expect("governor");
        assert_eq!(check.value, "performance,powersave");
        assert!(check.concern);
        assert!(
            check.message.contains("powersave on 2"),
            "{}",
            check.message
        );
    }

    #[test]
    fn no_cpufreq_no_governor_check() {
        let (_dir, sys) = tree();
        write(&sys, "devices/system/cpu/cpu0/online", "1\n");
        assert_eq!(governor(&sys), None);
        assert_eq!(governor(&sys.join("missing")), None);
    }

    // turbo

    #[test]
    fn intel_pstate_no_turbo_zero_means_turbo_on() {
        let (_dir, sys) = tree();
        write(&sys, "devices/system/cpu/intel_pstate/no_turbo", "0\n");
        write(&sys, "devices/system/cpu/cpufreq/boost", "0\n");
        let check = turbo(&sys).expect("turbo");
        assert_eq!(check.value, "on");
        assert!(!check.concern);
    }

    #[test]
    fn cpufreq_boost_when_no_intel_pstate() {
        let (_dir, sys) = tree();
        write(&sys, "devices/system/cpu/cpufreq/boost", "0\n");
        assert_eq!(turbo(&sys).expect("turbo").value, "off");
        write(&sys, "devices/system/cpu/cpufreq/boost", "1\n");
        assert_eq!(turbo(&sys).expect("turbo").value, "on");
    }

    #[test]
    fn turbo_absent_or_malformed_gives_no_check() {
        let (_dir, sys) = tree();
        assert_eq!(turbo(&sys), None);
        write(&sys, "devices/system/cpu/intel_pstate/no_turbo", "maybe\n");
        assert_eq!(turbo(&sys), None);
        write(&sys, "devices/system/cpu/intel_pstate/no_turbo", "7\n");
        assert_eq!(turbo(&sys), None);
    }

    // swap

    const MEMINFO_HEAD: &str = "MemTotal:       16000000 kB\nMemFree:         8000000 kB\n";

    #[test]
    fn swap_over_one_percent_of_memory_is_a_concern() {
        let (_dir, proc) = tree();
        // 831488 KiB in use of 16 GB memory: 5.2%.
        write(
            &proc,
            "meminfo",
            &format!("{MEMINFO_HEAD}SwapTotal:       2097148 kB\nSwapFree:        1265660 kB\n"),
        );
        let check = swap(&proc).expect("swap");
        assert_eq!(check.check, MachineCheckKind::Swap);
        assert_eq!(check.value, "831488");
        assert!(check.concern);
        assert!(
            check
                .message
                .starts_with("swap in use: 812 MiB (5.2% of memory)"),
            "{}",
            check.message
        );
    }

    #[test]
    fn a_little_swap_is_information() {
        let (_dir, proc) = tree();
        // 100000 KiB of 16000000: 0.6%.
        write(
            &proc,
            "meminfo",
            &format!("{MEMINFO_HEAD}SwapTotal:       2000000 kB\nSwapFree:        1900000 kB\n"),
        );
        let check = swap(&proc).expect("swap");
        assert_eq!(check.value, "100000");
        assert!(!check.concern);
    }

    #[test]
    fn swap_absent_or_malformed_gives_no_check() {
        let (_dir, proc) = tree();
        assert_eq!(swap(&proc), None);
        write(
            &proc,
            "meminfo",
            &format!("{MEMINFO_HEAD}SwapTotal: lots kB\nSwapFree: 1 kB\n"),
        );
        assert_eq!(swap(&proc), None);
        write(&proc, "meminfo", MEMINFO_HEAD);
        assert_eq!(swap(&proc), None);
        write(&proc, "meminfo", "\u{0}\u{1}garbage");
        assert_eq!(swap(&proc), None);
    }

    // thermal throttling

    fn throttle_cpu(sys: &Path, cpu: u32, package: u32, core: u32, core_n: &str, package_n: &str) {
        let dir = format!("devices/system/cpu/cpu{cpu}");
        write(
            sys,
            &format!("{dir}/topology/physical_package_id"),
            &format!("{package}\n"),
        );
        write(
            sys,
            &format!("{dir}/topology/core_id"),
            &format!("{core}\n"),
        );
        write(
            sys,
            &format!("{dir}/thermal_throttle/core_throttle_count"),
            core_n,
        );
        write(
            sys,
            &format!("{dir}/thermal_throttle/package_throttle_count"),
            package_n,
        );
    }

    #[test]
    fn throttle_counts_each_core_and_package_once() {
        let (_dir, sys) = tree();
        // Package 0: cores 0 and 1, each with two hyperthreads; package 1: one core.
        throttle_cpu(&sys, 0, 0, 0, "3\n", "10\n");
        throttle_cpu(&sys, 1, 0, 1, "4\n", "10\n");
        throttle_cpu(&sys, 2, 0, 0, "3\n", "10\n");
        throttle_cpu(&sys, 3, 0, 1, "4\n", "10\n");
        throttle_cpu(&sys, 4, 1, 0, "0\n", "5\n");
        // Every counter, the zero one included.
        #[allow(clippy::identity_op)]
        let expected = 3 + 4 + 0 + 10 + 5;
        assert_eq!(throttle_count(&sys), Some(expected));
        let check = thermal_throttle(&sys).expect("throttle");
        assert_eq!(check.check, MachineCheckKind::ThermalThrottle);
        assert_eq!(check.value, "22");
        assert!(check.concern);
    }

    #[test]
    fn no_throttling_is_not_a_concern() {
        let (_dir, sys) = tree();
        throttle_cpu(&sys, 0, 0, 0, "0\n", "0\n");
        let check = thermal_throttle(&sys).expect("throttle");
        assert_eq!(check.value, "0");
        assert!(!check.concern);
    }

    #[test]
    fn throttle_without_topology_counts_each_cpu() {
        let (_dir, sys) = tree();
        write(
            &sys,
            "devices/system/cpu/cpu0/thermal_throttle/core_throttle_count",
            "2\n",
        );
        write(
            &sys,
            "devices/system/cpu/cpu1/thermal_throttle/core_throttle_count",
            "5\n",
        );
        assert_eq!(throttle_count(&sys), Some(7));
    }

    #[test]
    fn throttle_absent_or_malformed_gives_no_check() {
        let (_dir, sys) = tree();
        write(&sys, "devices/system/cpu/cpu0/online", "1\n");
        assert_eq!(throttle_count(&sys), None);
        assert_eq!(thermal_throttle(&sys), None);
        write(
            &sys,
            "devices/system/cpu/cpu0/thermal_throttle/core_throttle_count",
            "-1\n",
        );
        write(
            &sys,
            "devices/system/cpu/cpu0/thermal_throttle/package_throttle_count",
            "x\n",
        );
        assert_eq!(thermal_throttle(&sys), None);
    }

    // battery

    fn supply(sys: &Path, name: &str, kind: &str, file: &str, text: &str) {
        write(
            sys,
            &format!("class/power_supply/{name}/type"),
            &format!("{kind}\n"),
        );
        write(
            sys,
            &format!("class/power_supply/{name}/{file}"),
            &format!("{text}\n"),
        );
    }

    #[test]
    fn discharging_battery_is_a_concern() {
        let (_dir, sys) = tree();
        supply(&sys, "BAT0", "Battery", "status", "Discharging");
        supply(&sys, "AC", "Mains", "online", "1");
        let check = on_battery(&sys).expect("battery");
        assert_eq!(check.check, MachineCheckKind::OnBattery);
        assert_eq!(check.value, "true");
        assert!(check.concern);
    }

    #[test]
    fn mains_offline_is_on_battery() {
        let (_dir, sys) = tree();
        supply(&sys, "AC", "Mains", "online", "0");
        supply(&sys, "BAT0", "Battery", "status", "Unknown");
        assert!(on_battery(&sys).expect("battery").concern);
    }

    #[test]
    fn one_online_mains_is_plugged_in() {
        let (_dir, sys) = tree();
        supply(&sys, "AC", "Mains", "online", "0");
        supply(&sys, "ADP1", "Mains", "online", "1");
        supply(&sys, "BAT0", "Battery", "status", "Charging");
        supply(&sys, "hidpp_battery_0", "USB", "online", "0");
        let check = on_battery(&sys).expect("battery");
        assert_eq!(check.value, "false");
        assert!(!check.concern);
    }

    #[test]
    fn no_supplies_or_malformed_gives_no_check() {
        let (_dir, sys) = tree();
        assert_eq!(on_battery(&sys), None);
        supply(&sys, "ucsi", "USB", "online", "0");
        supply(&sys, "AC", "Mains", "online", "perhaps");
        write(&sys, "class/power_supply/BAT0/type", "Battery\n");
        assert_eq!(on_battery(&sys), None);
    }

    // all

    #[test]
    fn check_all_gives_what_the_machine_exposes() {
        let (_dir, root) = tree();
        let (sys, proc) = (root.join("sys"), root.join("proc"));
        write(
            &sys,
            "devices/system/cpu/cpu0/cpufreq/scaling_governor",
            "schedutil\n",
        );
        write(
            &proc,
            "meminfo",
            &format!("{MEMINFO_HEAD}SwapTotal: 0 kB\nSwapFree: 0 kB\n"),
        );
        let kinds: Vec<_> = check_all(&sys, &proc).iter().map(|c| c.check).collect();
        assert_eq!(kinds, [MachineCheckKind::Governor, MachineCheckKind::Swap]);
        assert!(check_all(&root.join("none"), &root.join("none")).is_empty());
    }

    // other CPU use

    const SELF_STAT_PREFIX: &str = "4242 (hoeveel (agent) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0";

    fn self_stat(utime: u64, stime: u64) -> String {
        format!(
            "{SELF_STAT_PREFIX} {utime} {stime} 0 0 20 0 3 0 12345 1000000 500 18446744073709551615\n"
        )
    }

    fn proc_stat(user: u64, system: u64, idle: u64) -> String {
        // user nice system idle iowait irq softirq steal guest guest_nice
        format!(
            "cpu  {user} 10 {system} {idle} 20 5 5 0 7 0\n\
             cpu0 1 0 1 1 0 0 0 0 0 0\n\
             cpu1 1 0 1 1 0 0 0 0 0 0\n\
             cpu2 1 0 1 1 0 0 0 0 0 0\n\
             cpu3 1 0 1 1 0 0 0 0 0 0\n\
             intr 1 2 3\nctxt 100\nbtime 1700000000\n"
        )
    }

    #[test]
    fn other_cpu_share_subtracts_the_agent() {
        let (_dir, proc) = tree();
        write(&proc, "stat", &proc_stat(1000, 500, 10_000));
        write(&proc, "self/stat", &self_stat(40, 10));
        let start = CpuUse::read(&proc).expect("start");
        assert_eq!(start.logical_cpus(), 4);
        // 400 ticks pass over 4 CPUs: busy +100 (user +80, system +20), idle +300.
        // The agent used 30 of the busy ticks; others 70 of 400 = 17.5%.
        write(&proc, "stat", &proc_stat(1080, 520, 10_300));
        write(&proc, "self/stat", &self_stat(60, 20));
        let end = CpuUse::read(&proc).expect("end");
        let other = end.other_since(&start).expect("ticks passed");
        assert!((other.other_share - 0.175).abs() < 1e-12, "{other:?}");
        assert_eq!(other.logical_cpus, 4);
        let check = other.check("during the baseline");
        assert_eq!(check.check, MachineCheckKind::OtherCpu);
        assert_eq!(check.value, "0.175");
        assert!(check.concern);
        assert!(
            check.message.starts_with(
                "other processes used 17.5% of all CPUs (about 0.7 of 4) during the baseline"
            ),
            "{}",
            check.message
        );
    }

    #[test]
    fn a_quiet_machine_is_not_a_concern() {
        let start =
            CpuUse::parse(&proc_stat(1000, 500, 10_000), &self_stat(40, 10)).expect("start");
        // 1000 ticks: busy +20, all of it the agent's but 5.
        let end = CpuUse::parse(&proc_stat(1015, 505, 10_980), &self_stat(55, 10)).expect("end");
        let other = end.other_since(&start).expect("ticks passed");
        assert!((other.other_share - 0.005).abs() < 1e-12, "{other:?}");
        assert!(!other.check("during the baseline").concern);
    }

    #[test]
    fn other_cpu_needs_ticks_to_pass() {
        let a = CpuUse::parse(&proc_stat(1000, 500, 10_000), &self_stat(40, 10)).expect("a");
        assert_eq!(a.other_since(&a), None);
        let earlier = CpuUse::parse(&proc_stat(900, 500, 10_000), &self_stat(40, 10)).expect("b");
        assert_eq!(earlier.other_since(&a), None);
        // The agent's ticks running ahead of the machine's clamp to 0, not below.
        let b = CpuUse::parse(&proc_stat(1001, 500, 10_010), &self_stat(45, 10)).expect("c");
        assert_eq!(b.other_since(&a).expect("ticks").other_share, 0.0);
    }

    #[test]
    fn cpu_use_absent_or_malformed_is_none() {
        let (_dir, proc) = tree();
        assert_eq!(CpuUse::read(&proc), None);
        write(&proc, "stat", &proc_stat(1, 1, 1));
        assert_eq!(CpuUse::read(&proc), None, "no self/stat");
        let good_self = self_stat(1, 1);
        assert_eq!(CpuUse::parse("cpu  1 2 x 4\n", &good_self), None);
        assert_eq!(CpuUse::parse("cpu  1 2\n", &good_self), None);
        assert_eq!(CpuUse::parse("cpu0 1 2 3 4\n", &good_self), None);
        let good_stat = proc_stat(1, 1, 1);
        assert_eq!(CpuUse::parse(&good_stat, "4242 (agent S 1"), None);
        assert_eq!(CpuUse::parse(&good_stat, "4242 (agent) S 1 2 3"), None);
        assert_eq!(
            CpuUse::parse(&good_stat, &format!("{SELF_STAT_PREFIX} -5 1 0\n")),
            None
        );
    }
}
