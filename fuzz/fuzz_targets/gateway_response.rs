//! Arbitrary bytes as the gateway bodies the client decodes with core's public readers: a
//! `GET /api/v1/approvals` page (and each item's card content), the answer to an approve or
//! reject, and the answer to a governance decision. The first two bytes are the HTTP status
//! for the decision answers; the rest is the body.
//!
//! Beyond "no panic":
//!
//! * the page reader parses items one by one (so one deep item cannot sink the page); when the
//!   whole body is readable as one JSON value, that must give the same page as reading the
//!   value at once;
//! * a card's content digest is deterministic, the content shows no change against itself, and
//!   it keeps its digest through a JSON round trip (the app hands content to the UI and
//!   back);
//! * decision answers: a message is capped, only lock-busy and unavailable answers are
//!   retryable;
//! * a governance answer is only a settled decision for an HTTP 200.

#![no_main]

use std::collections::BTreeMap;

use countersign_core::approval::ApprovalPage;
use countersign_core::content::CardContent;
use countersign_core::governance::GovernanceAnswer;
use countersign_core::outcome::{classify, DecisionAction, GatewayOutcome};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The classifiers' cap on a kept server message, in chars.
const MAX_MESSAGE_CHARS: usize = 500;

fuzz_target!(|data: &[u8]| {
    list_page(data);
    if let [high, low, body @ ..] = data {
        let status = u16::from_be_bytes([*high, *low]) % 1000;
        decision_answer(status, body);
        governance_answer(status, body);
    }
});

fn list_page(body: &[u8]) {
    let page = ApprovalPage::from_json(body);
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let whole = ApprovalPage::from_value(value);
        assert_eq!(page.is_ok(), whole.is_ok(), "{page:?} vs {whole:?}");
        if let (Ok(page), Ok(whole)) = (&page, &whole) {
            assert_eq!(page.items, whole.items);
            assert_eq!(page.next_cursor, whole.next_cursor);
            let indexes = |p: &ApprovalPage| p.rejected.iter().map(|r| r.index).collect::<Vec<_>>();
            assert_eq!(indexes(page), indexes(whole));
        }
    }
    for item in page.iter().flat_map(|page| &page.items) {
        let content = CardContent::new(item, item.job_input.clone(), &BTreeMap::new());
        assert_eq!(content.digest(), content.digest());
        assert!(
            content.changes(&content).is_empty(),
            "{content:?} differs from itself"
        );
        let json = serde_json::to_string(&content).expect("content serializes");
        let back: CardContent = serde_json::from_str(&json).expect("content reads back");
        assert_eq!(
            back.digest(),
            content.digest(),
            "digest changed through JSON: {json}"
        );
        let _ = (item.is_pending(), item.is_workflow_gate());
    }
}

fn decision_answer(status: u16, body: &[u8]) {
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    for action in [DecisionAction::Approve, DecisionAction::Reject] {
        let outcome = classify(action, status, body);
        assert_eq!(outcome, classify(action, status, body));
        assert!(outcome.server_message().chars().count() <= MAX_MESSAGE_CHARS);
        let retryable = matches!(
            outcome,
            GatewayOutcome::RetryableLock { .. } | GatewayOutcome::Unavailable { .. }
        );
        assert_eq!(outcome.is_retryable(), retryable);
        assert!(!outcome.code().is_empty());
    }
}

fn governance_answer(status: u16, body: &[u8]) {
    let answer = GovernanceAnswer::classify(status, body);
    if matches!(
        answer,
        GovernanceAnswer::Approved { .. } | GovernanceAnswer::Rejected { .. }
    ) {
        assert_eq!(status, 200, "{answer:?}");
    }
    assert_eq!(
        answer.is_transient(),
        matches!(answer, GovernanceAnswer::Unavailable { .. })
    );
    assert!(!answer.code().is_empty());
}
