//! Item 11: labels the gateway or Cordum write themselves are refused at submit, and only the
//! workflow engine marks a job as a workflow gate.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn reserved_labels_are_refused_and_gate_type_is_the_workflow_roles() {
    let h = Harness::start().await;
    for key in [AGENT, WORKFLOW, BOB] {
        for label in [
            "approval_granted",
            "APPROVAL_snapshot",
            "approval_",
            "cordum.bus_msg_id",
            "Cordum.anything",
        ] {
            let got = h
                .submit(key, json!({"prompt": "x", "labels": {label: "true"}}))
                .await;
            let message = format!("label {label:?} is reserved for the gateway");
            assert_error(&got, 400, None, &message);
        }
    }
    let gate = json!({"prompt": "x", "labels": {"gate_type": "workflow_approval"}});
    assert_error(
        &h.submit(AGENT, gate.clone()).await,
        400,
        None,
        "label \"gate_type\" is reserved for the gateway",
    );
    let (status, body) = h.submit(WORKFLOW, gate).await;
    assert_eq!(status, 200, "{body}");
    // The workflow role submits, nothing more.
    assert_eq!(h.get(WORKFLOW, "/api/v1/approvals").await.0, 403);
}
