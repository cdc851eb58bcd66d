//! Offline queries: each filter, paging, literal free text, limits.

use countersign_ledger::{EntryKind, NewEntry, Page, Query, DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::json;

use crate::common::Fixture;

/// Seven entries at known times (ms 1000, 2000, ... by seq).
fn history() -> Fixture {
    let fixture = Fixture::new();
    let entries = [
        NewEntry::new(EntryKind::Login, json!({"principal": "ana"})),
        NewEntry::new(EntryKind::ItemSeen, json!({"title": "Pay 100% of invoice"}))
            .job_id("job-1")
            .topic("finance.payment.execute"),
        NewEntry::new(EntryKind::ItemSeen, json!({"title": "Pay 1000 of invoice"}))
            .job_id("job-2")
            .topic("finance.payment.execute"),
        NewEntry::new(EntryKind::DecisionIntent, json!({"reason": "ok"}))
            .job_id("job-1")
            .decision("approve"),
        NewEntry::new(EntryKind::DecisionOutcome, json!({"code": "success"}))
            .job_id("job-1")
            .decision("approve")
            .outcome("success"),
        NewEntry::new(EntryKind::DecisionIntent, json!({"reason": "no_way"}))
            .job_id("job-2")
            .topic("customer_notify")
            .decision("reject"),
        NewEntry::new(EntryKind::DecisionOutcome, json!({"code": "stale_request"}))
            .job_id("job-2")
            .decision("reject")
            .outcome("stale_request"),
    ];
    for (index, entry) in entries.into_iter().enumerate() {
        fixture.set_time((index as i64 + 1) * 1000);
        fixture.ledger.append(entry).expect("append");
    }
    fixture
}

fn seqs(page: &Page) -> Vec<u64> {
    page.entries.iter().map(|e| e.seq).collect()
}

fn page(fixture: &Fixture, query: Query) -> Page {
    fixture.ledger.query(&query).expect("query")
}

fn run(fixture: &Fixture, query: Query) -> Vec<u64> {
    seqs(&page(fixture, query))
}

#[test]
fn no_filter_returns_newest_first() {
    let fixture = history();
    assert_eq!(run(&fixture, Query::default()), vec![7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn each_filter_selects_its_entries() {
    let fixture = history();
    let q = Query::default;
    let some = |t: &str| Some(t.to_owned());
    let cases = [
        (
            Query {
                since_ms: Some(3000),
                until_ms: Some(5000),
                ..q()
            },
            vec![4, 3],
        ),
        (
            Query {
                since_ms: Some(6000),
                ..q()
            },
            vec![7, 6],
        ),
        (
            Query {
                until_ms: Some(2000),
                ..q()
            },
            vec![1],
        ),
        (
            Query {
                job_id: some("job-1"),
                ..q()
            },
            vec![5, 4, 2],
        ),
        (
            Query {
                topic: some("finance.payment.execute"),
                ..q()
            },
            vec![3, 2],
        ),
        (
            Query {
                decision: some("reject"),
                ..q()
            },
            vec![7, 6],
        ),
        (
            Query {
                outcome: some("success"),
                ..q()
            },
            vec![5],
        ),
        (
            Query {
                kinds: vec![EntryKind::Login, EntryKind::DecisionOutcome],
                ..q()
            },
            vec![7, 5, 1],
        ),
        (
            Query {
                job_id: some("job-2"),
                decision: some("reject"),
                outcome: some("stale_request"),
                ..q()
            },
            vec![7],
        ),
        (
            Query {
                job_id: some("job-9"),
                ..q()
            },
            vec![],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(run(&fixture, query.clone()), expected, "{query:?}");
    }
}

#[test]
fn free_text_is_literal_and_searches_body_topic_and_job_id() {
    let fixture = history();
    let text = |t: &str| Query {
        text: Some(t.into()),
        ..Query::default()
    };
    // `%` is not a wildcard: "100%" must not match "1000".
    assert_eq!(run(&fixture, text("100%")), vec![2]);
    assert_eq!(run(&fixture, text("100")), vec![3, 2]);
    // `_` is not a wildcard either: "no_way" is in a body, "no way" nowhere.
    assert_eq!(run(&fixture, text("no_way")), vec![6]);
    assert!(run(&fixture, text("no-way")).is_empty());
    // Topic and job id are searched too, ASCII case-insensitively.
    assert_eq!(run(&fixture, text("CUSTOMER_")), vec![6]);
    assert_eq!(run(&fixture, text("job-2")), vec![7, 6, 3]);
    assert_eq!(run(&fixture, text(r"\")), Vec::<u64>::new());
    assert_eq!(
        run(&fixture, text("")).len(),
        7,
        "empty text filters nothing"
    );
}

#[test]
fn paging_walks_every_entry_once() {
    let fixture = history();
    let mut cursor = None;
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let current = page(
            &fixture,
            Query {
                limit: Some(3),
                before_seq: cursor,
                ..Query::default()
            },
        );
        pages += 1;
        all.extend(seqs(&current));
        match current.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(all, vec![7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(pages, 3);

    // A page that ends exactly at the last entry says so.
    let exact = page(
        &fixture,
        Query {
            limit: Some(7),
            ..Query::default()
        },
    );
    assert_eq!(exact.next_cursor, None);
    // Paging composes with filters.
    let filtered = page(
        &fixture,
        Query {
            job_id: Some("job-1".into()),
            limit: Some(2),
            ..Query::default()
        },
    );
    assert_eq!(seqs(&filtered), vec![5, 4]);
    assert_eq!(filtered.next_cursor, Some(4));
    let rest = page(
        &fixture,
        Query {
            job_id: Some("job-1".into()),
            limit: Some(2),
            before_seq: Some(4),
            ..Query::default()
        },
    );
    assert_eq!((seqs(&rest), rest.next_cursor), (vec![2], None));
}

#[test]
fn limits_are_clamped() {
    let fixture = Fixture::new();
    let events: Vec<_> = (0..MAX_LIMIT + 10).map(|n| json!({ "n": n })).collect();
    fixture
        .ledger
        .mirror_gateway_events(&events)
        .expect("mirror");
    let count = |limit| {
        page(
            &fixture,
            Query {
                limit,
                ..Query::default()
            },
        )
        .entries
        .len()
    };
    assert_eq!(count(Some(0)), 1);
    assert_eq!(count(None), DEFAULT_LIMIT as usize);
    assert_eq!(count(Some(u32::MAX)), MAX_LIMIT as usize);
}

#[test]
fn invalid_queries_are_refused() {
    let fixture = history();
    let cases = [
        (
            "reversed range",
            Query {
                since_ms: Some(5),
                until_ms: Some(4),
                ..Query::default()
            },
        ),
        (
            "long text",
            Query {
                text: Some("x".repeat(5000)),
                ..Query::default()
            },
        ),
        (
            "cursor out of range",
            Query {
                before_seq: Some(u64::MAX),
                ..Query::default()
            },
        ),
    ];
    for (what, query) in cases {
        let err = fixture.ledger.query(&query).expect_err(what);
        assert_eq!(err.code(), "ledger_invalid_query", "{what}");
    }
}

#[test]
fn a_malformed_row_fails_the_query_naming_its_seq() {
    let fixture = history();
    fixture.tamper("UPDATE entries SET body = '{broken' WHERE seq = 6");
    let err = fixture
        .ledger
        .query(&Query::default())
        .expect_err("malformed");
    assert_eq!(err.code(), "ledger_corrupt");
    assert!(err.to_string().contains("entry 6"), "{err}");
    // Queries that do not touch the row still work.
    assert_eq!(
        run(
            &fixture,
            Query {
                job_id: Some("job-1".into()),
                ..Query::default()
            }
        ),
        vec![5, 4, 2]
    );
}

/// An entry with more text than the search index breaks into trigrams, the text "a needle"
/// near its end.
fn large_entry() -> NewEntry {
    NewEntry::new(
        EntryKind::JobRequest,
        json!({"context": format!("{} a needle", "hay ".repeat(2000))}),
    )
}

#[test]
fn free_text_keeps_the_scans_semantics_through_the_index() {
    let fixture = history();
    fixture
        .ledger
        .append(NewEntry::new(
            EntryKind::Login,
            json!({"principal": "Café Ünal"}),
        ))
        .expect("append");
    let text = |t: &str| Query {
        text: Some(t.into()),
        ..Query::default()
    };
    // Words in bodies, whatever their ASCII case; text shorter than a trigram still matches.
    assert_eq!(run(&fixture, text("PAY 1000")), vec![3]);
    assert_eq!(run(&fixture, text("ok")), vec![4]);
    assert_eq!(run(&fixture, text("Y 1")), vec![3, 2]);
    // Case folds for ASCII letters only, as `LIKE` does: the index folds more, and is not
    // what decides.
    assert_eq!(run(&fixture, text("CAFé")), vec![8]);
    assert!(run(&fixture, text("CAFÉ")).is_empty());
    assert!(run(&fixture, text("ünal")).is_empty());
    // Every trigram present is not enough: the text must appear as it was typed.
    assert!(run(&fixture, text("invoice Pay")).is_empty());
    // Text deep inside an entry too large for the index is found as well.
    fixture.ledger.append(large_entry()).expect("append");
    assert_eq!(run(&fixture, text("a needle")), vec![9]);
    assert!(run(&fixture, text("a needle!")).is_empty());
    // The longest text accepted, hundreds of distinct trigrams, is still one valid query.
    let mut state: u32 = 1;
    let longest: String = (0..1000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345) & 0x7fff_ffff;
            char::from_digit((state >> 16) % 36, 36).unwrap_or('x')
        })
        .collect();
    assert!(run(&fixture, text(&longest)).is_empty());
    // Quotes and query syntax are literal text.
    assert_eq!(run(&fixture, text(r#""title""#)), vec![3, 2]);
    assert!(run(&fixture, text("job OR pay")).is_empty());
}

#[test]
fn free_text_pages_walk_every_match_once() {
    let fixture = history();
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let current = page(
            &fixture,
            Query {
                text: Some("job-".into()),
                limit: Some(2),
                before_seq: cursor,
                ..Query::default()
            },
        );
        all.extend(seqs(&current));
        match current.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(all, vec![7, 6, 5, 4, 3, 2]);
}

#[test]
fn a_forged_or_lost_index_shows_no_entry_that_does_not_match_and_fools_no_verify() {
    let fixture = history();
    let text = |t: &str| Query {
        text: Some(t.into()),
        ..Query::default()
    };
    // Index the login entry under text it does not hold.
    fixture.tamper("INSERT INTO entry_text (rowid, searchable) VALUES (1, 'forged words')");
    assert!(run(&fixture, text("forged words")).is_empty());
    assert!(fixture.ledger.verify().expect("verify").is_intact());
    // An entry rewritten behind the ledger's back no longer matches its old text, though the
    // index still holds it; the chain says it was tampered with.
    fixture.tamper(r#"UPDATE entries SET body = '{"title":"Pay 9 of invoice"}' WHERE seq = 3"#);
    assert!(run(&fixture, text("Pay 1000")).is_empty());
    assert!(!fixture.ledger.verify().expect("verify").is_intact());
    // Without the index nothing is found through it, and the chain does not depend on it.
    let fixture = history();
    fixture.tamper("INSERT INTO entry_text (entry_text) VALUES ('delete-all')");
    assert!(run(&fixture, text("invoice")).is_empty());
    assert!(fixture.ledger.verify().expect("verify").is_intact());
}

#[test]
fn a_version_4_ledger_is_indexed_when_opened() {
    let fixture = history();
    fixture.ledger.append(large_entry()).expect("append");
    // The file as version 4 wrote it: no index.
    fixture
        .raw()
        .execute_batch("DROP TABLE entry_text; PRAGMA user_version = 4;")
        .expect("downgrade");
    let ledger = fixture.reopen();
    let text = |t: &str| Query {
        text: Some(t.into()),
        ..Query::default()
    };
    let found = |query| seqs(&ledger.query(&query).expect("query"));
    assert_eq!(found(text("of invoice")), vec![3, 2]);
    assert_eq!(found(text("job-2")), vec![7, 6, 3]);
    assert_eq!(found(text("CUSTOMER_")), vec![6]);
    assert_eq!(found(text("A NEEDLE")), vec![8]);
    // Entries appended after the migration are indexed as they are written.
    ledger
        .append(NewEntry::new(EntryKind::Login, json!({"principal": "bea"})).job_id("job-2"))
        .expect("append");
    assert_eq!(found(text("job-2")), vec![9, 7, 6, 3]);
    assert!(ledger.verify().expect("verify").is_intact());
}
