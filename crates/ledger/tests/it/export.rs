//! JSON Lines export and evidence packs.

use std::io::BufRead;

use countersign_core::outcome::DecisionAction;
use countersign_core::verify::{SeenItem, Verdict};
use countersign_ledger::{
    verify_export, ChainProblem, ChainStatus, DecisionIntent, DecisionOutcome, Entry, EvidencePack,
    ExportHeader, ItemSighting, NewEntry,
};
use serde_json::json;

use crate::common::Fixture;

/// One job's full story plus unrelated noise.
fn story() -> Fixture {
    let fixture = Fixture::new();
    let ledger = &fixture.ledger;
    ledger
        .append(NewEntry::login("http://127.0.0.1:9", "ana"))
        .expect("login");
    ledger
        .mark_seen(&ItemSighting {
            job_id: "job-1".into(),
            job_hash: "h1".into(),
            topic: Some("finance.payment.execute".into()),
            policy_snapshot: Some("snap-1".into()),
            card: json!({"title": "Pay 120 EUR", "amount": 120}),
        })
        .expect("seen");
    ledger
        .mark_seen(&ItemSighting {
            job_id: "job-2".into(),
            job_hash: "h2".into(),
            topic: None,
            policy_snapshot: None,
            card: json!({"title": "other"}),
        })
        .expect("seen other");
    ledger
        .append(NewEntry::job_request(
            "job-1",
            json!({"topic": "finance.payment.execute"}),
        ))
        .expect("request");
    let seen = SeenItem {
        job_id: "job-1".into(),
        job_hash: "h1".into(),
        policy_snapshot: "snap-1".into(),
        ..SeenItem::default()
    };
    let verdict = Verdict::ContentVerified;
    ledger
        .append(NewEntry::verdict(&seen, &verdict).expect("verdict entry"))
        .expect("verdict");
    ledger
        .record_intent(&DecisionIntent {
            decision_id: "d-1".into(),
            job_id: "job-1".into(),
            topic: Some("finance.payment.execute".into()),
            action: DecisionAction::Approve,
            job_hash: "h1".into(),
            policy_snapshot: "snap-1".into(),
            reason: "invoice matches".into(),
            note: String::new(),
            workflow_gate: false,
            content_digest: String::new(),
            content: None,
        })
        .expect("intent");
    ledger
        .close_intent(
            "d-1",
            &DecisionOutcome {
                code: "success".into(),
                message: String::new(),
                server_body: json!({"job_id": "job-1", "trace_id": ""}),
                is_final: true,
            },
        )
        .expect("outcome");
    fixture
}

#[test]
fn jsonl_export_round_trips_and_verifies() {
    let fixture = story();
    let path = fixture.dir.path().join("exports").join("ledger.jsonl");
    let header = fixture.ledger.export_jsonl(&path).expect("export");
    assert_eq!(header.head, fixture.ledger.head().expect("head"));
    assert!(header.verify.is_intact());

    let file = std::fs::File::open(&path).expect("open export");
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .expect("read lines");
    let parsed_header: ExportHeader = serde_json::from_str(&lines[0]).expect("header parses");
    assert_eq!(parsed_header, header);
    assert_eq!(lines.len() as u64, header.entry_count + 1);
    for (index, line) in lines[1..].iter().enumerate() {
        let entry: Entry = serde_json::from_str(line).expect("entry line parses");
        assert_eq!(entry.seq, index as u64 + 1);
        assert_eq!(entry.computed_hash(), entry.entry_hash);
        assert_eq!(
            entry,
            fixture.ledger.entry(entry.seq).expect("stored entry")
        );
    }
    let last: Entry = serde_json::from_str(lines.last().expect("last")).expect("parses");
    assert_eq!(last.entry_hash, header.head.entry_hash);

    assert!(verify_export(&path).expect("verify export").is_intact());
    // No temporary files are left beside the export.
    let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ledger.jsonl")]);
}

/// Exports afresh over `path`, applies `edit` to the file's lines, and verifies the result
/// without the ledger.
fn status_after_editing(
    fixture: &Fixture,
    path: &std::path::Path,
    edit: impl FnOnce(&mut Vec<String>),
) -> ChainStatus {
    fixture.ledger.export_jsonl(path).expect("export");
    let text = std::fs::read_to_string(path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines);
    std::fs::write(path, lines.join("\n") + "\n").expect("write");
    verify_export(path).expect("verify").status
}

#[test]
fn a_tampered_export_is_caught_offline() {
    let fixture = story();
    let path = fixture.dir.path().join("ledger.jsonl");
    let status = |edit: fn(&mut Vec<String>)| status_after_editing(&fixture, &path, edit);

    assert_eq!(
        status(|lines| lines[3] = lines[3].replace("other", "edited")),
        ChainStatus::Broken {
            at_seq: 3,
            problem: ChainProblem::EntryEdited
        }
    );
    // Each edit below starts from a fresh export written over the previous file.
    let truncated = status(|lines| {
        lines.pop();
    });
    assert!(
        matches!(
            truncated,
            ChainStatus::Broken {
                problem: ChainProblem::TailTruncated { .. },
                ..
            }
        ),
        "{truncated:?}"
    );
    assert_eq!(
        status(|lines| lines.swap(2, 3)),
        ChainStatus::Broken {
            at_seq: 2,
            problem: ChainProblem::EntryMoved { belongs_at: 3 }
        }
    );
    assert_eq!(
        status(|lines| {
            lines.remove(2);
        }),
        ChainStatus::Broken {
            at_seq: 2,
            problem: ChainProblem::EntryMissing { next_seq: 3 }
        }
    );
    let malformed = status(|lines| lines[4] = "{oops".into());
    assert!(
        matches!(
            malformed,
            ChainStatus::Broken {
                at_seq: 4,
                problem: ChainProblem::Malformed { .. }
            }
        ),
        "{malformed:?}"
    );

    std::fs::write(&path, "not an export\n").expect("write");
    assert_eq!(
        verify_export(&path).expect_err("not an export").code(),
        "ledger_corrupt"
    );
}

#[test]
fn an_evidence_pack_holds_the_whole_story_and_its_proof() {
    let fixture = story();
    let pack = fixture.ledger.evidence_pack("job-1").expect("pack");
    assert_eq!(pack.job_id, "job-1");
    assert_eq!(pack.items_seen.len(), 1);
    assert_eq!(pack.items_seen[0].body["card"]["amount"], 120);
    assert_eq!(pack.requests.len(), 1);
    assert_eq!(
        pack.verdicts[0].outcome.as_deref(),
        Some("content_verified")
    );
    assert_eq!(pack.verdicts[0].body["verdict"]["code"], "content_verified");
    assert_eq!(pack.verdicts[0].body["seen"]["job_hash"], "h1");
    assert_eq!(pack.intents[0].body["reason"], "invoice matches");
    assert_eq!(pack.outcomes[0].outcome.as_deref(), Some("success"));
    assert_eq!(pack.decisions.len(), 1);
    assert!(pack.decisions[0].closed_at.is_some());

    let sections = [
        &pack.items_seen,
        &pack.requests,
        &pack.verdicts,
        &pack.intents,
        &pack.outcomes,
    ];
    let mut entries: Vec<&Entry> = sections.into_iter().flatten().collect();
    entries.sort_by_key(|e| e.seq);
    assert_eq!(pack.proof.links.len(), entries.len());
    for (link, entry) in pack.proof.links.iter().zip(&entries) {
        assert_eq!((link.seq, link.kind), (entry.seq, entry.kind));
        assert_eq!(link.entry_hash, entry.computed_hash());
        assert_eq!(link.prev_hash, entry.prev_hash);
    }
    assert_eq!(pack.proof.head, fixture.ledger.head().expect("head"));
    assert!(pack.proof.verify.is_intact());
    assert!(pack
        .items_seen
        .iter()
        .all(|e| e.job_id.as_deref() == Some("job-1")));

    let path = fixture.dir.path().join("evidence").join("job-1.json");
    let written = fixture
        .ledger
        .export_evidence_pack("job-1", &path)
        .expect("write pack");
    let read: EvidencePack =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("parses");
    assert_eq!(read, written);
}

#[test]
fn an_evidence_pack_for_an_unknown_job_is_not_found() {
    let fixture = story();
    let err = fixture
        .ledger
        .evidence_pack("job-404")
        .expect_err("unknown");
    assert_eq!(err.code(), "ledger_not_found");
}

/// `depth` arrays around a string, as JSON.
fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(json!("deep"), |inner, _| json!([inner]))
}

/// Found by `make fuzz` (ledger_chain): an item's input may nest 127 levels, as deep as the
/// gateway's answer parses, and the sighting wraps it in more. serde_json's reader stops at
/// 128, so such an entry was appended and then could not be read back or exported.
#[test]
fn an_entry_nested_deeper_than_serde_json_reads_is_read_back_and_exported() {
    let fixture = Fixture::new();
    let ledger = &fixture.ledger;
    let sighting = ItemSighting {
        job_id: "job-deep".into(),
        job_hash: "h".into(),
        topic: None,
        policy_snapshot: None,
        card: json!({"job_input": nested(127)}),
    };
    ledger.mark_seen(&sighting).expect("seen");
    let entry = ledger.entry(1).expect("a deep entry reads back");
    assert_eq!(entry.body["card"]["job_input"], nested(127));

    let path = fixture.dir.path().join("deep.jsonl");
    ledger.export_jsonl(&path).expect("export");
    let report = verify_export(&path).expect("verify export");
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries_checked, 1);
}

/// What the ledger cannot read back it does not record.
#[test]
fn an_entry_nested_past_the_body_limit_is_refused() {
    let fixture = Fixture::new();
    let limit = countersign_ledger::MAX_BODY_DEPTH;
    let refused = fixture
        .ledger
        .append(NewEntry::job_request("job-deep", nested(limit + 1)))
        .expect_err("too deep");
    assert_eq!(refused.code(), "ledger_invalid_input");
    fixture
        .ledger
        .append(NewEntry::job_request("job-deep", nested(limit)))
        .expect("at the limit");
    assert_eq!(fixture.ledger.entry_count().expect("count"), 1);
}

/// Found by `make fuzz` (ledger_chain): an entry body holding this float (an agent's input can)
/// read back from the export as a neighbouring float, so the honest export failed to verify.
#[test]
fn an_export_with_floats_verifies() {
    let fixture = Fixture::new();
    fixture
        .ledger
        .append(NewEntry::job_request(
            "job-f",
            json!({"x": -2.937446524335573e-306}),
        ))
        .expect("append");
    let path = fixture.dir.path().join("floats.jsonl");
    fixture.ledger.export_jsonl(&path).expect("export");
    let report = verify_export(&path).expect("verify export");
    assert!(report.is_intact(), "{report:?}");
}
