//! Races an HTTP test can only hit by luck, made certain: another approver's approval lands at
//! each point of an approve where the answer could go wrong, and the approve paused there must
//! answer the winner's approval (`already_approved`), never a refusal.

use std::sync::Arc;

use countersign_core::governance::{ApproveDraftBody, PolicyDraft};
use tokio::sync::Notify;

use super::Step;
use crate::auth::{Caller, Source};
use crate::config::{GatewayConfig, Role};
use crate::service::Gateway;

/// Longer than any step of a test takes; a test that waits this long has failed.
const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

const POLICY: &str = r"version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute, env: production }
    decision: require_human
    reason: Payments need a human.
";

fn operator(principal: &str) -> Caller {
    Caller {
        tenant: "default".into(),
        role: Role::Operator,
        principal: principal.into(),
        source: Source::ApiKey {
            key_prefix: format!("{principal}-key"),
        },
    }
}

fn approve_body(draft: &PolicyDraft) -> ApproveDraftBody {
    ApproveDraftBody {
        expected_snapshot_id: draft.active_snapshot.snapshot_id.clone(),
        expected_source_snapshot_hash: draft.active_snapshot.source_snapshot_hash.clone(),
        rationale: None,
        channel: None,
    }
}

async fn gateway(dir: &tempfile::TempDir) -> Gateway {
    let config = GatewayConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        dir.path().join("gw.db"),
    );
    let gateway = Gateway::open(&config).await.expect("gateway opens");
    gateway
        .publish_policy(POLICY, "test")
        .await
        .expect("policy publishes");
    gateway
}

/// `amy` starts approving and is paused at `at`; `carl` approves the same snapshot meanwhile;
/// then `amy` goes on.
async fn race_at(gateway: &Gateway, at: Step) {
    let yaml = POLICY.replace("Payments need", "Reworded, payments need");
    let draft = gateway
        .propose_draft("default", "bob", "Change", &yaml)
        .await
        .expect("store")
        .expect("proposed");
    let body = approve_body(&draft);
    let (reached, go) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let loser = {
        let (gateway, body, id) = (gateway.clone(), body.clone(), draft.draft_id.clone());
        let (reached, go) = (Arc::clone(&reached), Arc::clone(&go));
        tokio::spawn(async move {
            gateway
                .approve_draft_paused(&operator("amy"), &id, &body, |step| {
                    let (reached, go) = (Arc::clone(&reached), Arc::clone(&go));
                    async move {
                        if step == at {
                            reached.notify_one();
                            go.notified().await;
                        }
                    }
                })
                .await
        })
    };
    tokio::time::timeout(WAIT, reached.notified())
        .await
        .unwrap_or_else(|_| panic!("{at:?}: the approve never reached its pause"));
    let (won, repeat) = gateway
        .approve_draft(&operator("carl"), &draft.draft_id, &body)
        .await
        .expect("store")
        .expect("the first approval lands");
    assert!(!repeat, "{at:?}: carl's approval is the first");
    go.notify_one();
    let answer = tokio::time::timeout(WAIT, loser)
        .await
        .unwrap_or_else(|_| panic!("{at:?}: the paused approve never finished"))
        .expect("task")
        .expect("store");
    let (read, repeat) = answer.unwrap_or_else(|refusal| {
        panic!(
            "{at:?}: the loser was refused with {} ({}) for a draft that was approved",
            refusal.code, refusal.message
        )
    });
    assert!(repeat, "{at:?}: the loser's answer is already_approved");
    assert_eq!(read, won, "{at:?}: the loser reads the winner's approval");
    let now = gateway
        .draft("default", &draft.draft_id)
        .await
        .expect("store")
        .expect("draft");
    assert_eq!(now.approval, Some(won), "{at:?}: one approval on record");
}

#[tokio::test]
async fn an_approval_landing_between_the_quick_checks_reads_is_read_back_not_called_stale_base() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gateway = gateway(&dir).await;
    race_at(&gateway, Step::BetweenReads).await;
}

#[tokio::test]
async fn an_approval_landing_before_the_publish_lock_is_read_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gateway = gateway(&dir).await;
    race_at(&gateway, Step::BeforeLock).await;
}
