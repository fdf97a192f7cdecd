//! The exporter's HTTP side in-process: a server on a loopback port on its own
//! thread, driven with raw sockets, as a scraper or a hostile peer would.

use super::{HEAD_TIMEOUT_S, accept_loop, listen_on};
use crate::exporter::Published;
use crate::exporter::metrics::Metrics;
use crate::exporter::opening::FIRST_BYTE_TIMEOUT_S;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A server on 127.0.0.1, stopped and joined when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = listen_on(SocketAddr::from(([127, 0, 0, 1], 0))).expect("listen");
                addr_tx
                    .send(listener.local_addr().expect("an address"))
                    .expect("send the address");
                let metrics = Arc::new(Metrics::new(Arc::new(RwLock::new(Published::default()))));
                accept_loop(listener, metrics, async move {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server listens");
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends `request` on a fresh connection and reads until the server closes it.
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    exchange_within(addr, request, Duration::from_secs(20))
}

/// [`exchange`], failing when a read waits longer than `limit`.
fn exchange_within(addr: SocketAddr, request: &[u8], limit: Duration) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, limit)?;
    stream.set_read_timeout(Some(limit))?;
    stream.write_all(request)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Reads one response whose length its `content-length` gives, leaving the
/// connection open.
fn read_one_response(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let body_bytes: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(ErrorKind::InvalidData)?;
    let mut body = vec![0u8; body_bytes];
    stream.read_exact(&mut body)?;
    response.extend_from_slice(&body);
    Ok(String::from_utf8_lossy(&response).into_owned())
}

const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn status_line(response: &str) -> &str {
    response.lines().next().unwrap_or("")
}

fn is_a_scrape(response: &str) -> bool {
    status_line(response) == "HTTP/1.1 200 OK" && response.contains("# TYPE hoeveel_build_info")
}

/// Holds `count` connections that never send a byte, and opens a new one for
/// each the server closes, until dropped.
struct IdleFlood {
    running: Arc<AtomicBool>,
    opened: Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl IdleFlood {
    fn start(addr: SocketAddr, count: usize) -> IdleFlood {
        let running = Arc::new(AtomicBool::new(true));
        let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let thread = {
            let running = running.clone();
            let opened = opened.clone();
            std::thread::spawn(move || {
                let mut held: Vec<Option<TcpStream>> = (0..count).map(|_| None).collect();
                while running.load(Ordering::SeqCst) {
                    for slot in &mut held {
                        if slot.as_ref().is_none_or(|s| !still_open(s)) {
                            *slot = idle_connection(addr);
                            if slot.is_some() {
                                opened.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        IdleFlood {
            running,
            opened,
            thread: Some(thread),
        }
    }

    fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

impl Drop for IdleFlood {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn idle_connection(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream.set_nonblocking(true).ok()?;
    Some(stream)
}

/// Whether the server has not closed or reset `stream` (it never sends data
/// on an idle connection, so any byte or end of stream means closed).
fn still_open(mut stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Err(e) => e.kind() == ErrorKind::WouldBlock,
        // The end of the stream, or a byte (never sent on an idle connection).
        Ok(0) => false,
        Ok(_) => false,
    }
}

/// Waits until `flood` has opened `count` connections, then a little longer so
/// that the server has taken them all in.
fn wait_until_opened(flood: &IdleFlood, count: usize) {
    let filling = Instant::now();
    while flood.opened() < count {
        assert!(
            filling.elapsed() < Duration::from_secs(60),
            "the flood opened only {} connections",
            flood.opened()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
}

/// Each scrape is timed from before its connect to the last byte of the
/// response (the server closes after it).
#[test]
fn scrapes_are_answered_within_2_s_while_200_idle_connections_are_held_and_topped_up() {
    let server = Server::start();
    let flood = IdleFlood::start(server.addr, 200);
    wait_until_opened(&flood, 200);

    let mut latencies_s = Vec::new();
    let mut failures = Vec::new();
    for scrape in 0..30 {
        let sent = Instant::now();
        match exchange_within(server.addr, SCRAPE, Duration::from_secs(5)) {
            Ok(response) if is_a_scrape(&response) => {
                latencies_s.push(sent.elapsed().as_secs_f64());
            }
            Ok(response) => failures.push(format!("scrape {scrape}: {:?}", status_line(&response))),
            Err(e) => failures.push(format!("scrape {scrape}: {e}")),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let worst_s = latencies_s.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "{} of 30 scrapes answered under the flood, the slowest in {worst_s:.3} s; \
         the flood opened {} connections",
        latencies_s.len(),
        flood.opened()
    );
    assert!(failures.is_empty(), "unanswered: {failures:#?}");
    assert!(worst_s < 2.0, "the slowest scrape took {worst_s:.3} s");
}

#[test]
fn an_http2_preface_gets_a_400_saying_only_http_1_1_is_served_then_the_close() {
    let server = Server::start();
    // The preface and an empty SETTINGS frame, as an HTTP/2 client opens.
    let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    opening.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let response = exchange(server.addr, &opening).expect("an answer, then the close");
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 400 Bad Request",
        "{response}"
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{response}"
    );
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    assert_eq!(body, "only HTTP/1.1 is served\n");
}

#[test]
fn an_http2_preface_in_pieces_gets_the_400_too() {
    let server = Server::start();
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    stream.write_all(b"PRI * HT").expect("the first piece");
    std::thread::sleep(Duration::from_millis(200));
    stream
        .write_all(b"TP/2.0\r\n\r\nSM\r\n\r\n")
        .expect("the rest");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("an answer");
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 400 Bad Request",
        "{response}"
    );
}

#[test]
fn a_request_that_starts_like_the_preface_is_served_as_http_1() {
    let server = Server::start();
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    stream.write_all(b"PRI").expect("the first piece");
    std::thread::sleep(Duration::from_millis(200));
    stream
        .write_all(b" /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("the rest");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("an answer");
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 405 Method Not Allowed",
        "{response}"
    );
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_first_byte_deadline() {
    let server = Server::start();
    let mut silent = TcpStream::connect(server.addr).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a timeout");
    let connected = Instant::now();
    let mut byte = [0u8; 1];
    let read = silent.read(&mut byte);
    let waited_s = connected.elapsed().as_secs_f64();
    assert!(matches!(read, Ok(0)), "closed without a byte: {read:?}");
    // Never before the deadline; well before the head deadline would close it.
    assert!(
        waited_s >= FIRST_BYTE_TIMEOUT_S as f64 - 0.05,
        "closed after {waited_s:.3} s"
    );
    assert!(
        waited_s < HEAD_TIMEOUT_S as f64 - 1.0,
        "closed only after {waited_s:.3} s"
    );
}

#[test]
fn a_kept_alive_scraper_keeps_its_connection_through_an_idle_flood() {
    let server = Server::start();
    let mut scraper = TcpStream::connect(server.addr).expect("connect");
    scraper
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    let keep_alive = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    scraper.write_all(keep_alive).expect("the first scrape");
    let first = read_one_response(&mut scraper).expect("the first answer");
    assert!(is_a_scrape(&first), "{first}");

    let flood = IdleFlood::start(server.addr, 200);
    wait_until_opened(&flood, 400);
    // Silent connections go first: the scraper's is still open.
    scraper.write_all(SCRAPE).expect("the second scrape");
    let mut second = String::new();
    scraper
        .read_to_string(&mut second)
        .expect("the second answer");
    assert!(is_a_scrape(&second), "{second}");
}

#[test]
fn oversized_heads_and_what_is_not_http_still_get_431_and_400() {
    let server = Server::start();
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let response = exchange(server.addr, big.as_bytes()).expect("oversized");
    assert_eq!(
        status_line(&response),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let garbage = exchange(server.addr, b"\x00\x01\x02 not http at all\r\n\r\n").expect("garbage");
    assert_eq!(status_line(&garbage), "HTTP/1.1 400 Bad Request");
    let ok = exchange(server.addr, SCRAPE).expect("still serving");
    assert!(is_a_scrape(&ok), "{ok}");
}
