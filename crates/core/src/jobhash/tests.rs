//! Unit tests of the encoder and the stripping rules; the vectors are in `tests/`.

use super::*;
use crate::jobrequest::{ActorType, JobPriority};

fn labels(keys: &[&str]) -> BTreeMap<String, String> {
    keys.iter()
        .map(|k| (k.to_string(), "v".to_string()))
        .collect()
}

#[test]
fn empty_request_hashes_the_empty_string() {
    let req = JobRequest::default();
    assert!(canonical_bytes(&req, Generation::V09).is_empty());
    assert_eq!(
        job_hash(&req, Generation::V09),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn ignored_labels_follow_go_rules() {
    for key in [
        "approval_",
        "approval_x",
        "APPROVAL_BY",
        "aPpRoVaL_note",
        "cordum.bus_msg_id",
    ] {
        assert!(is_ignored_label(key, Generation::V09), "{key}");
    }
    for key in [
        "approval",
        "approvalgranted",
        "approval-id",
        " approval_x",
        "x_approval_y",
        "Cordum.Bus_Msg_Id",
        "cordum.bus_msg_id ",
        "CORDUM_EFFECTIVE_CONFIG",
        "appr\u{f6}val_x",
    ] {
        assert!(!is_ignored_label(key, Generation::V09), "{key}");
    }
    assert!(is_ignored_env("CORDUM_EFFECTIVE_CONFIG"));
    assert!(!is_ignored_env("cordum_effective_config"));
    assert!(!is_ignored_env("approval_x"));
}

#[test]
fn stripping_touches_only_top_level_labels_and_env() {
    let keys = [
        "approval_granted",
        "cordum.bus_msg_id",
        "CORDUM_EFFECTIVE_CONFIG",
        "keep",
    ];
    let req = JobRequest {
        labels: labels(&keys),
        env: labels(&keys),
        meta: Some(JobMetadata {
            labels: labels(&keys),
            ..JobMetadata::default()
        }),
        ..JobRequest::default()
    };
    let mut expected = req.clone();
    expected.labels = labels(&["CORDUM_EFFECTIVE_CONFIG", "keep"]);
    expected.env = labels(&["approval_granted", "cordum.bus_msg_id", "keep"]);
    assert_eq!(canonical_bytes(&req, Generation::V09), encode(&expected));
    assert_eq!(
        job_hash(&req, Generation::V09),
        job_hash(&expected, Generation::V09)
    );
}

#[test]
fn encodes_go_deterministic_details() {
    let req = JobRequest {
        priority: JobPriority(-1),
        step_index: i32::MIN,
        env: [(String::new(), String::new())].into_iter().collect(),
        context_hints: Some(ContextHints::default()),
        budget: Some(Budget {
            deadline_ms: -2,
            ..Budget::default()
        }),
        meta: Some(JobMetadata {
            actor_type: ActorType::SERVICE,
            risk_tags: vec![String::new(), "a".into(), "a".into()],
            ..JobMetadata::default()
        }),
        unknown: vec![0x98, 0x06, 0x2a],
        ..JobRequest::default()
    };
    let mut want = vec![0x18];
    want.extend([0xff; 9]);
    want.push(0x01);
    want.extend([0x32, 0x04, 0x0a, 0x00, 0x12, 0x00]);
    want.extend([
        0x48, 0x80, 0x80, 0x80, 0x80, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    want.extend([0x5a, 0x00]);
    want.extend([0x62, 0x0b, 0x20]);
    want.extend([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    want.extend([
        0x82, 0x01, 0x0a, 0x18, 0x02, 0x32, 0x00, 0x32, 0x01, b'a', 0x32, 0x01, b'a',
    ]);
    want.extend([0x98, 0x06, 0x2a]);
    assert_eq!(encode(&req), want);
}

#[test]
fn varint_lengths_cross_byte_boundaries() {
    for len in [0usize, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
        let req = JobRequest {
            context_ptr: "x".repeat(len),
            ..JobRequest::default()
        };
        let bytes = encode(&req);
        assert_eq!(bytes.len(), bytes.capacity(), "pre-sized exactly");
        let decoded = JobRequest::from_wire(&bytes, Generation::V09);
        assert_eq!(decoded.as_ref(), Ok(&req), "length {len}");
    }
}

#[test]
fn only_the_new_generation_strips_the_policy_attachment_label() {
    assert!(is_ignored_label("policy.attachment_id", Generation::New));
    assert!(!is_ignored_label("policy.attachment_id", Generation::V09));
    for key in [
        "Policy.Attachment_Id",
        "policy.attachment_id ",
        "policy.attachment_id.v2",
        "policy_attachment_id",
    ] {
        assert!(!is_ignored_label(key, Generation::New), "{key}");
    }
    assert!(is_ignored_label(
        "approval_policy.attachment_id",
        Generation::V09
    ));
    let req = JobRequest {
        job_id: "j".into(),
        labels: labels(&["policy.attachment_id"]),
        ..JobRequest::default()
    };
    let bare = JobRequest {
        job_id: "j".into(),
        ..JobRequest::default()
    };
    assert_eq!(
        job_hash(&req, Generation::New),
        job_hash(&bare, Generation::New)
    );
    assert_ne!(
        job_hash(&req, Generation::V09),
        job_hash(&bare, Generation::V09)
    );
}

#[test]
fn the_new_generation_drops_unknown_fields_at_every_level() {
    let req = JobRequest {
        job_id: "j".into(),
        meta: Some(JobMetadata {
            unknown: vec![0x98, 0x06, 0x2a],
            ..JobMetadata::default()
        }),
        compensation: Some(Compensation {
            topic: "t".into(),
            unknown: vec![0x98, 0x06, 0x01],
            ..Compensation::default()
        }),
        unknown: vec![0x98, 0x06, 0x2a],
        ..JobRequest::default()
    };
    let mut want = vec![0x0a, 0x01, b'j', 0x82, 0x01, 0x00];
    want.extend([0x8a, 0x01, 0x03, 0x0a, 0x01, b't']);
    assert_eq!(canonical_bytes(&req, Generation::New), want);
    assert_eq!(encode(&req).len(), want.len() + 9, "encode keeps them");
}
