//! Offline evidence: with the gateway stopped, gateway commands fail as network failures and
//! every audit command still works; tampering with the ledger file is named by seq.

use serde_json::Value;

use crate::support::{Harness, ALICE, NETWORK, TAMPERED};

#[test]
fn audit_works_offline_and_catches_tampering() {
    let mut h = Harness::start();
    let job = h.submit();
    h.cli(ALICE, &["show", &job]).success();
    h.cli(ALICE, &["approve", &job, "--reason", "fine"])
        .success();
    let mirrored = h.cli(ALICE, &["--json", "audit", "mirror"]);
    mirrored.success();
    assert!(
        mirrored.json()["added"].as_u64().expect("added") > 0,
        "{mirrored:?}"
    );
    // Again, resuming or from the start: nothing is mirrored twice.
    for args in [
        &["--json", "audit", "mirror"][..],
        &["--json", "audit", "mirror", "--from-start"],
    ] {
        let again = h.cli(ALICE, args);
        again.success();
        assert_eq!(again.json()["added"], 0, "{again:?}");
    }

    h.stop_gateway();
    let offline = h.cli(ALICE, &["list"]);
    offline.failed_with(NETWORK);
    assert!(
        offline.stderr.starts_with("countersign-cli: network: "),
        "{offline:?}"
    );
    h.cli(ALICE, &["approve", &job]).failed_with(NETWORK);

    let listed = h.cli(ALICE, &["audit", "list", "--job", &job]);
    listed.success();
    assert!(listed.stdout.contains("decision_outcome"), "{listed:?}");
    let page = h
        .cli(
            ALICE,
            &[
                "--json",
                "audit",
                "list",
                "--kind",
                "item_seen",
                "--kind",
                "verdict",
            ],
        )
        .json();
    let entries = page["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e["kind"] == "item_seen" || e["kind"] == "verdict"),
        "{page}"
    );
    let limited = h
        .cli(
            ALICE,
            &[
                "--json",
                "audit",
                "list",
                "--limit",
                "1",
                "--since",
                "1970-01-01T00:00:00Z",
            ],
        )
        .json();
    let cursor = limited["next_cursor"].as_u64().expect("more pages");
    let next = h
        .cli(
            ALICE,
            &[
                "--json",
                "audit",
                "list",
                "--limit",
                "1",
                "--cursor",
                &cursor.to_string(),
            ],
        )
        .json();
    assert!(next["entries"][0]["seq"].as_u64().expect("seq") < cursor + 1);
    h.cli(ALICE, &["audit", "list", "--since", "last tuesday"])
        .failed_with(2);

    h.cli(ALICE, &["audit", "verify"]).success();
    let export = h.dir.path().join("export.jsonl");
    let export_arg = export.to_str().expect("utf-8 path");
    h.cli(ALICE, &["audit", "export", "--out", export_arg])
        .success();
    let text = std::fs::read_to_string(&export).expect("export written");
    h.keep(&text);
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert_eq!(lines[0]["format"], "countersign-ledger-export");
    assert!(lines.len() > 3);
    let pack = h.dir.path().join("pack.json");
    let pack_arg = pack.to_str().expect("utf-8 path");
    h.cli(
        ALICE,
        &["audit", "export", "--job", &job, "--out", pack_arg],
    )
    .success();
    let pack_text = std::fs::read_to_string(&pack).expect("pack written");
    h.keep(&pack_text);
    let pack: Value = serde_json::from_str(&pack_text).expect("pack JSON");
    assert_eq!(pack["job_id"], job.as_str());
    assert!(!pack["intents"].as_array().expect("intents").is_empty());
    h.assert_no_secret_leaked();

    // Someone edits an entry behind the ledger's back.
    let raw = rusqlite::Connection::open(h.ledger_file()).expect("raw ledger");
    raw.execute(
        "UPDATE entries SET body = '{\"edited\":true}' WHERE seq = 2",
        [],
    )
    .expect("tampered");
    drop(raw);
    let verify = h.cli(ALICE, &["audit", "verify"]);
    verify.failed_with(TAMPERED);
    assert!(
        verify.stderr.contains("broken at seq 2: entry_edited")
            && !verify.stderr.contains("EntryEdited"),
        "{verify:?}"
    );
    // Exporting a broken ledger still writes it, but says so and fails.
    let broken_export = h.dir.path().join("broken.jsonl");
    let exported = h.cli(
        ALICE,
        &[
            "audit",
            "export",
            "--out",
            broken_export.to_str().expect("utf-8 path"),
        ],
    );
    exported.failed_with(TAMPERED);
    assert!(
        exported.stderr.contains("wrote") && exported.stderr.contains("broken at seq 2"),
        "{exported:?}"
    );
    assert!(broken_export.exists());
    let verify = h.cli(ALICE, &["--json", "audit", "verify"]);
    verify.failed_with(TAMPERED);
    let error = verify.json();
    assert_eq!(error["error"]["code"], "ledger_tampered", "{error}");
    assert_eq!(error["error"]["detail"]["status"]["at_seq"], 2, "{error}");
    assert_eq!(
        error["error"]["detail"]["status"]["problem"]["code"], "entry_edited",
        "{error}"
    );
}

#[test]
fn audit_without_a_ledger_is_not_found() {
    let h = Harness::start();
    let missing = h.cli(ALICE, &["audit", "verify"]);
    missing.failed_with(6);
    assert!(missing.stderr.contains("ledger_not_found"), "{missing:?}");
    let profiles = h.cli(ALICE, &["--json", "profiles"]).json();
    assert_eq!(profiles["profiles"], serde_json::json!([]));
}

#[test]
fn a_named_ledger_is_read_without_a_saved_profile() {
    // The app's demo keeps its history under the profile name "demo", which is never saved.
    let h = Harness::start();
    let ledger = countersign_ledger::Ledger::open(h.data_dir().join("ledgers").join("demo.sqlite"))
        .expect("ledger");
    ledger
        .append(countersign_ledger::NewEntry::new(
            countersign_ledger::EntryKind::Notification,
            serde_json::json!({"event": "shown"}),
        ))
        .expect("append");
    drop(ledger);
    let listed = h.cli(ALICE, &["--profile", "demo", "--json", "audit", "list"]);
    assert_eq!(listed.code, Some(0), "{listed:?}");
    assert!(listed.stdout.contains("notification"), "{listed:?}");
    let verified = h.cli(ALICE, &["--profile", "demo", "audit", "verify"]);
    assert_eq!(verified.code, Some(0), "{verified:?}");
    h.cli(ALICE, &["--profile", "../x", "audit", "list"])
        .failed_with(2);
}
