//! `approve` and `reject`: finish whatever an earlier run left open in the outbox, then make
//! one decision through the client's `Decider` (verify, record, send, retry, reconcile).
//!
//! The decision is bound to what the reviewer saw. In a terminal that is the newest record of
//! the job in the ledger: the identity and card content `show` last verified (`verdict`), or
//! the row `watch` printed (`item_seen`: its identity, with the content fetched now, since a
//! row shows none). Without one, the item fetched now is what the reviewer decides on, and it
//! is recorded as seen.

use anyhow::anyhow;
use clap::Args;
use std::time::Duration;

use countersign_client::{
    AfterApproval, Decider, DecisionReport, GatewayClient, RetryPolicy, Settlement,
};
use countersign_core::approval::GATE_TYPE_WORKFLOW_APPROVAL;
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::SeenItem;
use countersign_ledger::{Entry, EntryKind, ItemSighting, Ledger, Query};
use serde_json::{json, Value};

use super::output::sanitize_for_terminal;
use super::{context, CliError, Output};

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The job id.
    job: String,
    /// Why (sent to the gateway, at most 512 bytes).
    #[arg(long, default_value = "")]
    reason: String,
    /// A note for the record (at most 512 bytes).
    #[arg(long, default_value = "")]
    note: String,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The job id.
    job: String,
    /// Why (required; at most 512 bytes).
    #[arg(long)]
    reason: String,
    /// A note for the record (at most 512 bytes).
    #[arg(long, default_value = "")]
    note: String,
}

pub async fn approve(out: &Output, flag: Option<&str>, args: &ApproveArgs) -> Result<(), CliError> {
    decide(
        out,
        flag,
        DecisionAction::Approve,
        &args.job,
        &args.reason,
        &args.note,
    )
    .await
}

pub async fn reject(out: &Output, flag: Option<&str>, args: &RejectArgs) -> Result<(), CliError> {
    decide(
        out,
        flag,
        DecisionAction::Reject,
        &args.job,
        &args.reason,
        &args.note,
    )
    .await
}

async fn decide(
    out: &Output,
    flag: Option<&str>,
    action: DecisionAction,
    job: &str,
    reason: &str,
    note: &str,
) -> Result<(), CliError> {
    if action == DecisionAction::Reject && reason.trim().is_empty() {
        return Err(CliError::invalid_input(anyhow!("a reject needs --reason")));
    }
    let session = context::connect(flag)?;
    let decider = Decider::new(
        session.client.clone(),
        session.ledger.clone(),
        RetryPolicy::default(),
    );
    let recovered = recover(out, &decider).await?;
    let seen = seen_item(&session.ledger, &session.client, job).await?;
    let report = match action {
        DecisionAction::Approve => decider.approve(&seen, reason, note).await?,
        DecisionAction::Reject => decider.reject(&seen, reason, note).await?,
    };
    if let Some(error) = mismatch_error(&report) {
        return Err(error);
    }
    let after = match action {
        DecisionAction::Approve => after_approval(out, &session.client, job).await,
        DecisionAction::Reject => None,
    };
    if out.is_json() {
        out.json(&json!({ "decision": report, "recovered": recovered, "after_approval": after }));
    } else {
        out.line(&describe(&report));
        if let Some(after) = &after {
            out.line(&sanitize_for_terminal(&after.line()));
        }
    }
    Ok(())
}

/// How long `approve` waits for the gateway's dispatcher to take its first look.
pub(super) const SETTLE: Duration = Duration::from_secs(3);

/// What became of the approved job. The decision is already settled: a failure to read this
/// is a note, never the command's failure.
async fn after_approval(out: &Output, client: &GatewayClient, job: &str) -> Option<AfterApproval> {
    match client.after_approval_settled(job, SETTLE).await {
        Ok(after) => after,
        Err(error) => {
            if !out.is_json() {
                out.note(&format!(
                    "what became of the job could not be read: {}",
                    error.code()
                ));
            }
            None
        }
    }
}

/// An approval the gateway applied to another request or policy than the one reviewed is the
/// worst news this tool can give: a failure, however "applied" the answer looked.
fn mismatch_error(report: &DecisionReport) -> Option<CliError> {
    let mismatch = report.mismatch.as_deref()?;
    let error = anyhow!(
        "DANGER: the gateway applied the approval of {} {}; what runs is NOT what you \
         reviewed. Stop the job and investigate; the ledger records it as a conflict.",
        sanitize_for_terminal(&report.job_id),
        sanitize_for_terminal(mismatch)
    );
    Some(CliError::new("applied_mismatch", error).with_detail(json!({ "decision": report })))
}

/// Finishes open outbox rows first, as the protocol requires; failures are reported but do
/// not stop this decision (a row that stays open blocks only its own job).
async fn recover(out: &Output, decider: &Decider) -> Result<Vec<Value>, CliError> {
    let recovered = decider.recover().await?;
    Ok(recovered
        .into_iter()
        .map(|r| {
            let (text, value) = match &r.result {
                Ok(report) => (describe(report), json!({ "decision": report })),
                Err(error) => (
                    format!("{}: {error}", error.code()),
                    json!({ "error": { "code": error.code(), "message": error.to_string() } }),
                ),
            };
            if !out.is_json() {
                out.note(&format!(
                    "recovered an earlier decision on {}: {}",
                    sanitize_for_terminal(&r.job_id),
                    sanitize_for_terminal(&text)
                ));
            }
            json!({ "decision_id": r.decision_id, "job_id": r.job_id, "result": value })
        })
        .collect())
}

/// What the reviewer saw of `job`; see the module documentation.
async fn seen_item(
    ledger: &Ledger,
    client: &GatewayClient,
    job: &str,
) -> Result<SeenItem, CliError> {
    let newest = ledger.query(&Query {
        kinds: vec![EntryKind::ItemSeen, EntryKind::Verdict],
        job_id: Some(job.to_owned()),
        limit: Some(1),
        ..Query::default()
    })?;
    if let Some(seen) = newest
        .entries
        .first()
        .and_then(|entry| recorded_seen(job, entry))
    {
        if !seen.content_digest.is_empty() {
            return Ok(seen);
        }
        // A list row (`watch`) shows no card content: the content fetched now is what is
        // approved, under the identity the row showed.
        return Ok(match client.review(job).await? {
            Some(review) => seen.with_content(review.content),
            None => seen,
        });
    }
    match client.review(job).await? {
        Some(review) => {
            ledger.mark_seen(&ItemSighting::from_item(&review.item)?)?;
            Ok(review.seen())
        }
        // Nothing to look at: the decider finds out how the job was resolved.
        None => Ok(SeenItem {
            job_id: job.to_owned(),
            ..SeenItem::default()
        }),
    }
}

/// The identity an `item_seen` or `verdict` entry recorded.
fn recorded_seen(job: &str, entry: &Entry) -> Option<SeenItem> {
    let body = &entry.body;
    let seen = match entry.kind {
        EntryKind::Verdict => serde_json::from_value(body.get("seen")?.clone()).ok()?,
        EntryKind::ItemSeen => {
            fn text(value: Option<&Value>) -> &str {
                value.and_then(Value::as_str).unwrap_or_default()
            }
            let card = body.get("card");
            // The card is a gateway item (`gate_type`) or a UI card (`workflow_gate`).
            let workflow_gate = text(card.and_then(|c| c.get("gate_type")))
                == GATE_TYPE_WORKFLOW_APPROVAL
                || card
                    .and_then(|c| c.get("workflow_gate"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            SeenItem {
                job_id: job.to_owned(),
                job_hash: text(body.get("job_hash")).to_owned(),
                policy_snapshot: text(body.get("policy_snapshot")).to_owned(),
                workflow_gate,
                // A sighting in a list records no card content; see `seen_item`.
                ..SeenItem::default()
            }
        }
        _ => return None,
    };
    Some(seen)
}

/// One line: what happened, by whom, and the verdict it was based on.
fn describe(report: &DecisionReport) -> String {
    let done = match report.action {
        DecisionAction::Approve => "approved",
        DecisionAction::Reject => "rejected",
    };
    let job = sanitize_for_terminal(&report.job_id);
    let mut text = match &report.settlement {
        Settlement::Applied => format!("{done} {job}"),
        // This profile's own earlier attempt (its answer was lost): `by` may be a fallback
        // (v0.9 names the requester), so no person is named.
        Settlement::AlreadyApplied {
            earlier_attempt: true,
            ..
        } => format!("{job} was already {done} by this profile's earlier attempt"),
        Settlement::AlreadyApplied { by, by_us, .. } => {
            let by = if by.is_empty() {
                "someone (the gateway does not say)".to_owned()
            } else {
                sanitize_for_terminal(by)
            };
            // Our principal: an earlier attempt whose answer was lost, or another device.
            let ours = if *by_us == Some(true) { " (you)" } else { "" };
            format!("{job} was already {done} by {by}{ours}")
        }
    };
    if let Some(verdict) = &report.verdict {
        text.push_str(&format!(" [{}]", verdict.level().words()));
    }
    if let Some(mismatch) = &report.mismatch {
        text.push_str(&format!("; WARNING: {}", sanitize_for_terminal(mismatch)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, body: Value) -> Entry {
        Entry {
            seq: 1,
            recorded_at: 0,
            kind,
            job_id: Some("j".into()),
            topic: None,
            decision: None,
            outcome: None,
            body,
            prev_hash: String::new(),
            entry_hash: String::new(),
        }
    }

    #[test]
    fn an_earlier_attempt_of_this_profile_names_no_person() {
        let report = DecisionReport {
            job_id: "j".into(),
            action: DecisionAction::Approve,
            decision_id: None,
            settlement: Settlement::AlreadyApplied {
                by: "the-requester".into(),
                by_us: None,
                earlier_attempt: true,
            },
            verdict: None,
            attempts: 0,
            mismatch: None,
        };
        let text = describe(&report);
        assert_eq!(
            text,
            "j was already approved by this profile's earlier attempt"
        );
        assert!(!text.contains("the-requester"));
    }

    #[test]
    fn an_approval_applied_to_something_else_fails_loudly() {
        let mut report = DecisionReport {
            job_id: "j".into(),
            action: DecisionAction::Approve,
            decision_id: Some("d".into()),
            settlement: Settlement::Applied,
            verdict: None,
            attempts: 1,
            mismatch: None,
        };
        assert!(mismatch_error(&report).is_none());
        report.mismatch = Some("for another request (job hash x, the reviewer saw y)".into());
        let error = mismatch_error(&report).expect("an error");
        assert_eq!(error.code(), "applied_mismatch");
        assert_eq!(error.exit_code(), super::super::exit::TAMPERED);
        assert!(error.to_string().starts_with("DANGER:"), "{error}");
    }

    #[test]
    fn recorded_sightings_become_what_was_seen() {
        let sighting = entry(
            EntryKind::ItemSeen,
            json!({"job_hash": "h", "policy_snapshot": "s|cfg:1", "card": {"gate_type": "workflow_approval"}}),
        );
        assert_eq!(
            recorded_seen("j", &sighting),
            Some(SeenItem {
                job_id: "j".into(),
                job_hash: "h".into(),
                policy_snapshot: "s|cfg:1".into(),
                workflow_gate: true,
                ..SeenItem::default()
            })
        );
        let verdict = entry(
            EntryKind::Verdict,
            json!({"seen": {"job_id": "j", "job_hash": "h2", "policy_snapshot": "", "workflow_gate": false}}),
        );
        assert_eq!(
            recorded_seen("j", &verdict).map(|s| s.job_hash),
            Some("h2".to_owned())
        );
        assert_eq!(
            recorded_seen("j", &entry(EntryKind::Verdict, json!({}))),
            None
        );
        assert_eq!(
            recorded_seen("j", &entry(EntryKind::Login, json!({}))),
            None
        );
    }
}
