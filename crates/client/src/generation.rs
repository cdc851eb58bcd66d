//! Which gateway API this is, learned from its answers rather than configured: Cordum v0.9
//! (plain-text errors, bare list items), the new generation (JSON errors with codes, enriched
//! items, `/context`) and the reference gateway's extensions (`/request`, `/payload`, the event stream).
//! Every feature starts unknown, is tried when it would help, and a missing route switches it
//! off for the rest of the client's life, so a v0.9 gateway costs one extra 404 per feature.
//! A feature seen working is never switched off again: a later missing-route answer is a
//! passing fault (a proxy mid-restart), not a gateway that lost the endpoint.

use std::sync::atomic::{AtomicU8, Ordering};

use countersign_core::approval::ApprovalItem;
use serde::Serialize;
use serde_json::Value;

use crate::body::error_message;
use crate::http::RawAnswer;

/// The API generation, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    Unknown,
    /// Plain-text errors and bare list items (CONTRACT.md §0).
    V09,
    /// JSON errors with codes, enriched items.
    New,
}

impl Generation {
    /// Whose JobRequest schema and job-hash rules to read and hash this gateway's requests
    /// with. A gateway not yet recognised gets the newest rules: requests are only ever
    /// hashed when the gateway serves them (an extension v0.9 lacks), and items are seen
    /// before any request is fetched, so this is only a fallback.
    pub fn hash_rules(self) -> countersign_core::jobhash::Generation {
        match self {
            Self::V09 => countersign_core::jobhash::Generation::V09,
            Self::New | Self::Unknown => countersign_core::jobhash::Generation::New,
        }
    }
}

/// Optional endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feature {
    /// `GET /api/v1/approvals/{id}/context` (new generation).
    Context,
    /// `GET /api/v1/approvals/{id}/request` (extension).
    RequestEndpoint,
    /// `GET /api/v1/approvals/events` (extension).
    Events,
    /// `GET /api/v1/approvals/{id}/payload` (extension).
    Payload,
}

/// The header the reference gateway advertises its extensions in.
pub(crate) const EXTENSIONS_HEADER: &str = "x-countersign-extensions";

/// What is known about the gateway; `None` means not tried yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub generation: Generation,
    pub context: Option<bool>,
    pub request_endpoint: Option<bool>,
    pub events: Option<bool>,
    pub payload: Option<bool>,
    pub preconditions: Option<bool>,
}

// 0, the default, is unknown.
const NO: u8 = 1;
const YES: u8 = 2;

/// Lock-free tri-states, shared by every clone of a client.
#[derive(Debug, Default)]
pub(crate) struct Detected {
    /// `YES` = new generation, `NO` = v0.9.
    new_generation: AtomicU8,
    context: AtomicU8,
    request: AtomicU8,
    events: AtomicU8,
    payload: AtomicU8,
    /// The approve preconditions `expected_job_hash` / `expected_policy_snapshot`
    /// (extension), known only from the gateway's own advertisement ([`EXTENSIONS_HEADER`]):
    /// the newest Cordum refuses unknown body fields, so they are never sent on a guess.
    preconditions: AtomicU8,
}

fn read(cell: &AtomicU8) -> Option<bool> {
    match cell.load(Ordering::Relaxed) {
        YES => Some(true),
        NO => Some(false),
        _ => None,
    }
}

fn write(cell: &AtomicU8, value: bool) {
    cell.store(if value { YES } else { NO }, Ordering::Relaxed);
}

impl Detected {
    fn cell(&self, feature: Feature) -> &AtomicU8 {
        match feature {
            Feature::Context => &self.context,
            Feature::RequestEndpoint => &self.request,
            Feature::Events => &self.events,
            Feature::Payload => &self.payload,
        }
    }

    pub fn get(&self, feature: Feature) -> Option<bool> {
        read(self.cell(feature))
    }

    pub fn set(&self, feature: Feature, offered: bool) {
        write(self.cell(feature), offered);
        if feature == Feature::Context && offered {
            write(&self.new_generation, true);
        }
    }

    /// A missing-route answer for `feature`: records it as absent and returns `true`, unless
    /// it was seen working, which a single answer does not undo.
    pub fn route_missing(&self, feature: Feature) -> bool {
        let cell = self.cell(feature);
        // Only an unknown or absent feature becomes absent; a working one stays working.
        let previous = cell.compare_exchange(0, NO, Ordering::Relaxed, Ordering::Relaxed);
        previous.unwrap_or_else(|current| current) != YES
    }

    /// The extensions an answer's [`EXTENSIONS_HEADER`] names.
    pub fn observe_extensions(&self, advertised: &str) {
        if advertised
            .split(',')
            .any(|name| name.trim() == "approve-preconditions")
        {
            write(&self.preconditions, true);
        }
    }

    /// Enriched keys (`approval_status`, ...) exist only in the new generation.
    pub fn observe_items(&self, items: &[ApprovalItem]) {
        if let Some(item) = items.first() {
            let enriched = !item.approval_status.is_empty() || item.approval_revision.is_some();
            // Only a positive sighting is conclusive: a new gateway's odd item may lack keys.
            if enriched || read(&self.new_generation).is_none() {
                write(&self.new_generation, enriched);
            }
        }
    }

    /// Error answers: JSON means the new generation, plain text v0.9.
    pub fn observe_error_body(&self, answer: &RawAnswer) {
        if answer.status < 400 {
            return;
        }
        let json = serde_json::from_str::<Value>(answer.body.trim())
            .map(|v| v.is_object())
            .unwrap_or(false);
        write(&self.new_generation, json);
    }

    pub fn snapshot(&self) -> Capabilities {
        Capabilities {
            generation: match read(&self.new_generation) {
                None => Generation::Unknown,
                Some(true) => Generation::New,
                Some(false) => Generation::V09,
            },
            context: read(&self.context),
            request_endpoint: read(&self.request),
            events: read(&self.events),
            payload: read(&self.payload),
            preconditions: read(&self.preconditions),
        }
    }
}

/// A route the gateway does not have, as opposed to a 404 about the job: Cordum's and our
/// reference gateway's job-level 404s say "job ..." (or carry `approval_not_found`).
pub(crate) fn is_missing_route(answer: &RawAnswer) -> bool {
    if answer.status == 405 || answer.status == 501 {
        return true;
    }
    if answer.status != 404 {
        return false;
    }
    let message = error_message(&answer.body).to_ascii_lowercase();
    let coded = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
    coded.as_deref() != Some("approval_not_found") && !message.contains("job")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn starts_unknown_and_learns() {
        let d = Detected::default();
        assert_eq!(d.snapshot().generation, Generation::Unknown);
        assert_eq!(d.get(Feature::Events), None);
        d.observe_error_body(&answer(409, "job not awaiting approval\n"));
        assert_eq!(d.snapshot().generation, Generation::V09);
        d.observe_error_body(&answer(409, r#"{"error":"x","code":"approval_conflict"}"#));
        assert_eq!(d.snapshot().generation, Generation::New);
        d.observe_error_body(&answer(200, "ok"));
        assert_eq!(d.snapshot().generation, Generation::New);
        d.set(Feature::Events, false);
        assert_eq!(d.snapshot().events, Some(false));
    }

    #[test]
    fn the_hash_rules_follow_the_detected_generation() {
        use countersign_core::jobhash::Generation as Rules;
        let d = Detected::default();
        assert_eq!(d.snapshot().generation.hash_rules(), Rules::New);
        d.observe_error_body(&answer(409, "job not awaiting approval\n"));
        assert_eq!(d.snapshot().generation.hash_rules(), Rules::V09);
        d.observe_error_body(&answer(409, r#"{"error":"x","code":"approval_conflict"}"#));
        assert_eq!(d.snapshot().generation.hash_rules(), Rules::New);
    }

    #[test]
    fn a_feature_seen_working_is_not_lost_to_one_missing_route() {
        let d = Detected::default();
        assert!(d.route_missing(Feature::Context), "unknown: absent");
        assert_eq!(d.get(Feature::Context), Some(false));
        d.set(Feature::RequestEndpoint, true);
        assert!(!d.route_missing(Feature::RequestEndpoint));
        assert_eq!(d.get(Feature::RequestEndpoint), Some(true));
    }

    #[test]
    fn items_tell_the_generation() {
        let d = Detected::default();
        let mut item = ApprovalItem::default();
        d.observe_items(&[item.clone()]);
        assert_eq!(d.snapshot().generation, Generation::V09);
        item.approval_status = "pending".into();
        d.observe_items(&[item.clone()]);
        assert_eq!(d.snapshot().generation, Generation::New);
        d.observe_items(&[ApprovalItem::default()]);
        assert_eq!(d.snapshot().generation, Generation::New);
    }

    #[test]
    fn missing_routes_are_told_from_missing_jobs() {
        let answer = |status, body: &str| RawAnswer {
            status,
            body: body.into(),
        };
        assert!(is_missing_route(&answer(404, "404 page not found\n")));
        assert!(is_missing_route(&answer(
            404,
            r#"{"error":"not found","status":404}"#
        )));
        assert!(is_missing_route(&answer(405, "")));
        assert!(!is_missing_route(&answer(404, "job not found")));
        assert!(!is_missing_route(&answer(
            404,
            r#"{"error":"job not found","status":404,"code":"approval_not_found"}"#
        )));
        assert!(!is_missing_route(&answer(200, "{}")));
    }
}
