//! The approval item's JSON, pinned for a spread of stored jobs: every input the item derives
//! something from (the context's summary keys and their types, the request's labels, a
//! request that no longer decodes, each approval state), both as a list page writes it and as
//! an event carries it. The golden file was written by the `serde_json::Value` builder the
//! item had before it was serialized straight from the row, so a faster item cannot drift
//! from the old one in a value, a type or a field's presence.
//!
//! `tests/golden/approval_items.page` holds each item's exact bytes as the `serde` views wrote
//! them into a page (one item a line, in their field order): the page written from the
//! database's rows is byte-identical, not only equal as JSON.
//!
//! `COUNTERSIGN_BLESS=1 cargo test -p countersign-gateway --test items_golden` rewrites both.

use std::collections::BTreeMap;
use std::path::PathBuf;

use countersign_core::jobrequest::JobRequest;
use countersign_gateway::store::jobs::{self, state, ApprovalRecord, JobRow, SafetyRecord};
use countersign_gateway::store::Store;
use countersign_gateway::view;
use serde_json::{json, Value};

fn contexts() -> Vec<Value> {
    vec![
        Value::Null,
        json!({"amount": 12, "currency": "EUR", "vendor": "vendor 12"}),
        json!({"title": "Ship it", "amount": 12.5, "currency_code": "USD", "merchant": "  ", "payee": 42}),
        json!({"subject": "   ", "summary": "S", "total": "100", "justification": "because"}),
        json!({"amount": 1e300, "currency": 7}),
        json!([1, 2, {"amount": 3}]),
        json!("just a string"),
        json!({"reason": "", "why": "W", "value": -3, "supplier": "S"}),
        json!({"amount": 5, "currency": "EUR"}),
        json!({}),
        json!({"name": {"nested": 1}, "counterparty": "C", "escalation_reason": " "}),
        json!({"vendor": "Ünïcode \"quoted\"\n<b>&</b>\u{0}", "amount": 0.30000000000000004, "currency": "€"}),
        json!({"amount": 18446744073709551615u64, "currency": "JPY", "request_name": "big"}),
        json!({"amount": -7, "currency": "", "subtotal": 9, "approval_reason": "policy says", "business_reason": "b"}),
        json!({"amount": true, "currency": null, "title": 5, "vendor": ["x"]}),
        json!({"total": 1e-7, "currency": "USD", "merchant": "M", "title": "T", "deep": {"a": [{"b": null}]}}),
    ]
}

fn request_text(n: usize) -> String {
    let with_labels = |labels: &[(&str, &str)]| {
        JobRequest {
            job_id: format!("job-{n}"),
            topic: "finance.payment.execute".into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..JobRequest::default()
        }
        .to_protojson()
    };
    match n % 8 {
        0 => with_labels(&[("env", "production"), ("_source", "api")]),
        1 => with_labels(&[
            ("workflow_id", "wf-1"),
            ("run_id", "run-9"),
            ("step_id", "step-3"),
            ("gate_type", "manual"),
            ("rollback_hint", "revert the payment"),
        ]),
        2 => with_labels(&[("workflow_id", ""), ("run_id", "r"), ("rollback_hint", "")]),
        3 => with_labels(&[]),
        4 => "not json at all".into(),
        5 => "{}".into(),
        6 => r#"{"labels": {"workflow_id": 1}}"#.into(),
        _ => r#"{"labels": {"step_id": "s \"q\""}, "someUnknownField": {"x": 1}}"#.into(),
    }
}

fn approval(n: usize) -> (&'static str, ApprovalRecord) {
    let resolved = |status: &str, decision: &str| ApprovalRecord {
        status: status.into(),
        revision: 3,
        decision: decision.into(),
        resolved_by: "apikey:abcd|principal:alice".into(),
        resolved_at: 1_700_000_000_123_456,
        resolution: "looks right".into(),
        comment: "note <b>".into(),
        job_hash: "hash".into(),
        snapshot: "snap".into(),
    };
    match n % 7 {
        0 => (
            state::APPROVAL_REQUIRED,
            ApprovalRecord {
                status: "pending".into(),
                revision: 1,
                ..ApprovalRecord::default()
            },
        ),
        1 => (state::APPROVAL_REQUIRED, ApprovalRecord::default()),
        2 => (state::SUCCEEDED, resolved("approved", "approve")),
        3 => (state::DENIED, resolved("rejected", "reject")),
        4 => (state::DENIED, resolved("invalidated", "invalidate")),
        5 => (
            state::TIMEOUT,
            ApprovalRecord {
                comment: String::new(),
                ..resolved("expired", "expire")
            },
        ),
        _ => (
            state::PENDING,
            ApprovalRecord {
                status: "approved".into(),
                revision: -4,
                resolved_at: 5,
                ..ApprovalRecord::default()
            },
        ),
    }
}

fn job(n: usize) -> JobRow {
    let contexts = contexts();
    let (state, approval) = approval(n);
    let full = n.is_multiple_of(3);
    let text = |s: &str| if full { s.to_owned() } else { String::new() };
    JobRow {
        id: format!("job-{n}"),
        tenant: "default".into(),
        trace_id: format!("trace-{n}"),
        state: state.into(),
        topic: "finance.payment.execute".into(),
        principal: text("agent-1"),
        actor_id: text("actor \"one\""),
        actor_type: text("service"),
        idempotency_key: text("idem-1"),
        capability: text("payments"),
        pack_id: text("pack"),
        risk_tags: if full {
            vec!["money".into(), "prod".into()]
        } else {
            Vec::new()
        },
        requires: if n % 9 == 1 {
            vec!["two-person".into()]
        } else {
            Vec::new()
        },
        prompt: format!("pay the invoice {n}"),
        context: contexts[n % contexts.len()].clone(),
        request: request_text(n / 16),
        submitted_by: text("apikey:0011|principal:agent-1"),
        deadline_unix: if n % 5 == 2 { 1_700_000_100 } else { 0 },
        created_at: 1_700_000_000_000_000,
        updated_at: 1_700_000_000_000_000 + i64::try_from(n).expect("small"),
        safety: SafetyRecord {
            decision: "require_human".into(),
            reason: if n % 5 != 3 {
                "Payments need a human.".into()
            } else {
                String::new()
            },
            rule_id: text("payments-need-a-human"),
            snapshot: "cfg:abc:1".into(),
            constraints: match n % 3 {
                0 => None,
                1 => Some(json!({"max_amount": 100, "nested": {"a": [1, "b"]}})),
                _ => Some(json!("plain")),
            },
            job_hash: format!("hash-{n}"),
            approval_required: n % 11 != 5,
            checked_at: 1,
        },
        approval,
    }
}

/// Every context with every request shape (`n % 16` and `n / 16 % 8`), the approval states and
/// the optional fields cycling through them on odd moduli.
fn jobs() -> Vec<JobRow> {
    (0..16 * 8).map(job).collect()
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/approval_items.json")
}

fn page_lines_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/approval_items.page")
}

/// The golden items' bytes, one line each (compact JSON escapes every newline).
fn page_lines() -> Vec<String> {
    std::fs::read_to_string(page_lines_path())
        .expect("golden page file")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A page's bytes for these items' lines, in this order.
fn page_of(lines: &[&str], next_cursor: Option<i64>) -> String {
    format!(
        "{{\"items\":[{}],\"next_cursor\":{}}}",
        lines.join(","),
        serde_json::to_string(&next_cursor).expect("cursor")
    )
}

fn golden() -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(golden_path()).expect("golden file"))
        .expect("golden is JSON")
}

/// The jobs in a gateway database file, as its store writes them.
fn stored(jobs: &[JobRow]) -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gw.db");
    drop(Store::open(&path).expect("store opens"));
    let db = rusqlite::Connection::open(&path).expect("db opens");
    for job in jobs {
        jobs::insert(&db, job).expect("job inserted");
    }
    (dir, db)
}

/// Every listed item, resolved ones too, on one page.
fn list_page(db: &rusqlite::Connection) -> Vec<u8> {
    let mut page = view::ApprovalPage::new(500);
    jobs::list_approvals::<rusqlite::Error>(db, "default", i64::MAX, 500, true, |item| {
        page.push(item).expect("item written");
        Ok(())
    })
    .expect("listed");
    page.finish(Some(7)).expect("page")
}

#[test]
fn a_list_page_writes_the_golden_bytes() {
    let jobs = jobs();
    if std::env::var_os("COUNTERSIGN_BLESS").is_some() {
        let lines: Vec<String> = jobs
            .iter()
            .map(|job| {
                String::from_utf8(view::approval_item_json(job).expect("item")).expect("UTF-8")
            })
            .collect();
        std::fs::write(page_lines_path(), lines.join("\n") + "\n").expect("golden written");
    }
    let lines = page_lines();
    assert_eq!(lines.len(), jobs.len());
    for (n, (job, line)) in jobs.iter().zip(&lines).enumerate() {
        let item = String::from_utf8(view::approval_item_json(job).expect("item")).expect("UTF-8");
        assert_eq!(&item, line, "job {n}");
    }
    // As the list reads them from the database: with the labels written beside the request,
    // and from a file older than that column (the request decoded at list time). The list
    // leaves out jobs that never needed an approval, newest first.
    let (_dir, db) = stored(&jobs);
    let listed: Vec<&str> = jobs
        .iter()
        .zip(&lines)
        .rev()
        .filter(|(job, _)| job.safety.approval_required)
        .map(|(_, line)| line.as_str())
        .collect();
    assert!(listed.len() > 100, "{}", listed.len());
    let written = String::from_utf8(list_page(&db)).expect("UTF-8");
    assert_eq!(written, page_of(&listed, Some(7)));
    db.execute("UPDATE jobs SET item_labels = NULL", [])
        .expect("labels cleared");
    let legacy = String::from_utf8(list_page(&db)).expect("UTF-8");
    assert_eq!(legacy, page_of(&listed, Some(7)));
    let empty = view::ApprovalPage::new(0).finish(None).expect("page");
    assert_eq!(empty, br#"{"items":[],"next_cursor":null}"#);
}

#[test]
fn approval_items_match_the_golden_file() {
    let items: Vec<Value> = jobs().iter().map(view::approval_item).collect();
    if std::env::var_os("COUNTERSIGN_BLESS").is_some() {
        let path = golden_path();
        std::fs::create_dir_all(path.parent().expect("dir")).expect("golden dir");
        let mut text = serde_json::to_string_pretty(&items).expect("json");
        text.push('\n');
        std::fs::write(&path, text).expect("golden written");
    }
    let golden = golden();
    assert_eq!(items.len(), golden.len());
    for (n, (item, want)) in items.iter().zip(&golden).enumerate() {
        // Through the bytes, as a client sees it: `1.0` and `1` are different answers.
        let wire: Value = serde_json::from_slice(&serde_json::to_vec(item).expect("bytes"))
            .expect("item is JSON");
        assert_eq!(&wire, want, "job {n}");
    }
}
