//! Fake sysfs trees for tests and benchmarks: a powercap RAPL tree and a
//! perf_event `power` PMU, laid out as the kernel lays them out, under any
//! directory. The sensors take the sysfs root as a parameter, so pointing them
//! at one of these trees exercises the same discovery and reading code as `/sys`.
//!
//! A crate of its own, next to the stand-in NVML library, so that the unit
//! tests of the measuring crate, the end-to-end tests and the benchmarks build the
//! same trees. It uses only `std`.
//!
//! Counters are written in place, at offset 0 and always with the same width
//! (zero-padded), because the sensor opens each `energy_uj` once and re-reads
//! it: replacing the file would leave the sensor reading the old inode, and
//! truncating it would let a reader in another process see it empty.
//!
//! An end-to-end test of the agent as another process:
//!
//! ```no_run
//! use hoeveel_sysfs_fixture::{build_powercap, drive_at_rates, two_socket_zones};
//! # fn main() -> std::io::Result<()> {
//! let dir = std::env::temp_dir().join("fake-sys");
//! let fake = build_powercap(&dir, &two_socket_zones())?;
//! let driver = drive_at_rates(&fake, &[("intel-rapl:0", 50.0), ("intel-rapl:0:0", 5.0)])?;
//! // ... run `hoeveel-agent run --sysfs-root <dir> ...`; package-0 reads 50 W × each window ...
//! driver.stop()?;
//! # Ok(())
//! # }
//! ```
//!
//! Layouts follow the kernel's powercap documentation
//! (Documentation/power/powercap/powercap.rst) and the RAPL perf PMU
//! (arch/x86/events/rapl.c): `energy-cores` is `event=0x01`, `energy-pkg`
//! `event=0x02`, `energy-ram` `event=0x03`, `energy-gpu` `event=0x04`,
//! `energy-psys` `event=0x05`, scale 2^-32 J per count.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `max_energy_range_uj` of many Intel packages (2^32 counts of 61 µJ).
pub const INTEL_MAX_ENERGY_RANGE_UJ: u64 = 262_143_328_850;

/// The RAPL perf PMU's scale, 2^-32 J per count, as the kernel prints it.
pub const RAPL_PERF_SCALE: &str = "2.3283064365386962890625e-10";

/// Width of a counter file: 20 digits hold any u64, then a newline.
const COUNTER_WIDTH: usize = 20;

/// One powercap zone to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// Directory under `class/powercap`: `intel-rapl:0`, `intel-rapl:0:1`, `intel-rapl-mmio:0`.
    pub dir: String,
    /// Content of `name`: `package-0`, `core`, `uncore`, `dram`, `psys`.
    pub name: String,
    pub energy_uj: u64,
    pub max_energy_range_uj: u64,
}

impl ZoneSpec {
    /// A zone starting at 0 µJ with the usual Intel range.
    pub fn new(dir: &str, name: &str) -> ZoneSpec {
        ZoneSpec {
            dir: dir.to_string(),
            name: name.to_string(),
            energy_uj: 0,
            max_energy_range_uj: INTEL_MAX_ENERGY_RANGE_UJ,
        }
    }

    pub fn with_energy_uj(mut self, energy_uj: u64) -> ZoneSpec {
        self.energy_uj = energy_uj;
        self
    }

    pub fn with_max_energy_range_uj(mut self, max_energy_range_uj: u64) -> ZoneSpec {
        self.max_energy_range_uj = max_energy_range_uj;
        self
    }
}

/// A laptop: package-0 with core and uncore subzones, psys, and an MMIO twin of
/// package-0 (as on Tiger Lake and later, where the MMIO interface is also exposed).
pub fn client_zones() -> Vec<ZoneSpec> {
    vec![
        ZoneSpec::new("intel-rapl:0", "package-0"),
        ZoneSpec::new("intel-rapl:0:0", "core"),
        ZoneSpec::new("intel-rapl:0:1", "uncore"),
        ZoneSpec::new("intel-rapl:1", "psys"),
        ZoneSpec::new("intel-rapl-mmio:0", "package-0"),
    ]
}

/// A two-socket server: a package and its DRAM subzone per socket. DRAM has
/// its own, smaller range, as on Xeons (dram energy units differ from the package's).
pub fn two_socket_zones() -> Vec<ZoneSpec> {
    vec![
        ZoneSpec::new("intel-rapl:0", "package-0"),
        ZoneSpec::new("intel-rapl:0:0", "dram").with_max_energy_range_uj(65_712_999_613),
        ZoneSpec::new("intel-rapl:1", "package-1"),
        ZoneSpec::new("intel-rapl:1:0", "dram").with_max_energy_range_uj(65_712_999_613),
    ]
}

/// A powercap tree on disk, and the counters a test advances.
#[derive(Debug)]
pub struct FakePowercap {
    root: PathBuf,
    zones: Vec<FakeZone>,
}

/// One zone of a [`FakePowercap`].
#[derive(Debug)]
pub struct FakeZone {
    pub dir: String,
    pub name: String,
    pub max_energy_range_uj: u64,
    /// The file to advance.
    pub energy_uj_path: PathBuf,
    energy_uj: u64,
}

/// Creates `<root>/class/powercap/<zone>/{name,energy_uj,max_energy_range_uj}`
/// for every zone, and the `intel-rapl` control-type directory. `root` is the
/// directory to pass as the sysfs root.
pub fn build_powercap(root: &Path, zones: &[ZoneSpec]) -> io::Result<FakePowercap> {
    let class = root.join("class/powercap");
    fs::create_dir_all(class.join("intel-rapl"))?;
    fs::write(class.join("intel-rapl/enabled"), "1\n")?;
    let mut fake = Vec::with_capacity(zones.len());
    for z in zones {
        let dir = class.join(&z.dir);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("name"), format!("{}\n", z.name))?;
        fs::write(
            dir.join("max_energy_range_uj"),
            format!("{}\n", z.max_energy_range_uj),
        )?;
        let energy_uj_path = dir.join("energy_uj");
        fs::write(&energy_uj_path, counter_text(z.energy_uj))?;
        fake.push(FakeZone {
            dir: z.dir.clone(),
            name: z.name.clone(),
            max_energy_range_uj: z.max_energy_range_uj,
            energy_uj_path,
            energy_uj: z.energy_uj,
        });
    }
    Ok(FakePowercap {
        root: root.to_path_buf(),
        zones: fake,
    })
}

impl FakePowercap {
    /// The sysfs root to give the sensor.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn zones(&self) -> &[FakeZone] {
        &self.zones
    }

    /// The zone in directory `dir` (`intel-rapl:0:1`).
    pub fn zone(&self, dir: &str) -> Option<&FakeZone> {
        self.zones.iter().find(|z| z.dir == dir)
    }

    /// The `energy_uj` file of zone `dir`.
    pub fn energy_uj_path(&self, dir: &str) -> Option<&Path> {
        self.zone(dir).map(|z| z.energy_uj_path.as_path())
    }

    /// The counter value last written to zone `dir`.
    pub fn energy_uj(&self, dir: &str) -> Option<u64> {
        self.zone(dir).map(|z| z.energy_uj)
    }

    /// Adds `delta_uj` to zone `dir`'s counter, wrapping past
    /// `max_energy_range_uj` to 0 as the hardware does. Returns whether it wrapped.
    pub fn advance_uj(&mut self, dir: &str, delta_uj: u64) -> io::Result<bool> {
        let zone = self
            .zones
            .iter_mut()
            .find(|z| z.dir == dir)
            .ok_or_else(|| unknown_zone(dir))?;
        let (value, wrapped) = wrap_add(zone.energy_uj, delta_uj, zone.max_energy_range_uj);
        write_counter(&zone.energy_uj_path, value)?;
        zone.energy_uj = value;
        Ok(wrapped)
    }

    /// Sets zone `dir`'s counter to `energy_uj` (which must not exceed its range).
    pub fn set_energy_uj(&mut self, dir: &str, energy_uj: u64) -> io::Result<()> {
        let zone = self
            .zones
            .iter_mut()
            .find(|z| z.dir == dir)
            .ok_or_else(|| unknown_zone(dir))?;
        write_counter(&zone.energy_uj_path, energy_uj)?;
        zone.energy_uj = energy_uj;
        Ok(())
    }

    /// A writer for zone `dir` that a thread can own, for counters advanced
    /// at a known rate while another process reads them.
    pub fn writer(&self, dir: &str) -> io::Result<CounterWriter> {
        let zone = self.zone(dir).ok_or_else(|| unknown_zone(dir))?;
        CounterWriter::open(
            &zone.energy_uj_path,
            zone.energy_uj,
            zone.max_energy_range_uj,
        )
    }
}

/// Writes one zone's counter in place from any thread.
#[derive(Debug)]
pub struct CounterWriter {
    file: File,
    start_uj: u64,
    max_energy_range_uj: u64,
}

impl CounterWriter {
    /// Opens `energy_uj_path`, whose counter now reads `start_uj`.
    pub fn open(
        energy_uj_path: &Path,
        start_uj: u64,
        max_energy_range_uj: u64,
    ) -> io::Result<CounterWriter> {
        let file = OpenOptions::new().write(true).open(energy_uj_path)?;
        Ok(CounterWriter {
            file,
            start_uj,
            max_energy_range_uj,
        })
    }

    /// Sets the counter to the start value plus `total_uj`, wrapping as the
    /// hardware does, so that `rate × elapsed` can be written directly.
    pub fn set_total_uj(&mut self, total_uj: u64) -> io::Result<()> {
        let (value, _) = wrap_add(self.start_uj, total_uj, self.max_energy_range_uj);
        self.file.write_all_at(counter_text(value).as_bytes(), 0)
    }
}

/// Advances zones' counters at constant powers from a background thread, for
/// tests that run the agent as another process and compare its energies with
/// power × duration. Each counter is rewritten every 200 µs, well under the
/// agent's repetition windows, so the step error stays far below 1 %.
pub struct RateDriver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<f64>>>,
}

/// How often the driver rewrites the counters.
const DRIVE_PERIOD: Duration = Duration::from_micros(200);

/// Starts advancing each `(zone dir, power_w)` of `fake` at `power_w` from now.
pub fn drive_at_rates(fake: &FakePowercap, rates: &[(&str, f64)]) -> io::Result<RateDriver> {
    let mut writers = rates
        .iter()
        .map(|(dir, power_w)| Ok((fake.writer(dir)?, *power_w)))
        .collect::<io::Result<Vec<_>>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_seen = Arc::clone(&stop);
    let thread = std::thread::spawn(move || -> io::Result<f64> {
        let start = Instant::now();
        loop {
            let stopping = stop_seen.load(Ordering::Acquire);
            let elapsed_s = start.elapsed().as_secs_f64();
            for (writer, power_w) in &mut writers {
                // W × s = J; × 1e6 = µJ
                writer.set_total_uj((*power_w * elapsed_s * 1e6) as u64)?;
            }
            if stopping {
                return Ok(elapsed_s);
            }
            std::thread::sleep(DRIVE_PERIOD);
        }
    });
    Ok(RateDriver {
        stop,
        thread: Some(thread),
    })
}

impl RateDriver {
    /// Stops, after a last write; returns the seconds the counters were driven
    /// (each counter now reads its start + power × that time).
    pub fn stop(mut self) -> io::Result<f64> {
        self.finish()
    }

    fn finish(&mut self) -> io::Result<f64> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| io::Error::other("the counter driver thread panicked"))?,
            None => Ok(0.0),
        }
    }
}

impl Drop for RateDriver {
    fn drop(&mut self) {
        // Errors were for `stop` to report; a dropped driver only stops.
        let _ = self.finish();
    }
}

/// Writes `energy_uj` into a counter file in place (same width every time).
pub fn write_counter(path: &Path, energy_uj: u64) -> io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    file.write_all_at(counter_text(energy_uj).as_bytes(), 0)
}

fn counter_text(energy_uj: u64) -> String {
    format!("{energy_uj:0COUNTER_WIDTH$}\n")
}

/// `value + delta` on a counter that runs from 0 to `max` inclusive.
fn wrap_add(value: u64, delta: u64, max: u64) -> (u64, bool) {
    let span = u128::from(max) + 1;
    let sum = u128::from(value) + u128::from(delta);
    // The remainder is below `span`, so it fits in a u64.
    let wrapped_value = u64::try_from(sum % span).unwrap_or(u64::MAX);
    (wrapped_value, sum >= span)
}

fn unknown_zone(dir: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no zone {dir} in this fake powercap tree"),
    )
}

/// One event of a fake power PMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmuEventSpec {
    /// `energy-pkg`, `energy-cores`, `energy-gpu`, `energy-ram`, `energy-psys`.
    pub name: String,
    /// Content of the event file, e.g. `event=0x02`.
    pub config: String,
    /// Content of `<name>.scale`; `None` leaves the file out.
    pub scale: Option<String>,
    /// Content of `<name>.unit`; `None` leaves the file out.
    pub unit: Option<String>,
}

impl PmuEventSpec {
    /// A RAPL event with the kernel's scale and unit.
    pub fn rapl(name: &str, config: &str) -> PmuEventSpec {
        PmuEventSpec {
            name: name.to_string(),
            config: config.to_string(),
            scale: Some(RAPL_PERF_SCALE.to_string()),
            unit: Some("Joules".to_string()),
        }
    }

    pub fn with_scale(mut self, scale: &str) -> PmuEventSpec {
        self.scale = Some(scale.to_string());
        self
    }
}

/// A fake `power` PMU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmuSpec {
    /// Content of `type`: the number to pass to perf_event_open.
    pub pmu_type: u32,
    /// Content of `cpumask`: one CPU per package, e.g. `0,28`.
    pub cpumask: String,
    /// Content of `format/event`: `config:0-7` for RAPL, `config:0-63` for the
    /// software PMU stand-in of [`PmuSpec::software_backed`].
    pub format_event: String,
    pub events: Vec<PmuEventSpec>,
    /// `(cpu, physical_package_id)` written under `devices/system/cpu`.
    pub packages: Vec<(u32, u32)>,
}

impl PmuSpec {
    /// A laptop: one package with pkg, cores, gpu and psys.
    pub fn client(pmu_type: u32) -> PmuSpec {
        PmuSpec {
            pmu_type,
            cpumask: "0".to_string(),
            format_event: "config:0-7".to_string(),
            events: vec![
                PmuEventSpec::rapl("energy-cores", "event=0x01"),
                PmuEventSpec::rapl("energy-pkg", "event=0x02"),
                PmuEventSpec::rapl("energy-gpu", "event=0x04"),
                PmuEventSpec::rapl("energy-psys", "event=0x05"),
            ],
            packages: vec![(0, 0)],
        }
    }

    /// A two-socket server: pkg and ram on CPUs 0 and 28. DRAM counts in
    /// 15.3 µJ units (2^-16 J), as on Haswell-EP and later Xeons.
    pub fn two_socket(pmu_type: u32) -> PmuSpec {
        PmuSpec {
            pmu_type,
            cpumask: "0,28".to_string(),
            format_event: "config:0-7".to_string(),
            events: vec![
                PmuEventSpec::rapl("energy-pkg", "event=0x02"),
                PmuEventSpec::rapl("energy-ram", "event=0x03").with_scale("1.52587890625e-05"),
            ],
            packages: vec![(0, 0), (28, 1)],
        }
    }

    /// A power PMU on CPU 0 whose events are really the kernel's software PMU
    /// (see [`software_pmu_type`]), so they open and count on any Linux
    /// machine, whatever its CPU: `event=0x00` is `cpu-clock`
    /// ([`SOFTWARE_CPU_CLOCK`]), which always moves; `event=0x09` is `dummy`
    /// ([`SOFTWARE_DUMMY`]), which never counts, like the RAPL events of a VM
    /// that does not pass RAPL through.
    pub fn software_backed(events: &[(&str, &str)]) -> PmuSpec {
        PmuSpec {
            pmu_type: software_pmu_type(),
            cpumask: "0".to_string(),
            format_event: "config:0-63".to_string(),
            events: events
                .iter()
                .map(|(name, config)| PmuEventSpec::rapl(name, config))
                .collect(),
            packages: vec![(0, 0)],
        }
    }
}

/// Where the kernel publishes its software PMU's type number.
const SOFTWARE_PMU_TYPE_FILE: &str = "/sys/bus/event_source/devices/software/type";

/// `PERF_TYPE_SOFTWARE` in include/uapi/linux/perf_event.h.
const PERF_TYPE_SOFTWARE: u32 = 1;

/// `PERF_COUNT_SW_CPU_CLOCK`: opened system-wide on a CPU, it counts the
/// nanoseconds that CPU's clock advances, busy or idle, so it always moves.
pub const SOFTWARE_CPU_CLOCK: u64 = 0;

/// `PERF_COUNT_SW_DUMMY`: opens like any event and never counts.
pub const SOFTWARE_DUMMY: u64 = 9;

/// The type number of the kernel's software PMU, which every Linux kernel has
/// (unlike `msr`, which is x86 only and offers different events per vendor),
/// read from sysfs as the sensor reads the power PMU's.
pub fn software_pmu_type() -> u32 {
    match fs::read_to_string(SOFTWARE_PMU_TYPE_FILE) {
        Ok(text) => text.trim().parse().unwrap_or_else(|e| {
            panic!("{SOFTWARE_PMU_TYPE_FILE} holds {text:?}, not a PMU type number: {e}")
        }),
        // No sysfs (a container that does not mount it): the software PMU's
        // number is fixed by the perf_event ABI, so use the constant.
        Err(e) if e.kind() == io::ErrorKind::NotFound => PERF_TYPE_SOFTWARE,
        Err(e) => panic!("cannot read {SOFTWARE_PMU_TYPE_FILE}: {e}"),
    }
}

/// Creates `<root>/bus/event_source/devices/power` from `spec`, plus
/// `<root>/devices/system/cpu/cpuN/topology/physical_package_id` for its packages.
/// Returns the PMU directory.
pub fn build_power_pmu(root: &Path, spec: &PmuSpec) -> io::Result<PathBuf> {
    let pmu = root.join("bus/event_source/devices/power");
    fs::create_dir_all(pmu.join("events"))?;
    fs::create_dir_all(pmu.join("format"))?;
    fs::write(pmu.join("type"), format!("{}\n", spec.pmu_type))?;
    fs::write(pmu.join("cpumask"), format!("{}\n", spec.cpumask))?;
    fs::write(pmu.join("format/event"), format!("{}\n", spec.format_event))?;
    for e in &spec.events {
        let events = pmu.join("events");
        fs::write(events.join(&e.name), format!("{}\n", e.config))?;
        if let Some(scale) = &e.scale {
            fs::write(
                events.join(format!("{}.scale", e.name)),
                format!("{scale}\n"),
            )?;
        }
        if let Some(unit) = &e.unit {
            fs::write(events.join(format!("{}.unit", e.name)), format!("{unit}\n"))?;
        }
    }
    for (cpu, package) in &spec.packages {
        let topology = root.join(format!("devices/system/cpu/cpu{cpu}/topology"));
        fs::create_dir_all(&topology)?;
        fs::write(topology.join("physical_package_id"), format!("{package}\n"))?;
    }
    Ok(pmu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_wraps_at_range_like_the_hardware() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zones = [ZoneSpec::new("intel-rapl:0", "package-0")
            .with_max_energy_range_uj(1_000)
            .with_energy_uj(990)];
        let mut fake = build_powercap(dir.path(), &zones).expect("build");
        assert!(!fake.advance_uj("intel-rapl:0", 10).expect("advance"));
        assert_eq!(fake.energy_uj("intel-rapl:0"), Some(1_000));
        // 1000 is the top; one more µJ is 0.
        assert!(fake.advance_uj("intel-rapl:0", 6).expect("advance"));
        assert_eq!(fake.energy_uj("intel-rapl:0"), Some(5));
        let text =
            fs::read_to_string(fake.energy_uj_path("intel-rapl:0").expect("path")).expect("read");
        assert_eq!(text.trim().parse::<u64>().expect("number"), 5);
    }

    #[test]
    fn writer_sets_start_plus_total() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zones = [ZoneSpec::new("intel-rapl:0", "package-0").with_energy_uj(7)];
        let fake = build_powercap(dir.path(), &zones).expect("build");
        let mut w = fake.writer("intel-rapl:0").expect("writer");
        w.set_total_uj(1_000_000).expect("write");
        let text =
            fs::read_to_string(fake.energy_uj_path("intel-rapl:0").expect("path")).expect("read");
        assert_eq!(text.trim().parse::<u64>().expect("number"), 1_000_007);
    }

    #[test]
    fn driver_writes_power_times_its_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let zones = [
            ZoneSpec::new("intel-rapl:0", "package-0").with_energy_uj(1_000),
            ZoneSpec::new("intel-rapl:0:0", "dram"),
        ];
        let fake = build_powercap(dir.path(), &zones).expect("build");
        let driver = drive_at_rates(&fake, &[("intel-rapl:0", 40.0), ("intel-rapl:0:0", 2.5)])
            .expect("start");
        let elapsed_s = driver.stop().expect("stop");
        let read = |zone: &str| -> u64 {
            fs::read_to_string(fake.energy_uj_path(zone).expect("path"))
                .expect("read")
                .trim()
                .parse()
                .expect("number")
        };
        assert_eq!(
            read("intel-rapl:0"),
            1_000 + (40.0 * elapsed_s * 1e6) as u64
        );
        assert_eq!(read("intel-rapl:0:0"), (2.5 * elapsed_s * 1e6) as u64);
        assert!(drive_at_rates(&fake, &[("intel-rapl:7", 1.0)]).is_err());
    }

    #[test]
    fn unknown_zone_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fake = build_powercap(dir.path(), &client_zones()).expect("build");
        assert!(fake.advance_uj("intel-rapl:9", 1).is_err());
    }
}
