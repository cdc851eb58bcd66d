//! A list page written from rows that another program (or a hand) wrote into the database:
//! JSON columns with spaces, keys out of order or text that is not JSON, labels with escapes,
//! a blob where the store writes text. Each item is what the list made of such a row when it
//! parsed every row into a `JobRow` (the same bytes as the item of the job the row parses to),
//! and a row the list cannot read fails the page with an error naming the column, never a
//! panic.

use std::collections::BTreeMap;

use countersign_core::jobrequest::JobRequest;
use countersign_gateway::store::jobs::{self, state, JobRow, SafetyRecord};
use countersign_gateway::store::Store;
use countersign_gateway::view;
use serde_json::{json, Value};

fn job() -> JobRow {
    JobRow {
        id: "job-1".into(),
        tenant: "default".into(),
        trace_id: "trace-1".into(),
        state: state::APPROVAL_REQUIRED.into(),
        topic: "finance.payment.execute".into(),
        prompt: "pay the invoice".into(),
        context: json!({"amount": 5, "currency": "EUR", "vendor": "V"}),
        request: request(&[("env", "production")]),
        updated_at: 1_700_000_000_000_000,
        safety: SafetyRecord {
            decision: "require_human".into(),
            reason: "Payments need a human.".into(),
            snapshot: "cfg:abc:1".into(),
            job_hash: "hash-1".into(),
            approval_required: true,
            ..SafetyRecord::default()
        },
        ..JobRow::default()
    }
}

fn request(labels: &[(&str, &str)]) -> String {
    JobRequest {
        job_id: "job-1".into(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        ..JobRequest::default()
    }
    .to_protojson()
}

/// The job stored, then `edit` run on its row.
fn stored(edit: &str) -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gw.db");
    drop(Store::open(&path).expect("store opens"));
    let db = rusqlite::Connection::open(&path).expect("db opens");
    jobs::insert(&db, &job()).expect("job inserted");
    db.execute(edit, []).expect("row edited");
    (dir, db)
}

fn list(db: &rusqlite::Connection) -> rusqlite::Result<Vec<u8>> {
    let mut page = view::ApprovalPage::new(10);
    jobs::list_approvals::<rusqlite::Error>(db, "default", i64::MAX, 10, true, |item| {
        page.push(item).expect("item written");
        Ok(())
    })?;
    Ok(page.finish(None).expect("page"))
}

/// The page of the one job as `edit` leaves it, against the item of `want`.
fn assert_lists_as(edit: &str, want: &JobRow) {
    let (_dir, db) = stored(edit);
    let page = String::from_utf8(list(&db).expect("listed")).expect("UTF-8");
    let item = String::from_utf8(view::approval_item_json(want).expect("item")).expect("UTF-8");
    assert_eq!(
        page,
        format!("{{\"items\":[{item}],\"next_cursor\":null}}"),
        "{edit}"
    );
}

#[test]
fn json_columns_not_as_the_store_writes_them_list_as_they_parse() {
    let with = |f: &dyn Fn(&mut JobRow)| {
        let mut job = job();
        f(&mut job);
        job
    };
    let spaced = r#"UPDATE jobs SET context = '{ "vendor" : "V", "currency": "EUR",
        "amount": 5, "amount": 6.50 }'"#;
    assert_lists_as(
        spaced,
        &with(&|j| j.context = json!({"amount": 6.5, "currency": "EUR", "vendor": "V"})),
    );
    assert_lists_as(
        "UPDATE jobs SET context = 'not json'",
        &with(&|j| j.context = Value::Null),
    );
    assert_lists_as(
        r#"UPDATE jobs SET context = '{"title":"\u0041 \/ \u00e9","total":1E2}'"#,
        &with(&|j| j.context = json!({"title": "A / é", "total": 100.0})),
    );
    assert_lists_as(
        r#"UPDATE jobs SET safety_constraints = '{"b":1, "a":[true]}'"#,
        &with(&|j| j.safety.constraints = Some(json!({"a": [true], "b": 1}))),
    );
    assert_lists_as(
        "UPDATE jobs SET safety_constraints = '{'",
        &with(&|j| j.safety.constraints = None),
    );
    assert_lists_as(
        r#"UPDATE jobs SET risk_tags = '["money", "quote \" tag"]', requires = '[1]'"#,
        &with(&|j| j.risk_tags = vec!["money".into(), "quote \" tag".into()]),
    );
}

#[test]
fn stored_labels_not_as_the_store_writes_them_list_as_they_parse() {
    let with_request = |labels: &[(&str, &str)]| JobRow {
        request: request(labels),
        ..job()
    };
    assert_lists_as(
        r#"UPDATE jobs SET item_labels = '{"workflow_id":"w \"1\"","run_id":"r","other":"x"}'"#,
        &with_request(&[("workflow_id", "w \"1\""), ("run_id", "r")]),
    );
    // A label that is not a string: the item leaves out every field read from the request,
    // as for a request that does not decode.
    assert_lists_as(
        r#"UPDATE jobs SET item_labels = '{"workflow_id":1}'"#,
        &JobRow {
            request: "not a request".into(),
            ..job()
        },
    );
}

#[test]
fn a_row_the_list_cannot_read_is_an_error_naming_the_column() {
    for (edit, column) in [
        ("UPDATE jobs SET trace_id = x'41'", "trace_id"),
        ("UPDATE jobs SET context = x'7b7d'", "context"),
        ("UPDATE jobs SET item_labels = x'7b7d'", "item_labels"),
        ("UPDATE jobs SET topic = CAST(x'ff' AS TEXT)", "at index 3"),
        (
            "UPDATE jobs SET item_labels = NULL, request = x'00'",
            "CASE WHEN item_labels IS NULL THEN request END",
        ),
    ] {
        let (_dir, db) = stored(edit);
        let error = list(&db).expect_err(edit).to_string();
        assert!(error.contains(column), "{edit}: {error}");
    }
}
