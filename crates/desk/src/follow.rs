//! What became of an approval: after the desk's approve lands, the card and the history
//! follow the job past the gateway's dispatch-time gate (the client's [`AfterApproval`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use countersign_client::{AfterApproval, GatewayClient};
use countersign_core::outcome::DecisionAction;
use countersign_ledger::{EntryKind, Ledger, NewEntry};
use serde_json::json;

use crate::decision::DecisionView;
use crate::session::Shared;

/// How long a card follows what becomes of its approval, and the longest pause between looks
/// (the first look is almost at once: a dispatcher usually decides within milliseconds).
const FOLLOW_FOR: Duration = Duration::from_secs(120);
const FOLLOW_PAUSE_MAX: Duration = Duration::from_secs(5);

/// Reads what became of an approved job until it is past the dispatch-time gate, stopped, or
/// back in the queue; each new line is shown on the card as a decision event and recorded in
/// the ledger (`job_status`), so the history says it too. A gateway that reports nothing
/// (Cordum) ends it at the first look; so does a closed desk.
pub(crate) async fn follow_approval(
    client: GatewayClient,
    shared: Arc<Shared>,
    ledger: Arc<Ledger>,
    view: DecisionView,
) {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(30);
    let mut shown: Option<String> = None;
    while started.elapsed() < FOLLOW_FOR && !shared.retired.load(Ordering::SeqCst) {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(FOLLOW_PAUSE_MAX);
        let after = match client.after_approval(&view.job_id).await {
            Ok(Some(after)) => after,
            Ok(None) => return,
            Err(error) if error.is_transient() => continue,
            Err(error) => {
                tracing::debug!(job_id = %view.job_id, %error, "after-approval status not read");
                return;
            }
        };
        let line = after.line();
        if shown.as_deref() != Some(line.as_str()) {
            record_job_status(&ledger, &view.job_id, &after, &line).await;
            let mut update = view.clone();
            update.after_approval = Some(line.clone());
            let mut queue = shared.queue();
            let event = queue.decision_event(update);
            shared.publish(&queue, vec![event]);
            shown = Some(line);
        }
        if after.is_final() {
            return;
        }
    }
}

/// A `job_status` entry; a ledger that cannot be written is logged, the card still shows it.
async fn record_job_status(ledger: &Arc<Ledger>, job_id: &str, after: &AfterApproval, line: &str) {
    let status = serde_json::to_value(after).unwrap_or(serde_json::Value::Null);
    let code = status
        .get("status")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("reported")
        .to_owned();
    let entry = NewEntry::new(
        EntryKind::JobStatus,
        json!({"line": line, "status": status}),
    )
    .job_id(job_id)
    .decision(DecisionAction::Approve.as_str())
    .outcome(&code);
    let ledger = Arc::clone(ledger);
    let written = tokio::task::spawn_blocking(move || ledger.append(entry).map(drop))
        .await
        .map_err(|error| error.to_string())
        .and_then(|appended| appended.map_err(|error| error.to_string()));
    if let Err(error) = written {
        tracing::warn!(%job_id, %error, "what became of an approval not recorded");
    }
}
