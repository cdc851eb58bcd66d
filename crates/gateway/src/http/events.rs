//! Extension: `GET /api/v1/approvals/events`, Server-Sent Events for `approval.required`,
//! `approval.updated`, `approval.resolved` and `policy.snapshot`. Events are read from the database, so a client
//! that reconnects with `Last-Event-ID` gets exactly the events it missed, each once. Without
//! it the stream starts at the newest event (clients list first, then listen).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use super::extract::{header_value, require, Auth};
use crate::apierror::ApiError;
use crate::config::Permission;
use crate::error::GatewayError;
use crate::service::Gateway;
use crate::store::events::{self, StoredEvent};

const KEEP_ALIVE: Duration = Duration::from_secs(15);
const BATCH: usize = 100;

struct Cursor {
    gw: Gateway,
    tenant: String,
    last: i64,
    changes: watch::Receiver<i64>,
    closing: watch::Receiver<bool>,
    buffered: VecDeque<StoredEvent>,
}

impl Cursor {
    /// The next event, or `None` when the gateway shuts down or storage fails.
    async fn next(&mut self) -> Option<StoredEvent> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                return Some(event);
            }
            // Marking the current version seen before reading means an event committed after
            // the read still wakes the wait below: no event can slip between the two.
            self.changes.borrow_and_update();
            let (tenant, last) = (self.tenant.clone(), self.last);
            let fetched = self
                .gw
                .store()
                .run(move |c| Ok::<_, GatewayError>(events::after(&c.db, &tenant, last, BATCH)?))
                .await;
            match fetched {
                Ok(rows) if !rows.is_empty() => {
                    self.last = rows.last().map_or(self.last, |e| e.id);
                    self.buffered.extend(rows);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event stream stopped");
                    return None;
                }
            }
            if *self.closing.borrow() {
                return None;
            }
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                _ = self.closing.changed() => return None,
            }
        }
    }
}

pub(super) async fn stream(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    require(&caller, Permission::JobsApprove)?;
    let changes = gw.subscribe_events();
    let resume = header_value(&headers, "last-event-id")
        .or_else(|| query.get("last_event_id").cloned())
        .map(|v| v.parse::<i64>())
        .transpose()
        .map_err(|_| {
            ApiError::legacy(axum::http::StatusCode::BAD_REQUEST, "invalid Last-Event-ID")
        })?;
    let last = resume.unwrap_or_else(|| *changes.borrow());
    let cursor = Cursor {
        closing: gw.closing(),
        gw,
        tenant: caller.tenant,
        last,
        changes,
        buffered: VecDeque::new(),
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
