//! The first bytes of a connection, read before hyper sees them.
//!
//! A connection must send its first byte within [`FIRST_BYTE_TIMEOUT_S`]
//! seconds, or it is closed. The bytes read here are only looked at to tell an
//! HTTP/2 client from an HTTP/1 one; hyper is handed them unchanged. A
//! connection that opens with the HTTP/2 preface (`PRI * HTTP/2.0`) gets an
//! HTTP/1.1 400 saying only HTTP/1.1 is served, then the close: hyper on its
//! own would close it without a word.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// Seconds a new connection may take to send its first byte.
pub const FIRST_BYTE_TIMEOUT_S: u64 = 2;
/// The request line of the HTTP/2 connection preface (RFC 9113, 3.4).
const HTTP2_PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0\r\n";
const HTTP2_REFUSAL_BODY: &str = "only HTTP/1.1 is served\n";
/// After the refusal, what the peer still sends is read and dropped, at most
/// this much for at most [`DRAIN_TIMEOUT_MS`]: closing with unread bytes would
/// reset the connection, and the peer could lose the refusal with it.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024;
const DRAIN_TIMEOUT_MS: u64 = 1000;
/// Bytes read from the socket at a time here.
const READ_CHUNK_BYTES: usize = 4096;

/// What a connection opened with.
#[derive(Debug, PartialEq, Eq)]
pub enum Opening {
    /// Anything but the HTTP/2 preface: the bytes read so far, for hyper.
    Http1(Vec<u8>),
    /// The HTTP/2 preface.
    Http2Preface,
}

/// Why a connection ended before it said what it speaks.
#[derive(Debug, thiserror::Error)]
pub enum Unopened {
    #[error("no byte within {FIRST_BYTE_TIMEOUT_S} s")]
    Silent,
    #[error("the first line did not arrive by the head deadline")]
    Slow,
    #[error("the peer closed the connection")]
    Closed,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads until the first bytes tell HTTP/2's preface from anything else: the
/// first byte within [`FIRST_BYTE_TIMEOUT_S`], the rest by `head_deadline`.
pub async fn read_opening(stream: &TcpStream, head_deadline: Instant) -> Result<Opening, Unopened> {
    let first_byte_deadline = Instant::now() + Duration::from_secs(FIRST_BYTE_TIMEOUT_S);
    let mut bytes = Vec::new();
    loop {
        let (deadline, late) = if bytes.is_empty() {
            (first_byte_deadline.min(head_deadline), Unopened::Silent)
        } else {
            (head_deadline, Unopened::Slow)
        };
        let read_bytes = timeout_at(deadline, read_some(stream, &mut bytes))
            .await
            .map_err(|_| late)??;
        if read_bytes == 0 {
            return Err(Unopened::Closed);
        }
        if let Some(opening) = classify(&bytes) {
            return Ok(match opening {
                Kind::Http1 => Opening::Http1(bytes),
                Kind::Http2Preface => Opening::Http2Preface,
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Http1,
    Http2Preface,
}

/// `None` while `bytes` could still become the preface's first line.
fn classify(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(HTTP2_PREFACE_LINE) {
        Some(Kind::Http2Preface)
    } else if HTTP2_PREFACE_LINE.starts_with(bytes) {
        None
    } else {
        Some(Kind::Http1)
    }
}

/// Answers an HTTP/2 preface with an HTTP/1.1 400, then closes.
pub async fn refuse_http2(mut stream: TcpStream) -> io::Result<()> {
    write_all(&stream, &http2_refusal()).await?;
    poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await?;
    let _ = timeout(
        Duration::from_millis(DRAIN_TIMEOUT_MS),
        drain(&stream, DRAIN_LIMIT_BYTES),
    )
    .await;
    Ok(())
}

fn http2_refusal() -> Vec<u8> {
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{HTTP2_REFUSAL_BODY}",
        HTTP2_REFUSAL_BODY.len()
    )
    .into_bytes()
}

/// Appends what the socket has to `bytes`, waiting for at least one byte; 0 at
/// the end of the stream.
async fn read_some(stream: &TcpStream, bytes: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut chunk) {
            Ok(read_bytes) => {
                bytes.extend_from_slice(&chunk[..read_bytes]);
                return Ok(read_bytes);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads and drops up to `limit_bytes`, until the end of the stream.
async fn drain(stream: &TcpStream, limit_bytes: usize) -> io::Result<()> {
    let mut scratch = Vec::new();
    let mut drained_bytes = 0;
    while drained_bytes < limit_bytes {
        scratch.clear();
        let read_bytes = read_some(stream, &mut scratch).await?;
        if read_bytes == 0 {
            break;
        }
        drained_bytes += read_bytes;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_s_first_line_is_http2_and_anything_else_http1() {
        assert_eq!(
            classify(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Some(Kind::Http2Preface)
        );
        assert_eq!(classify(b"PRI * HTTP/2.0\r\n"), Some(Kind::Http2Preface));
        assert_eq!(classify(b"GET /metrics HTTP/1.1\r\n"), Some(Kind::Http1));
        assert_eq!(classify(b"POST / HTTP/1.1\r\n"), Some(Kind::Http1));
        assert_eq!(classify(b"PRI / HTTP/1.1\r\n"), Some(Kind::Http1));
        assert_eq!(classify(b"\x00\x01"), Some(Kind::Http1));
    }

    #[test]
    fn a_start_of_the_preface_waits_for_more() {
        assert_eq!(classify(b"P"), None);
        assert_eq!(classify(b"PRI * HTTP/2"), None);
    }

    #[test]
    fn the_refusal_s_length_is_its_body_s() {
        let refusal = String::from_utf8(http2_refusal()).expect("ASCII");
        let (head, body) = refusal.split_once("\r\n\r\n").expect("a head and a body");
        assert_eq!(body, HTTP2_REFUSAL_BODY);
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }
}
