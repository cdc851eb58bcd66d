//! The request the job-hash benchmarks measure, shared by the criterion bench and the
//! instruction-count example so both measure the same bytes.

use std::collections::BTreeMap;

use countersign_core::jobrequest::{
    ActorType, Budget, ContextHints, JobMetadata, JobPriority, JobRequest,
};

fn entries(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A gateway-like approved request whose `context_ptr` carries about `size` bytes.
pub fn request(size: usize) -> JobRequest {
    let mut payload = String::with_capacity(size + 16);
    let mut i = 0;
    while payload.len() < size {
        payload.push_str(&format!("payload-{i};"));
        i += 1;
    }
    payload.truncate(size);
    JobRequest {
        job_id: "0c9f8a8e-3b1d-4d8e-9a55-0e0b3c2f6d71".into(),
        topic: "job.repo.write".into(),
        priority: JobPriority::INTERACTIVE,
        context_ptr: payload,
        env: entries(&[
            (
                "CORDUM_EFFECTIVE_CONFIG",
                r#"{"safety":{"deny_topics":["job.bad"]}}"#,
            ),
            ("LOCALE", "en"),
            ("tenant_id", "default"),
        ]),
        workflow_id: "wf-release".into(),
        step_index: 2,
        memory_id: "repo:cordum".into(),
        context_hints: Some(ContextHints {
            max_input_tokens: 8000,
            allow_retrieval: true,
            tags: vec!["code".into(), "logs".into()],
            ..ContextHints::default()
        }),
        budget: Some(Budget {
            max_input_tokens: 8000,
            max_output_tokens: 1024,
            deadline_ms: 300_000,
            ..Budget::default()
        }),
        tenant_id: "default".into(),
        principal_id: "alice".into(),
        labels: entries(&[
            ("approval_granted", "true"),
            ("approval_reason", "reviewed"),
            ("cordum.bus_msg_id", "approval:964f345e"),
            ("team", "core"),
        ]),
        meta: Some(JobMetadata {
            tenant_id: "default".into(),
            actor_id: "alice".into(),
            actor_type: ActorType::HUMAN,
            capability: "repo.write".into(),
            risk_tags: vec!["prod".into(), "write".into()],
            labels: entries(&[("team", "core")]),
            ..JobMetadata::default()
        }),
        ..JobRequest::default()
    }
}
