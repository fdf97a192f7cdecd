//! Opens one event of a dynamic PMU (a PMU under `/sys/bus/event_source/devices`
//! with its own `type` number, such as `power` or `software`) system-wide on one CPU,
//! and reads its 64-bit count.
//!
//! Uncore-style PMUs like RAPL's count for a whole package, not for a task, so
//! the event is opened with pid -1 on one CPU of the package (perf_event_open(2)).
//! They reject any exclude flag (arch/x86/events/rapl.c returns EINVAL when
//! `exclude_kernel`, `exclude_hv` or `exclude_user` is set), so both are cleared
//! here; perf-event2's builder sets them by default.
//!
//! This part knows nothing about energy: it is tested on the kernel's software
//! PMU (`cpu-clock`, which always moves, and `dummy`, which never counts), which
//! every Linux machine has, virtual or not, whatever its CPU vendor or
//! architecture. The `msr` PMU would not do: it is x86 only, and on AMD it
//! offers `tsc` alone.

use crate::sensors::SensorError;
use perf_event::events::Raw;
use perf_event::{Builder, Counter};
use std::io;
use std::path::Path;

/// One event of a dynamic PMU: the PMU's `type` and the event's `config` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmuEvent {
    pub pmu_type: u32,
    pub config: u64,
}

/// A counter open system-wide on one CPU.
pub struct SystemWideCounter {
    counter: Counter,
    cpu: usize,
}

impl SystemWideCounter {
    /// Opens and enables `event` for every task on `cpu`. Needs CAP_PERFMON
    /// (or CAP_SYS_ADMIN, or `kernel.perf_event_paranoid` ≤ 0).
    pub fn open(event: PmuEvent, cpu: usize) -> io::Result<SystemWideCounter> {
        // `Raw` fills config; its type (PERF_TYPE_RAW, the core PMU) is then
        // replaced by the dynamic PMU's own type number.
        let mut builder = Builder::new(Raw::new(event.config));
        builder.attrs_mut().type_ = event.pmu_type;
        builder.any_pid().one_cpu(cpu).include_kernel().include_hv();
        let mut counter = builder.build()?;
        counter.enable()?;
        Ok(SystemWideCounter { counter, cpu })
    }

    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// The count since the counter was opened.
    pub fn read_count(&mut self) -> io::Result<u64> {
        self.counter.read()
    }
}

/// Maps an error from perf_event_open of `event` (named `what`, e.g.
/// `power/energy-pkg`, described by the file `event_path`) on `cpu`.
/// A pure function, so that the permission path is tested even as root.
pub fn open_error(
    err: io::Error,
    what: &str,
    event_path: &Path,
    event: PmuEvent,
    cpu: usize,
) -> SensorError {
    match err.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => SensorError::PermissionDenied {
            path: event_path.to_path_buf(),
            fix: format!(
                "opening {what} system-wide on CPU {cpu} needs CAP_PERFMON or kernel.perf_event_paranoid <= 0: \
                 `sudo setcap cap_perfmon+ep $(which hoeveel-agent)` (kernel 5.8+), \
                 or `sudo sysctl -w kernel.perf_event_paranoid=0` (until reboot; \
                 persist it in /etc/sysctl.d/), or run as root; \
                 in a container, its seccomp profile must also allow perf_event_open"
            ),
        },
        Some(libc::ENOENT | libc::ENODEV | libc::EINVAL | libc::EOPNOTSUPP) => {
            SensorError::Unavailable(format!(
                "perf_event_open of {what} (type {}, config {:#x}) on CPU {cpu} failed: {err}",
                event.pmu_type, event.config
            ))
        }
        _ => SensorError::Io {
            path: event_path.to_path_buf(),
            source: err,
        },
    }
}

/// For the tests that count on a real PMU: opens `event` on `cpu` as the
/// sensor does, or panics saying what this machine lacks to run them: the
/// right to call perf_event_open system-wide (root, CAP_PERFMON or
/// `kernel.perf_event_paranoid` <= 0, and a seccomp profile that allows it).
/// CI runs the tests as root, so this fails rather than skips.
#[cfg(test)]
pub(crate) fn open_for_test(event: PmuEvent, cpu: usize) -> SystemWideCounter {
    SystemWideCounter::open(event, cpu).unwrap_or_else(|e| {
        let what = format!("PMU type {} config {:#x}", event.pmu_type, event.config);
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .map_or_else(|e| format!("unreadable: {e}"), |t| t.trim().to_string());
        match open_error(e, &what, Path::new("(test)"), event, cpu) {
            SensorError::PermissionDenied { fix, .. } => panic!(
                "this test opens real perf_event counters system-wide and this process may not \
                 (kernel.perf_event_paranoid is {paranoid}): {fix}"
            ),
            other => panic!("this test cannot open {what} system-wide on CPU {cpu}: {other}"),
        }
    })
}

/// Panics, saying what is missing, unless this process may open the software
/// PMU's `cpu-clock` system-wide on CPU 0: call it first in a test that opens
/// counters through the sensor, whose own errors would hide the cause.
#[cfg(test)]
pub(crate) fn require_system_wide_perf() {
    use hoeveel_sysfs_fixture::{SOFTWARE_CPU_CLOCK, software_pmu_type};
    let event = PmuEvent {
        pmu_type: software_pmu_type(),
        config: SOFTWARE_CPU_CLOCK,
    };
    drop(open_for_test(event, 0));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::rapl_perf::power_pmu::parse_cpu_list;
    use hoeveel_sysfs_fixture::{SOFTWARE_CPU_CLOCK, SOFTWARE_DUMMY, software_pmu_type};
    use std::time::{Duration, Instant};

    /// The CPUs to open on: this machine's online list (ids need not run
    /// 0..n: CPUs can be offline), or CPU 0 alone where sysfs is missing.
    fn online_cpus() -> Vec<usize> {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|text| parse_cpu_list(&text))
            .unwrap_or_else(|| vec![0])
    }

    fn software(config: u64) -> PmuEvent {
        PmuEvent {
            pmu_type: software_pmu_type(),
            config,
        }
    }

    /// A read, with the instants just before and just after it: the kernel
    /// took the count somewhere in between.
    struct TimedRead {
        count: u64,
        before: Instant,
        after: Instant,
    }

    fn timed_read(counter: &mut SystemWideCounter) -> TimedRead {
        let before = Instant::now();
        let count = counter.read_count().expect("read");
        TimedRead {
            count,
            before,
            after: Instant::now(),
        }
    }

    /// `cpu-clock` opened system-wide counts the nanoseconds of that CPU's
    /// clock (kernel/events/core.c, cpu_clock_event_update: `local_clock()`
    /// deltas while the event is scheduled, which a CPU-wide software event
    /// always is), whether the CPU is busy or idle: a read of an idle CPU's
    /// event interrupts it to bring the count up to date. So the count between
    /// two reads lies between the times measured around them, whatever the load;
    /// the slack covers the CPU's clock running apart from CLOCK_MONOTONIC
    /// (up to one tick where sched_clock is unstable).
    #[test]
    fn cpu_clock_counts_wall_clock_ns_on_every_online_cpu() {
        const WINDOW: Duration = Duration::from_millis(50);
        const SLACK: Duration = Duration::from_millis(10);
        let cpus = online_cpus();
        let mut counters: Vec<SystemWideCounter> = cpus
            .iter()
            .map(|&cpu| open_for_test(software(SOFTWARE_CPU_CLOCK), cpu))
            .collect();
        let first: Vec<TimedRead> = counters.iter_mut().map(timed_read).collect();
        std::thread::sleep(WINDOW);
        let second: Vec<TimedRead> = counters.iter_mut().map(timed_read).collect();
        for (((cpu, counter), a), b) in cpus.iter().zip(&counters).zip(&first).zip(&second) {
            assert_eq!(counter.cpu(), *cpu);
            let counted = b.count.checked_sub(a.count).map(Duration::from_nanos);
            let least = b.before - a.after;
            let most = b.after - a.before;
            assert!(
                counted.is_some_and(|c| c + SLACK >= least && c <= most + SLACK),
                "CPU {cpu}: cpu-clock went from {} to {} ns, but {least:?} to {most:?} passed between the reads",
                a.count,
                b.count
            );
        }
    }

    /// What the fixture's still counter relies on.
    #[test]
    fn dummy_opens_and_never_counts() {
        let mut counter = open_for_test(software(SOFTWARE_DUMMY), 0);
        let first = counter.read_count().expect("read");
        std::thread::sleep(Duration::from_millis(25));
        let second = counter.read_count().expect("read");
        assert_eq!((first, second), (0, 0));
    }

    #[test]
    fn unknown_pmu_type_is_unavailable() {
        // No PMU has this type number: the kernel answers ENOENT (once it
        // has checked the permission, which would answer EACCES first).
        require_system_wide_perf();
        let event = PmuEvent {
            pmu_type: 0x7fff_0000,
            config: 2,
        };
        let err = SystemWideCounter::open(event, 0)
            .err()
            .expect("no such PMU");
        let mapped = open_error(
            err,
            "power/energy-pkg",
            Path::new("/x/events/energy-pkg"),
            event,
            0,
        );
        let SensorError::Unavailable(message) = mapped else {
            panic!("expected Unavailable, got {mapped:?}");
        };
        assert!(message.contains("power/energy-pkg"), "{message}");
        assert!(message.contains("type 2147418112, config 0x2"), "{message}");
        assert!(message.contains("CPU 0"), "{message}");
    }

    #[test]
    fn eacces_and_eperm_name_the_fix() {
        let event = PmuEvent {
            pmu_type: 23,
            config: 2,
        };
        let path = Path::new("/sys/bus/event_source/devices/power/events/energy-pkg");
        for errno in [libc::EACCES, libc::EPERM] {
            let err = open_error(
                io::Error::from_raw_os_error(errno),
                "power/energy-pkg",
                path,
                event,
                28,
            );
            let SensorError::PermissionDenied { path: p, fix } = &err else {
                panic!("expected PermissionDenied, got {err:?}");
            };
            assert_eq!(p, path);
            assert!(
                fix.contains("sudo setcap cap_perfmon+ep $(which hoeveel-agent)"),
                "{fix}"
            );
            assert!(
                fix.contains("sudo sysctl -w kernel.perf_event_paranoid=0"),
                "{fix}"
            );
            assert!(fix.contains("CPU 28"), "{fix}");
        }
    }

    #[test]
    fn other_errors_keep_the_path() {
        let event = PmuEvent {
            pmu_type: 23,
            config: 2,
        };
        let path = Path::new("/sys/bus/event_source/devices/power/events/energy-pkg");
        let err = open_error(
            io::Error::from_raw_os_error(libc::EMFILE),
            "power/energy-pkg",
            path,
            event,
            0,
        );
        assert!(matches!(err, SensorError::Io { path: p, .. } if p == path));
    }
}
