//! Extension: `GET /api/v1/approvals/events`, Server-Sent Events for `approval.required`,
//! `approval.updated`, `approval.resolved` and `policy.snapshot`. Live events come from the one
//! fan-out reader (`service::streams`); a client that reconnects with `Last-Event-ID` first
//! reads what it missed from the database, then joins the live feed, getting each event once.
//! Without it the stream starts at the newest event (clients list first, then listen).
//!
//! Bounds: a principal holds at most `max_streams_per_principal` streams (429 past it), and a
//! stream opened with a session ends within `session_recheck` of the session's logout,
//! expiry, or its user's removal.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::{broadcast, watch};

use super::extract::{header_value, require, Auth};
use crate::apierror::ApiError;
use crate::auth::Source;
use crate::config::Permission;
use crate::error::GatewayError;
use crate::service::{Gateway, StreamSlot};
use crate::store::events::{self, StoredEvent};

const KEEP_ALIVE: Duration = Duration::from_secs(15);
const BATCH: usize = 100;

struct Cursor {
    gw: Gateway,
    tenant: String,
    last: i64,
    /// Reading the database until caught up (after a resume, or after falling behind).
    catching_up: bool,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    closing: watch::Receiver<bool>,
    buffered: VecDeque<StoredEvent>,
    /// The session the stream was opened with, checked every `recheck` and whenever some
    /// session ends.
    session: Option<String>,
    sessions_ended: watch::Receiver<u64>,
    recheck: tokio::time::Interval,
    _slot: StreamSlot,
}

impl Cursor {
    /// The next event, or `None` when the stream must end (shutdown, storage failure, the
    /// session ended).
    async fn next(&mut self) -> Option<StoredEvent> {
        loop {
            // Checked before every delivery, so no event follows a logout that already answered.
            if self.session.is_some() && self.sessions_ended.has_changed().unwrap_or(true) {
                self.sessions_ended.borrow_and_update();
                if !self.session_holds().await {
                    return None;
                }
            }
            if let Some(event) = self.buffered.pop_front() {
                return Some(event);
            }
            if self.catching_up && !self.read_missed().await? {
                self.catching_up = false;
            }
            if self.catching_up {
                continue;
            }
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                received = self.live.recv() => match received {
                    Ok(event) if event.id > self.last && event.visible_to(&self.tenant) => {
                        self.last = event.id;
                        self.buffered.push_back(event.as_ref().clone());
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.closing.changed() => return None,
                _ = self.sessions_ended.changed(), if self.session.is_some() => {
                    if !self.session_holds().await {
                        return None;
                    }
                }
                _ = self.recheck.tick(), if self.session.is_some() => {
                    if !self.session_holds().await {
                        return None;
                    }
                }
            }
        }
    }

    /// Reads the next batch after `last` from the database; whether there was any.
    async fn read_missed(&mut self) -> Option<bool> {
        let (tenant, last) = (self.tenant.clone(), self.last);
        self.gw.count_catch_up_read();
        let fetched = self
            .gw
            .store()
            .run(move |c| Ok::<_, GatewayError>(events::after(&c.db, &tenant, last, BATCH)?))
            .await;
        match fetched {
            Ok(rows) if rows.is_empty() => Some(false),
            Ok(rows) => {
                self.last = rows.last().map_or(self.last, |e| e.id);
                self.buffered.extend(rows);
                Some(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "event stream stopped");
                None
            }
        }
    }

    async fn session_holds(&self) -> bool {
        let Some(hash) = &self.session else {
            return true;
        };
        matches!(self.gw.live_session(hash).await, Ok(Some(_)))
    }
}

pub(super) async fn stream(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let resume = header_value(&headers, "last-event-id")
        .or_else(|| query.get("last_event_id").cloned())
        .map(|v| v.parse::<i64>())
        .transpose()
        .map_err(|_| ApiError::legacy(StatusCode::BAD_REQUEST, "invalid Last-Event-ID"))?;
    let slot = gw.open_stream_slot(&caller).ok_or_else(|| ApiError {
        retry_after: Some(KEEP_ALIVE.as_secs()),
        ..ApiError::legacy(
            StatusCode::TOO_MANY_REQUESTS,
            "too many open event streams for this principal",
        )
    })?;
    // Subscribed before the start point is read: an event committed in between is then in
    // the live feed and skipped only if the start point already covers it.
    let live = gw.live_events();
    let last = resume.unwrap_or_else(|| gw.newest_event_id());
    let session = match &caller.source {
        Source::Session { token_hash, .. } => Some(token_hash.clone()),
        Source::ApiKey { .. } => None,
    };
    let mut recheck = tokio::time::interval(gw.session_recheck());
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let sessions_ended = gw.sessions_ended();
    let cursor = Cursor {
        closing: gw.closing(),
        gw,
        tenant: caller.tenant,
        last,
        catching_up: resume.is_some(),
        live,
        buffered: VecDeque::new(),
        session,
        sessions_ended,
        recheck,
        _slot: slot,
    };
    let events = stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        let sse = Event::default()
            .id(event.id.to_string())
            .event(event.kind)
            .data(event.data.to_string());
        Some((Ok(sse), cursor))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
