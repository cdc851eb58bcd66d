//! [`Desk`]: one open profile. It owns the gateway client, the profile's ledger, the
//! [`Decider`] and two tasks: the queue watch, whose events it folds into the
//! [`QueueState`] and forwards through the caller's emitter, and a recovery timer that finishes
//! decisions left open by an outage or a crash (so "will retry" settles by itself).

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use countersign_client::{
    Decider, GatewayClient, Generation, QueueWatch, RetryPolicy, WatchConfig,
};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::Ledger;
use serde::Serialize;
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::decision::{precheck, DecisionRequest, DecisionView};
use crate::demo::EmbeddedDemo;
use crate::detail::{self, DetailView, Fresh};
use crate::error::{DeskError, Result};
use crate::history::{self, ChainCheck, ExportResult, HistoryPage, HistoryQuery};
use crate::queue::{DeskEvent, QueueSnapshot, QueueState};
use crate::settings::ReviewSettings;

/// How often open decisions are retried in the background.
pub const RECOVER_EVERY: Duration = Duration::from_secs(5);

/// Where the desk's events go (the app forwards them to the webview).
pub type Emitter = Arc<dyn Fn(DeskEvent) + Send + Sync>;

/// Which profile is open, as the header and footer show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SessionView {
    pub profile: String,
    pub demo: bool,
    pub gateway_url: String,
    pub tenant: String,
    /// The gateway's API generation as detected so far (`new`, `v0.9`, or empty).
    pub generation: String,
}

/// What [`Desk::open`] needs.
#[derive(Debug)]
pub struct OpenSession {
    pub profile_name: String,
    pub tenant: String,
    pub client: GatewayClient,
    pub ledger: Arc<Ledger>,
    pub demo: Option<EmbeddedDemo>,
}

struct Shared {
    queue: Mutex<QueueState>,
    settings: RwLock<ReviewSettings>,
    emit: Emitter,
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every update is applied whole before the lock is released.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn settings(&self) -> ReviewSettings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Emits under the queue lock, so the UI receives events in `seq` order.
    fn publish(&self, queue: &QueueState, events: Vec<DeskEvent>) {
        let _ordered = queue;
        for event in events {
            (self.emit)(event);
        }
    }
}

/// One open profile.
pub struct Desk {
    view: SessionView,
    client: GatewayClient,
    ledger: Arc<Ledger>,
    decider: Decider,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    demo: Option<EmbeddedDemo>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Desk {
    /// Starts the watch and the recovery timer on the current tokio runtime.
    pub fn open(
        session: OpenSession,
        settings: ReviewSettings,
        watch: WatchConfig,
        emit: Emitter,
    ) -> Self {
        let OpenSession {
            profile_name,
            tenant,
            client,
            ledger,
            demo,
        } = session;
        let shared = Arc::new(Shared {
            queue: Mutex::new(QueueState::default()),
            settings: RwLock::new(settings),
            emit,
        });
        let decider = Decider::new(client.clone(), Arc::clone(&ledger), RetryPolicy::default());
        let watch = QueueWatch::spawn(client.clone(), Arc::clone(&ledger), watch);
        let tasks = vec![
            tokio::spawn(forward_watch(watch, client.clone(), Arc::clone(&shared))),
            tokio::spawn(recover_forever(decider.clone(), Arc::clone(&shared))),
        ];
        let view = SessionView {
            profile: profile_name,
            demo: demo.is_some(),
            gateway_url: client.base_url().to_string(),
            tenant,
            generation: String::new(),
        };
        Self {
            view,
            client,
            ledger,
            decider,
            shared,
            tasks,
            demo,
        }
    }

    pub fn view(&self) -> SessionView {
        let mut view = self.view.clone();
        view.generation = generation_name(self.client.capabilities().generation).to_owned();
        view
    }

    pub fn snapshot(&self) -> QueueSnapshot {
        self.shared.queue().snapshot()
    }

    pub fn demo(&self) -> Option<&EmbeddedDemo> {
        self.demo.as_ref()
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub fn settings(&self) -> ReviewSettings {
        self.shared.settings()
    }

    pub fn set_settings(&self, settings: ReviewSettings) -> Result<ReviewSettings> {
        let settings = settings
            .normalized()
            .map_err(|message| DeskError::new("invalid_input", message))?;
        *self
            .shared
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings.clone();
        let mut queue = self.shared.queue();
        let events = queue.apply_settings(&settings);
        self.shared.publish(&queue, events);
        Ok(settings)
    }

    /// One reviewer click: the desk's guards, then the client's decision protocol bound to
    /// the card's identity as displayed.
    pub async fn decide(&self, request: DecisionRequest) -> Result<DecisionView> {
        let card = self.shared.queue().card(&request.seen.job_id).cloned();
        precheck(&request, card.as_ref(), now_ms())?;
        // The gate flag switches a check off, so the webview's word alone is not enough.
        let gate = card.is_some_and(|c| c.seen.workflow_gate);
        let seen = SeenItem {
            workflow_gate: request.seen.workflow_gate && gate,
            ..request.seen.clone()
        };
        let report = match request.action {
            DecisionAction::Approve => self.decider.approve(&seen, &request.reason, "").await,
            DecisionAction::Reject => self.decider.reject(&seen, &request.reason, "").await,
        }?;
        Ok(DecisionView::from(&report))
    }

    /// The detail view, fetched fresh; an unreachable gateway gives a view that says so.
    pub async fn detail(&self, seen: SeenItem) -> Result<DetailView> {
        let job_id = seen.job_id.clone();
        let deadline_ms = self
            .shared
            .queue()
            .card(&job_id)
            .and_then(|c| c.deadline_ms);
        let fetched = async {
            let (item, snapshots, request) = tokio::join!(
                self.client.pending_item(&job_id),
                self.client.policy_snapshots(),
                self.client.job_request(&job_id),
            );
            Ok::<_, countersign_client::ClientError>((item?, snapshots?, request?))
        }
        .await;
        let principal = self.client.identity().await.map(|info| info.principal);
        let history = self
            .history(HistoryQuery {
                job_id: Some(job_id),
                limit: Some(100),
                ..HistoryQuery::default()
            })
            .await?
            .entries;
        let (item, snapshots, request, unreachable) = match fetched {
            Ok((item, snapshots, request)) => (item, snapshots, request, None),
            Err(error) if error.is_transient() => (None, Vec::new(), None, Some(error.to_string())),
            Err(error) => return Err(error.into()),
        };
        Ok(detail::build(
            &seen,
            &Fresh {
                item: item.as_ref(),
                snapshots: &snapshots,
                request: request.as_ref().map(|doc| doc.job_request.as_slice()),
                unreachable,
                principal,
                deadline_ms,
                now_ms: now_ms(),
            },
            history,
        ))
    }

    pub async fn history(&self, query: HistoryQuery) -> Result<HistoryPage> {
        self.blocking(move |ledger| history::query(ledger, query))
            .await
    }

    pub async fn verify_history(&self) -> Result<ChainCheck> {
        self.blocking(history::verify).await
    }

    pub async fn export_history(&self, path: std::path::PathBuf) -> Result<ExportResult> {
        self.blocking(move |ledger| history::export_all(ledger, &path))
            .await
    }

    pub async fn export_evidence(
        &self,
        job_id: String,
        path: std::path::PathBuf,
    ) -> Result<ExportResult> {
        self.blocking(move |ledger| history::export_evidence(ledger, &job_id, &path))
            .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Ledger) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let ledger = Arc::clone(&self.ledger);
        tokio::task::spawn_blocking(move || work(&ledger))
            .await
            .map_err(|e| {
                DeskError::new(crate::error::codes::IO, format!("ledger task failed: {e}"))
            })?
    }

    /// Stops the tasks and, in demo mode, the embedded gateway.
    pub async fn close(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        if let Some(demo) = self.demo.take() {
            demo.shutdown().await;
        }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn forward_watch(mut watch: QueueWatch, client: GatewayClient, shared: Arc<Shared>) {
    while let Some(event) = watch.next().await {
        let settings = shared.settings();
        let mut queue = shared.queue();
        queue.set_generation(generation_name(client.capabilities().generation));
        let events = queue.apply(event, || watch.pending(), &settings, now_ms());
        shared.publish(&queue, events);
    }
}

async fn recover_forever(decider: Decider, shared: Arc<Shared>) {
    loop {
        match decider.recover().await {
            Ok(recovered) => {
                for done in recovered {
                    let event = match &done.result {
                        Ok(report) => {
                            let mut queue = shared.queue();
                            let event = queue.decision_event(DecisionView::from(report));
                            shared.publish(&queue, vec![event]);
                            continue;
                        }
                        Err(error) if error.is_transient() => continue,
                        Err(error) => (
                            error.code().to_owned(),
                            format!("decision on {}: {error}", done.job_id),
                        ),
                    };
                    let mut queue = shared.queue();
                    let notice = queue.notice(event.0, event.1);
                    shared.publish(&queue, vec![notice]);
                }
            }
            Err(error) => tracing::warn!(%error, "recovering open decisions failed"),
        }
        tokio::time::sleep(RECOVER_EVERY).await;
    }
}

fn generation_name(generation: Generation) -> &'static str {
    match generation {
        Generation::Unknown => "",
        Generation::V09 => "v0.9",
        Generation::New => "new",
    }
}
