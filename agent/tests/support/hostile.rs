//! Misbehaving HTTP servers on loopback: each connection's request is read, then
//! the server does one bad thing (never answers, streams forever, sends a huge
//! body, invalid bytes, closes mid-answer), for the clients' limits to be tried.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// What the server does after reading a request.
#[derive(Debug, Clone, Copy)]
pub enum Misbehaviour {
    /// Keeps the connection open and sends nothing.
    Silent,
    /// Sends headers, then an event stream of tokens without end.
    EndlessTokens,
    /// Sends headers, then keep-alive comments every 50 ms without end.
    EndlessKeepAlive,
    /// Announces a 2 GiB body and sends it (as fast as the client reads).
    HugeBody,
    /// An event stream whose second event holds bytes that are not UTF-8.
    InvalidUtf8,
    /// An event stream whose event is not JSON.
    InvalidJson,
    /// Ollama's newline-delimited JSON without end.
    EndlessNdjson,
}

pub struct Hostile {
    pub addr: SocketAddr,
}

impl Hostile {
    pub fn start(how: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    if read_request(&stream) {
                        let _ = misbehave(stream, how);
                    }
                });
            }
        });
        Self { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn read_request(stream: &TcpStream) -> bool {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).is_ok()
}

const SSE_HEADERS: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

fn token_event(i: u64) -> String {
    format!(
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" t{i}\"}},\"finish_reason\":null}}]}}\n\n"
    )
}

fn misbehave(mut s: TcpStream, how: Misbehaviour) -> std::io::Result<()> {
    match how {
        Misbehaviour::Silent => {
            // Hold the connection until the client gives up.
            let mut buf = [0u8; 1];
            s.set_read_timeout(Some(Duration::from_secs(120)))?;
            let _ = s.read(&mut buf);
        }
        Misbehaviour::EndlessTokens => {
            s.write_all(SSE_HEADERS.as_bytes())?;
            for i in 0.. {
                s.write_all(token_event(i).as_bytes())?;
            }
        }
        Misbehaviour::EndlessKeepAlive => {
            s.write_all(SSE_HEADERS.as_bytes())?;
            loop {
                s.write_all(b": keep-alive\n\n")?;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Misbehaviour::HugeBody => {
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2147483648\r\nConnection: close\r\n\r\n",
            )?;
            let block = vec![b' '; 64 * 1024];
            for _ in 0..(2u64 << 30) / block.len() as u64 {
                s.write_all(&block)?;
            }
        }
        Misbehaviour::InvalidUtf8 => {
            s.write_all(SSE_HEADERS.as_bytes())?;
            s.write_all(token_event(0).as_bytes())?;
            s.write_all(b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n")?;
        }
        Misbehaviour::InvalidJson => {
            s.write_all(SSE_HEADERS.as_bytes())?;
            s.write_all(b"data: {\"choices\": [oops\n\n")?;
        }
        Misbehaviour::EndlessNdjson => {
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n",
            )?;
            loop {
                s.write_all(
                    b"{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\" t\"},\"done\":false}\n",
                )?;
            }
        }
    }
    s.flush()
}
