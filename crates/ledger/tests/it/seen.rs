//! The seen set and the gateway audit mirror.

use countersign_core::approval::ApprovalCard;
use countersign_ledger::{EntryKind, ItemSighting, Query};
use serde_json::json;

use crate::common::Fixture;

fn item(job_id: &str, job_hash: &str) -> ItemSighting {
    ItemSighting {
        job_id: job_id.into(),
        job_hash: job_hash.into(),
        topic: Some("customer.notify".into()),
        policy_snapshot: Some("snap-1".into()),
        card: json!({"title": "Notify customer", "risk_tags": ["external"]}),
    }
}

#[test]
fn an_item_is_new_once_per_job_and_hash_across_restarts() {
    let fixture = Fixture::new();
    assert!(fixture
        .ledger
        .mark_seen(&item("job-1", "h1"))
        .expect("first"));
    assert!(!fixture
        .ledger
        .mark_seen(&item("job-1", "h1"))
        .expect("again"));
    assert!(fixture.ledger.is_seen("job-1", "h1").expect("is seen"));
    assert!(!fixture.ledger.is_seen("job-1", "h2").expect("other hash"));

    let after_restart = fixture.reopen();
    assert!(!after_restart
        .mark_seen(&item("job-1", "h1"))
        .expect("after restart"));
    // The same job with a changed request is a new sighting, recorded as evidence.
    assert!(after_restart
        .mark_seen(&item("job-1", "h2"))
        .expect("changed request"));

    let page = after_restart
        .query(&Query {
            kinds: vec![EntryKind::ItemSeen],
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.entries.len(), 2);
    let first = page.entries.last().expect("first sighting");
    assert_eq!(first.job_id.as_deref(), Some("job-1"));
    assert_eq!(first.topic.as_deref(), Some("customer.notify"));
    assert_eq!(first.body["job_hash"], "h1");
    assert_eq!(first.body["card"]["title"], "Notify customer");
}

#[test]
fn gateway_events_are_mirrored_once() {
    let fixture = Fixture::new();
    let event = |seq: u64| {
        json!({
            "seq": seq,
            "event_type": "approval",
            "job_id": format!("job-{seq}"),
            "tenant_id": "t",
        })
    };
    assert_eq!(
        fixture
            .ledger
            .mirror_gateway_events(&[event(1), event(2)])
            .expect("mirror"),
        2
    );
    assert_eq!(
        fixture
            .ledger
            .mirror_gateway_events(&[event(2), event(3)])
            .expect("mirror"),
        1
    );
    assert_eq!(
        fixture
            .reopen()
            .mirror_gateway_events(&[event(1)])
            .expect("mirror"),
        0
    );
    let page = fixture
        .ledger
        .query(&Query {
            job_id: Some("job-3".into()),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].kind, EntryKind::GatewayAudit);
    assert_eq!(fixture.ledger.entry_count().expect("count"), 3);
}

#[test]
fn a_core_card_is_recorded_whole() {
    let fixture = Fixture::new();
    let card = ApprovalCard {
        job_id: "job-7".into(),
        title: "Delete prod bucket".into(),
        topic: "infra.resource.delete".into(),
        policy_snapshot: "snap-9".into(),
        job_hash: "abc".into(),
        risk_tags: vec!["prod".into(), "write".into()],
        ..ApprovalCard::default()
    };
    let sighting = ItemSighting::from_card(&card).expect("sighting");
    assert!(fixture.ledger.mark_seen(&sighting).expect("mark"));
    let entry = fixture.ledger.entry(1).expect("entry");
    assert_eq!(entry.topic.as_deref(), Some("infra.resource.delete"));
    assert_eq!(entry.body["policy_snapshot"], "snap-9");
    assert_eq!(entry.body["card"]["title"], "Delete prod bucket");
    assert_eq!(entry.body["card"]["risk_tags"][1], "write");
    assert!(fixture.ledger.is_seen("job-7", "abc").expect("seen"));
}
