use serde_json::json;

use super::*;

#[test]
fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
    let a: Value =
        serde_json::from_str(r#"{"b": [1, {"z": 1, "a": "x"}], "a": null}"#).expect("json");
    assert_eq!(canonical_json(&a), r#"{"a":null,"b":[1,{"a":"x","z":1}]}"#);
    let escaped = json!({"k": "line\n\"quote\" \u{2028}"});
    assert_eq!(
        serde_json::from_str::<Value>(&canonical_json(&escaped)).expect("valid json"),
        escaped
    );
}

#[test]
fn digest_ignores_key_order_and_resolution_labels_but_not_content() {
    let item = ApprovalItem::default();
    let one = CardContent::new(
        &item,
        serde_json::from_str(r#"{"amount":120,"vendor":"Acme"}"#).expect("json"),
        &BTreeMap::from([("env".into(), "prod".into())]),
    );
    let reordered = CardContent::new(
        &item,
        serde_json::from_str(r#"{"vendor":"Acme","amount":120}"#).expect("json"),
        &BTreeMap::from([
            ("env".into(), "prod".into()),
            ("approval_granted".into(), "true".into()),
        ]),
    );
    assert_eq!(one.digest(), reordered.digest());
    assert_eq!(one.digest().len(), 64);
    let mut changed = one.clone();
    changed.payload = json!({"amount": 9_800_000, "vendor": "Acme"});
    assert_ne!(one.digest(), changed.digest());
    assert_eq!(
        one.changes(&changed),
        vec![FieldChange {
            field: "payload".into(),
            seen: r#"{"amount":120,"vendor":"Acme"}"#.into(),
            now: r#"{"amount":9800000,"vendor":"Acme"}"#.into(),
        }]
    );
}

#[test]
fn every_field_moves_the_digest() {
    let base = CardContent::default();
    let variants = [
        CardContent {
            title: "t".into(),
            ..base.clone()
        },
        CardContent {
            payload: json!("p"),
            ..base.clone()
        },
        CardContent {
            labels: BTreeMap::from([("k".into(), "v".into())]),
            ..base.clone()
        },
        CardContent {
            risk_tags: vec!["r".into()],
            ..base.clone()
        },
        CardContent {
            constraints: json!({"c": 1}),
            ..base.clone()
        },
        CardContent {
            rule: "r".into(),
            ..base.clone()
        },
        CardContent {
            reason: "r".into(),
            ..base.clone()
        },
        CardContent {
            workflow: Some(WorkflowInfo::default()),
            ..base.clone()
        },
        CardContent {
            requester: "r".into(),
            ..base.clone()
        },
    ];
    for variant in &variants {
        assert_ne!(variant.digest(), base.digest(), "{variant:?}");
        assert_eq!(base.changes(variant).len(), 1, "{variant:?}");
    }
}

#[test]
fn long_values_are_quoted_cut_on_a_character_boundary() {
    let seen = CardContent {
        payload: json!("é".repeat(400)),
        ..CardContent::default()
    };
    let change = &seen.changes(&CardContent::default())[0];
    assert!(change.seen.len() <= QUOTE_MAX_BYTES + '…'.len_utf8());
    assert!(change.seen.ends_with('…'));
}

#[test]
fn pointers_name_their_payload() {
    let pointer = payload_pointer(b"{}");
    assert!(pointer.starts_with(POINTER_PREFIX));
    assert!(payload_matches(&pointer, b"{}"));
    assert!(!payload_matches(&pointer, b"{ }"));
    for other in [
        "redis://ctx:job-1",
        "sqlite://ctx:sha256:XYZ",
        "sqlite://ctx:sha256:",
    ] {
        assert_eq!(pointer_digest(other), None);
        assert!(!payload_matches(other, b"{}"));
    }
    assert_eq!(payload_value(b"not json"), json!("not json"));
}
