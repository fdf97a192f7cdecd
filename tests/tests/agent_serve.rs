//! `hoeveel-agent serve` against the real thing: Debian's Prometheus scrapes it
//! on loopback while the powercap fixture advances at known watts, and its
//! series must give those watts back through PromQL; a lost zone, a restart, a
//! lint of the scrape, and hostile requests must not stop it.

use hoeveel_sysfs_fixture::{FakePowercap, RateDriver, ZoneSpec, build_powercap, drive_at_rates};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PACKAGE_W: f64 = 30.0;
const DRAM_W: f64 = 5.0;
/// 100 J at 30 W: package-0 wraps every 3.3 s, so every 5 s window holds a wrap.
const PACKAGE_RANGE_UJ: u64 = 100_000_000;

fn tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: install Debian's prometheus package (scripts/test does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tree(dir: &Path) -> FakePowercap {
    build_powercap(
        dir,
        &[
            ZoneSpec::new("intel-rapl:0", "package-0").with_max_energy_range_uj(PACKAGE_RANGE_UJ),
            ZoneSpec::new("intel-rapl:0:0", "dram"),
        ],
    )
    .expect("fixture")
}

/// The tree with both zones driven by one thread.
fn fixture(dir: &Path) -> (FakePowercap, RateDriver) {
    let fake = tree(dir);
    let driver = drive_at_rates(
        &fake,
        &[("intel-rapl:0", PACKAGE_W), ("intel-rapl:0:0", DRAM_W)],
    )
    .expect("drive");
    (fake, driver)
}

fn exporter(sysfs: &Path, port: u16, extra: &[&str]) -> Running {
    let child = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--sensors", "rapl-powercap,model", "--sysfs-root"])
        .arg(sysfs)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the exporter");
    let running = Running(child);
    wait_until(Duration::from_secs(20), || {
        get(port, "/metrics").is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    running
}

fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "not ready after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends raw bytes and returns the whole response as text.
fn exchange(port: u16, request: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.write_all(request)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

fn get(port: u16, path_and_query: &str) -> std::io::Result<String> {
    exchange(
        port,
        format!("GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Percent-encodes a PromQL query for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The instant vector of a PromQL query now: (labels, value) pairs.
fn query(port: u16, promql: &str) -> Vec<(serde_json::Value, f64)> {
    query_path(port, &format!("/api/v1/query?query={}", encode(promql)))
}

/// The single value of a PromQL query evaluated at `at` (Unix seconds).
fn one_at(port: u16, promql: &str, at: f64) -> f64 {
    let result = query_path(
        port,
        &format!("/api/v1/query?query={}&time={at}", encode(promql)),
    );
    assert_eq!(result.len(), 1, "{promql}: {result:?}");
    result[0].1
}

fn query_path(port: u16, path: &str) -> Vec<(serde_json::Value, f64)> {
    let response = get(port, path).expect("query");
    let text = body(&response);
    // Prometheus answers with chunked encoding when the body is long.
    let json_start = text.find('{').expect("a JSON body");
    let json_end = text.rfind('}').expect("a JSON body");
    let v: serde_json::Value =
        serde_json::from_str(&text[json_start..=json_end]).expect("JSON from Prometheus");
    assert_eq!(v["status"], "success", "{path}: {v}");
    v["data"]["result"]
        .as_array()
        .expect("a vector")
        .iter()
        .map(|s| {
            let value: f64 = s["value"][1]
                .as_str()
                .expect("a value")
                .parse()
                .expect("a number");
            (s["metric"].clone(), value)
        })
        .collect()
}

fn one(port: u16, promql: &str) -> f64 {
    let result = query(port, promql);
    assert_eq!(result.len(), 1, "{promql}: {result:?}");
    result[0].1
}

fn prometheus(dir: &Path, jobs: &[(&str, u16, &str)]) -> (Running, u16) {
    let port = free_port();
    let mut config = String::from("global:\n  scrape_interval: 1s\nscrape_configs:\n");
    for (job, target, interval) in jobs {
        config += &format!(
            "  - job_name: {job}\n    scrape_interval: {interval}\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        );
    }
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write the config");
    let child = Command::new(tool("prometheus"))
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let running = Running(child);
    wait_until(Duration::from_secs(30), || {
        get(port, "/-/ready").is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    (running, port)
}

fn assert_within_2pct(measured: f64, expected: f64, what: &str) {
    let error = (measured - expected).abs() / expected;
    assert!(
        error < 0.02,
        "{what}: {measured}, expected {expected} ({:.2} % off)",
        error * 100.0
    );
}

#[test]
fn prometheus_reads_the_fixture_watts_across_wraps_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Exporter `a` at the default 1 s resolution, scraped every second.
    let (_fake_a, _driver_a) = fixture(&dir.path().join("sys-a"));
    let port_a = free_port();
    let _a = exporter(&dir.path().join("sys-a"), port_a, &[]);
    // Exporter `b`, restarted below, at a finer resolution chosen explicitly: a
    // restart loses what happened between the last scrape and the new start, so
    // the scrape interval bounds the loss.
    let (_fake_b, _driver_b) = fixture(&dir.path().join("sys-b"));
    let port_b = free_port();
    let b = exporter(
        &dir.path().join("sys-b"),
        port_b,
        &["--resolution", "100ms"],
    );
    let (_prometheus, prom) =
        prometheus(dir.path(), &[("a", port_a, "1s"), ("b", port_b, "100ms")]);

    // Prometheus starts scraping a few seconds after it is ready (it batches
    // target updates); wait for the first scrapes, then for enough of them.
    wait_until(Duration::from_secs(30), || {
        query(prom, "up{job=~\"a|b\"} == 1").len() == 2
    });
    std::thread::sleep(Duration::from_secs(9));
    for (domain, watts) in [("package-0", PACKAGE_W), ("dram-0", DRAM_W)] {
        let series = format!("hoeveel_energy_joules_total{{job=\"a\",domain=\"{domain}\"}}");
        let rate = one(prom, &format!("rate({series}[5s] offset 1s)"));
        eprintln!("{domain}: rate {rate:.3} W (fixture {watts} W)");
        if (rate - watts).abs() > 0.02 * watts {
            let raw = get(
                prom,
                &format!("/api/v1/query?query={}", encode(&format!("{series}[8s]"))),
            );
            panic!(
                "{domain}: rate {rate} W, expected {watts} W; samples: {}",
                raw.map(|r| body(&r).to_string()).unwrap_or_default()
            );
        }
    }
    // The sum of the series in the total: package + DRAM (the model is not in it).
    let total = one(
        prom,
        "sum(rate(hoeveel_energy_joules_total{job=\"a\",in_total=\"true\"}[5s] offset 1s))",
    );
    assert_within_2pct(total, PACKAGE_W + DRAM_W, "total");
    let gauge = one(prom, "hoeveel_power_watts{job=\"a\",domain=\"package-0\"}");
    assert_within_2pct(gauge, PACKAGE_W, "power gauge");

    // Restart `b` in the middle of a 16 s window that lies wholly inside its
    // scraped span (b has been scraped for 10 s by now), evaluated at a fixed
    // time once every scrape of the window is stored.
    std::thread::sleep(Duration::from_secs(1));
    drop(b);
    let restarted = unix_now_s();
    let _b = exporter(
        &dir.path().join("sys-b"),
        port_b,
        &["--resolution", "100ms"],
    );
    let at = restarted + 8.0;
    while unix_now_s() < at + 2.0 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let series = "hoeveel_energy_joules_total{job=\"b\",domain=\"package-0\"}";
    let resets = one_at(prom, &format!("resets({series}[16s])"), at);
    assert!(
        resets >= 1.0,
        "Prometheus saw the restart as a counter reset"
    );
    let increase = one_at(prom, &format!("increase({series}[16s])"), at);
    eprintln!(
        "increase over 16 s with a restart: {increase:.1} J (fixture {} J)",
        PACKAGE_W * 16.0
    );
    if (increase - PACKAGE_W * 16.0).abs() > 0.02 * PACKAGE_W * 16.0 {
        let raw = get(
            prom,
            &format!(
                "/api/v1/query?query={}&time={at}",
                encode(&format!("{series}[16s]"))
            ),
        );
        panic!(
            "increase over the restart: {increase} J, expected {} J; samples: {}",
            PACKAGE_W * 16.0,
            raw.map(|r| body(&r).to_string()).unwrap_or_default()
        );
    }
}

fn unix_now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

#[test]
fn a_zone_that_stops_reading_goes_down_and_the_rest_flows_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One driver per zone, so that DRAM alone can stop.
    let fake = tree(dir.path());
    let _package = drive_at_rates(&fake, &[("intel-rapl:0", PACKAGE_W)]).expect("drive package");
    let dram = drive_at_rates(&fake, &[("intel-rapl:0:0", DRAM_W)]).expect("drive dram");
    let port = free_port();
    let _exporter = exporter(dir.path(), port, &["--resolution", "200ms"]);
    let up = |domain: &str| -> String {
        let text = get(port, "/metrics").expect("scrape");
        body(&text)
            .lines()
            .find(|l| l.starts_with("hoeveel_domain_up{") && l.contains(&format!("\"{domain}\"")))
            .expect("a health series")
            .to_string()
    };
    let energy = |domain: &str| -> f64 {
        let text = get(port, "/metrics").expect("scrape");
        body(&text)
            .lines()
            .find(|l| {
                l.starts_with("hoeveel_energy_joules_total{")
                    && l.contains(&format!("\"{domain}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .expect("an energy series")
    };
    assert!(
        up("dram-0").ends_with("reason=\"ok\"} 1"),
        "{}",
        up("dram-0")
    );

    // A removed zone's attribute fails to read (ENODEV on a real sysfs). On this
    // tmpfs an open file outlives its directory, so the fixture empties it: the
    // read fails the same way, as a malformed counter.
    dram.stop().expect("stop the dram driver");
    let path = fake
        .energy_uj_path("intel-rapl:0:0")
        .expect("dram")
        .to_path_buf();
    std::fs::write(&path, "").expect("empty the counter");
    std::thread::sleep(Duration::from_millis(800));
    let line = up("dram-0");
    assert!(
        line.contains("reason=\"read_error\"") && line.ends_with(" 0"),
        "{line}"
    );
    // The model goes on measuring while powercap is down.
    let before = energy("cpu-model");
    std::thread::sleep(Duration::from_millis(600));
    assert!(energy("cpu-model") > before, "cpu-model keeps flowing");
    assert!(up("cpu-model").ends_with(" 1"));

    // The zone comes back: the sensor is read again and its counter goes on.
    let stalled = energy("package-0");
    std::fs::write(&path, format!("{:020}\n", 1_000_000)).expect("restore the counter");
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        up("dram-0").ends_with("reason=\"ok\"} 1"),
        "{}",
        up("dram-0")
    );
    assert!(energy("package-0") > stalled, "package-0 counts again");
}

#[test]
fn a_scrape_passes_promtool_and_serves_exactly_the_documented_families() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_fake, _driver) = fixture(dir.path());
    let port = free_port();
    let _exporter = exporter(dir.path(), port, &["--baseline", "0.5", "--site", "ms-nl"]);
    std::thread::sleep(Duration::from_millis(1500));
    let response = get(port, "/metrics").expect("scrape");
    assert!(
        response.contains("content-type: text/plain; version=0.0.4"),
        "{response}"
    );
    let text = body(&response).to_string();
    // Without --resolution, counters move once a second: no finer side channel.
    assert!(
        text.lines().any(|l| l == "hoeveel_resolution_seconds 1.0"),
        "{text}"
    );

    let mut promtool = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = promtool.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Exactly the families deploy/exporter-metrics.txt documents, with their types.
    let documented = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/exporter-metrics.txt"),
    )
    .expect("deploy/exporter-metrics.txt");
    let mut documented: Vec<String> = documented
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut served: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(str::to_string)
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(served, documented);

    // OpenMetrics on request.
    let om = exchange(
        port,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0\r\nConnection: close\r\n\r\n",
    )
    .expect("scrape");
    assert!(om.contains("application/openmetrics-text"), "{om}");
    assert!(body(&om).trim_end().ends_with("# EOF"), "{om}");
}

#[test]
fn other_paths_methods_oversized_and_malformed_requests_get_an_error_and_serving_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_fake, _driver) = fixture(dir.path());
    let port = free_port();
    let _exporter = exporter(dir.path(), port, &[]);
    let status = |response: &str| response.lines().next().unwrap_or("").to_string();

    assert_eq!(
        status(&get(port, "/secret").expect("get")),
        "HTTP/1.1 404 Not Found"
    );
    let post = exchange(
        port,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .expect("post");
    assert_eq!(status(&post), "HTTP/1.1 405 Method Not Allowed");
    assert!(post.contains("allow: GET, HEAD"), "{post}");
    // A 64 KiB header: over the 16 KiB limit on a request head.
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let response = exchange(port, big.as_bytes()).expect("oversized");
    assert_eq!(
        status(&response),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let garbage = exchange(port, b"\x00\x01\x02 not http at all\r\n\r\n").expect("garbage");
    assert_eq!(status(&garbage), "HTTP/1.1 400 Bad Request");
    let with_body = exchange(
        port,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .expect("a body");
    assert_eq!(status(&with_body), "HTTP/1.1 413 Payload Too Large");
    // An HTTP/2 client is told that only HTTP/1.1 is served.
    let h2 = exchange(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").expect("a preface");
    assert_eq!(status(&h2), "HTTP/1.1 400 Bad Request");
    assert_eq!(body(&h2), "only HTTP/1.1 is served\n");
    // A peer that connects and says nothing does not block others.
    let _silent = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let ok = get(port, "/metrics").expect("still serving");
    assert_eq!(status(&ok), "HTTP/1.1 200 OK");
    assert!(body(&ok).contains("hoeveel_energy_joules_total{"));
}

#[test]
fn sigterm_stops_it_cleanly_and_a_default_listen_is_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_fake, _driver) = fixture(dir.path());
    let help = Command::new(hoeveel_e2e::bin("hoeveel-agent"))
        .args(["serve", "--help"])
        .output()
        .expect("help");
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:9465]"));
    let port = free_port();
    let mut exporter = exporter(dir.path(), port, &[]);
    // SAFETY: kill with a valid pid of our own child.
    let rc = unsafe { libc::kill(exporter.0.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = exporter.0.wait().expect("it ends");
    assert!(status.success(), "{status:?}");
}
