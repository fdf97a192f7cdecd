//! The socket and the response body as hyper sees them, reporting a
//! connection's [`Phase`](super::connections::Phase) as they go.
//!
//! [`TrackedStream`] first gives hyper the bytes already read from the socket
//! (those the exporter looked at before hyper), then reads the socket; a flush
//! that leaves nothing unwritten marks a taken response as written. [`TrackedBody`] marks the response taken when
//! hyper drops it, which it does once it has buffered the last byte.

use super::connections::Activity;
use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection's socket, after the bytes already read from it.
#[derive(Debug)]
pub struct TrackedStream {
    already_read: Bytes,
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl TrackedStream {
    pub fn new(already_read: Vec<u8>, stream: TcpStream, activity: Arc<Activity>) -> Self {
        TrackedStream {
            already_read: Bytes::from(already_read),
            stream,
            activity,
        }
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.already_read.is_empty() {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let given_bytes = this.already_read.len().min(buf.remaining());
        buf.put_slice(&this.already_read.split_to(given_bytes));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// Hyper flushes the socket only once its own buffer is written out.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = ready!(Pin::new(&mut this.stream).poll_flush(cx));
        if flushed.is_ok() {
            this.activity.socket_flushed();
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A whole response body that marks its response taken when dropped.
#[derive(Debug)]
pub struct TrackedBody {
    body: Full<Bytes>,
    activity: Arc<Activity>,
}

impl TrackedBody {
    pub fn new(body: Full<Bytes>, activity: Arc<Activity>) -> Self {
        TrackedBody { body, activity }
    }
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.activity.response_taken();
    }
}
