//! [`CardView`]: one pending approval as the queue shows it, built from the gateway's item.
//! It carries the [`SeenItem`] the card displays, which the UI hands back with a decision, so a
//! decision is always bound to what was on screen and never to a fresh fetch.

use countersign_client::Review;
use countersign_core::approval::{ApprovalCard, ApprovalItem};
use countersign_core::verify::SeenItem;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::settings::ReviewSettings;

/// How many constraint facts a card lists; a hostile item cannot make a card unbounded.
const MAX_FACTS: usize = 24;
/// How deep constraints are flattened before the rest is shown as JSON.
const MAX_FACT_DEPTH: usize = 4;
/// Longest constraint value shown on a card (the detail view has the whole item).
const MAX_FACT_CHARS: usize = 200;

/// A `key: value` line of a card (constraints flattened, `budgets.max_retries: 1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Fact {
    pub key: String,
    pub value: String,
}

/// One queue card.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct CardView {
    pub card: ApprovalCard,
    /// What this card shows, for binding a decision to it.
    pub seen: SeenItem,
    /// The authenticated submitter's principal, when it differs from the requester the agent
    /// named (the requester is the submitter's own claim).
    pub submitted_by: Option<String>,
    pub constraints: Vec<Fact>,
    /// The job's deadline (ms since the Unix epoch), when it has one.
    #[ts(type = "number | null")]
    pub deadline_ms: Option<i64>,
    /// A risk tag of the card is one of the settings' high-risk tags: approving needs proof
    /// of reading, and never happens in bulk or from a notification.
    pub high_risk: bool,
    /// What changed since the card was first shown (`job_hash`, `policy_snapshot`,
    /// `revision`, `state`); empty for a card as it arrived.
    pub changes: Vec<String>,
    /// The payload (the prompt, the input) as `key: value` lines; empty until the content is
    /// loaded. With the card's other fields it is what `seen.content` binds.
    pub payload: Vec<Fact>,
    /// The card's content is loaded and bound into `seen`: only then can it be approved.
    pub content_ready: bool,
    /// When the card's identity (job hash, policy snapshot) last changed, or it arrived (ms
    /// since the Unix epoch): approves right after are refused as likely misclicks.
    #[ts(type = "number")]
    pub changed_at_ms: i64,
}

impl CardView {
    pub fn new(item: &ApprovalItem, settings: &ReviewSettings) -> Self {
        let card = ApprovalCard::from(item);
        let submitted_by = Some(submitter(&item.submitted_by))
            .filter(|s| !s.is_empty() && *s != card.requester)
            .map(str::to_owned);
        let high_risk = settings.is_high_risk(&card.risk_tags);
        Self {
            seen: SeenItem::from(item),
            submitted_by,
            constraints: facts(&card.constraints),
            deadline_ms: item
                .job
                .deadline_unix
                .filter(|d| *d > 0)
                .map(|d| d.saturating_mul(1000)),
            high_risk,
            changes: Vec::new(),
            payload: Vec::new(),
            content_ready: false,
            changed_at_ms: 0,
            card,
        }
    }

    /// The card of a fetched [`Review`]: its item completed from the job record, its content
    /// shown and bound into `seen`.
    pub fn reviewed(review: &Review, settings: &ReviewSettings) -> Self {
        let mut card = Self::new(&review.item, settings);
        card.seen = review.seen();
        card.payload = named_facts(&review.content.payload, "payload");
        card.content_ready = true;
        card
    }

    pub fn job_id(&self) -> &str {
        &self.card.job_id
    }

    /// Whether the deadline has passed at `now_ms`.
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.deadline_ms.is_some_and(|deadline| deadline <= now_ms)
    }
}

/// Who submitted, from the gateway's composite identity (`apikey:<hex>|principal:<id>`,
/// `user:<name>|principal:<id>`): the principal, else the whole string as given.
pub fn submitter(submitted_by: &str) -> &str {
    submitted_by
        .split('|')
        .find_map(|part| part.strip_prefix("principal:"))
        .filter(|p| !p.is_empty())
        .unwrap_or(submitted_by)
}

/// The last 4 characters of a job hash: what a reviewer types to approve a high-risk item.
pub fn hash_tail(job_hash: &str) -> &str {
    let start = job_hash
        .char_indices()
        .rev()
        .nth(3)
        .map_or(0, |(index, _)| index);
    &job_hash[start..]
}

/// Flattens constraints or a payload into `key: value` lines, bounded in count, depth and
/// length.
pub fn facts(constraints: &Value) -> Vec<Fact> {
    named_facts(constraints, "constraints")
}

/// [`facts`], naming a value that is not an object (a bare prompt string) `root`.
pub fn named_facts(value: &Value, root: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    flatten(root, "", value, 0, &mut out);
    out
}

fn flatten(root: &str, prefix: &str, value: &Value, depth: usize, out: &mut Vec<Fact>) {
    if out.len() >= MAX_FACTS {
        return;
    }
    match value {
        Value::Null => {}
        Value::Object(map) if depth < MAX_FACT_DEPTH => {
            for (key, inner) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(root, &key, inner, depth + 1, out);
            }
        }
        other => {
            let text = match other {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(Fact {
                key: if prefix.is_empty() {
                    root.into()
                } else {
                    prefix.into()
                },
                value: clip(&text, MAX_FACT_CHARS),
            });
        }
    }
}

fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn constraints_flatten_to_bounded_facts() {
        let got =
            facts(&json!({"max_lines_changed": 500, "budgets": {"max_retries": 1}, "mode": "dry"}));
        let lines: Vec<String> = got
            .iter()
            .map(|f| format!("{}={}", f.key, f.value))
            .collect();
        assert_eq!(
            lines,
            ["budgets.max_retries=1", "max_lines_changed=500", "mode=dry"]
        );

        let wide: serde_json::Map<String, Value> =
            (0..100).map(|i| (format!("k{i:03}"), json!(i))).collect();
        assert_eq!(facts(&Value::Object(wide)).len(), MAX_FACTS);

        let mut deep = json!("bottom");
        for _ in 0..50 {
            deep = json!({ "d": deep });
        }
        let got = facts(&deep);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].key, "d.d.d.d");

        let long = facts(&json!({"x": "y".repeat(1000)}));
        assert_eq!(long[0].value.chars().count(), MAX_FACT_CHARS + 1);
        assert!(facts(&Value::Null).is_empty());
        assert_eq!(facts(&json!(7))[0].key, "constraints");
        assert_eq!(named_facts(&json!("rm -rf /"), "payload")[0].key, "payload");
    }

    #[test]
    fn the_submitter_is_the_principal_of_the_composite_identity() {
        assert_eq!(submitter("apikey:0b13|principal:agent-7"), "agent-7");
        assert_eq!(submitter("user:ann|principal:ann-p"), "ann-p");
        assert_eq!(submitter("plain-name"), "plain-name");
        assert_eq!(
            submitter("apikey:0b13|principal:"),
            "apikey:0b13|principal:"
        );
        assert_eq!(submitter(""), "");
    }

    #[test]
    fn the_hash_tail_is_the_last_four_characters() {
        assert_eq!(hash_tail("sha256:abcdef0123"), "0123");
        assert_eq!(hash_tail("ab"), "ab");
        assert_eq!(hash_tail(""), "");
        assert_eq!(hash_tail("xxé1é2"), "é1é2");
    }

    #[test]
    fn a_card_is_high_risk_by_the_settings_tags_and_names_a_differing_submitter() {
        let mut item = ApprovalItem::default();
        item.job.id = "j1".into();
        item.job.principal = "agent-billing".into();
        item.job.risk_tags = vec!["finance".into(), "write".into()];
        item.job.deadline_unix = Some(10);
        item.submitted_by = "apikey:1234abcd|principal:agent-7".into();
        item.job_hash = "h".into();
        let card = CardView::new(&item, &ReviewSettings::default());
        assert!(card.high_risk);
        assert_eq!(card.submitted_by.as_deref(), Some("agent-7"));
        assert_eq!(card.deadline_ms, Some(10_000));
        assert!(card.is_expired(10_000));
        assert!(!card.is_expired(9_999));

        let relaxed = ReviewSettings {
            high_risk_tags: vec!["prod".into()],
        };
        assert!(!CardView::new(&item, &relaxed).high_risk);
        item.submitted_by = "apikey:1234abcd|principal:agent-billing".into();
        assert_eq!(CardView::new(&item, &relaxed).submitted_by, None);
    }
}
