//! The history through the commands: exports to a file chosen outside the webview, and the
//! detail view's earlier decisions on the same topic.

use serde_json::{json, Value};

use super::*;

fn approve_one(h: &Harness) -> String {
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    let approved = h.ok("decide", decision(&card, "approve", "fine", None));
    assert_eq!(approved["outcome"], "applied");
    job_id
}

#[test]
fn exports_go_where_the_save_dialog_says_and_a_cancel_writes_nothing() {
    let out = tempfile::tempdir().expect("dir");
    let history_file = out.path().join("history.jsonl");
    let h = Harness::with_chrome(Chrome::Scripted {
        confirm: false,
        save_to: Some(history_file.clone()),
    });
    h.connect("export");
    let job_id = approve_one(&h);

    let exported = h.ok("export_history", json!({}));
    assert_eq!(exported["path"], history_file.display().to_string());
    let text = std::fs::read_to_string(&history_file).expect("written");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        lines.len() as u64,
        exported["entries"].as_u64().expect("count") + 1,
        "a header, then every entry"
    );
    assert!(text.contains(&job_id));
    assert!(text.contains(exported["head_hash"].as_str().expect("head")));

    let evidence = h.ok("export_evidence", json!({"jobId": job_id}));
    let pack: Value =
        serde_json::from_str(&std::fs::read_to_string(&history_file).expect("pack")).expect("json");
    assert!(
        evidence["entries"].as_u64().is_some_and(|n| n >= 3),
        "{evidence}"
    );
    assert!(pack.to_string().contains(&job_id));

    let cancelled = Harness::start();
    cancelled.connect("export");
    assert_eq!(cancelled.ok("export_history", json!({})), Value::Null);
}

#[test]
fn the_detail_lists_earlier_decisions_on_the_same_topic() {
    let h = Harness::start();
    h.connect("prior");
    let earlier = approve_one(&h);
    let job_id = h.submit("customer.notify", &[]);
    let card = h.card(&job_id);
    let detail = h.ok("item_detail", json!({"seen": card["seen"]}));
    let prior = detail["prior"].as_array().expect("a list");
    assert_eq!(prior.len(), 1, "{detail}");
    assert_eq!(prior[0]["job_id"], earlier.as_str());
    assert_eq!(prior[0]["was_approved"], true);
    assert_eq!(prior[0]["resolved_by"], "alice");
}
