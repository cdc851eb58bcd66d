//! The pending replayer: approved jobs that did not reach dispatch before a restart are found
//! at start-up and dispatched exactly once; a job whose delivery a crash cut short is
//! delivered again and its side effect, keyed on `approval_ref:job_hash`, runs once.

use serde_json::{json, Value};

use crate::common::{Harness, BOB};
use crate::*;

async fn redeliver(h: &Harness, id: &str) -> (u16, Value) {
    h.post(
        BOB,
        "/api/v1/admin/workers/redeliver",
        json!({ "job_id": id }),
    )
    .await
}

#[tokio::test]
async fn approved_but_undispatched_jobs_are_dispatched_once_after_a_restart() {
    let h = fast_harness().await;
    engine(&h, "down").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(approved_payment(&h).await);
    }
    for id in &ids {
        wait_for(&h, id, "retried", |j| j["attempts"].as_u64() >= Some(1)).await;
        assert_eq!(dispatched(&h, id).await, 0);
    }
    // Queued by their approvals: the replayer finds nothing the dispatcher does not hold.
    let replayed = h.running.gateway().replay_pending().await.expect("replay");
    assert_eq!(replayed, 0);
    // The new gateway's engine is healthy; nothing else announces these jobs to it.
    let h = h.restart_configured(|_| {}, fast).await;
    for id in &ids {
        let done = wait_state(&h, id, "SUCCEEDED").await;
        assert_eq!(done["approval_by"], "alice", "{done}");
        assert_eq!(dispatched(&h, id).await, 1);
    }
    assert_eq!(metric(&h, "countersign_dispatch_replays_total").await, 3.0);
    // Replaying again finds nothing in flight, and dispatches nothing twice.
    let again = h.running.gateway().replay_pending().await.expect("replay");
    assert_eq!(again, 0);
    for id in &ids {
        let (s, body) = redeliver(&h, id).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            (body["executed"].as_bool(), body["side_effects"].as_i64()),
            (Some(false), Some(1))
        );
    }

    // A crash between dispatch and the worker's end: the job is delivered again on restart,
    // and its side effect does not run a second time.
    let cut = ids[0].clone();
    let stuck = cut.clone();
    let h = h
        .restart_configured(
            move |db| {
                db.execute("UPDATE jobs SET state = 'RUNNING' WHERE id = ?1", [&stuck])
                    .expect("rewind");
            },
            fast,
        )
        .await;
    wait_state(&h, &cut, "SUCCEEDED").await;
    assert_eq!(dispatched(&h, &cut).await, 1);
    let (_, body) = redeliver(&h, &cut).await;
    assert_eq!(body["side_effects"], 1, "{body}");
    assert_eq!(
        body["key"],
        format!(
            "{cut}:{}",
            job(&h, &cut).await["safety_job_hash"]
                .as_str()
                .expect("hash")
        )
    );
}

#[tokio::test]
async fn a_job_delivered_twice_executes_once() {
    let h = fast_harness().await;
    let id = approved_payment(&h).await;
    wait_state(&h, &id, "SUCCEEDED").await;
    metric_reaches(&h, "countersign_worker_side_effects_total", 1.0).await;
    for _ in 0..2 {
        let (s, body) = redeliver(&h, &id).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body["executed"], false, "{body}");
        assert_eq!(body["side_effects"], 1, "{body}");
    }
    assert_eq!(metric(&h, "countersign_worker_deliveries_total").await, 3.0);
    assert_eq!(
        metric(&h, "countersign_worker_side_effects_total").await,
        1.0
    );
    assert_eq!(dispatched(&h, &id).await, 1);
    // Never dispatched, or another tenant's: nothing to deliver.
    let pending = h.payment().await;
    assert_eq!(redeliver(&h, &pending).await.0, 404);
    let (s, _) = h
        .post(
            crate::common::ACME_ADMIN,
            "/api/v1/admin/workers/redeliver",
            json!({ "job_id": id }),
        )
        .await;
    assert_eq!(s, 404);
}
