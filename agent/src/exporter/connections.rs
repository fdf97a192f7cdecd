//! The exporter's connection slots, and which connection gives its slot up when
//! they are all taken.
//!
//! At most [`MAX_CONNECTIONS`] connections are served at once. Each is in one
//! [`Phase`]: opening (no complete request head yet), serving or flushing (a
//! head is in and its response is not yet all written to the socket), or kept
//! alive (between two requests). When every slot is taken and another
//! connection arrives, the oldest opening connection is closed to make room,
//! else the oldest kept-alive one, but never one accepted less than
//! [`EVICTABLE_AFTER_MS`] ago: until it is that old, the newcomer waits, and
//! the exporter accepts nothing meanwhile (new connections wait in the
//! kernel's queue, which holds 1024). A connection serving or flushing a
//! response is never closed for another; only when all of them are is the
//! newcomer closed on accept. The slot of a closed connection is handed on at
//! once; the connection itself ends at its next poll, before it reads another
//! byte.
//!
//! So peers that connect and send nothing cannot take the exporter off the air:
//! each new connection pushes the oldest silent one out. A scraper sends its
//! request at once: the time it waits in the kernel's queue behind a flood, and
//! then the 50 ms and 63 newer connections before it could be pushed out, are
//! ample for its head to arrive, after which it is safe. Silent connections are
//! pushed out at most 64 every 50 ms, so a scraper behind 136 of them (200
//! held, 64 served) waits about 0.1 s, behind 936 (1,000 held) about 0.7 s.
//! Opening connections go before kept-alive ones, so a scraper that keeps its
//! connection between scrapes (as Prometheus does) keeps it while others flood
//! the exporter. A limit per peer address would not do this alone: every peer
//! behind one NAT or proxy (or on loopback) shares an address.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Milliseconds after its accept before a connection may be closed for another.
pub const EVICTABLE_AFTER_MS: u64 = 50;

/// Where a connection is in its exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Accepted, no complete request head yet.
    Opening = 0,
    /// A request head is in; hyper has not yet taken all of its response.
    Serving = 1,
    /// Hyper has all of the response; not all of it is written to the socket.
    Flushing = 2,
    /// A response is written; waiting for the next request.
    KeptAlive = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Opening,
            1 => Phase::Serving,
            2 => Phase::Flushing,
            _ => Phase::KeptAlive,
        }
    }
}

/// One connection's phase, and the signal that closes it to free its slot.
#[derive(Debug)]
pub struct Activity {
    phase: AtomicU8,
    evicted: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            phase: AtomicU8::new(Phase::Opening as u8),
            evicted: Notify::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }

    /// A complete request head is in: the connection is not closed for
    /// another until its response is written.
    pub fn request_received(&self) {
        self.phase.store(Phase::Serving as u8, Ordering::SeqCst);
    }

    /// Hyper has taken the whole response (its body is dropped).
    pub fn response_taken(&self) {
        self.advance(Phase::Serving, Phase::Flushing);
    }

    /// Everything hyper had is written to the socket: a response taken
    /// before is out.
    pub fn socket_flushed(&self) {
        self.advance(Phase::Flushing, Phase::KeptAlive);
    }

    fn advance(&self, from: Phase, to: Phase) {
        let _ =
            self.phase
                .compare_exchange(from as u8, to as u8, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Resolves when the slot was given to another connection; the
    /// connection must close then.
    pub async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

/// A connection's hold on a slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl Slot {
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.release(self.id);
    }
}

/// What a new connection gets.
#[derive(Debug)]
pub enum Admission {
    Admitted(Slot),
    /// Every slot is taken and no idle connection is old enough to close yet:
    /// ask again then.
    NotBefore(Instant),
    /// Every connection is in the middle of a request.
    Refused,
}

/// The live connections, oldest first.
#[derive(Debug)]
pub struct Connections {
    capacity: usize,
    evictable_after: Duration,
    live: Mutex<Live>,
}

#[derive(Debug, Default)]
struct Live {
    next_id: u64,
    by_age: BTreeMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    accepted_at: Instant,
    activity: Arc<Activity>,
}

enum Eviction {
    Done,
    NotBefore(Instant),
    NoneIdle,
}

impl Connections {
    /// `capacity` slots; a connection may be closed for another once it is
    /// `evictable_after` old.
    pub fn new(capacity: usize, evictable_after: Duration) -> Arc<Connections> {
        Arc::new(Connections {
            capacity,
            evictable_after,
            live: Mutex::new(Live::default()),
        })
    }

    /// A slot for a connection accepted at `now`, closing an idle connection
    /// when all are taken.
    pub fn admit(self: &Arc<Self>, now: Instant) -> Admission {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.by_age.len() >= self.capacity {
            match live.evict_one(now, self.evictable_after) {
                Eviction::Done => {}
                Eviction::NotBefore(when) => return Admission::NotBefore(when),
                Eviction::NoneIdle => return Admission::Refused,
            }
        }
        let id = live.next_id;
        live.next_id += 1;
        let activity = Arc::new(Activity::new());
        live.by_age.insert(
            id,
            Entry {
                accepted_at: now,
                activity: activity.clone(),
            },
        );
        Admission::Admitted(Slot {
            id,
            activity,
            connections: self.clone(),
        })
    }

    /// Connections holding a slot now.
    #[cfg(test)]
    fn live_count(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_age
            .len()
    }

    fn release(&self, id: u64) {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_age
            .remove(&id);
    }
}

impl Live {
    /// Frees the slot of the oldest opening connection, else of the oldest
    /// kept-alive one, once it is `evictable_after` old.
    fn evict_one(&mut self, now: Instant, evictable_after: Duration) -> Eviction {
        let Some((id, accepted_at)) = self
            .oldest(Phase::Opening)
            .or_else(|| self.oldest(Phase::KeptAlive))
        else {
            return Eviction::NoneIdle;
        };
        let evictable_at = accepted_at + evictable_after;
        if now < evictable_at {
            return Eviction::NotBefore(evictable_at);
        }
        if let Some(entry) = self.by_age.remove(&id) {
            // A stored permit: the connection closes at its next poll, before
            // it reads another byte.
            entry.activity.evicted.notify_one();
        }
        Eviction::Done
    }

    /// The id and accept time of the oldest connection in `phase`.
    fn oldest(&self, phase: Phase) -> Option<(u64, Instant)> {
        self.by_age
            .iter()
            .find(|(_, entry)| entry.activity.phase() == phase)
            .map(|(id, entry)| (*id, entry.accepted_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE: Duration = Duration::from_millis(50);

    fn evicted_now(activity: &Activity) -> bool {
        let notified = activity.evicted.notified();
        tokio::pin!(notified);
        // A stored permit makes a fresh `notified` ready at once.
        notified.as_mut().enable()
    }

    /// Admits at `at`, failing the test when no slot is given.
    fn slot(connections: &Arc<Connections>, at: Instant) -> Slot {
        match connections.admit(at) {
            Admission::Admitted(slot) => slot,
            other => panic!("no slot: {other:?}"),
        }
    }

    /// Instants one second apart, each old enough to evict by the next.
    fn seconds(start: Instant) -> impl Iterator<Item = Instant> {
        (0..).map(move |s| start + Duration::from_secs(s))
    }

    #[test]
    fn a_newcomer_evicts_the_oldest_opening_connection_when_all_slots_are_taken() {
        let connections = Connections::new(3, AGE);
        let mut at = seconds(Instant::now());
        let first = slot(&connections, at.next().expect("an instant"));
        let second = slot(&connections, at.next().expect("an instant"));
        let third = slot(&connections, at.next().expect("an instant"));
        let fourth = slot(&connections, at.next().expect("an instant"));
        assert!(evicted_now(first.activity()));
        assert!(!evicted_now(second.activity()));
        assert!(!evicted_now(third.activity()));
        assert!(!evicted_now(fourth.activity()));
        assert_eq!(connections.live_count(), 3);
        // The evicted connection's slot was already handed on.
        drop(first);
        assert_eq!(connections.live_count(), 3);
    }

    #[test]
    fn a_connection_younger_than_the_eviction_age_is_not_closed_for_another() {
        let connections = Connections::new(1, AGE);
        let start = Instant::now();
        let young = slot(&connections, start);
        let soon = start + Duration::from_millis(10);
        match connections.admit(soon) {
            Admission::NotBefore(when) => assert_eq!(when, start + AGE),
            other => panic!("admitted too early: {other:?}"),
        }
        assert!(!evicted_now(young.activity()));
        let _newcomer = slot(&connections, start + AGE);
        assert!(evicted_now(young.activity()));
    }

    #[test]
    fn a_young_opening_connection_is_waited_for_rather_than_a_kept_alive_one_closed() {
        let connections = Connections::new(2, AGE);
        let start = Instant::now();
        let kept_alive = slot(&connections, start);
        kept_alive.activity().request_received();
        kept_alive.activity().response_taken();
        kept_alive.activity().socket_flushed();
        let young = start + Duration::from_secs(10);
        let opening = slot(&connections, young);
        match connections.admit(young + Duration::from_millis(10)) {
            Admission::NotBefore(when) => assert_eq!(when, young + AGE),
            other => panic!("a slot before the opening connection is old enough: {other:?}"),
        }
        assert!(!evicted_now(kept_alive.activity()));
        assert!(!evicted_now(opening.activity()));
    }

    #[test]
    fn a_connection_serving_a_request_is_never_evicted() {
        let connections = Connections::new(2, AGE);
        let mut at = seconds(Instant::now());
        let serving = slot(&connections, at.next().expect("an instant"));
        serving.activity().request_received();
        let opening = slot(&connections, at.next().expect("an instant"));
        let newcomer = slot(&connections, at.next().expect("an instant"));
        assert!(!evicted_now(serving.activity()));
        assert!(evicted_now(opening.activity()));
        newcomer.activity().request_received();
        assert!(
            matches!(
                connections.admit(at.next().expect("an instant")),
                Admission::Refused
            ),
            "every connection is serving: the newcomer is refused"
        );
        assert!(!evicted_now(serving.activity()));
        assert!(!evicted_now(newcomer.activity()));
    }

    #[test]
    fn opening_connections_go_before_kept_alive_ones() {
        let connections = Connections::new(2, AGE);
        let mut at = seconds(Instant::now());
        let kept_alive = slot(&connections, at.next().expect("an instant"));
        kept_alive.activity().request_received();
        kept_alive.activity().response_taken();
        assert_eq!(kept_alive.activity().phase(), Phase::Flushing);
        kept_alive.activity().socket_flushed();
        assert_eq!(kept_alive.activity().phase(), Phase::KeptAlive);
        let opening = slot(&connections, at.next().expect("an instant"));
        let newcomer = slot(&connections, at.next().expect("an instant"));
        assert!(evicted_now(opening.activity()));
        assert!(!evicted_now(kept_alive.activity()));
        // With no opening connection left, the kept-alive one goes.
        newcomer.activity().request_received();
        let _another = slot(&connections, at.next().expect("an instant"));
        assert!(evicted_now(kept_alive.activity()));
    }

    #[test]
    fn a_response_still_being_written_keeps_its_connection() {
        let connections = Connections::new(1, AGE);
        let mut at = seconds(Instant::now());
        let writing = slot(&connections, at.next().expect("an instant"));
        writing.activity().request_received();
        // A flush before the response is taken does not end serving.
        writing.activity().socket_flushed();
        assert_eq!(writing.activity().phase(), Phase::Serving);
        writing.activity().response_taken();
        assert!(matches!(
            connections.admit(at.next().expect("an instant")),
            Admission::Refused
        ));
        assert!(!evicted_now(writing.activity()));
    }

    #[test]
    fn a_slot_is_given_back_when_its_connection_ends() {
        let connections = Connections::new(1, AGE);
        let mut at = seconds(Instant::now());
        let only = slot(&connections, at.next().expect("an instant"));
        only.activity().request_received();
        assert!(matches!(
            connections.admit(at.next().expect("an instant")),
            Admission::Refused
        ));
        drop(only);
        assert_eq!(connections.live_count(), 0);
        let _next = slot(&connections, at.next().expect("an instant"));
    }
}
