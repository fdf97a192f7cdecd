//! `hoeveel-agent sensors`: what can be measured here, how, and the exact fix for
//! what cannot; then the machine's state that would disturb a measurement.

use crate::machine_checks::{self, CpuUse};
use crate::sensors::SensorKind;
use crate::sensors::discover::{self, DiscoverError, DiscoverOptions, TotalChoice};
use crate::sensors::modelled::PowerModels;
use hoeveel_record::MachineCheck;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long `sensors` watches other processes' CPU use. Discovery runs inside
/// this window; the agent's own CPU time is left out of the share.
const OTHER_CPU_WINDOW: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Root of sysfs, for containers with the host's /sys mounted elsewhere.
    #[arg(long, value_name = "DIR", default_value = "/sys")]
    pub sysfs_root: PathBuf,
    /// Root of procfs, for the machine checks (swap, other processes' CPU use).
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc_root: PathBuf,
    /// NVML library to load instead of the system's libnvidia-ml.so.1.
    #[arg(long, value_name = "FILE", env = "HOEVEEL_NVML_LIBRARY")]
    pub nvml_library: Option<PathBuf>,
    /// Print the inventory as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Under sudo: roots only root can change, a library only root can change.
    if crate::privilege::invoking_user_from_env()?.is_some() {
        crate::privilege::roots::check_roots(&args.sysfs_root, &args.proc_root)?;
    }
    let nvml_library = super::common::nvml_library_to_load(args.nvml_library.as_deref())?;
    let watch_start = Instant::now();
    let cpu_start = CpuUse::read(&args.proc_root);
    let mut rows = Vec::new();
    for kind in SensorKind::ALL {
        let options = DiscoverOptions {
            sysfs_root: args.sysfs_root.clone(),
            only: Some(vec![kind]),
            nvml_library: nvml_library.clone(),
            total: TotalChoice::Package,
        };
        let row = match discover::discover(&options) {
            Ok(inventory) => {
                let instances: Vec<_> = inventory
                    .sensors
                    .iter()
                    .map(|s| {
                        let info = s.info();
                        serde_json::json!({
                            "provenance": info.provenance.as_str(),
                            "domains": info.domains,
                            "source": info.source,
                        })
                    })
                    .collect();
                let partial: Vec<_> = inventory
                    .unavailable
                    .iter()
                    .filter(|u| u.sensor == kind)
                    .map(|u| serde_json::json!({"reason": u.reason, "fix": u.fix}))
                    .collect();
                serde_json::json!({
                    "sensor": kind.name(),
                    "available": true,
                    "instances": instances,
                    "unavailable": partial,
                })
            }
            Err(e) => {
                // The sensor's own reason, without discovery's "was asked for" frame.
                let reason = match &e {
                    DiscoverError::Requested { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                serde_json::json!({"sensor": kind.name(), "available": false, "reason": reason, "fix": e.fix()})
            }
        };
        rows.push(row);
    }
    let chosen = discover::discover(&DiscoverOptions {
        sysfs_root: args.sysfs_root.clone(),
        only: None,
        nvml_library,
        total: TotalChoice::Package,
    })?;
    let chosen_names: Vec<&str> = chosen.sensors.iter().map(|s| s.kind().name()).collect();
    let checks = machine_state(&args, cpu_start, watch_start);
    if args.json {
        let out = serde_json::json!({
            "sensors": rows,
            "default_choice": chosen_names,
            "machine_checks": checks,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for row in &rows {
        let name = row["sensor"].as_str().unwrap_or("?");
        if row["available"].as_bool() == Some(true) {
            println!("{name:<14} available");
            for instance in row["instances"].as_array().into_iter().flatten() {
                let domains: Vec<&str> = instance["domains"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                println!(
                    "{:<14}   {} [{}]: {}",
                    "",
                    domains.join(", "),
                    instance["provenance"].as_str().unwrap_or("?"),
                    instance["source"].as_str().unwrap_or("")
                );
            }
            for missing in row["unavailable"].as_array().into_iter().flatten() {
                let reason = missing["reason"].as_str().unwrap_or("?");
                println!("{:<14}   not measured: {reason}", "");
                if let Some(fix) = missing["fix"].as_str() {
                    println!("{:<14}   fix: {fix}", "");
                }
            }
        } else {
            println!(
                "{name:<14} not available: {}",
                row["reason"].as_str().unwrap_or("?")
            );
            if let Some(fix) = row["fix"].as_str() {
                println!("{:<14}   fix: {fix}", "");
            }
        }
    }
    println!("\nA run here uses: {}", chosen_names.join(", "));
    if chosen.sensors.iter().any(|s| s.kind() == SensorKind::Model) {
        let models = PowerModels::shipped()?;
        println!(
            "CPU energy will be MODELLED (no RAPL counter is readable), with power model `{}`; every result says so.",
            models.default
        );
    }
    print_machine_state(&checks);
    Ok(ExitCode::SUCCESS)
}

/// The machine checks, with other processes' CPU use over the time since
/// `watch_start` (at least [`OTHER_CPU_WINDOW`]).
fn machine_state(
    args: &Args,
    cpu_start: Option<CpuUse>,
    watch_start: Instant,
) -> Vec<MachineCheck> {
    let mut checks = machine_checks::check_all(&args.sysfs_root, &args.proc_root);
    if let Some(start) = cpu_start {
        std::thread::sleep(OTHER_CPU_WINDOW.saturating_sub(watch_start.elapsed()));
        let window = format!("over {:.1} s", watch_start.elapsed().as_secs_f64());
        if let Some(other) = CpuUse::read(&args.proc_root).and_then(|end| end.other_since(&start)) {
            checks.push(other.check(&window));
        }
    }
    checks
}

/// `!` marks a concern; the other lines are information.
fn print_machine_state(checks: &[MachineCheck]) {
    println!("\nMachine state");
    if checks.is_empty() {
        println!("    nothing to check here (no cpufreq, meminfo, thermal or power-supply files)");
    }
    for check in checks {
        let mark = if check.concern { '!' } else { ' ' };
        println!("  {mark} {}", check.message);
    }
}
