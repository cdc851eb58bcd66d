//! What a decision became, in the words the card shows: [`DecisionView`] for a decision in
//! effect, and the guards a click passes before the client's decision protocol runs.

use countersign_client::{DecisionReport, Settlement};
use countersign_core::outcome::DecisionAction;
use countersign_core::verify::Verdict;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::card::{hash_tail, CardView};
use crate::error::{codes, DeskError, Result};

/// A decision in effect on the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct DecisionView {
    pub job_id: String,
    /// The job hash the decision was bound to, when this desk made it from a card; `None`
    /// for a decision recovered after an outage or a crash.
    pub job_hash: Option<String>,
    pub action: DecisionAction,
    /// `applied`: this decision made it; `already_applied`: the same decision was in effect
    /// already (an earlier attempt whose answer was lost, or someone else).
    pub outcome: String,
    /// Who made it, when the gateway says and it was not this call.
    pub by: Option<String>,
    /// Whether `by` is this reviewer; `None` when the gateway cannot say.
    pub by_us: Option<bool>,
    /// The verdict checked right before an approve was sent.
    pub verdict: Option<Verdict>,
    /// The sentence the card shows.
    pub message: String,
    /// Set when the gateway bound the approval to another request or policy than was seen.
    pub mismatch: Option<String>,
    /// What became of the job after the approval, where the gateway reports it ("approved,
    /// dispatched", "approved, waiting: policy engine unavailable (closed mode), attempt 7 of
    /// 50", ...): the same line as the CLI's. Filled in by follow-up events.
    pub after_approval: Option<String>,
}

impl From<&DecisionReport> for DecisionView {
    fn from(report: &DecisionReport) -> Self {
        let verb = match report.action {
            DecisionAction::Approve => "Approved",
            DecisionAction::Reject => "Rejected",
        };
        let (outcome, by, by_us, message) = match &report.settlement {
            Settlement::Applied => ("applied", None, None, verb.to_owned()),
            Settlement::AlreadyApplied {
                by,
                by_us,
                earlier_attempt,
            } => {
                // v0.9 names the requester when the approving key has no principal: an
                // earlier attempt of this profile names no person.
                let who = match (by.as_str(), by_us) {
                    _ if *earlier_attempt => "by your earlier attempt".to_owned(),
                    ("", _) => "already".to_owned(),
                    (_, Some(true)) => "already, by you".to_owned(),
                    (name, _) => format!("already, by {name}"),
                };
                (
                    "already_applied",
                    Some(by.clone()).filter(|b| !b.is_empty()),
                    *by_us,
                    format!("{verb} {who}"),
                )
            }
        };
        Self {
            job_id: report.job_id.clone(),
            job_hash: None,
            action: report.action,
            outcome: outcome.to_owned(),
            by,
            by_us,
            verdict: report.verdict.clone(),
            message,
            mismatch: report.mismatch.clone(),
            after_approval: None,
        }
    }
}

/// A card that just appeared or changed refuses approves for this long (misclicks).
pub const SETTLE_MS: i64 = 500;

/// Where a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A card in the app's window.
    Window,
    /// A desktop notification's button.
    Notification,
}

impl Channel {
    /// The note sent with the decision (recorded by the gateway and in the ledger).
    pub fn note(self) -> &'static str {
        match self {
            Self::Window => "",
            Self::Notification => "decided from a desktop notification",
        }
    }
}

/// A reviewer's click, as the UI sends it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export)]
pub struct DecisionRequest {
    /// The desk whose card was clicked ([`crate::queue::DeskMessage::desk`]): a click made in
    /// one session never lands in another.
    #[ts(type = "number")]
    pub desk: u64,
    /// The identity of the card on screen (its `seen`).
    pub seen: countersign_core::verify::SeenItem,
    pub action: DecisionAction,
    /// Required for a reject; optional for an approve.
    #[serde(default)]
    pub reason: String,
    /// For a high-risk approve: the last 4 characters of the job hash, typed by the reviewer.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// The desk's own checks before the client's protocol, whatever the webview sent: the card
/// must be in the queue and show exactly what the click names; an approve also needs the
/// card's content loaded, its identity settled for [`SETTLE_MS`], no expired deadline, and for
/// a high-risk card the typed last characters of the hash the card shows.
pub fn precheck(request: &DecisionRequest, card: Option<&CardView>, now_ms: i64) -> Result<()> {
    let Some(card) = card else {
        return Err(DeskError::new(
            codes::NOT_IN_QUEUE,
            "this item is no longer in the queue; it may have been decided elsewhere",
        ));
    };
    let shown = &card.seen;
    if request.seen.job_id != shown.job_id
        || request.seen.job_hash != shown.job_hash
        || request.seen.policy_snapshot != shown.policy_snapshot
        || (request.action == DecisionAction::Approve
            && request.seen.content_digest != shown.content_digest)
    {
        return Err(DeskError::new(
            codes::CARD_CHANGED,
            "this card changed since it was displayed: look at it again; nothing was sent",
        ));
    }
    if request.action == DecisionAction::Reject {
        return Ok(());
    }
    if !card.content_ready {
        return Err(DeskError::new(
            codes::CONTENT_LOADING,
            "the card's content is still loading; approve once it is shown",
        ));
    }
    if now_ms.saturating_sub(card.changed_at_ms) < SETTLE_MS {
        return Err(DeskError::new(
            codes::JUST_CHANGED,
            "this card just appeared or changed: look again, then approve",
        ));
    }
    if card.is_expired(now_ms) {
        return Err(DeskError::new(
            codes::EXPIRED,
            "the approval expired at its deadline; it can no longer be approved",
        ));
    }
    if card.high_risk {
        let expected = hash_tail(&shown.job_hash);
        match request.confirm.as_deref().map(str::trim) {
            None | Some("") => return Err(DeskError::confirmation_required()),
            Some(typed) if !expected.is_empty() && typed.eq_ignore_ascii_case(expected) => {}
            Some(_) => return Err(DeskError::confirmation_mismatch()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ReviewSettings;
    use countersign_core::approval::ApprovalItem;
    use countersign_core::verify::SeenItem;

    fn card(tags: &[&str], deadline_unix: Option<i64>) -> CardView {
        let mut item = ApprovalItem::default();
        item.job.id = "j".into();
        item.job_hash = "sha256:00ffA1b2".into();
        item.job.risk_tags = tags.iter().map(|t| (*t).to_owned()).collect();
        item.job.deadline_unix = deadline_unix;
        let mut card = CardView::new(&item, &ReviewSettings::default());
        card.seen = seen();
        card.content_ready = true;
        card.changed_at_ms = -SETTLE_MS;
        card
    }

    fn seen() -> SeenItem {
        SeenItem {
            job_id: "j".into(),
            job_hash: "sha256:00ffA1b2".into(),
            content_digest: "d1".into(),
            ..SeenItem::default()
        }
    }

    fn request(action: DecisionAction, confirm: Option<&str>) -> DecisionRequest {
        DecisionRequest {
            desk: 1,
            seen: seen(),
            action,
            reason: String::new(),
            confirm: confirm.map(str::to_owned),
        }
    }

    #[test]
    fn a_high_risk_approve_needs_the_typed_hash_tail() {
        let risky = card(&["prod"], None);
        let approve =
            |confirm| precheck(&request(DecisionAction::Approve, confirm), Some(&risky), 0);
        assert_eq!(
            approve(None).expect_err("none").code,
            codes::CONFIRMATION_REQUIRED
        );
        assert_eq!(
            approve(Some(" ")).expect_err("blank").code,
            codes::CONFIRMATION_REQUIRED
        );
        assert_eq!(
            approve(Some("a1b3")).expect_err("wrong").code,
            codes::CONFIRMATION_MISMATCH
        );
        assert_eq!(
            approve(Some("00ff")).expect_err("head").code,
            codes::CONFIRMATION_MISMATCH
        );
        approve(Some("a1b2")).expect("typed tail, any case");
        precheck(&request(DecisionAction::Reject, None), Some(&risky), 0)
            .expect("rejects need none");
        let calm = card(&["write"], None);
        precheck(&request(DecisionAction::Approve, None), Some(&calm), 0).expect("not high risk");
    }

    #[test]
    fn a_click_must_name_exactly_the_card_shown_settled_and_loaded() {
        let shown = card(&[], None);
        let mut stale = request(DecisionAction::Approve, None);
        stale.seen.job_hash = "sha256:older".into();
        assert_eq!(
            precheck(&stale, Some(&shown), 0).expect_err("hash").code,
            codes::CARD_CHANGED
        );
        let mut other_content = request(DecisionAction::Approve, None);
        other_content.seen.content_digest = "d0".into();
        assert_eq!(
            precheck(&other_content, Some(&shown), 0)
                .expect_err("content")
                .code,
            codes::CARD_CHANGED
        );
        let mut reject = request(DecisionAction::Reject, None);
        reject.seen.content_digest = String::new();
        precheck(&reject, Some(&shown), 0).expect("a reject binds the identity, not the content");
        let approve = request(DecisionAction::Approve, None);
        let mut fresh = shown.clone();
        fresh.changed_at_ms = 1_000;
        assert_eq!(
            precheck(&approve, Some(&fresh), 1_000 + SETTLE_MS - 1)
                .expect_err("fresh")
                .code,
            codes::JUST_CHANGED
        );
        precheck(&approve, Some(&fresh), 1_000 + SETTLE_MS).expect("settled");
        let mut loading = shown;
        loading.content_ready = false;
        assert_eq!(
            precheck(&approve, Some(&loading), 0)
                .expect_err("loading")
                .code,
            codes::CONTENT_LOADING
        );
    }

    #[test]
    fn expired_or_missing_cards_cannot_be_approved() {
        let expiring = card(&[], Some(100));
        let approve = request(DecisionAction::Approve, None);
        precheck(&approve, Some(&expiring), 99_999).expect("before the deadline");
        assert_eq!(
            precheck(&approve, Some(&expiring), 100_000)
                .expect_err("due")
                .code,
            codes::EXPIRED
        );
        precheck(
            &request(DecisionAction::Reject, None),
            Some(&expiring),
            100_000,
        )
        .expect("an expired item can still be rejected");
        assert_eq!(
            precheck(&approve, None, 0).expect_err("gone").code,
            codes::NOT_IN_QUEUE
        );
    }
}
