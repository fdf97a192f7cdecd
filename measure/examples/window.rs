use hoeveel_measure::{Monitor, MonitorOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The machine's best sensors: RAPL where it can be read, else a labelled model.
    let monitor = Monitor::start(MonitorOptions::default().record("window.jsonl"))?;
    monitor.begin("sum")?;
    let total: u64 = (0..50_000_000u64).map(std::hint::black_box).sum();
    let window = monitor.end("sum")?;
    println!(
        "sum {total}: {:.3} J in {:.3} s ({})",
        window.total_j,
        window.duration_s,
        window.provenance.map_or("no sensor", |p| p.as_str())
    );
    for warning in &window.warnings {
        println!("warning: {warning}");
    }
    monitor.close()?;
    Ok(())
}
