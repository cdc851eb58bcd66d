//! Edge cases of both JobRequest readers, each checked against what protobuf-go does.

use super::*;

fn json(text: &str) -> Result<JobRequest, JobRequestError> {
    JobRequest::from_protojson(text.as_bytes(), Generation::V09)
}

fn json_err(text: &str) -> JobRequestError {
    match json(text) {
        Ok(req) => panic!("accepted {text}: {req:?}"),
        Err(e) => e,
    }
}

fn wire(bytes: &[u8]) -> Result<JobRequest, JobRequestError> {
    JobRequest::from_wire(bytes, Generation::V09)
}

#[test]
fn accepts_json_and_proto_names() {
    let camel = json(r#"{"jobId":"j","stepIndex":3,"meta":{"actorType":"ACTOR_TYPE_HUMAN"}}"#);
    let snake = json(r#"{"job_id":"j","step_index":3,"meta":{"actor_type":"ACTOR_TYPE_HUMAN"}}"#);
    assert_eq!(camel, snake);
    let req = camel.expect("parses");
    assert_eq!(req.job_id, "j");
    assert_eq!(req.step_index, 3);
    assert_eq!(req.meta.map(|m| m.actor_type), Some(ActorType::HUMAN));
}

#[test]
fn rejects_a_field_given_twice_under_any_names() {
    for text in [
        r#"{"jobId":"a","jobId":"b"}"#,
        r#"{"jobId":"a","job_id":"b"}"#,
        r#"{"job_id":null,"jobId":"b"}"#,
        r#"{"meta":{"packId":"a","pack_id":"a"}}"#,
    ] {
        assert_eq!(json_err(text).problem, Problem::DuplicateField, "{text}");
    }
    let e = json_err(r#"{"meta":{"packId":"a","pack_id":"a"}}"#);
    assert_eq!(e.path, "meta.packId");
    assert_eq!(e.code(), "jobrequest_duplicate_field");
}

#[test]
fn rejects_duplicate_map_keys() {
    let e = json_err(r#"{"labels":{"k":"1","k":"2"}}"#);
    assert_eq!(
        (e.path.as_str(), e.problem),
        (r#"labels["k"]"#, Problem::DuplicateMapKey)
    );
    // Equal after unescaping is equal.
    let e = json_err(r#"{"env":{"k":"1","\u006b":"2"}}"#);
    assert_eq!(e.problem, Problem::DuplicateMapKey);
}

#[test]
fn reads_integers_in_every_notation_go_accepts() {
    let req = json(r#"{"stepIndex":1e3,"budget":{"maxInputTokens":"8000","maxOutputTokens":5.0,"maxTotalTokens":"-1e2","deadlineMs":"9223372036854775807"}}"#)
        .expect("parses");
    assert_eq!(req.step_index, 1000);
    let budget = req.budget.expect("budget present");
    assert_eq!(
        (
            budget.max_input_tokens,
            budget.max_output_tokens,
            budget.max_total_tokens,
            budget.deadline_ms
        ),
        (8000, 5, -100, i64::MAX)
    );
    assert_eq!(json(r#"{"stepIndex":"-7"}"#).map(|r| r.step_index), Ok(-7));
    assert_eq!(
        json(r#"{"stepIndex":-2147483648}"#).map(|r| r.step_index),
        Ok(i32::MIN)
    );
    // The token `1e` before a delimiter is a number to Go, and an integral one.
    assert_eq!(json(r#"{"stepIndex":1e}"#).map(|r| r.step_index), Ok(1));
}

#[test]
fn rejects_integers_go_rejects() {
    for value in [
        "2147483648",
        "-2147483649",
        "1.5",
        "\"1.5\"",
        "\"\"",
        "\" 1\"",
        "\"1 \"",
        "\"1 2\"",
        "\"0x10\"",
        "\"abc\"",
        "true",
        "[]",
        "{}",
        "1e+",
    ] {
        let e = json_err(&format!(r#"{{"stepIndex":{value}}}"#));
        assert_eq!(e.path, "stepIndex", "{value}");
    }
    let e = json_err(r#"{"budget":{"deadlineMs":"9223372036854775808"}}"#);
    assert_eq!(e.path, "budget.deadlineMs");
    assert_eq!(e.code(), "jobrequest_invalid_value");
}

#[test]
fn reads_enums_by_name_or_any_int32() {
    assert_eq!(
        json(r#"{"priority":"JOB_PRIORITY_BATCH"}"#).map(|r| r.priority),
        Ok(JobPriority::BATCH)
    );
    assert_eq!(
        json(r#"{"priority":3}"#).map(|r| r.priority),
        Ok(JobPriority::CRITICAL)
    );
    assert_eq!(
        json(r#"{"priority":7}"#).map(|r| r.priority),
        Ok(JobPriority(7))
    );
    assert_eq!(
        json(r#"{"priority":-1.0e0}"#).map(|r| r.priority),
        Ok(JobPriority(-1))
    );
    for value in [
        r#""3""#,
        r#""job_priority_batch""#,
        r#""BATCH""#,
        "2147483648",
        "true",
        "1.5",
    ] {
        let e = json_err(&format!(r#"{{"priority":{value}}}"#));
        assert_eq!(e.path, "priority", "{value}");
    }
    let e = json_err(r#"{"meta":{"actorType":"ROBOT"}}"#);
    assert_eq!(e.path, "meta.actorType");
    assert!(e.to_string().contains("meta.actorType"), "{e}");
}

#[test]
fn null_means_not_set_but_not_inside_maps_and_lists() {
    let req = json(
        r#"{"jobId":null,"priority":null,"env":null,"stepIndex":null,"contextHints":null,"budget":null,"labels":null,"meta":null}"#,
    );
    assert_eq!(req, Ok(JobRequest::default()));
    let req = json(r#"{"meta":{"riskTags":null,"labels":null}}"#).expect("parses");
    assert_eq!(req.meta, Some(JobMetadata::default()));
    assert_eq!(json_err(r#"{"labels":{"k":null}}"#).path, r#"labels["k"]"#);
    assert_eq!(
        json_err(r#"{"contextHints":{"tags":["a",null]}}"#).path,
        "contextHints.tags[1]"
    );
    assert!(json("null").is_err());
}

#[test]
fn empty_messages_are_present() {
    let req = json(r#"{"contextHints":{},"budget":{},"meta":{}}"#).expect("parses");
    assert_eq!(req.context_hints, Some(ContextHints::default()));
    assert_eq!(req.budget, Some(Budget::default()));
    assert_eq!(req.meta, Some(JobMetadata::default()));
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (r#"{"jobId":1}"#, "jobId"),
        (r#"{"labels":[]}"#, "labels"),
        (r#"{"labels":{"k":1}}"#, r#"labels["k"]"#),
        (r#"{"labels":{"a\"b":true}}"#, r#"labels["a\"b"]"#),
        (r#"{"meta":{"actorType":{}}}"#, "meta.actorType"),
        (r#"{"meta":{"requires":"git"}}"#, "meta.requires"),
        (r#"{"meta":{"riskTags":["a",2]}}"#, "meta.riskTags[1]"),
        (
            r#"{"contextHints":{"allowRetrieval":"true"}}"#,
            "contextHints.allowRetrieval",
        ),
        (
            r#"{"contextHints":{"allowRetrieval":1}}"#,
            "contextHints.allowRetrieval",
        ),
        (r#"{"budget":[]}"#, "budget"),
    ];
    for (text, path) in cases {
        let e = json_err(text);
        assert_eq!(e.path, path, "{text}");
        assert!(
            matches!(e.problem, Problem::InvalidValue { .. }),
            "{text}: {e}"
        );
        assert!(e.to_string().contains(path), "{e}");
    }
}

#[test]
fn unknown_fields_are_errors() {
    let e = json_err(r#"{"jobId":"a","compensation":{}}"#);
    assert_eq!(
        (e.path.as_str(), e.code()),
        ("compensation", "jobrequest_unknown_field")
    );
    assert_eq!(json_err(r#"{"meta":{"tenant":"x"}}"#).path, "meta.tenant");
    // Names are case-sensitive and not normalised.
    assert_eq!(json_err(r#"{"JobId":"a"}"#).path, "JobId");
    assert_eq!(json_err(r#"{"job-id":"a"}"#).path, "job-id");
}

#[test]
fn rejects_malformed_json() {
    for text in [
        "",
        " ",
        "[]",
        r#""jobId""#,
        "{",
        r#"{"jobId":"a",}"#,
        r#"{"jobId":"a"} {}"#,
        r#"{"jobId":"a"}x"#,
        r#"{"jobId" "a"}"#,
        r#"{jobId:"a"}"#,
        r#"{"jobId":'a'}"#,
        r#"{"contextHints":{"tags":["a",]}}"#,
        r#"{"contextHints":{"tags":[,"a"]}}"#,
        r#"{"jobId":"\ud800"}"#,
        r#"{"jobId":"a	b"}"#,
        "\u{feff}{}",
    ] {
        assert!(json(text).is_err(), "{text:?}");
    }
    assert!(JobRequest::from_protojson(b"{\"jobId\":\"\xc3\x28\"}", Generation::V09).is_err());
    assert_eq!(json_err("{").code(), "jobrequest_json_syntax");
    // Whitespace around tokens is fine.
    assert_eq!(
        json(" \r\n\t{ \"jobId\" : \"a\" } \n").map(|r| r.job_id),
        Ok("a".into())
    );
}

#[test]
fn protojson_output_is_go_shaped() {
    let req = JobRequest {
        job_id: "j".into(),
        priority: JobPriority(9),
        step_index: -3,
        budget: Some(Budget {
            deadline_ms: 300_000,
            ..Budget::default()
        }),
        meta: Some(JobMetadata {
            actor_type: ActorType::SERVICE,
            ..JobMetadata::default()
        }),
        ..JobRequest::default()
    };
    assert_eq!(
        req.to_protojson(),
        r#"{"jobId":"j","priority":9,"stepIndex":-3,"budget":{"deadlineMs":"300000"},"meta":{"actorType":"ACTOR_TYPE_SERVICE"}}"#
    );
    assert_eq!(JobRequest::default().to_protojson(), "{}");
}

#[test]
fn wire_keeps_unknown_fields_in_their_message() {
    // meta { unknown 99: varint 1, actor_id "a" }, then top-level unknown 20: fixed32.
    let bytes = [
        0x82, 0x01, 0x06, 0x98, 0x06, 0x01, 0x12, 0x01, b'a', //
        0xa5, 0x01, 1, 2, 3, 4,
    ];
    let req = wire(&bytes).expect("decodes");
    let meta = req.meta.as_ref().expect("meta");
    assert_eq!(meta.actor_id, "a");
    assert_eq!(meta.unknown, [0x98, 0x06, 0x01]);
    assert_eq!(req.unknown, [0xa5, 0x01, 1, 2, 3, 4]);
    // Re-encoded: known fields first, unknown after, in each message.
    let expected = [
        0x82, 0x01, 0x06, 0x12, 0x01, b'a', 0x98, 0x06, 0x01, //
        0xa5, 0x01, 1, 2, 3, 4,
    ];
    assert_eq!(crate::jobhash::encode(&req), expected);
}

#[test]
fn wire_treats_a_known_number_with_the_wrong_type_as_unknown() {
    // job_id (field 1) as a varint.
    let req = wire(&[0x08, 0x05]).expect("decodes");
    assert_eq!(req.job_id, "");
    assert_eq!(req.unknown, [0x08, 0x05]);
}

#[test]
fn wire_reencodes_unknown_tags_minimally() {
    // Field 99 varint with a padded three-byte tag; the value bytes stay as given.
    let req = wire(&[0x98, 0x86, 0x00, 0x80, 0x00]).expect("decodes");
    assert_eq!(req.unknown, [0x98, 0x06, 0x80, 0x00]);
}

#[test]
fn wire_last_scalar_wins_and_messages_merge() {
    let bytes = [
        0x0a, 0x01, b'a', 0x0a, 0x01, b'b', // job_id "a" then "b"
        0x62, 0x02, 0x08, 0x05, // budget { max_input_tokens 5 }
        0x62, 0x02, 0x10, 0x06, // budget { max_output_tokens 6 }
        0x5a, 0x03, 0x22, 0x01, b'x', 0x5a, 0x02, 0x22, 0x00, // tags "x", then ""
    ];
    let req = wire(&bytes).expect("decodes");
    assert_eq!(req.job_id, "b");
    let budget = req.budget.expect("budget");
    assert_eq!((budget.max_input_tokens, budget.max_output_tokens), (5, 6));
    assert_eq!(
        req.context_hints.map(|h| h.tags),
        Some(vec!["x".into(), String::new()])
    );
}

#[test]
fn wire_map_entries() {
    let bytes = [
        0x7a, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'1', // labels k=1
        0x7a, 0x06, 0x12, 0x01, b'2', 0x0a, 0x01, b'k', // k=2, value first: later wins
        0x7a, 0x03, 0x12, 0x01, b'v', // no key: ""
        0x7a, 0x03, 0x0a, 0x01, b'e', // no value: ""
        0x7a, 0x05, 0x0a, 0x01, b'u', 0x18, 0x01, // unknown field inside: dropped
        0x7a, 0x05, 0x0a, 0x01, b'w', 0x10, 0x07, // value with wrong type: skipped
    ];
    let req = wire(&bytes).expect("decodes");
    let got: Vec<(&str, &str)> = req
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [("", "v"), ("e", ""), ("k", "2"), ("u", ""), ("w", "")]
    );
    assert!(req.unknown.is_empty());
}

#[test]
fn wire_truncates_int32_and_reads_bools_as_nonzero() {
    // step_index = varint 2^32 + 5, allow_retrieval = varint 2.
    let bytes = [0x48, 0x85, 0x80, 0x80, 0x80, 0x10, 0x5a, 0x02, 0x18, 0x02];
    let req = wire(&bytes).expect("decodes");
    assert_eq!(req.step_index, 5);
    assert_eq!(req.context_hints.map(|h| h.allow_retrieval), Some(true));
}

#[test]
fn wire_skips_unknown_groups() {
    // Group 20 holding a varint and a nested group 21, then job_id.
    let bytes = [
        0xa3, 0x01, 0x08, 0x01, 0xab, 0x01, 0xac, 0x01, 0xa4, 0x01, 0x0a, 0x01, b'j',
    ];
    let req = wire(&bytes).expect("decodes");
    assert_eq!(req.job_id, "j");
    assert_eq!(req.unknown, bytes[..10]);
}

#[test]
fn wire_rejects_what_protobuf_go_rejects() {
    let cases: &[(&str, &[u8])] = &[
        ("truncated tag", &[0x80]),
        ("truncated length", &[0x0a]),
        ("length past end", &[0x0a, 0x05, b'a']),
        ("field number 0", &[0x00, 0x00]),
        (
            "field number above 2^29-1",
            &[0x80, 0x80, 0x80, 0x80, 0x10, 0x00],
        ),
        ("wire type 6", &[0x0e]),
        ("wire type 7", &[0x0f]),
        ("end group alone", &[0x0c]),
        ("unterminated group", &[0xa3, 0x01]),
        ("mismatched end group", &[0xa3, 0x01, 0xac, 0x01]),
        (
            "varint overflow",
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
            ],
        ),
        (
            "eleven-byte varint",
            &[
                0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ],
        ),
        ("bad map entry", &[0x7a, 0x02, 0x0a, 0x05]),
        ("map entry end group", &[0x7a, 0x01, 0x0c]),
        ("nested message truncated", &[0x82, 0x01, 0x02, 0x0a, 0x05]),
    ];
    for (what, bytes) in cases {
        let e = wire(bytes).expect_err(what);
        assert_eq!(e.code(), "jobrequest_invalid_wire", "{what}: {e}");
    }
    // The tenth varint byte may carry bit 63.
    let max = [
        0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(wire(&max).is_ok());
}

#[test]
fn wire_rejects_invalid_utf8_everywhere() {
    let cases: &[(&[u8], &str)] = &[
        (&[0x0a, 0x01, 0xff], "jobId"),
        (&[0x32, 0x03, 0x0a, 0x01, 0xff], "env"),
        (&[0x7a, 0x03, 0x12, 0x01, 0xc0], "labels"),
        (&[0x5a, 0x03, 0x22, 0x01, 0xff], "contextHints.tags"),
        (
            &[0x82, 0x01, 0x05, 0x4a, 0x03, 0x12, 0x01, 0xff],
            "meta.labels",
        ),
        // A UTF-8-encoded surrogate is not UTF-8 either.
        (&[0x12, 0x03, 0xed, 0xa0, 0x80], "topic"),
    ];
    for (bytes, path) in cases {
        let e = wire(bytes).expect_err(path);
        assert_eq!(
            (e.path.as_str(), &e.problem),
            (*path, &Problem::InvalidUtf8)
        );
        assert!(
            e.to_string()
                .contains("string field contains invalid UTF-8"),
            "{e}"
        );
    }
    // Unknown fields are not checked.
    assert!(wire(&[0xa2, 0x01, 0x01, 0xff]).is_ok());
}

#[test]
fn wire_limits_group_nesting_like_protowire() {
    let nested = |depth: usize| {
        let mut bytes = Vec::new();
        bytes.extend(std::iter::repeat_n([0xa3, 0x01], depth).flatten());
        bytes.extend(std::iter::repeat_n([0xa4, 0x01], depth).flatten());
        bytes
    };
    assert!(wire(&nested(10_001)).is_ok());
    assert!(wire(&nested(10_002)).is_err());
}

#[test]
fn compensation_is_known_only_to_the_new_generation() {
    let text = br#"{"jobId":"j","compensation":null}"#;
    let v09 = JobRequest::from_protojson(text, Generation::V09).expect_err("v0.9 refuses");
    assert_eq!(v09.problem, Problem::UnknownField);
    assert_eq!(v09.path, "compensation");
    let new = JobRequest::from_protojson(text, Generation::New).expect("new reads null");
    assert_eq!(new.compensation, None);
    let full = br#"{"compensation":{"topic":"t","env":{"A":"1"},"meta":{"packId":"p"}}}"#;
    let new = JobRequest::from_protojson(full, Generation::New).expect("parses");
    let comp = new.compensation.expect("present");
    assert_eq!(comp.topic, "t");
    assert_eq!(comp.meta.map(|m| m.pack_id).as_deref(), Some("p"));
    // In binary, field 17 is a message to the new generation and raw bytes to v0.9.
    let wire_bytes = [0x8a, 0x01, 0x03, 0x0a, 0x01, b't'];
    let v09 = JobRequest::from_wire(&wire_bytes, Generation::V09).expect("kept unknown");
    assert_eq!(v09.unknown, wire_bytes);
    let new = JobRequest::from_wire(&wire_bytes, Generation::New).expect("decoded");
    assert!(new.unknown.is_empty());
    assert_eq!(new.compensation.map(|c| c.topic).as_deref(), Some("t"));
}
