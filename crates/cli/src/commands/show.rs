//! `show JOB`: one pending approval in full, its card content (the input, labels, rule, ...)
//! and the verdict an approve would get right now (the core drift check, with the job hash
//! recomputed from the full request and the payload checked against its pointer when the
//! gateway serves them).
//!
//! A job that is no longer pending shows what became of it after its approval, in one line
//! ("approved, dispatched", "approved, waiting: …", "approved, then denied at dispatch: …"),
//! where the gateway reports it; an item the policy re-opened says so above its card.
//!
//! What is shown is recorded in the ledger: the item (`item_seen`, once per job hash), the
//! request it was checked against, and the verdict with the item's identity and content as
//! seen. A later `approve` binds to that record, so it approves exactly what this command
//! displayed, and refuses if any of it changed.

use anyhow::anyhow;
use clap::Args;
use std::collections::BTreeMap;

use countersign_client::{AfterApproval, Review};
use countersign_core::approval::ApprovalCard;
use countersign_core::verify::{verify, Verdict, VerifyInput};
use countersign_ledger::{ItemSighting, NewEntry};
use serde_json::{json, Value};

use super::output::sanitize_for_terminal;
use super::{context, CliError, Output};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The job id.
    job: String,
}

pub async fn run(out: &Output, flag: Option<&str>, args: &ShowArgs) -> Result<(), CliError> {
    let session = context::connect(flag)?;
    let client = &session.client;
    let Some(review) = client.review(&args.job).await? else {
        return show_after_approval(out, client, &args.job).await;
    };
    let (snapshots, request) =
        tokio::join!(client.policy_snapshots(), client.job_request(&args.job));
    let (snapshots, request) = (snapshots?, request?);
    let seen = review.seen();
    let item = &review.item;
    let verdict = verify(&VerifyInput {
        seen: &seen,
        now: Some(item),
        current_snapshots: &snapshots,
        request: request.as_ref().map(|doc| doc.job_request.as_slice()),
        generation: client.capabilities().generation.hash_rules(),
        content: Some(&review.content),
        payload: review.payload.as_deref(),
    });

    let ledger = &session.ledger;
    ledger.mark_seen(&ItemSighting::from_item(item)?)?;
    if let Some(doc) = &request {
        let body = serde_json::from_slice(&doc.job_request).unwrap_or(Value::Null);
        ledger.append(NewEntry::job_request(&args.job, body))?;
    }
    ledger.append(NewEntry::verdict(&seen, &verdict)?)?;

    let card = ApprovalCard::from(item);
    // Only a re-opened item has something to say here; anything else pending has no "after".
    let reopened = client
        .after_approval(&args.job)
        .await
        .ok()
        .flatten()
        .filter(|a| *a == AfterApproval::Reopened);
    if out.is_json() {
        out.json(&json!({
            "item": item,
            "card": card,
            "content": review.content,
            "verdict": verdict,
            "verdict_level": verdict.level(),
            "verdict_message": verdict.message(),
            "current_snapshot": snapshots.first(),
            "after_approval": reopened,
        }));
    } else {
        if let Some(reopened) = &reopened {
            out.line(&reopened.line());
        }
        out.line(&render(&review, &card, &verdict, snapshots.first()));
    }
    Ok(())
}

/// A job that is not pending: what became of it after its approval, or `not_found` when the
/// gateway reports nothing (a rejected job, or a gateway without the status).
async fn show_after_approval(
    out: &Output,
    client: &countersign_client::GatewayClient,
    job: &str,
) -> Result<(), CliError> {
    // The item was just read, so the gateway answers: an unreadable status is "not reported".
    let after = client
        .after_approval_settled(job, super::approve::SETTLE)
        .await
        .ok()
        .flatten();
    let Some(after) = after else {
        return Err(CliError::new(
            "not_found",
            anyhow!("job {job:?} is not pending approval"),
        ));
    };
    if out.is_json() {
        out.json(&json!({ "job_id": job, "after_approval": after, "line": after.line() }));
    } else {
        out.line(&sanitize_for_terminal(&after.line()));
    }
    Ok(())
}

/// The card as `label: value` lines; every value is sanitized.
fn render(
    review: &Review,
    card: &ApprovalCard,
    verdict: &Verdict,
    current_snapshot: Option<&String>,
) -> String {
    let (item, content) = (&review.item, &review.content);
    let mut fields: Vec<(&str, String)> = vec![
        ("job", card.job_id.clone()),
        ("title", content.title.clone()),
        ("topic", card.topic.clone()),
        ("tenant", card.tenant.clone()),
        ("requested by", content.requester.clone()),
    ];
    if let Some(workflow) = &card.workflow {
        let name = [&workflow.name, &workflow.id]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_default();
        let step = [&workflow.step_name, &workflow.step_id]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_default();
        fields.push((
            "workflow",
            format!("{name} run {} step {step}", workflow.run_id),
        ));
    }
    if let Some(summary) = &item.decision_summary {
        fields.push(("why", summary.why.clone()));
        fields.push(("next effect", summary.next_effect.clone()));
    }
    fields.extend([
        ("rule", content.rule.clone()),
        ("reason", content.reason.clone()),
        ("risk tags", content.risk_tags.join(", ")),
        ("constraints", compact(&content.constraints)),
        ("input", compact(&content.payload)),
        ("labels", labels(&content.labels)),
        ("policy snapshot", card.policy_snapshot.clone()),
        (
            "current policy",
            current_snapshot.cloned().unwrap_or_default(),
        ),
        ("job hash", card.job_hash.clone()),
        (
            "revision",
            card.approval_revision
                .map(|r| r.to_string())
                .unwrap_or_default(),
        ),
        (
            "verdict",
            format!(
                "{} ({}) — {}",
                verdict.level().words(),
                verdict.code(),
                verdict.message()
            ),
        ),
    ]);
    let width = fields
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    fields
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(label, value)| {
            format!(
                "{:<width$}  {}",
                format!("{label}:"),
                sanitize_for_terminal(value),
                width = width + 1
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    }
}
