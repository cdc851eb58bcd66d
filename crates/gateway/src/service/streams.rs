//! What the SSE streams share: one reader that fetches every new event once and fans it out
//! over a broadcast channel (so a thousand open streams cost one query per change, not a
//! thousand), and the cap on streams per principal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

use super::ratelimit::Slot;
use super::Gateway;
use crate::auth::Caller;
use crate::error::GatewayError;
use crate::store::events::{self, StoredEvent};

/// How many database reads the streams caused, for operators and tests: live delivery costs
/// one fan-out read per change however many streams are open; catch-up reads happen only for
/// a stream that resumes or fell behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventReads {
    pub fan_out: u64,
    pub catch_up: u64,
}

#[derive(Debug, Default)]
pub(super) struct ReadCounters {
    fan_out: AtomicU64,
    catch_up: AtomicU64,
}

/// Events the reader fetches per query.
const BATCH: usize = 100;
/// Events a stream may fall behind the reader before it reads the gap from the database.
pub(super) const FANOUT_CAPACITY: usize = 1024;

impl Gateway {
    /// The database reads the streams caused so far.
    pub fn event_reads(&self) -> EventReads {
        let c = &self.inner.event_reads;
        EventReads {
            fan_out: c.fan_out.load(Ordering::Relaxed),
            catch_up: c.catch_up.load(Ordering::Relaxed),
        }
    }

    /// Counts one catch-up read of a stream.
    pub(crate) fn count_catch_up_read(&self) {
        self.inner
            .event_reads
            .catch_up
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The newest event id now.
    pub fn newest_event_id(&self) -> i64 {
        *self.subscribe_events().borrow()
    }

    /// Every event committed from now on, in id order, as the fan-out reader delivers them.
    pub(crate) fn live_events(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.inner.fanout.subscribe()
    }

    /// A place for one more stream of this caller's principal, unless it holds the maximum.
    pub(crate) fn open_stream_slot(&self, caller: &Caller) -> Option<Slot> {
        let key = format!("{}|{}", caller.tenant, caller.principal);
        self.inner
            .stream_slots
            .take(&key, self.inner.stream_limits.max_streams_per_principal)
    }

    /// How often a stream opened with a session checks that the session still holds.
    pub(crate) fn session_recheck(&self) -> std::time::Duration {
        self.inner.stream_limits.session_recheck
    }
}

/// Reads each event after `from` once and hands it to every stream, until the task is
/// aborted. `from` is read before the server accepts its first stream, so no stream can start
/// after an event the reader skips.
pub async fn fan_out_events(gateway: Gateway, from: i64) {
    let mut changes = gateway.subscribe_events();
    let mut last = from;
    loop {
        changes.borrow_and_update();
        loop {
            let after = last;
            gateway
                .inner
                .event_reads
                .fan_out
                .fetch_add(1, Ordering::Relaxed);
            let fetched = gateway
                .store()
                .run(move |c| Ok::<_, GatewayError>(events::after_all(&c.db, after, BATCH)?))
                .await;
            match fetched {
                Ok(rows) if !rows.is_empty() => {
                    for event in rows {
                        last = event.id;
                        // No receiver is no error: nobody is listening right now.
                        let _ = gateway.inner.fanout.send(Arc::new(event));
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "event fan-out could not read; retrying on the next change");
                    break;
                }
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}
