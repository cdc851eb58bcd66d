//! The Policy section through the commands: a draft reviewed and approved bound to the snapshot
//! on screen, the queue re-evaluated under it, and clicks on anything else refused.

use serde_json::{json, Value};

use super::*;

const TIGHTER: &str = r#"version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
  - id: notices-need-a-human
    when: { topic: customer.notify }
    decision: require_human
    reason: Every message to a customer needs a human, now with a second look.
"#;

/// Bob, the admin who writes drafts.
fn bob(h: &Harness) -> GatewayClient {
    GatewayClient::new(
        &h.url(),
        "default",
        Credential::ApiKey(Secret::new(BOB)),
        &HttpConfig::default(),
    )
    .expect("client")
}

fn propose(h: &Harness, title: &str, yaml: &str) -> String {
    tauri::async_runtime::block_on(bob(h).propose_draft(title, yaml))
        .expect("proposed")
        .draft_id
}

fn update(h: &Harness, draft_id: &str, yaml: &str) {
    tauri::async_runtime::block_on(bob(h).update_draft(draft_id, yaml)).expect("updated");
}

fn click(review: &Value, desk: &Value, action: &str, reason: &str) -> Value {
    json!({"request": {
        "desk": desk,
        "draft_id": review["binding"]["draft_id"],
        "snapshot_id": review["binding"]["snapshot_id"],
        "source_snapshot_hash": review["binding"]["source_snapshot_hash"],
        "action": action,
        "reason": reason,
    }})
}

#[test]
fn a_draft_approved_on_screen_becomes_the_policy_and_the_queue_is_re_evaluated() {
    let h = Harness::start();
    let session = h.connect("policy");
    let job_id = h.submit("customer.notify", &[]);
    let before = h.card(&job_id);
    let draft_id = propose(&h, "A second look at customer messages", TIGHTER);

    let drafts = h.ok("policy_drafts", json!({}));
    assert_eq!(drafts[0]["draft_id"], draft_id.as_str(), "{drafts}");
    let review = h.ok("review_draft", json!({"draftId": draft_id}));
    assert_eq!(review["text_verified"], true, "{review}");
    assert_eq!(review["base_is_current"], true);
    assert_eq!(review["by_you"], false);
    let changed = &review["diff"]["changed"][0];
    assert_eq!(changed["rule_id"], "notices-need-a-human", "{review}");
    assert_eq!(review["impact"]["pending"], 1, "{review}");

    let decided = h.ok(
        "decide_draft",
        click(&review, &session["desk"], "approve", "reviewed the wording"),
    );
    assert_eq!(decided["code"], "approved", "{decided}");
    assert_eq!(decided["by_us"], true);

    // The pending item moves to the new policy: its card shows the new reason.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let card = h.card(&job_id);
        if card["seen"]["policy_snapshot"] != before["seen"]["policy_snapshot"] {
            assert!(
                card["card"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("second look")),
                "{card}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the card never re-evaluated: {card}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let history = h.ok(
        "history_query",
        json!({"query": {"kinds": ["governance_outcome"], "job_id": draft_id}}),
    );
    assert_eq!(history["entries"][0]["outcome"], "approved", "{history}");
}

#[test]
fn a_click_on_another_version_another_session_or_a_moved_draft_sends_nothing() {
    let h = Harness::start();
    let session = h.connect("policy-guards");
    let draft_id = propose(&h, "Tighter", TIGHTER);
    let review = h.ok("review_draft", json!({"draftId": draft_id}));

    let mut other_version = click(&review, &session["desk"], "approve", "");
    other_version["request"]["snapshot_id"] = json!("dsn-not-on-screen");
    assert_eq!(h.err("decide_draft", other_version)["code"], "card_changed");
    let elsewhere = click(
        &review,
        &json!(session["desk"].as_u64().expect("desk") + 1000),
        "approve",
        "",
    );
    assert_eq!(h.err("decide_draft", elsewhere)["code"], "session_changed");

    update(&h, &draft_id, &TIGHTER.replace("second look", "third look"));
    let moved = h.err(
        "decide_draft",
        click(&review, &session["desk"], "approve", ""),
    );
    assert_eq!(moved["code"], "stale_lineage", "{moved}");
    let reject_without_reason = h.err(
        "decide_draft",
        click(&review, &session["desk"], "reject", " "),
    );
    assert_eq!(reject_without_reason["code"], "invalid_input");
    let drafts = h.ok("policy_drafts", json!({}));
    assert_eq!(drafts[0]["status"], "open", "nothing was decided: {drafts}");
    assert!(drafts[0]["approval"].is_null());
}
