//! Parsing real list bodies of both generations, the tolerance rules, and the pending rule.

use serde_json::{json, Value};

use super::*;

/// `GET /api/v1/approvals` of the live v0.9 stack (live-transcript.md), verbatim.
const V09_LIST: &str = r#"{"items":[{"approval_ref":"b5901a94-eff3-4c36-b743-4c98be5e9d4f","approval_required":false,"constraints":null,"decision":"REQUIRE_APPROVAL","job":{"id":"b5901a94-eff3-4c36-b743-4c98be5e9d4f","updated_at":1795238265936659,"state":"APPROVAL_REQUIRED","topic":"job.peer.write","tenant":"default","principal":"alice","actor_id":"alice","risk_tags":["write"],"safety_decision":"REQUIRE_APPROVAL","safety_reason":"Writes need a human.","safety_rule_id":"peer-test-approval","safety_snapshot":"acdc641fa62a9021785981bd18b43f76c4437cfefb823227a6298b26656c8e47"},"job_hash":"1914b6c1b23f727454dd6ed99703d9f71e6e412653dc651c209ef7f54b3dd41e","policy_reason":"Writes need a human.","policy_rule_id":"peer-test-approval","policy_snapshot":"acdc641fa62a9021785981bd18b43f76c4437cfefb823227a6298b26656c8e47"}],"next_cursor":null}"#;

/// A new-generation workflow gate item with every enriched key (CONTRACT.md §1.1.1).
fn new_generation_item() -> Value {
    json!({
        "job": {
            "id": "job-7", "updated_at": 1795238265936659_i64, "state": "APPROVAL_REQUIRED",
            "topic": "job.finance.pay", "tenant": "acme", "team": "ops", "principal": "",
            "actor_id": "svc-buyer", "actor_type": "service", "risk_tags": ["finance", "write"],
            "requires": ["net"], "capability": "pay", "pack_id": "p1", "attempts": 0,
            "safety_decision": "REQUIRE_APPROVAL", "safety_snapshot": "base|cfg:1",
            "deadline_unix": 1795239000, "brand_new_job_key": {"x": 1}
        },
        "decision": "REQUIRE_APPROVAL",
        "policy_snapshot": "base|cfg:1",
        "policy_rule_id": "pay-over-1k",
        "policy_reason": "Payments over 1k need a human.",
        "constraints": {"budgets": {"max_retries": 1, "max_runtime_ms": 60000}},
        "job_hash": "ab".repeat(32),
        "approval_required": true,
        "approval_ref": "job-7",
        "approval_status": "pending",
        "approval_actionability": "actionable",
        "approval_revision": 1,
        "submitted_by": "apikey:0011223344556677|principal:svc-buyer",
        "workflow_id": "wf-pay", "workflow_run_id": "run-9", "workflow_step_id": "approve",
        "step_name": "approve", "gate_type": "workflow_approval", "workflow_name": "Payments",
        "job_input": {"kind": "workflow_approval_context", "decision": {"amount": 1200}},
        "decision_summary": {
            "source": "workflow_payload", "completeness": "rich", "context_status": "available",
            "title": "Approve 1200 EUR request with Acme", "why": "over budget", "amount": 1200.5,
            "currency": "EUR", "vendor": "Acme", "item_count": 3,
            "items_preview": ["a", "b", "c"], "missing_fields": [], "future_key": true
        },
        "blast_radius": {"systems": ["erp"], "namespaces": [], "resources": ["invoice/1"],
                         "scope_description": "one invoice"},
        "rollback_hint": "void the payment",
        "policy_snapshot_summary": {"rule_count": 12, "policy_version": "base",
            "matched_rule": {"id": "pay-over-1k", "description": "d", "decision": "REQUIRE_APPROVAL",
                             "constraints_summary": "max 1 retry"}},
        "some_future_key": [1, 2, 3]
    })
}

fn parse(value: Value) -> Result<ApprovalItem, ApprovalError> {
    ApprovalItem::from_value(value)
}

fn with(mut base: Value, pointer: &str, replacement: Value) -> Value {
    *base
        .pointer_mut(pointer)
        .expect("pointer exists in the test item") = replacement;
    base
}

#[test]
fn live_v09_list_parses() {
    let page = ApprovalPage::from_json(V09_LIST.as_bytes()).expect("live list parses");
    assert_eq!(page.next_cursor, None);
    assert!(page.rejected.is_empty());
    let [item] = page.items.as_slice() else {
        panic!("one item expected, got {:?}", page.items)
    };
    assert_eq!(item.job.id, "b5901a94-eff3-4c36-b743-4c98be5e9d4f");
    assert_eq!(item.job.updated_at, Some(1795238265936659));
    assert_eq!(item.job.risk_tags, ["write"]);
    assert_eq!(item.constraints, Value::Null);
    assert!(!item.approval_required);
    assert!(
        item.is_pending(),
        "v0.9 pending items say approval_required=false"
    );
    assert!(!item.is_workflow_gate());
    assert_eq!(item.decision_summary, None);
}

#[test]
fn empty_list_after_approval_parses() {
    let page = ApprovalPage::from_json(br#"{"items":[],"next_cursor":null}"#).expect("parses");
    assert_eq!(page, ApprovalPage::default());
    let page = ApprovalPage::from_json(b"{}").expect("missing keys read as empty");
    assert_eq!(page, ApprovalPage::default());
}

#[test]
fn new_generation_item_parses_fully() {
    let item = parse(new_generation_item()).expect("parses");
    assert_eq!(item.approval_revision, Some(1));
    assert_eq!(item.job.deadline_unix, Some(1795239000));
    assert_eq!(item.constraints["budgets"]["max_retries"], 1);
    let summary = item.decision_summary.as_ref().expect("summary");
    assert_eq!(summary.amount, Some(1200.5));
    assert_eq!(summary.item_count, Some(3));
    assert_eq!(summary.vendor, "Acme");
    let blast = item.blast_radius.as_ref().expect("blast radius");
    assert_eq!(blast.resources, ["invoice/1"]);
    let policy = item
        .policy_snapshot_summary
        .as_ref()
        .expect("policy summary");
    assert_eq!(policy.rule_count, Some(12));
    assert_eq!(
        policy.matched_rule.as_ref().map(|rule| rule.id.as_str()),
        Some("pay-over-1k")
    );
    assert!(item.is_pending());
    assert!(item.is_workflow_gate());
}

#[test]
fn serialized_item_reads_back_identically() {
    let item = parse(new_generation_item()).expect("parses");
    let json = serde_json::to_value(&item).expect("serializes");
    assert_eq!(parse(json).expect("reads back"), item);
    let via_serde: ApprovalItem =
        serde_json::from_value(new_generation_item()).expect("Deserialize impl");
    assert_eq!(via_serde, item);
}

#[test]
fn wrong_typed_descriptive_fields_degrade_to_empty() {
    let hostile = [
        ("/decision_summary", json!("a string")),
        ("/blast_radius", json!(["systems"])),
        ("/policy_snapshot_summary", json!(7)),
        ("/decision_summary/amount", json!("12")),
        ("/decision_summary/items_preview", json!([1, "b"])),
        ("/decision", json!(false)),
        ("/approval_revision", json!("1")),
        ("/approval_required", json!("yes")),
        ("/job/updated_at", json!(1.5)),
        ("/job/risk_tags", json!("write")),
        ("/job/deadline_unix", json!(u64::MAX)),
        ("/gate_type", json!({"v": "workflow_approval"})),
        ("/constraints", json!("free text")),
        ("/job_input", json!([1])),
    ];
    for (pointer, value) in hostile {
        let item = parse(with(new_generation_item(), pointer, value.clone()))
            .unwrap_or_else(|error| panic!("{pointer} = {value} must not fail: {error}"));
        assert_eq!(item.job.id, "job-7", "{pointer}");
    }
    let item = parse(with(
        new_generation_item(),
        "/decision_summary/amount",
        json!("12"),
    ))
    .expect("parses");
    let summary = item
        .decision_summary
        .expect("the rest of the summary survives");
    assert_eq!(
        (summary.amount, summary.title.as_str()),
        (None, "Approve 1200 EUR request with Acme")
    );
    let item = parse(with(new_generation_item(), "/gate_type", json!(1))).expect("parses");
    assert!(
        !item.is_workflow_gate(),
        "an unreadable gate label keeps the snapshot check on"
    );
}

#[test]
fn wrong_typed_identity_fields_are_errors_naming_the_field() {
    let cases = [
        ("/job/id", json!(7), "job.id"),
        ("/job/state", json!(["APPROVAL_REQUIRED"]), "job.state"),
        ("/job_hash", json!(123), "job_hash"),
        ("/policy_snapshot", json!({"base": "x"}), "policy_snapshot"),
        ("/job", json!("job-7"), "job"),
    ];
    for (pointer, value, field) in cases {
        let error = parse(with(new_generation_item(), pointer, value)).expect_err(pointer);
        assert_eq!(error.code(), "approval_wrong_type");
        let ApprovalError::WrongType { field: named, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(named, field);
        assert!(error.to_string().contains(field), "{error}");
    }
}

#[test]
fn null_identity_fields_read_as_empty() {
    let item = parse(with(new_generation_item(), "/job_hash", Value::Null)).expect("parses");
    assert_eq!(item.job_hash, "");
    let item = parse(with(new_generation_item(), "/policy_snapshot", Value::Null)).expect("parses");
    assert_eq!(item.policy_snapshot, "");
}

#[test]
fn an_item_without_a_job_id_is_rejected() {
    for item in [
        json!({}),
        json!({"job": null}),
        json!({"job": {"id": ""}}),
        json!({"job": {}}),
    ] {
        assert_eq!(parse(item).expect_err("no id"), ApprovalError::MissingJobId);
    }
    assert_eq!(
        parse(json!([1])).expect_err("not an object").code(),
        "approval_wrong_type"
    );
}

#[test]
fn one_bad_item_does_not_hide_the_others() {
    let body = json!({
        "items": [{"job": {"id": 5}}, new_generation_item(), "junk", {"job": {}}],
        "next_cursor": 1795238265936658_i64
    });
    let page = ApprovalPage::from_json(body.to_string().as_bytes()).expect("page parses");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_cursor, Some(1795238265936658));
    let rejected: Vec<_> = page
        .rejected
        .iter()
        .map(|r| (r.index, r.error.code()))
        .collect();
    assert_eq!(
        rejected,
        [
            (0, "approval_wrong_type"),
            (2, "approval_wrong_type"),
            (3, "approval_missing_job_id")
        ]
    );
}

#[test]
fn malformed_page_envelopes_are_errors() {
    let cases: [(&[u8], &str); 6] = [
        (b"not json", "approval_not_json"),
        (b"", "approval_not_json"),
        (b"[]", "approval_wrong_type"),
        (br#"{"items":{}}"#, "approval_wrong_type"),
        (
            br#"{"items":[],"next_cursor":"123"}"#,
            "approval_wrong_type",
        ),
        (br#"{"items":[],"next_cursor":1.5}"#, "approval_wrong_type"),
    ];
    for (body, code) in cases {
        let error = ApprovalPage::from_json(body).expect_err("malformed");
        assert_eq!(error.code(), code, "{}", String::from_utf8_lossy(body));
    }
    let error = serde_json::from_str::<ApprovalPage>(r#"{"items":5}"#).expect_err("Deserialize");
    assert!(error.to_string().contains("items"), "{error}");
}

#[test]
fn deeply_nested_input_is_an_error_not_a_crash() {
    let deep = format!(
        r#"{{"items":[{{"job":{{"id":"j"}},"job_input":{}1{}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let page = ApprovalPage::from_json(deep.as_bytes()).expect("the page is readable");
    assert!(page.items.is_empty());
    assert_eq!(page.rejected[0].job_id.as_deref(), Some("j"));
    assert_eq!(page.rejected[0].error.code(), "approval_not_json");
    let deep_page = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        ApprovalPage::from_json(deep_page.as_bytes())
            .expect_err("too deep")
            .code(),
        "approval_not_json"
    );
}

fn pending_item(state: &str, decision: &str) -> ApprovalItem {
    let mut item = ApprovalItem::default();
    item.job.id = "j".into();
    item.job.state = state.into();
    item.decision = decision.into();
    item
}

#[test]
fn pending_follows_the_state_before_the_decision() {
    let cases = [
        ("APPROVAL_REQUIRED", "REQUIRE_APPROVAL", true),
        ("APPROVAL_REQUIRED", "", true),
        ("APPROVAL_REQUIRED", "ALLOW", true),
        ("", "REQUIRE_APPROVAL", true),
        ("", "ALLOW", false),
        ("", "", false),
        ("PENDING", "REQUIRE_APPROVAL", false),
        ("DENIED", "REQUIRE_APPROVAL", false),
        ("SUCCEEDED", "REQUIRE_APPROVAL", false),
        ("FAILED", "REQUIRE_APPROVAL", false),
        ("TIMEOUT", "REQUIRE_APPROVAL", false),
        ("RUNNING", "REQUIRE_APPROVAL", false),
        ("SOME_FUTURE_STATE", "REQUIRE_APPROVAL", false),
        ("approval_required", "REQUIRE_APPROVAL", false),
    ];
    for (state, decision, pending) in cases {
        assert_eq!(
            pending_item(state, decision).is_pending(),
            pending,
            "{state}/{decision}"
        );
    }
}

#[test]
fn settled_markers_win_over_the_state() {
    let mut resolved = pending_item("APPROVAL_REQUIRED", "REQUIRE_APPROVAL");
    resolved.resolved_by = "bob".into();
    assert!(!resolved.is_pending());
    for status in ["approved", "rejected", "expired", "invalidated", "repaired"] {
        let mut item = pending_item("APPROVAL_REQUIRED", "REQUIRE_APPROVAL");
        item.approval_status = status.into();
        assert!(!item.is_pending(), "status {status}");
        let mut item = pending_item("", "REQUIRE_APPROVAL");
        item.approval_actionability = status.replace("approved", "resolved");
        assert!(!item.is_pending(), "actionability {status}");
    }
    let mut fresh = pending_item("APPROVAL_REQUIRED", "REQUIRE_APPROVAL");
    fresh.approval_status = "pending".into();
    fresh.approval_actionability = "actionable".into();
    assert!(fresh.is_pending());
}

#[test]
fn card_summarises_a_v09_item() {
    let page = ApprovalPage::from_json(V09_LIST.as_bytes()).expect("parses");
    let card = ApprovalCard::from(&page.items[0]);
    assert_eq!(card.title, "Review job.peer.write");
    assert_eq!(card.requester, "alice");
    assert_eq!(card.workflow, None);
    assert_eq!(card.rule_id, "peer-test-approval");
    assert_eq!(card.reason, "Writes need a human.");
    assert_eq!(
        card.job_hash,
        "1914b6c1b23f727454dd6ed99703d9f71e6e412653dc651c209ef7f54b3dd41e"
    );
    assert_eq!(card.updated_at, Some(1795238265936659));
    assert!(card.pending && !card.workflow_gate);
}

#[test]
fn card_summarises_a_new_generation_gate() {
    let card = ApprovalCard::from(&parse(new_generation_item()).expect("parses"));
    assert_eq!(card.title, "Approve 1200 EUR request with Acme");
    assert_eq!(
        card.requester, "svc-buyer",
        "empty principal falls through to actor_id"
    );
    let workflow = card.workflow.as_ref().expect("workflow");
    assert_eq!(
        (workflow.name.as_str(), workflow.run_id.as_str()),
        ("Payments", "run-9")
    );
    assert_eq!(card.constraints["budgets"]["max_runtime_ms"], 60000);
    assert!(card.workflow_gate);
    let json = serde_json::to_value(&card).expect("serializes");
    assert_eq!(
        serde_json::from_value::<ApprovalCard>(json).expect("reads back"),
        card
    );
}

#[test]
fn card_fallbacks_for_sparse_items() {
    let mut item = pending_item("", "REQUIRE_APPROVAL");
    assert_eq!(ApprovalCard::from(&item).title, "Approval requested");
    item.submitted_by = "apikey:00|principal:p".into();
    item.job.safety_rule_id = "r".into();
    item.job.safety_reason = "because".into();
    item.workflow_run_id = "run".into();
    let card = ApprovalCard::from(&item);
    assert_eq!(card.requester, "apikey:00|principal:p");
    assert_eq!(
        (card.rule_id.as_str(), card.reason.as_str()),
        ("r", "because")
    );
    assert_eq!(
        card.workflow.map(|workflow| workflow.run_id),
        Some("run".into())
    );
    assert_eq!(card.policy_snapshot, "", "identities have no fallback");
}

#[test]
fn error_codes_are_distinct() {
    let errors = [
        ApprovalError::NotJson(String::new()),
        ApprovalError::WrongType {
            field: String::new(),
            expected: "",
            found: "",
        },
        ApprovalError::MissingJobId,
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(ApprovalError::code).collect();
    assert_eq!(codes.len(), errors.len());
}

#[test]
fn a_principal_the_submitter_chose_is_shown_beside_who_submitted() {
    let mut item = pending_item("APPROVAL_REQUIRED", "REQUIRE_APPROVAL");
    item.job.principal = "agent-7".into();
    item.submitted_by = "apikey:44f1|principal:agent-7".into();
    assert_eq!(ApprovalCard::from(&item).requester, "agent-7");
    item.job.principal = "the-cfo".into();
    assert_eq!(
        ApprovalCard::from(&item).requester,
        "the-cfo (submitted by apikey:44f1|principal:agent-7)"
    );
}

/// A context nested deeper than the JSON parser's limit allows for a whole page (the
/// gateway accepts 126 levels) must cost only its own item.
#[test]
fn one_deeply_nested_item_does_not_make_the_page_unreadable() {
    let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    let body = format!(
        r#"{{"items": [
            {{"job": {{"id": "deep", "state": "APPROVAL_REQUIRED"}}, "job_input": {deep}}},
            {{"job": {{"id": "fine", "state": "APPROVAL_REQUIRED"}}, "job_hash": "h"}}
        ], "next_cursor": 7}}"#
    );
    // The whole page as one value is over the limit, which is what blinded the queue.
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
    let page = ApprovalPage::from_json(body.as_bytes()).expect("page readable");
    assert_eq!(page.next_cursor, Some(7));
    let ids: Vec<&str> = page.items.iter().map(|i| i.job.id.as_str()).collect();
    assert!(ids.contains(&"fine"), "{ids:?}");
    let deep_item = page
        .items
        .iter()
        .find(|i| i.job.id == "deep")
        .map(|i| i.job.id.clone())
        .or_else(|| page.rejected.iter().find_map(|r| r.job_id.clone()));
    assert_eq!(deep_item.as_deref(), Some("deep"));
}

#[test]
fn an_unreadable_item_keeps_its_job_id() {
    let body = r#"{"items": [{"job": {"id": "j9"}, "job_hash": ["not", "a", "hash"]}]}"#;
    let page = ApprovalPage::from_json(body.as_bytes()).expect("page readable");
    assert!(page.items.is_empty());
    assert_eq!(page.rejected[0].job_id.as_deref(), Some("j9"));
    assert_eq!(page.rejected[0].error.code(), "approval_wrong_type");
}
