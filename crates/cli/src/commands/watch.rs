//! `watch`: the client's `QueueWatch` printed as it goes, one line per event, until Ctrl-C.
//! Text mode prints arrivals and changes as table rows and resolutions as sentences; with
//! `--json` every event is one JSON object per line (the client's `WatchEvent`). An item
//! counts as arrived once per job and hash across runs: the ledger remembers what was shown.

use countersign_client::{QueueWatch, WatchConfig, WatchEvent};

use super::list::row;
use super::output::sanitize_for_terminal;
use super::time::now_ms;
use super::{context, exit, exit_code_for, CliError, Output};

pub async fn run(out: &Output, flag: Option<&str>) -> Result<(), CliError> {
    let session = context::connect(flag)?;
    let mut watch = QueueWatch::spawn(session.client, session.ledger, WatchConfig::default());
    if !out.is_json() {
        out.note("watching for approvals; Ctrl-C to stop");
    }
    loop {
        tokio::select! {
            event = watch.next() => match event {
                Some(event) => {
                    print(out, &event);
                    if let Some(error) = fatal(&event) {
                        watch.stop().await;
                        return Err(error);
                    }
                }
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    watch.stop().await;
    Ok(())
}

/// Credentials the gateway refuses will not get better by retrying: a script should learn
/// that from the exit code instead of watching forever.
fn fatal(event: &WatchEvent) -> Option<CliError> {
    match event {
        WatchEvent::Disconnected { code, message, .. } if exit_code_for(code) == exit::AUTH => {
            Some(CliError::new(code.clone(), anyhow::anyhow!("{message}")))
        }
        _ => None,
    }
}

fn print(out: &Output, event: &WatchEvent) {
    if out.is_json() {
        out.json(event);
        return;
    }
    let cells = |label: &str, item| {
        let cells: Vec<String> = row(item, now_ms())
            .iter()
            .map(|cell| sanitize_for_terminal(cell))
            .collect();
        format!("{label:<8} {}", cells.join("  "))
    };
    match event {
        WatchEvent::Arrived(item) => out.line(&cells("new", item)),
        WatchEvent::Changed { item, .. } => out.line(&cells("changed", item)),
        WatchEvent::Resolved { job_id, by, status } => {
            let mut text = format!("{:<8} {}", "resolved", sanitize_for_terminal(job_id));
            if let Some(status) = status {
                text.push_str(&format!(" ({})", sanitize_for_terminal(status)));
            }
            if let Some(by) = by {
                text.push_str(&format!(" by {}", sanitize_for_terminal(by)));
            }
            out.line(&text);
        }
        WatchEvent::PolicyChanged { snapshot } => out.line(&format!(
            "{:<8} {}",
            "policy",
            sanitize_for_terminal(snapshot.as_deref().unwrap_or("changed"))
        )),
        WatchEvent::GovernanceChanged { draft_id } => out.line(&format!(
            "{:<8} {}",
            "draft",
            sanitize_for_terminal(draft_id.as_deref().unwrap_or("changed"))
        )),
        // Progress, not news: on stderr so stdout stays one line per item.
        WatchEvent::Synced {
            pending,
            complete: true,
            ..
        } => out.note(&format!("{pending} pending")),
        WatchEvent::Synced { pending, .. } => out.note(&format!(
            "{pending} pending shown; the list could not be read to its end, more may be pending"
        )),
        WatchEvent::Skipped { code, message } => out.note(&format!(
            "skipped an unreadable event ({code}): {}",
            sanitize_for_terminal(message)
        )),
        WatchEvent::Disconnected {
            code,
            message,
            retry_in,
        } => out.note(&format!(
            "disconnected ({code}): {}; retrying in {}s",
            sanitize_for_terminal(message),
            retry_in.as_secs()
        )),
    }
}
