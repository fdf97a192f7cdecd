//! A tiny HTTP/1.1 server on loopback that replays scripted answers, for testing
//! the LLM clients without a real server. Each connection gets one answer; the
//! requests are kept for the test to inspect. [`FakeServer::start`] answers one
//! connection after another, as a server with one slot does;
//! [`FakeServer::start_parallel`] answers each in its own thread, as a batching
//! server does.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub body: Value,
}

/// What the server sends back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole body with a Content-Length.
    Whole {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// A chunked body, one chunk per piece; `complete: false` closes the connection
    /// in the middle of the stream (a server that dies mid-answer).
    Chunked {
        content_type: &'static str,
        pieces: Vec<String>,
        complete: bool,
    },
    /// A whole chunked body with a pause before each piece: tokens generated at a
    /// steady rate.
    Paced {
        content_type: &'static str,
        pieces: Vec<String>,
        pause: Duration,
    },
}

pub type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct FakeServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<Mutex<bool>>,
    handle: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Serves `script` until [`FakeServer::shut_down`] or drop, one connection
    /// at a time.
    pub fn start(script: Box<Script>) -> Self {
        Self::serve(script, false)
    }

    /// Serves `script`, each connection in its own thread.
    pub fn start_parallel(script: Box<Script>) -> Self {
        Self::serve(script, true)
    }

    fn serve(script: Box<Script>, parallel: bool) -> Self {
        let script: Arc<Script> = Arc::from(script);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(Mutex::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if *stop2.lock().expect("lock") {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, script) = (seen2.clone(), script.clone());
                let handle = move || {
                    if let Some(request) = read_request(&stream) {
                        seen.lock().expect("lock").push(request.clone());
                        let _ = answer(stream, &script(&request));
                    }
                };
                if parallel {
                    std::thread::spawn(handle);
                } else {
                    handle();
                }
            }
            // The listener drops here: later connections are refused.
        });
        Self {
            addr,
            seen,
            stop,
            handle: Some(handle),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Stops listening: the next connection is refused, like a server that went down.
    pub fn shut_down(&mut self) {
        *self.stop.lock().expect("lock") = true;
        // Wake the accept loop so that it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Seen { path, body })
}

fn answer(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    match reply {
        Reply::Whole {
            status,
            content_type,
            body,
        } => {
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )?;
        }
        Reply::Chunked {
            content_type,
            pieces,
            complete,
        } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            for piece in pieces {
                write!(stream, "{:x}\r\n{piece}\r\n", piece.len())?;
                stream.flush()?;
            }
            if *complete {
                write!(stream, "0\r\n\r\n")?;
            }
        }
        Reply::Paced {
            content_type,
            pieces,
            pause,
        } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            for piece in pieces {
                std::thread::sleep(*pause);
                write!(stream, "{:x}\r\n{piece}\r\n", piece.len())?;
                stream.flush()?;
            }
            write!(stream, "0\r\n\r\n")?;
        }
    }
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}
