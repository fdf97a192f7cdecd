//! The HTTP side of the exporter: HTTP/1.1 with hyper on one tokio thread.
//!
//! Only `GET` (and `HEAD`) of `/metrics` and `/` are answered; every other request
//! gets a plain error status and the exporter goes on. Nothing from a request is
//! echoed back. Limits keep a hostile or broken peer from holding it:
//!
//! - a new connection must send its first byte within 2 s ([`opening`]);
//! - a request head must be complete within 10 s of hyper starting to read it
//!   (after the connection's first bytes, or after the previous response on a
//!   kept-alive connection), and may be at most 16 KiB (431 beyond);
//! - a connection lives at most 60 s;
//! - at most 64 connections are served at once; when all are taken, a new
//!   connection closes the oldest one that is not in the middle of a request
//!   and is at least 50 ms old, so idle connections cannot keep a scraper out
//!   ([`connections`]); only when all 64 are mid-request is the newcomer closed;
//! - a connection that opens with the HTTP/2 preface gets an HTTP/1.1 400
//!   saying only HTTP/1.1 is served, then the close.
//!
//! ```text
//! accept --> Connections::admit --(all 64 mid-request)--> closed
//!              |    \--(none idle 50 ms yet)--> wait, accepting nothing
//!              | a slot (the oldest idle connection's, when all are taken)
//!              v
//!            read_opening --(silent 2 s)--> closed
//!              |       \--(HTTP/2 preface)--> 400, closed
//!              | HTTP/1: the bytes read are handed on
//!              v
//!            hyper http1 --> respond
//! ```

use super::Published;
use super::connections::{Activity, Admission, Connections, EVICTABLE_AFTER_MS, MAX_CONNECTIONS};
use super::metrics::{Format, Metrics};
use super::opening::{self, Opening};
use super::tracked::{TrackedBody, TrackedStream};
use anyhow::Context;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

/// Largest request head accepted (request line and headers).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Seconds hyper waits for a complete request head from when it starts
/// reading one; also the bound, from the accept, on telling HTTP/2's preface
/// from HTTP/1.
const HEAD_TIMEOUT_S: u64 = 10;
/// Seconds a connection lives, however busy.
const CONNECTION_LIFETIME_S: u64 = 60;
/// Connections the kernel holds for the exporter before it accepts them. More
/// than the peers a flood keeps waiting there (those beyond the 64 served), so
/// that a scraper's connection is not dropped by the kernel, to be retried a
/// second later; tokio's default is 128.
const LISTEN_BACKLOG: u32 = 1024;

/// Serves until SIGTERM or SIGINT; returns then.
pub fn serve(listen: SocketAddr, published: Arc<RwLock<Published>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    runtime.block_on(async {
        let listener = listen_on(listen).with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr().unwrap_or(listen);
        eprintln!("hoeveel-agent serve: metrics at http://{local}/metrics");
        let stop = stop_signal()?;
        accept_loop(listener, Arc::new(Metrics::new(published)), stop).await;
        eprintln!("hoeveel-agent serve: stopped");
        Ok(())
    })
}

/// A listener on `addr` whose queue of connections not yet accepted holds
/// [`LISTEN_BACKLOG`] (the kernel caps it at `net.core.somaxconn`).
fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Resolves at the first SIGTERM or SIGINT.
fn stop_signal() -> anyhow::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Accepts and serves connections on `listener` until `stop` resolves.
async fn accept_loop(listener: TcpListener, metrics: Arc<Metrics>, stop: impl Future<Output = ()>) {
    let connections = Connections::new(MAX_CONNECTIONS, Duration::from_millis(EVICTABLE_AFTER_MS));
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        match accepted {
            Ok((stream, _)) => admit(stream, &connections, &metrics).await,
            // A failed accept (a peer gone, out of descriptors) is that
            // connection's problem, not the exporter's.
            Err(e) => {
                eprintln!("hoeveel-agent serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves `stream` on a task of its own once it has a slot, or closes it when
/// every slot is serving a request. While no idle connection is old enough to
/// close, nothing more is accepted: new connections wait in the kernel's queue.
async fn admit(stream: TcpStream, connections: &Arc<Connections>, metrics: &Arc<Metrics>) {
    let slot = loop {
        match connections.admit(std::time::Instant::now()) {
            Admission::Admitted(slot) => break slot,
            Admission::NotBefore(when) => tokio::time::sleep_until(Instant::from_std(when)).await,
            Admission::Refused => return,
        }
    };
    let metrics = metrics.clone();
    tokio::spawn(async move {
        let activity = slot.activity().clone();
        let lifetime = Duration::from_secs(CONNECTION_LIFETIME_S);
        tokio::select! {
            biased;
            () = activity.evicted() => {}
            _ = tokio::time::timeout(lifetime, converse(stream, activity.clone(), metrics)) => {}
        }
        drop(slot);
    });
}

/// One connection, from its first byte to its close.
async fn converse(stream: TcpStream, activity: Arc<Activity>, metrics: Arc<Metrics>) {
    let head_deadline = Instant::now() + Duration::from_secs(HEAD_TIMEOUT_S);
    match opening::read_opening(&stream, head_deadline).await {
        Ok(Opening::Http1(already_read)) => {
            serve_http1(
                TrackedStream::new(already_read, stream, activity.clone()),
                activity,
                metrics,
            )
            .await;
        }
        Ok(Opening::Http2Preface) => {
            activity.request_received();
            let _ = opening::refuse_http2(stream).await;
        }
        // Silent, slow or gone before it said anything: closed.
        Err(_) => {}
    }
}

/// Hands the connection to hyper, with the limits on heads.
async fn serve_http1(stream: TrackedStream, activity: Arc<Activity>, metrics: Arc<Metrics>) {
    let service = service_fn(move |request| {
        activity.request_received();
        let response = respond(&metrics, &request);
        let activity = activity.clone();
        async move { Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, activity))) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(HEAD_TIMEOUT_S))
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The response to one request.
pub fn respond(metrics: &Metrics, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let has_body = request.headers().contains_key(TRANSFER_ENCODING)
        || request
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "a request body is not accepted\n",
        );
    }
    match request.uri().path() {
        "/metrics" => {
            let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let format = Format::from_accept(accept);
            match metrics.encode(format) {
                Ok(text) => {
                    let mut r = Response::new(Full::new(Bytes::from(text)));
                    r.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static(format.content_type()),
                    );
                    r
                }
                Err(_) => plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the metrics could not be encoded\n",
                ),
            }
        }
        "/" => plain(
            StatusCode::OK,
            "hoeveel-agent serve: the metrics are at /metrics\n",
        ),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: this exporter serves /metrics\n",
        ),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests;
