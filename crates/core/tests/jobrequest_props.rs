//! Properties of the JobRequest readers and the job hash: no input makes them panic, and a
//! request survives protojson and binary round trips with its hash unchanged.

use std::collections::BTreeMap;

use countersign_core::jobhash::{canonical_bytes, encode, job_hash};
use countersign_core::jobrequest::{
    ActorType, Budget, ContextHints, Generation, JobMetadata, JobPriority, JobRequest,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z_.]{1,6}",
        vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..4)
}

fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    let key = prop_oneof![
        text(),
        Just("approval_x".into()),
        Just("cordum.bus_msg_id".into())
    ];
    btree_map(key, text(), 0..4)
}

fn enum_number() -> impl Strategy<Value = i32> {
    prop_oneof![0..4i32, any::<i32>()]
}

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Well-formed unknown fields whose numbers the message does not know.
fn unknown_fields(first_unknown: u32) -> impl Strategy<Value = Vec<u8>> {
    let field = (
        first_unknown..3000u32,
        0..4u8,
        any::<u64>(),
        vec(any::<u8>(), 0..5),
    );
    vec(field, 0..3).prop_map(|fields| {
        let mut out = Vec::new();
        for (number, kind, value, bytes) in fields {
            let wire_type = [0u8, 1, 2, 5][usize::from(kind)];
            varint((u64::from(number) << 3) | u64::from(wire_type), &mut out);
            match wire_type {
                0 => varint(value, &mut out),
                1 => out.extend(value.to_le_bytes()),
                2 => {
                    varint(bytes.len() as u64, &mut out);
                    out.extend(&bytes);
                }
                _ => out.extend(&value.to_le_bytes()[..4]),
            }
        }
        out
    })
}

fn no_unknown() -> impl Strategy<Value = Vec<u8>> {
    Just(Vec::new())
}

fn context_hints(unknown: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = ContextHints> {
    (
        any::<i32>(),
        any::<bool>(),
        any::<bool>(),
        strings(),
        unknown,
    )
        .prop_map(
            |(max_input_tokens, allow_summarization, allow_retrieval, tags, unknown)| {
                ContextHints {
                    max_input_tokens,
                    allow_summarization,
                    allow_retrieval,
                    tags,
                    unknown,
                }
            },
        )
}

fn budget(unknown: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Budget> {
    (
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        unknown,
    )
        .prop_map(
            |(max_input_tokens, max_output_tokens, max_total_tokens, deadline_ms, unknown)| {
                Budget {
                    max_input_tokens,
                    max_output_tokens,
                    max_total_tokens,
                    deadline_ms,
                    unknown,
                }
            },
        )
}

fn job_metadata(unknown: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = JobMetadata> {
    (
        (text(), text(), enum_number(), text(), text()),
        (strings(), strings(), text(), string_map(), unknown),
    )
        .prop_map(
            |(
                (tenant_id, actor_id, actor_type, idempotency_key, capability),
                (risk_tags, requires, pack_id, labels, unknown),
            )| JobMetadata {
                tenant_id,
                actor_id,
                actor_type: ActorType(actor_type),
                idempotency_key,
                capability,
                risk_tags,
                requires,
                pack_id,
                labels,
                unknown,
            },
        )
}

/// Any JobRequest; with `with_unknown`, unknown fields in every message too.
fn job_request(with_unknown: bool) -> BoxedStrategy<JobRequest> {
    let unknown = move |first: u32| {
        if with_unknown {
            unknown_fields(first).boxed()
        } else {
            no_unknown().boxed()
        }
    };
    (
        (text(), text(), enum_number(), text(), text(), string_map()),
        (text(), text(), any::<i32>(), text()),
        (
            option::of(context_hints(unknown(5))),
            option::of(budget(unknown(5))),
            option::of(job_metadata(unknown(10))),
        ),
        (text(), text(), string_map(), unknown(17)),
    )
        .prop_map(
            |(
                (job_id, topic, priority, context_ptr, adapter_id, env),
                (parent_job_id, workflow_id, step_index, memory_id),
                (context_hints, budget, meta),
                (tenant_id, principal_id, labels, unknown),
            )| JobRequest {
                job_id,
                topic,
                priority: JobPriority(priority),
                context_ptr,
                adapter_id,
                env,
                parent_job_id,
                workflow_id,
                step_index,
                memory_id,
                context_hints,
                budget,
                tenant_id,
                principal_id,
                labels,
                meta,
                compensation: None,
                unknown,
            },
        )
        .boxed()
}

/// A few single-byte insertions or overwrites, biased towards bytes that mean something in
/// JSON or in the wire format.
type Edit = (prop::sample::Index, u8, bool);

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![
        prop::sample::select(br#"{}[]",:-+.0123456789eEnulltrfas\u"#.to_vec()),
        prop::sample::select(vec![0x00, 0x01, 0x02, 0x0a, 0x0c, 0x0e, 0x7f, 0x80, 0xff]),
        any::<u8>(),
    ];
    vec((any::<prop::sample::Index>(), byte, any::<bool>()), 1..4)
}

fn mutate(mut bytes: Vec<u8>, edits: Vec<Edit>) -> Vec<u8> {
    for (at, byte, insert) in edits {
        let i = at.index(bytes.len() + 1);
        if insert || i == bytes.len() {
            bytes.insert(i, byte);
        } else {
            bytes[i] = byte;
        }
    }
    bytes
}

/// Whatever the wire reader accepts, it reads back identically from its own encoding.
fn check_wire_fixpoint(req: &JobRequest) -> Result<(), TestCaseError> {
    let again = JobRequest::from_wire(&encode(req), Generation::V09);
    prop_assert_eq!(again.as_ref(), Ok(req));
    prop_assert_eq!(job_hash(req, Generation::V09).len(), 64);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn protojson_reader_never_panics_on_bytes(bytes in vec(any::<u8>(), 0..256)) {
        let _ = JobRequest::from_protojson(&bytes, Generation::V09);
    }

    #[test]
    fn protojson_reader_never_panics_on_json_like_text(
        text in r#"[{}\[\]",:0-9a-zA-Z_.+\- \\]{0,80}"#,
    ) {
        let _ = JobRequest::from_protojson(text.as_bytes(), Generation::V09);
    }

    /// Breaking valid protojson in a few places reaches far deeper into the reader than
    /// random text; whatever still parses must behave like any parsed request.
    #[test]
    fn protojson_reader_survives_mutated_documents(
        req in job_request(false),
        edits in edits(),
    ) {
        let bytes = mutate(req.to_protojson().into_bytes(), edits);
        if let Ok(parsed) = JobRequest::from_protojson(&bytes, Generation::V09) {
            let again = JobRequest::from_protojson(parsed.to_protojson().as_bytes(), Generation::V09);
            prop_assert_eq!(again.as_ref(), Ok(&parsed));
            check_wire_fixpoint(&parsed)?;
        }
    }

    /// Random bytes rarely get past the first tag; damaged real encodings do.
    #[test]
    fn wire_reader_survives_mutated_encodings(req in job_request(true), edits in edits()) {
        let bytes = mutate(encode(&req), edits);
        if let Ok(parsed) = JobRequest::from_wire(&bytes, Generation::V09) {
            check_wire_fixpoint(&parsed)?;
        }
    }

    #[test]
    fn wire_reader_never_panics_and_reaches_a_fixpoint(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(req) = JobRequest::from_wire(&bytes, Generation::V09) {
            check_wire_fixpoint(&req)?;
        }
    }

    #[test]
    fn protojson_round_trip_keeps_request_and_hash(req in job_request(false)) {
        let json = req.to_protojson();
        let back = JobRequest::from_protojson(json.as_bytes(), Generation::V09);
        prop_assert_eq!(back.as_ref(), Ok(&req), "{}", json);
        if let Ok(back) = back {
            prop_assert_eq!(job_hash(&back, Generation::V09), job_hash(&req, Generation::V09));
        }
    }

    #[test]
    fn wire_round_trip_keeps_request_and_hash(req in job_request(true)) {
        let back = JobRequest::from_wire(&encode(&req), Generation::V09);
        prop_assert_eq!(back.as_ref(), Ok(&req));
        if let Ok(back) = back {
            prop_assert_eq!(job_hash(&back, Generation::V09), job_hash(&req, Generation::V09));
            prop_assert_eq!(canonical_bytes(&back, Generation::V09), canonical_bytes(&req, Generation::V09));
        }
    }
}
