//! [`Desk`]: one open profile. It owns the gateway client, the profile's ledger, the
//! [`Decider`] and two tasks: the queue watch, whose events it folds into the
//! [`QueueState`] and forwards through the caller's emitter, and a recovery timer that finishes
//! decisions left open by an outage or a crash (so "will retry" settles by itself).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use countersign_client::{
    Decider, GatewayClient, Generation, QueueWatch, RetryPolicy, WatchConfig, WatchEvent,
};
use countersign_core::approval::{prior_approvals, ApprovalItem};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::{EntryKind, Ledger, NewEntry};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::decision::{precheck, Channel, DecisionRequest, DecisionView};
use crate::demo::EmbeddedDemo;
use crate::detail::{self, DetailView, Fresh};
use crate::error::{codes, DeskError, Result};
use crate::governance::{DraftDecisionRequest, DraftDecisionView, DraftReview, PolicyDesk};
use crate::history::{self, ChainCheck, ExportResult, HistoryPage, HistoryQuery};
use crate::queue::{DeskEvent, DeskMessage, QueueSnapshot, QueueState};
use crate::settings::ReviewSettings;

/// How often open decisions are retried in the background.
pub const RECOVER_EVERY: Duration = Duration::from_secs(5);

/// Where the desk's events go (the app forwards them to the webview).
pub type Emitter = Arc<dyn Fn(DeskMessage) + Send + Sync>;

/// Cards whose content is fetched at the same time.
const CONTENT_FETCHES: usize = 4;

/// Numbers desks within this process, so the UI can tell their events apart.
static NEXT_DESK: AtomicU64 = AtomicU64::new(1);

/// Which profile is open, as the header and footer show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SessionView {
    /// This desk's number ([`DeskMessage::desk`]).
    #[ts(type = "number")]
    pub desk: u64,
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

pub(crate) struct Shared {
    desk: u64,
    queue: Mutex<QueueState>,
    settings: RwLock<ReviewSettings>,
    emit: Emitter,
    /// Set when the desk is replaced: nothing it does reaches the UI any more.
    pub(crate) retired: AtomicBool,
    /// Cards whose content is being fetched.
    loading: Mutex<HashSet<String>>,
}

impl Shared {
    pub(crate) fn queue(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Every update is applied whole before the lock is released.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn loading(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.loading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn settings(&self) -> ReviewSettings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Emits under the queue lock, so the UI receives events in `seq` order.
    pub(crate) fn publish(&self, queue: &QueueState, events: Vec<DeskEvent>) {
        let _ordered = queue;
        if self.retired.load(Ordering::SeqCst) {
            return;
        }
        for event in events {
            (self.emit)(DeskMessage {
                desk: self.desk,
                event,
            });
        }
    }
}

/// One open profile.
pub struct Desk {
    view: SessionView,
    client: GatewayClient,
    ledger: Arc<Ledger>,
    decider: Decider,
    policy: Arc<PolicyDesk>,
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
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
            desk: NEXT_DESK.fetch_add(1, Ordering::Relaxed),
            queue: Mutex::new(QueueState::default()),
            settings: RwLock::new(settings),
            emit,
            retired: AtomicBool::new(false),
            loading: Mutex::new(HashSet::new()),
        });
        let decider = Decider::new(client.clone(), Arc::clone(&ledger), RetryPolicy::default());
        let policy = Arc::new(PolicyDesk::new(client.clone(), Arc::clone(&ledger)));
        let watch = QueueWatch::spawn(client.clone(), Arc::clone(&ledger), watch);
        let (wanted, wants) = mpsc::unbounded_channel();
        let tasks = Mutex::new(vec![
            tokio::spawn(forward_watch(
                watch,
                client.clone(),
                Arc::clone(&shared),
                wanted,
            )),
            tokio::spawn(load_contents(client.clone(), Arc::clone(&shared), wants)),
            tokio::spawn(recover_forever(
                decider.clone(),
                Arc::clone(&policy),
                Arc::clone(&shared),
            )),
        ]);
        let view = SessionView {
            desk: shared.desk,
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
            policy,
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

    pub fn id(&self) -> u64 {
        self.shared.desk
    }

    /// The queue now; with `limit`, its newest cards only (see [`QueueSnapshot`]).
    pub fn snapshot(&self, limit: Option<usize>) -> QueueSnapshot {
        QueueSnapshot {
            desk: self.shared.desk,
            ..self.shared.queue().snapshot(limit)
        }
    }

    /// How many items are pending, without copying the queue.
    pub fn pending_count(&self) -> usize {
        self.shared.queue().pending_count()
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
            .map_err(|message| DeskError::new(codes::INVALID_INPUT, message))?;
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
        self.decide_via(request, Channel::Window).await
    }

    /// Like [`Desk::decide`], from `channel`: a decision from a notification says so in the
    /// ledger and in the note the gateway records, so the audit tells how it was made.
    pub async fn decide_via(
        &self,
        request: DecisionRequest,
        channel: Channel,
    ) -> Result<DecisionView> {
        if request.desk != self.shared.desk || self.shared.retired.load(Ordering::SeqCst) {
            return Err(DeskError::new(
                codes::SESSION_CHANGED,
                "this card belongs to a session that is no longer open; nothing was sent",
            ));
        }
        let card = self.shared.queue().card(&request.seen.job_id).cloned();
        precheck(&request, card.as_ref(), now_ms())?;
        // The precheck proved the click names this card: bind to the desk's own record of it
        // (its content, its gate flag), never to what the webview sent.
        let Some(seen) = card.map(|card| card.seen) else {
            return Err(DeskError::new(
                codes::NOT_IN_QUEUE,
                "this item is no longer in the queue",
            ));
        };
        let note = channel.note();
        if channel == Channel::Notification {
            self.record_notification(
                &seen.job_id,
                json!({"event": "decision", "channel": "notification",
                       "action": request.action, "job_hash": seen.job_hash,
                       "policy_snapshot": seen.policy_snapshot}),
            )
            .await;
        }
        let report = match request.action {
            DecisionAction::Approve => self.decider.approve(&seen, &request.reason, note).await,
            DecisionAction::Reject => self.decider.reject(&seen, &request.reason, note).await,
        }?;
        let mut view = DecisionView::from(&report);
        view.job_hash = Some(seen.job_hash);
        if view.action == DecisionAction::Approve {
            tokio::spawn(crate::follow::follow_approval(
                self.client.clone(),
                Arc::clone(&self.shared),
                Arc::clone(&self.ledger),
                view.clone(),
            ));
        }
        Ok(view)
    }

    /// The policy drafts, open ones first.
    pub async fn policy_drafts(&self) -> Result<Vec<countersign_core::governance::PolicyDraft>> {
        self.policy.drafts().await
    }

    /// One policy draft in full; a decision on it is bound to what this returned.
    pub async fn review_draft(&self, draft_id: &str) -> Result<DraftReview> {
        self.policy.review(draft_id).await
    }

    /// An approve or reject clicked in the Policy section.
    pub async fn decide_draft(&self, request: DraftDecisionRequest) -> Result<DraftDecisionView> {
        if request.desk != self.shared.desk || self.shared.retired.load(Ordering::SeqCst) {
            return Err(DeskError::new(
                codes::SESSION_CHANGED,
                "this draft was shown in a session that is no longer open; nothing was sent",
            ));
        }
        self.policy.decide(&request).await
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
            let (review, snapshots, request, context) = tokio::join!(
                self.client.review(&job_id),
                self.client.policy_snapshots(),
                self.client.job_request(&job_id),
                self.client.approval_context(&job_id),
            );
            // Prior decisions only inform: a gateway that cannot list them leaves the list empty.
            let prior = match context {
                Ok(Some(context)) => prior_approvals(&context),
                Ok(None) | Err(_) => Vec::new(),
            };
            Ok::<_, countersign_client::ClientError>((review?, snapshots?, request?, prior))
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
        let (review, snapshots, request, prior, unreachable) = match fetched {
            Ok((review, snapshots, request, prior)) => (review, snapshots, request, prior, None),
            Err(error) if error.is_transient() => {
                (None, Vec::new(), None, Vec::new(), Some(error.to_string()))
            }
            Err(error) => return Err(error.into()),
        };
        Ok(detail::build(
            &seen,
            &Fresh {
                review: review.as_ref(),
                snapshots: &snapshots,
                request: request.as_ref().map(|doc| doc.job_request.as_slice()),
                hash_rules: self.client.capabilities().generation.hash_rules(),
                prior: &prior,
                unreachable,
                principal,
                deadline_ms,
                now_ms: now_ms(),
            },
            history,
        ))
    }

    /// Writes a `notification` entry (shown, withdrawn, an action taken or refused); a ledger
    /// that cannot be written is logged, never a reason to drop the notification.
    pub async fn record_notification(&self, job_id: &str, body: serde_json::Value) {
        let entry = NewEntry::new(EntryKind::Notification, body).job_id(job_id);
        let outcome = self
            .blocking(move |ledger| ledger.append(entry).map(drop).map_err(DeskError::from))
            .await;
        if let Err(error) = outcome {
            tracing::warn!(%error, "could not record a notification in the ledger");
        }
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

    /// Stops everything the desk does in the background and silences it, at once, even while
    /// a command still holds it: a replaced desk must never feed the window.
    pub fn retire(&self) {
        self.shared.retired.store(true, Ordering::SeqCst);
        for task in self.tasks().iter() {
            task.abort();
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Retires the desk and, in demo mode, shuts the embedded gateway down.
    pub async fn close(mut self) {
        self.retire();
        let tasks: Vec<JoinHandle<()>> = self.tasks().drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
        if let Some(demo) = self.demo.take() {
            demo.shutdown().await;
        }
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.retire();
    }
}

async fn forward_watch(
    mut watch: QueueWatch,
    client: GatewayClient,
    shared: Arc<Shared>,
    wanted: mpsc::UnboundedSender<ApprovalItem>,
) {
    while let Some(event) = watch.next().await {
        let synced = matches!(event, WatchEvent::Synced { .. });
        let settings = shared.settings();
        let mut queue = shared.queue();
        queue.set_generation(generation_name(client.capabilities().generation));
        let events = queue.apply(event, || watch.pending(), &settings, now_ms());
        let fresh = events
            .iter()
            .any(|e| matches!(e, DeskEvent::Card { card, .. } if !card.content_ready));
        // After a sync, cards whose content could not be fetched earlier are tried again.
        let needing = if fresh || synced {
            queue.without_content()
        } else {
            Vec::new()
        };
        shared.publish(&queue, events);
        drop(queue);
        let mut loading = shared.loading();
        for item in needing {
            if loading.insert(item.job.id.clone()) {
                let _ = wanted.send(item);
            }
        }
    }
}

/// Fetches each card's content ([`GatewayClient::review_of`]), a few at a time, and shows it.
async fn load_contents(
    client: GatewayClient,
    shared: Arc<Shared>,
    mut wants: mpsc::UnboundedReceiver<ApprovalItem>,
) {
    let permits = Arc::new(Semaphore::new(CONTENT_FETCHES));
    while let Some(item) = wants.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let (client, shared) = (client.clone(), Arc::clone(&shared));
        tokio::spawn(async move {
            let job_id = item.job.id.clone();
            let reviewed = client.review_of(item).await;
            {
                let settings = shared.settings();
                let mut queue = shared.queue();
                match &reviewed {
                    Ok(review) => {
                        let event = queue.apply_review(review, &settings);
                        shared.publish(&queue, event.into_iter().collect());
                    }
                    Err(error) => tracing::debug!(%job_id, %error, "card content not loaded"),
                }
            }
            shared.loading().remove(&job_id);
            drop(permit);
        });
    }
}

async fn recover_forever(decider: Decider, policy: Arc<PolicyDesk>, shared: Arc<Shared>) {
    loop {
        for (decision_id, result) in policy.recover().await {
            let mut queue = shared.queue();
            let event = match result {
                Ok(view) => queue.notice("governance_recovered".into(), view.message),
                Err(error) if is_transient(&error.code) => continue,
                Err(error) => queue.notice(
                    error.code,
                    format!("policy decision {decision_id}: {}", error.message),
                ),
            };
            shared.publish(&queue, vec![event]);
        }
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

fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "network" | "timeout" | "gateway_unavailable" | "outcome_unknown"
    )
}

fn generation_name(generation: Generation) -> &'static str {
    match generation {
        Generation::Unknown => "",
        Generation::V09 => "v0.9",
        Generation::New => "new",
    }
}
