//! Item 7: unauthenticated callers cannot write to a tenant's audit chain. Auth failures go
//! to the bounded gateway-level log: paths cut, rows per source limited, total rows capped.

use reqwest::Method;

use crate::common::*;

async fn chain_length(h: &Harness) -> u64 {
    let (status, verify) = h.get(VIEWER, "/api/v1/audit/verify").await;
    assert_eq!(status, 200, "{verify}");
    verify["total_events"].as_u64().expect("total")
}

#[tokio::test]
async fn failures_never_enter_a_tenant_chain_and_are_bounded() {
    let h = Harness::start_with(|c| c.auth_limits.auth_log_per_source = 30).await;
    let before = chain_length(&h).await;
    let long_path = format!("/api/v1/jobs/{}", "a".repeat(60 * 1024));
    for _ in 0..60 {
        let resp = sent(
            h.http
                .get(h.url(&long_path))
                .header("X-Tenant-ID", "default")
                .header("X-API-Key", "wrong-key"),
        )
        .await;
        assert_eq!(resp.status(), 401);
    }
    // An authenticated caller claiming another tenant is refused and logged the same way.
    let resp = sent(
        h.keyed(Method::GET, ALICE, "/api/v1/approvals")
            .header("X-Tenant-ID", "acme"),
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(chain_length(&h).await, before, "the chain did not grow");

    let log = h.running.gateway().auth_failures(1000).await.expect("log");
    assert_eq!(log.len(), 30, "rows per source are limited");
    assert!(log.iter().all(|f| f.path.len() <= 256));
    assert!(log
        .iter()
        .all(|f| f.kind == "unauthorized" && f.claimed_tenant == "default"));
}

#[tokio::test]
async fn the_log_keeps_a_bounded_number_of_rows() {
    let h = Harness::start_with(|c| {
        c.auth_limits.auth_log_max_rows = 5;
        c.auth_limits.auth_log_per_source = 1000;
    })
    .await;
    for i in 0..20 {
        let (status, _) = h
            .get(&format!("bad-{i}"), &format!("/api/v1/approvals?n={i}"))
            .await;
        assert_eq!(status, 401);
    }
    let resp = sent(
        h.keyed(Method::GET, ALICE, "/api/v1/approvals")
            .header("X-Tenant-ID", "acme"),
    )
    .await;
    assert_eq!(resp.status(), 403);
    let log = h.running.gateway().auth_failures(1000).await.expect("log");
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].kind, "tenant_denied", "the newest is kept");
}
