//! Opens one event of a dynamic PMU (a PMU under `/sys/bus/event_source/devices`
//! with its own `type` number, such as `power` or `msr`) system-wide on one CPU,
//! and reads its 64-bit count.
//!
//! Uncore-style PMUs like RAPL's count for a whole package, not for a task, so
//! the event is opened with pid -1 on one CPU of the package (perf_event_open(2)).
//! They reject any exclude flag (arch/x86/events/rapl.c returns EINVAL when
//! `exclude_kernel`, `exclude_hv` or `exclude_user` is set), so both are cleared
//! here; perf-event2's builder sets them by default.
//!
//! This part knows nothing about energy: it is tested on the `msr` PMU's `tsc`
//! event, which every x86 machine (virtual ones too) has.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::rapl_perf::power_pmu::{event_config, read_format};
    use std::path::PathBuf;

    const MSR: &str = "/sys/bus/event_source/devices/msr";

    /// The real `msr/tsc` event of this machine, parsed as the power PMU's events are.
    fn msr_tsc() -> PmuEvent {
        let dir = PathBuf::from(MSR);
        let pmu_type = std::fs::read_to_string(dir.join("type"))
            .expect("this machine has an msr PMU (x86): /sys/bus/event_source/devices/msr/type")
            .trim()
            .parse()
            .expect("msr type is a number");
        let format = read_format(&dir.join("format")).expect("msr format");
        let text = std::fs::read_to_string(dir.join("events/tsc")).expect("msr/tsc event");
        let config = event_config(text.trim(), &format).expect("msr/tsc config");
        PmuEvent { pmu_type, config }
    }

    #[test]
    fn msr_tsc_counts_increase_on_every_cpu() {
        let event = msr_tsc();
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        for cpu in 0..cpus {
            let mut counter = SystemWideCounter::open(event, cpu)
                .unwrap_or_else(|e| panic!("open msr/tsc system-wide on CPU {cpu}: {e}"));
            assert_eq!(counter.cpu(), cpu);
            let first = counter.read_count().expect("read");
            // Some work between the reads; the TSC runs regardless.
            let spin: u64 = (0..100_000u64).map(std::hint::black_box).sum();
            std::hint::black_box(spin);
            let second = counter.read_count().expect("read");
            assert!(
                second > first,
                "CPU {cpu}: tsc went from {first} to {second}"
            );
        }
    }

    #[test]
    fn unknown_pmu_type_is_unavailable() {
        // No PMU has this type number: the kernel answers ENOENT.
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
