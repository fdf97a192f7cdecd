//! A connection to an LLM server that a signal can stop while it waits.
//!
//! A blocking read from a server that accepted the request and never answers
//! sits in `recv` until the request's `--timeout` (600 s by default), and the
//! signal handler restarts it (`SA_RESTART`): SIGTERM from systemd, Docker or
//! `timeout(1)` was seen only when the request ended, and the SIGKILL that
//! follows a grace period took the record's `run_end` with it. So every
//! connection the clients make waits for the server in slices of
//! [`SLICE`], and between two slices looks at the run's interrupt flag: a
//! signal ends the request within a slice, as [`INTERRUPTED_MESSAGE`], and the
//! run ends as interrupted, with its `run_end`.
//!
//! Only the waiting is sliced: the request's own deadline (`--timeout`) and the
//! bytes read are unchanged.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// The longest wait between two looks at the interrupt flag.
pub const SLICE: std::time::Duration = std::time::Duration::from_millis(100);

/// What a request stopped by a signal fails with.
pub const INTERRUPTED_MESSAGE: &str = "interrupted by a signal while waiting for the server";

/// The default connector (plain TCP), each connection watching `interrupted`.
#[derive(Debug)]
pub struct WatchingConnector {
    inner: DefaultConnector,
    interrupted: &'static AtomicBool,
}

impl WatchingConnector {
    pub fn new(interrupted: &'static AtomicBool) -> WatchingConnector {
        WatchingConnector {
            inner: DefaultConnector::new(),
            interrupted,
        }
    }
}

impl Connector<()> for WatchingConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let interrupted = self.interrupted;
        Ok(self
            .inner
            .connect(details, chained)?
            .map(|inner| Box::new(WatchingTransport { inner, interrupted }) as Box<dyn Transport>))
    }
}

#[derive(Debug)]
struct WatchingTransport {
    inner: Box<dyn Transport>,
    interrupted: &'static AtomicBool,
}

impl Transport for WatchingTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        // The per-read limit, if any, applies to the whole wait, not to a slice.
        let timeout = timeout.for_read();
        let started = Instant::now();
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    INTERRUPTED_MESSAGE,
                )));
            }
            let left = match timeout.after {
                UreqDuration::Exact(d) => Some(d.saturating_sub(started.elapsed())),
                _ => None,
            };
            let slice = left.map_or(SLICE, |l| l.min(SLICE));
            let last = left.is_some_and(|l| l <= SLICE);
            let sliced = NextTimeout {
                after: UreqDuration::Exact(slice),
                reason: timeout.reason,
                per_read: None,
                per_write: timeout.per_write,
            };
            match self.inner.await_input(sliced) {
                Err(ureq::Error::Timeout(_)) if !last => continue,
                other => return other,
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}
