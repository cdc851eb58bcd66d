//! Deciding through the commands: one-click approve, the high-risk guard, refusals that send nothing.

use serde_json::{json, Value};

use super::*;

#[test]
fn without_a_profile_commands_say_so() {
    let h = Harness::start();
    assert_eq!(h.ok("session_info", json!({})), Value::Null);
    assert_eq!(h.err("queue_snapshot", json!({}))["code"], "no_session");
    let settings = h.ok("get_settings", json!({}));
    assert_eq!(
        settings["review"]["high_risk_tags"],
        json!(["prod", "secrets", "finance", "delete"])
    );
}

#[test]
fn a_request_changed_after_display_is_refused_and_nothing_is_sent() {
    let h = Harness::start();
    h.connect("drift");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    tauri::async_runtime::block_on(h.gateway.gateway().mutate_stored_request(&job_id, |req| {
        req.labels
            .insert("edited_after_submit".into(), "true".into());
    }))
    .expect("mutated");
    let refused = h.err("decide", decision(&card, "approve", "", None));
    assert_eq!(refused["code"], "drift");
    // The request's labels are part of what the card binds: the change is named.
    assert_eq!(refused["detail"]["code"], "content_changed", "{refused}");
    assert_eq!(
        refused["detail"]["changes"][0]["field"], "labels",
        "{refused}"
    );
    let job = h.job(&job_id);
    assert_eq!(job.state, "APPROVAL_REQUIRED");
    assert!(job.approval_job_hash.is_empty());
}

#[test]
fn a_payload_changed_behind_the_gateway_is_refused_naming_the_field() {
    let h = Harness::start();
    h.connect("payload");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    tauri::async_runtime::block_on(
        h.gateway
            .gateway()
            .mutate_stored_context(&job_id, |context| {
                *context = json!({"vendor": "Mallory", "amount": 9_800_000});
            }),
    )
    .expect("payload replaced");
    let refused = h.err("decide", decision(&card, "approve", "", None));
    assert_eq!(refused["code"], "drift", "{refused}");
    assert_eq!(refused["detail"]["code"], "content_changed", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("payload")),
        "{refused}"
    );
    assert!(
        h.job(&job_id).approval_job_hash.is_empty(),
        "nothing was approved"
    );
}

#[test]
fn a_click_on_another_session_or_another_version_of_the_card_sends_nothing() {
    let h = Harness::start();
    h.connect("guards");
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    let mut elsewhere = card.clone();
    elsewhere["desk"] = json!(card["desk"].as_u64().expect("desk") + 1000);
    assert_eq!(
        h.err("decide", decision(&elsewhere, "approve", "", None))["code"],
        "session_changed"
    );
    let mut older = card.clone();
    older["seen"]["job_hash"] = json!("sha256:something-else");
    assert_eq!(
        h.err("decide", decision(&older, "approve", "", None))["code"],
        "card_changed"
    );
    let mut forged = card.clone();
    forged["seen"]["content_digest"] = json!("0".repeat(64));
    assert_eq!(
        h.err("decide", decision(&forged, "approve", "", None))["code"],
        "card_changed"
    );
    let job = h.job(&job_id);
    assert_eq!(job.state, "APPROVAL_REQUIRED");
    assert!(job.approval_job_hash.is_empty());
}

#[test]
fn settings_add_high_risk_tags_freely_and_persist() {
    let h = Harness::start();
    h.connect("risk");
    let job_id = h.submit("customer.notify", &["network"]);
    assert_eq!(h.card(&job_id)["high_risk"], false);
    let saved = h.ok(
        "set_settings",
        json!({"settings": {"theme": "dark", "review": {"high_risk_tags":
            ["prod", "secrets", "finance", "delete", " Network "]}}}),
    );
    assert_eq!(saved["review"]["high_risk_tags"][4], "network");
    assert_eq!(h.card(&job_id)["high_risk"], true);
    let read = h.ok("get_settings", json!({}));
    assert_eq!(read["theme"], "dark");
    assert_eq!(
        read["single_key_shortcuts"], true,
        "unsaved fields keep their defaults"
    );
    let bad = json!({"settings": {"review": {"high_risk_tags": ["a\u{7}b"]}}});
    assert_eq!(h.err("set_settings", bad)["code"], "invalid_input");
}

#[test]
fn lowering_the_high_risk_guard_needs_a_native_confirmation() {
    let fewer = json!({"settings": {"review": {"high_risk_tags": ["prod"]}}});

    let declined = Harness::start();
    declined.connect("guard");
    let payment = declined.submit("finance.payment.execute", &["finance"]);
    let refused = declined.err("set_settings", fewer.clone());
    assert_eq!(refused["code"], "declined", "{refused}");
    assert_eq!(
        declined.ok("get_settings", json!({}))["review"]["high_risk_tags"],
        json!(["prod", "secrets", "finance", "delete"]),
        "nothing was saved"
    );
    assert_eq!(declined.card(&payment)["high_risk"], true);

    let confirmed = Harness::with_chrome(Chrome::Scripted {
        confirm: true,
        save_to: None,
    });
    confirmed.connect("guard");
    let payment = confirmed.submit("finance.payment.execute", &["finance"]);
    let saved = confirmed.ok("set_settings", fewer);
    assert_eq!(saved["review"]["high_risk_tags"], json!(["prod"]));
    assert_eq!(confirmed.card(&payment)["high_risk"], false);
}
