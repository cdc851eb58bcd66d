//! `policy`: governance approvals (seed 004) from a terminal. A policy change is a draft; a
//! reviewer other than its author approves one exact snapshot of it, which makes it current.
//!
//! As with jobs, `approve` and `reject` are bound to what the reviewer last saw: the newest
//! `policy_draft_seen` record of the draft (written by `show`, `diff` and `impact`), else the
//! draft fetched now, recorded as seen. A draft that moved since it was shown is refused with
//! `stale_lineage`: show it again.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use countersign_client::{DraftFilter, GovernanceDecider, GovernanceReport, RetryPolicy};
use countersign_core::governance::{
    DraftBinding, DraftImpact, GovernanceAnswer, GovernanceChannel, PolicyDiff, PolicyDraft,
    PolicyRule,
};
use countersign_ledger::{EntryKind, Ledger, Query};
use serde_json::json;

use super::output::{sanitize_for_terminal, table};
use super::{context, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List policy drafts awaiting approval (or all of them).
    Drafts(DraftsArgs),
    /// Show a draft: its active snapshot, blockers, advisories and the policy text.
    Show(DraftArg),
    /// The rules a draft adds, removes and changes against the current policy.
    Diff(DraftArg),
    /// What approving a draft would do to the pending approvals.
    Impact(DraftArg),
    /// Approve the snapshot of a draft last shown; it becomes the current policy.
    Approve(ApproveDraftArgs),
    /// Reject a draft at the snapshot last shown; a reason is required.
    Reject(RejectDraftArgs),
    /// Propose a policy change (admin): a new draft from a YAML file.
    Propose(ProposeArgs),
}

#[derive(Debug, Args)]
pub struct DraftsArgs {
    /// Every draft, decided ones included.
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
pub struct DraftArg {
    /// The draft id (`drf-…`).
    draft: String,
}

#[derive(Debug, Args)]
pub struct ApproveDraftArgs {
    draft: String,
    /// Why (recorded with the governance approval; at most 512 bytes).
    #[arg(long, default_value = "")]
    rationale: String,
}

#[derive(Debug, Args)]
pub struct RejectDraftArgs {
    draft: String,
    /// Why (required; at most 512 bytes).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// What the change is, in a line.
    #[arg(long)]
    title: String,
    /// The policy YAML.
    #[arg(long, value_name = "FILE")]
    file: std::path::PathBuf,
}

pub async fn run(out: &Output, flag: Option<&str>, command: PolicyCommand) -> Result<(), CliError> {
    let session = context::connect(flag)?;
    let decider = GovernanceDecider::new(
        session.client.clone(),
        session.ledger.clone(),
        RetryPolicy::default(),
    );
    match command {
        PolicyCommand::Drafts(args) => drafts(out, &decider, &args).await,
        PolicyCommand::Show(args) => {
            let draft = decider.show(&args.draft).await?;
            print_draft(out, &draft);
            Ok(())
        }
        PolicyCommand::Diff(args) => {
            decider.show(&args.draft).await?;
            let diff = decider.client().draft_diff(&args.draft, None).await?;
            print_diff(out, &diff);
            Ok(())
        }
        PolicyCommand::Impact(args) => {
            decider.show(&args.draft).await?;
            let impact = decider.client().draft_impact(&args.draft, None).await?;
            print_impact(out, &impact);
            Ok(())
        }
        PolicyCommand::Approve(args) => {
            if args.rationale.len() > 512 {
                return Err(CliError::invalid_input(anyhow!(
                    "--rationale is over 512 bytes"
                )));
            }
            recover(out, &decider).await?;
            let seen = last_seen(&session.ledger, &decider, &args.draft).await?;
            let report = decider
                .approve(&seen, &args.rationale, GovernanceChannel::Cli)
                .await?;
            print_report(out, &report);
            Ok(())
        }
        PolicyCommand::Reject(args) => {
            if args.reason.trim().is_empty() {
                return Err(CliError::invalid_input(anyhow!("a reject needs --reason")));
            }
            recover(out, &decider).await?;
            let seen = last_seen(&session.ledger, &decider, &args.draft).await?;
            let report = decider
                .reject(&seen, &args.reason, GovernanceChannel::Cli)
                .await?;
            print_report(out, &report);
            Ok(())
        }
        PolicyCommand::Propose(args) => {
            let yaml = std::fs::read_to_string(&args.file).map_err(|e| {
                CliError::invalid_input(anyhow!("reading {}: {e}", args.file.display()))
            })?;
            let draft = decider.client().propose_draft(&args.title, &yaml).await?;
            print_draft(out, &draft);
            Ok(())
        }
    }
}

async fn drafts(
    out: &Output,
    decider: &GovernanceDecider,
    args: &DraftsArgs,
) -> Result<(), CliError> {
    let filter = if args.all {
        DraftFilter::All
    } else {
        DraftFilter::Open
    };
    let drafts = decider.client().policy_drafts(filter).await?;
    if out.is_json() {
        out.json(&json!({ "drafts": drafts }));
        return Ok(());
    }
    if drafts.is_empty() {
        out.line("no policy drafts awaiting approval");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = drafts
        .iter()
        .map(|d| {
            let s = &d.active_snapshot;
            vec![
                d.draft_id.clone(),
                format!("{:?}", d.status).to_lowercase(),
                format!("v{}", s.version),
                if s.ready_for_approval {
                    "ready".into()
                } else {
                    format!("{} blocker(s)", s.blocker_ids.len())
                },
                d.author.clone(),
                d.title.clone(),
            ]
        })
        .collect();
    out.line(&table(
        &["DRAFT", "STATUS", "VERSION", "CHECKS", "AUTHOR", "TITLE"],
        &rows,
    ));
    Ok(())
}

/// The binding of the newest snapshot shown, else the draft fetched now (recorded as seen).
async fn last_seen(
    ledger: &Ledger,
    decider: &GovernanceDecider,
    draft_id: &str,
) -> Result<DraftBinding, CliError> {
    let newest = ledger.query(&Query {
        kinds: vec![EntryKind::PolicyDraftSeen],
        job_id: Some(draft_id.to_owned()),
        limit: Some(1),
        ..Query::default()
    })?;
    let recorded = newest
        .entries
        .first()
        .and_then(|e| serde_json::from_value::<PolicyDraft>(e.body["draft"].clone()).ok());
    match recorded {
        Some(draft) => Ok(DraftBinding::of(&draft)),
        None => Ok(DraftBinding::of(&decider.show(draft_id).await?)),
    }
}

/// Finishes governance decisions an earlier run left open; each is reported, none fails this
/// command.
async fn recover(out: &Output, decider: &GovernanceDecider) -> Result<(), CliError> {
    for (decision_id, result) in decider.recover().await? {
        let text = match result {
            Ok(report) => describe(&report),
            Err(error) => format!("{}: {}", error.code(), error),
        };
        out.note(&format!(
            "finished an earlier governance decision {decision_id}: {}",
            sanitize_for_terminal(&text)
        ));
    }
    Ok(())
}

fn print_report(out: &Output, report: &GovernanceReport) {
    if out.is_json() {
        out.json(&json!({ "decision": report }));
    } else {
        out.line(&describe(report));
    }
}

fn describe(report: &GovernanceReport) -> String {
    let draft = sanitize_for_terminal(&report.binding.draft_id);
    let version = report.binding.draft_version;
    let actor = sanitize_for_terminal(report.actor());
    let ours = if report.by_us == Some(true) {
        " (you)"
    } else {
        ""
    };
    match &report.answer {
        GovernanceAnswer::Approved { approval, repeat } => {
            let published = sanitize_for_terminal(&approval.published_snapshot);
            if *repeat {
                format!("{draft} v{version} was already approved by {actor}{ours}; policy {published} is current")
            } else {
                format!("approved {draft} v{version}; policy {published} is now current")
            }
        }
        GovernanceAnswer::Rejected { repeat: true, .. } => {
            format!("{draft} v{version} was already rejected by {actor}{ours}")
        }
        _ => format!("rejected {draft} v{version}"),
    }
}

fn print_draft(out: &Output, draft: &PolicyDraft) {
    if out.is_json() {
        out.json(&json!({ "draft": draft }));
        return;
    }
    let s = &draft.active_snapshot;
    let clean = |t: &str| sanitize_for_terminal(t);
    out.line(&format!(
        "{}  {}",
        clean(&draft.draft_id),
        clean(&draft.title)
    ));
    out.line(&format!(
        "  status {:?}, version {}, by {}",
        draft.status,
        s.version,
        clean(&draft.author)
    ));
    out.line(&format!(
        "  snapshot {}  source sha256 {}",
        clean(&s.snapshot_id),
        clean(&s.source_snapshot_hash)
    ));
    out.line(&format!(
        "  written against policy {}",
        clean(&s.base_snapshot)
    ));
    if !s.yaml_matches_hash() {
        out.line("  WARNING: the policy text does not hash to the snapshot's source hash");
    }
    for finding in &s.findings {
        out.line(&format!(
            "  {:?}: {} — {}",
            finding.severity,
            clean(&finding.id),
            clean(&finding.message)
        ));
    }
    if let Some(yaml) = &s.yaml {
        out.line("");
        for line in yaml.lines() {
            out.line(&format!("  | {}", clean(line)));
        }
    }
}

fn print_diff(out: &Output, diff: &PolicyDiff) {
    if out.is_json() {
        out.json(&json!({ "diff": diff }));
        return;
    }
    if diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty() {
        out.line("no rule changes against the current policy");
    }
    for placed in &diff.added {
        out.line(&format!(
            "+ #{} {}",
            placed.position + 1,
            rule_line(&placed.rule)
        ));
    }
    for placed in &diff.removed {
        out.line(&format!(
            "- #{} {}",
            placed.position + 1,
            rule_line(&placed.rule)
        ));
    }
    for change in &diff.changed {
        out.line(&format!(
            "~ {} ({})",
            sanitize_for_terminal(&change.rule_id),
            sanitize_for_terminal(&change.fields.join(", "))
        ));
        out.line(&format!(
            "    was #{} {}",
            change.before.position + 1,
            rule_line(&change.before.rule)
        ));
        out.line(&format!(
            "    now #{} {}",
            change.after.position + 1,
            rule_line(&change.after.rule)
        ));
    }
    out.line(&format!("{} rule(s) unchanged", diff.unchanged));
}

fn rule_line(rule: &PolicyRule) -> String {
    let when: Vec<String> = rule.when.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let when = if when.is_empty() {
        "always".to_owned()
    } else {
        when.join(" ")
    };
    sanitize_for_terminal(&format!("{}: {} when {when}", rule.id, rule.decision))
}

fn print_impact(out: &Output, impact: &DraftImpact) {
    if out.is_json() {
        out.json(&json!({ "impact": impact }));
        return;
    }
    out.line(&format!(
        "{} pending approval(s): {} unchanged, {} re-evaluated, {} invalidated",
        impact.pending, impact.unchanged, impact.reevaluated, impact.invalidated
    ));
    let rows: Vec<Vec<String>> = impact
        .items
        .iter()
        .filter(|i| i.effect != countersign_core::governance::ImpactEffect::Unchanged)
        .map(|i| {
            vec![
                i.job_id.clone(),
                format!("{:?}", i.effect).to_lowercase(),
                i.topic.clone(),
                format!("{} {}", i.before.decision, i.before.rule_id),
                i.after.as_ref().map_or("no verdict".into(), |a| {
                    format!("{} {}", a.decision, a.rule_id)
                }),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.line(&table(
            &["JOB", "EFFECT", "TOPIC", "NOW", "UNDER THE DRAFT"],
            &rows,
        ));
    }
    if impact.truncated {
        out.line("(more items than shown)");
    }
}
