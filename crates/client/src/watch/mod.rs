//! [`QueueWatch`]: a tokio task that keeps an up-to-date view of pending approvals and emits
//! typed [`WatchEvent`]s.
//!
//! It prefers the gateway's event stream (`GET /api/v1/approvals/events`, an extension) and
//! falls back to polling `GET /api/v1/approvals?include_resolved=false` when the gateway does
//! not offer it. Either way every (re)connect starts with a full list (all `next_cursor`
//! pages): the stream resumes with `Last-Event-ID`, but a server may have trimmed its history.
//! Errors back off exponentially with jitter. Arrivals are deduplicated through the ledger's
//! seen set (see `view.rs`), across reconnects and restarts.
//!
//! The stream is hostile input like any answer. An event that cannot be read is skipped and
//! reported ([`WatchEvent::Skipped`]), its id still counts as received (else every reconnect
//! would replay it), and a full list follows so its item is not missed. A stream that keeps
//! failing before delivering anything is given up for a while in favour of polling.
//!
//! Only waits (network, sleeps) are interrupted by [`QueueWatch::stop`]; applying a batch
//! (ledger write, then event) always completes, so a stopped watch loses no event.

mod budget;
mod config;
mod fetch;
#[doc(hidden)]
pub mod fuzzing;
mod sse;
mod stream_event;
mod view;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use countersign_core::approval::ApprovalItem;
use countersign_ledger::Ledger;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use config::WatchConfig;
pub use view::ItemChange;

use self::budget::{Admit, Budget};
use self::fetch::{list_all, open_stream};
use self::sse::SseParser;
use self::stream_event::{parse_event, StreamEvent};
use crate::decide::backoff;
use crate::error::{ClientError, Result};
use crate::generation::Feature;
use crate::http::GatewayClient;
use crate::job::JobStatus;

/// Stream rounds in a row that may fail before delivering an event, before the watch polls.
const STREAM_STRIKES: u32 = 3;
/// Successful polls before a given-up stream is tried again.
const POLLS_BEFORE_STREAM_RETRY: u32 = 30;

/// How the watch currently learns about changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchMode {
    Events,
    Polling,
}

/// What the watch reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A job never shown before.
    Arrived(Box<ApprovalItem>),
    /// A pending job's hash, snapshot, revision or state changed.
    Changed {
        item: Box<ApprovalItem>,
        changes: Vec<ItemChange>,
    },
    /// A job left the queue; `by` and `status` when the gateway said.
    Resolved {
        job_id: String,
        by: Option<String>,
        status: Option<String>,
    },
    /// The gateway published a policy snapshot: pending verdicts may have changed.
    PolicyChanged { snapshot: Option<String> },
    /// A policy draft was proposed, updated, approved or rejected (`governance.*` events);
    /// the drafts are read through their own endpoints. Event streams only: polling the
    /// queue says nothing of drafts.
    GovernanceChanged { draft_id: Option<String> },
    /// The gateway sent an event this client cannot read; it was skipped, and a full list
    /// follows so nothing it announced is missed.
    Skipped { code: String, message: String },
    /// A full list completed; [`QueueWatch::pending`] is now current. `complete` is false
    /// when the list was cut short (a bound of [`WatchConfig`], or a cursor that stopped
    /// moving): more items may be pending than are shown, so never say the list is whole.
    Synced {
        pending: usize,
        mode: WatchMode,
        complete: bool,
    },
    /// The gateway is unreachable or refused; the watch retries after `retry_in`. With code
    /// `reauth_required` it keeps failing until [`QueueWatch::set_client`] hands it a client
    /// with a fresh session.
    Disconnected {
        code: String,
        message: String,
        retry_in: Duration,
    },
}

/// The handle of a running watch. Dropping it stops the task.
#[derive(Debug)]
pub struct QueueWatch {
    events: mpsc::UnboundedReceiver<WatchEvent>,
    shared: view::Shared,
    client: watch::Sender<GatewayClient>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl QueueWatch {
    /// Starts watching (on the current tokio runtime). The ledger is the seen set; pass the
    /// profile's ledger so arrivals are remembered across restarts.
    pub fn spawn(client: GatewayClient, ledger: Arc<Ledger>, config: WatchConfig) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let shared = view::Shared::default();
        let (client_tx, client_rx) = watch::channel(client);
        let (stop, stop_rx) = watch::channel(false);
        let task = Task {
            config,
            ledger,
            shared: Arc::clone(&shared),
            events: tx,
            client: client_rx,
            stop: stop_rx,
            last_event_id: None,
            failures: 0,
            pause: Duration::ZERO,
            last_failure: "",
            stream_strikes: 0,
            polls_left: 0,
            resync_due: false,
            polled_snapshot: None,
            budget: Budget::default(),
            departed: view::Departed::default(),
        };
        Self {
            events,
            shared,
            client: client_tx,
            stop,
            task: Some(tokio::spawn(task.run())),
        }
    }

    /// The next event; `None` once the watch has stopped and every event was read.
    pub async fn next(&mut self) -> Option<WatchEvent> {
        self.events.recv().await
    }

    /// The pending items, newest first.
    pub fn pending(&self) -> Vec<ApprovalItem> {
        let mut items: Vec<ApprovalItem> = view::read(&self.shared).values().cloned().collect();
        items.sort_by(|a, b| {
            b.job
                .updated_at
                .cmp(&a.job.updated_at)
                .then(a.job.id.cmp(&b.job.id))
        });
        items
    }

    /// Points the watch at another client (the gateway moved, or a new session): it
    /// reconnects and resyncs.
    pub fn set_client(&self, client: GatewayClient) {
        self.client.send_replace(client);
    }

    /// Stops the task and waits for it; events already produced stay readable.
    pub async fn stop(&mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::warn!(%error, "queue watch task ended abnormally");
            }
        }
    }
}

impl Drop for QueueWatch {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

struct Task {
    config: WatchConfig,
    ledger: Arc<Ledger>,
    shared: view::Shared,
    events: mpsc::UnboundedSender<WatchEvent>,
    client: watch::Receiver<GatewayClient>,
    stop: watch::Receiver<bool>,
    last_event_id: Option<String>,
    failures: u32,
    /// The wait the last [`WatchEvent::Disconnected`] announced: the one then taken.
    pause: Duration,
    /// The code of the last failure reported.
    last_failure: &'static str,
    /// Stream rounds in a row that failed before delivering an event.
    stream_strikes: u32,
    /// Polls left before a given-up stream is tried again.
    polls_left: u32,
    /// A skipped event may have announced something: list everything soon.
    resync_due: bool,
    /// The current policy snapshot last polled; `None` before the first poll.
    polled_snapshot: Option<String>,
    /// What the stream may still add to the view.
    budget: Budget,
    /// Jobs that left the queue while watched (see [`view::Departed`]).
    departed: view::Departed,
}

/// How far a stream session got.
enum Progress {
    NotOpened,
    Opened,
    Delivered,
}

/// Why a round ended early.
enum Halt {
    Stop,
    /// [`QueueWatch::set_client`] was called: reconnect with the new client.
    NewClient,
    /// A failure, already reported as [`WatchEvent::Disconnected`]: back off, then retry.
    Failed,
}

impl Task {
    async fn run(mut self) {
        while !*self.stop.borrow() {
            let client = self.client.borrow_and_update().clone();
            let use_events = self.config.use_events
                && self.polls_left == 0
                && client.detected().get(Feature::Events) != Some(false);
            let result = if use_events {
                self.stream_round(&client).await
            } else {
                let polled = self.poll_round(&client).await;
                if polled.is_ok() {
                    self.polls_left = self.polls_left.saturating_sub(1);
                }
                polled
            };
            match result {
                Ok(()) => {}
                Err(Halt::Stop) => break,
                Err(Halt::NewClient) => self.forget_stream(),
                Err(Halt::Failed) => match self.back_off().await {
                    Err(Halt::Stop) => break,
                    Err(Halt::NewClient) => self.forget_stream(),
                    Ok(()) | Err(Halt::Failed) => {}
                },
            }
        }
    }

    /// A new client may be another gateway: its stream starts afresh.
    fn forget_stream(&mut self) {
        self.last_event_id = None;
        self.stream_strikes = 0;
        self.polls_left = 0;
    }

    fn emit(&self, events: Vec<WatchEvent>) {
        for event in events {
            // A dropped receiver means nobody listens any more; the stop signal follows.
            let _ = self.events.send(event);
        }
    }

    fn failed(&mut self, error: &ClientError) -> Halt {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = error.code();
        // One draw of the jittered backoff, both announced and waited.
        self.pause = backoff(
            self.config.initial_backoff,
            self.config.max_backoff,
            self.failures,
        );
        tracing::debug!(code = error.code(), %error, "queue watch failure");
        self.emit(vec![WatchEvent::Disconnected {
            code: error.code().to_owned(),
            message: error.to_string(),
            retry_in: self.pause,
        }]);
        Halt::Failed
    }

    async fn back_off(&mut self) -> Result<(), Halt> {
        let pause = self.pause;
        wait(&mut self.stop, &mut self.client, tokio::time::sleep(pause)).await
    }

    /// Lists everything and applies it.
    async fn resync(&mut self, client: &GatewayClient, mode: WatchMode) -> Result<(), Halt> {
        let listed = wait(
            &mut self.stop,
            &mut self.client,
            list_all(client, &self.config),
        )
        .await?;
        let (items, complete) = listed.map_err(|e| self.failed(&e))?;
        let applied = self.apply(items, complete).await;
        let mut events = applied.map_err(|e| self.failed(&e))?;
        name_resolvers(client, &mut events).await;
        self.emit(events);
        self.budget.rebuild(&view::read(&self.shared));
        let pending = view::read(&self.shared).len();
        self.emit(vec![WatchEvent::Synced {
            pending,
            mode,
            complete,
        }]);
        self.failures = 0;
        self.resync_due = false;
        Ok(())
    }

    async fn poll_round(&mut self, client: &GatewayClient) -> Result<(), Halt> {
        let started = tokio::time::Instant::now();
        self.resync(client, WatchMode::Polling).await?;
        self.poll_snapshot(client).await?;
        // One list per interval, counted from the start of each: an item waits at most the
        // interval plus one round, not the interval plus two.
        let rest = self.config.poll_interval.saturating_sub(started.elapsed());
        wait(&mut self.stop, &mut self.client, tokio::time::sleep(rest)).await
    }

    /// Without an event stream nothing announces a new policy, so each poll compares the
    /// current snapshot with the last one seen; the first poll only learns it.
    async fn poll_snapshot(&mut self, client: &GatewayClient) -> Result<(), Halt> {
        let listed = wait(&mut self.stop, &mut self.client, client.policy_snapshots()).await?;
        let current = listed.map_err(|e| self.failed(&e))?.into_iter().next();
        let previous = std::mem::replace(&mut self.polled_snapshot, current.clone());
        if previous.is_some() && previous != current {
            self.emit(vec![WatchEvent::PolicyChanged { snapshot: current }]);
        }
        Ok(())
    }

    /// One stream session; a stream that keeps failing before it delivers anything is
    /// given up for [`POLLS_BEFORE_STREAM_RETRY`] polls. An unreachable gateway is no
    /// strike against its stream: polling would fail the same way.
    async fn stream_round(&mut self, client: &GatewayClient) -> Result<(), Halt> {
        let mut progress = Progress::NotOpened;
        let result = self.stream_session(client, &mut progress).await;
        if let Err(Halt::Failed) = result {
            let unreachable = matches!(self.last_failure, "network" | "timeout");
            match progress {
                Progress::Delivered => self.stream_strikes = 0,
                Progress::NotOpened if unreachable => {}
                Progress::NotOpened | Progress::Opened => {
                    self.stream_strikes = self.stream_strikes.saturating_add(1);
                }
            }
            if self.stream_strikes >= STREAM_STRIKES {
                tracing::info!("the event stream keeps failing; polling for a while");
                self.stream_strikes = 0;
                self.polls_left = POLLS_BEFORE_STREAM_RETRY;
            }
        }
        result
    }

    /// Opens the stream, resyncs, then applies events until the stream ends.
    async fn stream_session(
        &mut self,
        client: &GatewayClient,
        progress: &mut Progress,
    ) -> Result<(), Halt> {
        let opened = wait(
            &mut self.stop,
            &mut self.client,
            open_stream(client, self.last_event_id.as_deref()),
        )
        .await?;
        let response = match opened {
            Ok(Some(response)) => response,
            Ok(None) => {
                tracing::info!("gateway has no event stream; polling");
                return Ok(());
            }
            Err(error) => return Err(self.failed(&error)),
        };
        client.detected().set(Feature::Events, true);
        *progress = Progress::Opened;
        self.resync(client, WatchMode::Events).await?;
        let mut last_sync = tokio::time::Instant::now();
        let mut parser = SseParser::default();
        let mut body = response.bytes_stream();
        // The read timeout sees bytes; a stream dripping bytes that never complete a line
        // would pass it for ever, so completed lines are what keeps the stream alive.
        let idle = client.stream_idle_timeout();
        let mut alive_until = tokio::time::Instant::now() + idle;
        loop {
            let next = tokio::time::timeout_at(alive_until, body.next());
            let chunk = match wait(&mut self.stop, &mut self.client, next).await? {
                Err(_) => {
                    return Err(self.failed(&ClientError::Network(format!(
                        "the event stream sent no complete line in {} s",
                        idle.as_secs()
                    ))))
                }
                Ok(Some(Ok(chunk))) => chunk,
                Ok(Some(Err(error))) => return Err(self.failed(&ClientError::from(error))),
                Ok(None) => {
                    return Err(self.failed(&ClientError::Network("the event stream ended".into())))
                }
            };
            let lines_before = parser.lines();
            // An oversized event ends the connection: the parser cannot resynchronise.
            let events = match parser.feed(&chunk) {
                Ok(events) => events,
                Err(message) => return Err(self.failed(&ClientError::GatewayProtocol(message))),
            };
            if parser.lines() > lines_before {
                alive_until = tokio::time::Instant::now() + idle;
            }
            for event in events {
                match parse_event(&event.kind, &event.data) {
                    Ok(parsed) => {
                        if let Err(error) = self.apply_event(parsed, event.data.len()).await {
                            // Not applied, so not received: a reconnect gets it again.
                            return Err(self.failed(&error));
                        }
                        *progress = Progress::Delivered;
                    }
                    Err(error) => self.skipped(&error),
                }
                if event.id.is_some() {
                    self.last_event_id = event.id;
                }
            }
            // At most one list per poll interval, however many bad events arrive.
            if self.resync_due && last_sync.elapsed() >= self.config.poll_interval {
                self.resync(client, WatchMode::Events).await?;
                last_sync = tokio::time::Instant::now();
            }
        }
    }

    fn skipped(&mut self, error: &ClientError) {
        tracing::warn!(code = error.code(), %error, "skipping an unreadable event");
        self.resync_due = true;
        self.emit(vec![WatchEvent::Skipped {
            code: error.code().to_owned(),
            message: error.to_string(),
        }]);
    }

    async fn apply(&mut self, items: Vec<ApprovalItem>, complete: bool) -> Result<Vec<WatchEvent>> {
        view::apply(
            &self.shared,
            &self.ledger,
            items,
            complete,
            &mut self.departed,
        )
        .await
    }

    /// Applies one stream event whose data was `size` bytes.
    async fn apply_event(&mut self, event: StreamEvent, size: usize) -> Result<()> {
        match event {
            StreamEvent::Item(item) => match self.budget.admit(&self.config, &item, size) {
                Admit::Yes => {
                    let events = self.apply(vec![*item], false).await?;
                    self.emit(events);
                }
                // Neither held nor recorded; the next full list (bounded) shows what is real.
                Admit::No { first } => {
                    self.resync_due = true;
                    if first {
                        tracing::warn!("event stream items over the watch's bounds; listing");
                        self.emit(vec![WatchEvent::Skipped {
                            code: "stream_over_bounds".to_owned(),
                            message: "the event stream sent more items than the watch holds; \
                                      the full list decides what is shown"
                                .to_owned(),
                        }]);
                    }
                }
            },
            StreamEvent::Resolved { job_id, by, status } => {
                self.budget.forget(&job_id);
                let event = view::resolve(&self.shared, &job_id, by, status, &mut self.departed);
                self.emit(event.into_iter().collect());
            }
            StreamEvent::Policy(snapshot) => {
                self.emit(vec![WatchEvent::PolicyChanged { snapshot }]);
            }
            StreamEvent::Governance { draft_id } => {
                self.emit(vec![WatchEvent::GovernanceChanged { draft_id }]);
            }
            StreamEvent::Ignored => {}
        }
        Ok(())
    }
}

/// Runs `future` unless the watch is stopped or given a new client first.
async fn wait<F: std::future::Future>(
    stop: &mut watch::Receiver<bool>,
    client: &mut watch::Receiver<GatewayClient>,
    future: F,
) -> Result<F::Output, Halt> {
    tokio::select! {
        output = future => Ok(output),
        _ = stop.changed() => Err(Halt::Stop),
        changed = client.changed() => match changed {
            Ok(()) => Err(Halt::NewClient),
            Err(_) => Err(Halt::Stop),
        },
    }
}

/// A list only shows that an item left the queue; the job record says who resolved it and
/// how. Best effort: an unreadable record leaves the event as it is.
async fn name_resolvers(client: &GatewayClient, events: &mut [WatchEvent]) {
    let unnamed: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            WatchEvent::Resolved {
                job_id, by: None, ..
            } => Some(job_id.clone()),
            _ => None,
        })
        .collect();
    if unnamed.is_empty() {
        return;
    }
    let records: HashMap<String, JobStatus> = futures_util::stream::iter(unnamed)
        .map(|job_id| {
            let client = client.clone();
            async move {
                let record = client.job_status(&job_id).await.ok();
                record.map(|record| (job_id, record))
            }
        })
        .buffer_unordered(8)
        .filter_map(std::future::ready)
        .collect()
        .await;
    for event in events {
        if let WatchEvent::Resolved {
            job_id,
            by: by @ None,
            status,
        } = event
        {
            if let Some(record) = records.get(job_id.as_str()) {
                // The decision protocol's rule, in the event stream's words.
                *by = crate::decide::resolver(record);
                *status = crate::decide::resolution_status(record);
            }
        }
    }
}
