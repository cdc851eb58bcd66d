//! Listing a queue longer than one page on v0.9, which lists oldest first with an upper-bound
//! cursor (the proxy's v0.9 mode, `support/v09.rs`): newest first, never a duplicate, never
//! called complete while the gateway holds jobs it cannot list, and every job, listed or not,
//! shown and decided by id.

use std::collections::HashSet;

use countersign_client::{Decider, Settlement};
use countersign_core::approval::ApprovalItem;

use crate::support::proxy::Proxy;
use crate::support::{burst, client_for, fast_http, fast_retry, Harness, ALICE};

const PENDING: usize = 520;

fn newest_first(items: &[ApprovalItem]) -> bool {
    items
        .windows(2)
        .all(|w| w[0].job.updated_at >= w[1].job.updated_at)
}

#[tokio::test]
async fn v09_queue_past_one_page_is_listed_once_newest_first_and_every_job_can_be_decided() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, true).await;
    let jobs = burst(&h, PENDING).await;
    let client = client_for(&proxy.url(), ALICE, fast_http());

    let list = client.pending_list(10_000).await.expect("listed");
    let ids: HashSet<&str> = list.items.iter().map(|i| i.job.id.as_str()).collect();
    assert_eq!(ids.len(), list.items.len(), "never a duplicate");
    assert_eq!(list.items.len(), 500, "v0.9 reaches only its oldest 500");
    assert!(newest_first(&list.items));
    assert!(!list.complete, "20 pending jobs are not listed");
    assert!(list.newer_unlisted);
    let unlisted: Vec<&String> = jobs.iter().filter(|j| !ids.contains(j.as_str())).collect();
    assert_eq!(unlisted.len(), PENDING - 500);
    // They are the newest: every unlisted job is newer than every listed one.
    let newest_listed = list.items[0].job.updated_at.expect("time");
    for job in &unlisted {
        let doc = h.job(job).await;
        assert!(
            doc["updated_at"].as_i64().expect("time") > newest_listed,
            "{job}"
        );
    }

    // A job the list cannot reach is shown and approved by id (from the job record and its
    // decisions), and so is one at the end of the list.
    let decider = Decider::new(client.clone(), h.ledger("alice"), fast_retry());
    for job in [unlisted[0].as_str(), list.items[499].job.id.as_str()] {
        let review = client.review(job).await.expect("shown").expect("pending");
        assert_eq!(review.item.job.id, job);
        assert!(!review.item.job_hash.is_empty(), "{job}");
        let report = decider
            .approve(&review.seen(), "checked", "")
            .await
            .expect("approved");
        assert_eq!(report.settlement, Settlement::Applied, "{job}");
        assert!(report.verdict.is_some_and(|v| v.is_verified()), "{job}");
    }

    // The watch polls the same list: it holds what can be listed, and says it is incomplete
    // by never calling the missing ones resolved.
    let again = client.pending_list(10_000).await.expect("listed");
    assert_eq!(again.items.len(), 500);
    assert!(newest_first(&again.items));
}

/// One page or less: v0.9's ascending page is shown newest first and is complete.
#[tokio::test]
async fn v09_queue_within_one_page_is_complete_and_newest_first() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr, true).await;
    let jobs = burst(&h, 30).await;
    let client = client_for(&proxy.url(), ALICE, fast_http());
    let list = client.pending_list(100).await.expect("listed");
    assert_eq!(list.items.len(), jobs.len());
    assert!(list.complete && !list.newer_unlisted);
    assert!(newest_first(&list.items));
    assert!(list.items[0].job.updated_at > list.items[29].job.updated_at);
}

/// A page past the client's byte cap is asked for again with a smaller `limit`, from the same
/// cursor, until it fits: every item is listed once, and the list is complete.
#[tokio::test]
async fn a_page_too_large_is_fetched_again_shorter() {
    let h = Harness::start().await;
    let big = "x".repeat(100_000);
    let mut jobs = Vec::new();
    for i in 0..6 {
        jobs.push(
            crate::support::submit_to(
                &h.http,
                &h.url(),
                crate::support::AGENT,
                serde_json::json!({"n": i, "blob": big}),
            )
            .await,
        );
    }
    // Two items of about 100 KB fit, three do not: the client comes down to pages of one.
    let http = countersign_client::HttpConfig {
        list_page_bytes: 250_000,
        ..fast_http()
    };
    let client = client_for(&h.url(), ALICE, http);
    let list = client
        .pending_list(100)
        .await
        .expect("listed in shorter pages");
    assert!(list.complete);
    let mut ids: Vec<&str> = list.items.iter().map(|i| i.job.id.as_str()).collect();
    ids.sort_unstable();
    let mut want: Vec<&str> = jobs.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(newest_first(&list.items));
    // One page asked for directly is still refused as too large, by name.
    match client.list_approvals(None, 500, false).await {
        Err(error) => assert_eq!(error.code(), "gateway_protocol"),
        Ok(page) => panic!(
            "a page of {} items fit; list had {}",
            page.items.len(),
            list.items.len()
        ),
    }
}
