//! Exactly-once under faults (issue 13): every decision a reviewer makes lands once, is never
//! lost, and is never reported to the reviewer other than as it ended on the gateway, whatever
//! the network and the client process do in between. `faults` drives randomized in-process
//! decisions through the fault proxy; `kill` kills a real client process (this test binary,
//! re-executed) at random points of the protocol. Both judge each run against the gateway's
//! own record with [`Tally`] and print one `RELIABILITY` line of counts.
//!
//! `COUNTERSIGN_SOAK=1` multiplies the runs by ten (`make soak`).

mod faults;
mod kill;

use countersign_client::{DecisionReport, Settlement};
use countersign_core::outcome::DecisionAction;

use crate::support::{Harness, ALICE};

/// How many times the soak target multiplies a suite's runs.
pub fn soak_factor() -> usize {
    if std::env::var_os("COUNTERSIGN_SOAK").is_some() {
        10
    } else {
        1
    }
}

/// What the reviewer was told of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// That it is in effect.
    Landed,
    /// That a decision of that kind is in effect, made by someone else (in these suites the
    /// reviewer is the only one deciding, so this is always a wrong word).
    LandedByOther,
    /// That its outcome is not known yet and it will be reconciled.
    Unknown,
    /// That it did not land (an error before or instead of sending).
    NotLanded,
}

impl Told {
    pub fn of(result: &countersign_client::Result<DecisionReport>) -> Self {
        match result {
            Ok(report) if told_someone_else(report) => Self::LandedByOther,
            Ok(_) => Self::Landed,
            Err(countersign_client::ClientError::OutcomeUnknown { .. })
            | Err(countersign_client::ClientError::AppliedNotRecorded { .. }) => Self::Unknown,
            Err(_) => Self::NotLanded,
        }
    }
}

/// A report that names someone else as the one who decided, with nothing saying it was
/// most likely this reviewer's own earlier attempt.
fn told_someone_else(report: &DecisionReport) -> bool {
    match &report.settlement {
        Settlement::AlreadyApplied {
            by,
            by_us,
            earlier_attempt,
        } => !earlier_attempt && *by_us != Some(true) && by != "alice",
        Settlement::Applied => false,
    }
}

/// Decisions judged against the gateway's record.
#[derive(Debug, Default)]
pub struct Tally {
    pub attempted: usize,
    pub landed: usize,
    /// Jobs the gateway committed more than once, or dispatched more than once.
    pub duplicated: usize,
    /// Decisions the reviewer made that are not in effect.
    pub lost: usize,
    /// Runs whose final word to the reviewer contradicts the gateway's record.
    pub misreported: usize,
}

impl Tally {
    /// Judges one decision by `alice`: what the gateway holds for `job` now, how many decision
    /// POSTs it committed (`fresh_posts`, by the proxy), and what the reviewer was told last.
    pub async fn judge(
        &mut self,
        h: &Harness,
        job: &str,
        action: DecisionAction,
        fresh_posts: usize,
        told: Told,
    ) -> bool {
        let record = h.job(job).await;
        let dispatched = h.dispatches(job).await;
        let in_effect = match action {
            DecisionAction::Approve => record["approval_by"] == "alice" && dispatched >= 1,
            DecisionAction::Reject => record["state"] == "DENIED" && dispatched == 0,
        };
        self.attempted += 1;
        let duplicated = fresh_posts > 1 || dispatched > 1;
        self.duplicated += usize::from(duplicated);
        self.landed += usize::from(in_effect);
        self.lost += usize::from(!in_effect);
        let misreported = match told {
            Told::Landed => !in_effect,
            Told::LandedByOther => true,
            Told::NotLanded => in_effect,
            // Every run is reconciled before it is judged: still unknown is a wrong word.
            Told::Unknown => true,
        };
        self.misreported += usize::from(misreported);
        in_effect && !duplicated && !misreported
    }

    pub fn line(&self, suite: &str, extra: &str) -> String {
        format!(
            "RELIABILITY {suite} attempted={} landed={} duplicated={} lost={} misreported={}{extra}",
            self.attempted, self.landed, self.duplicated, self.lost, self.misreported
        )
    }

    pub fn assert_clean(&self) {
        assert_eq!(self.duplicated, 0, "{self:?}");
        assert_eq!(self.lost, 0, "{self:?}");
        assert_eq!(self.misreported, 0, "{self:?}");
        assert_eq!(self.landed, self.attempted, "{self:?}");
    }
}

/// The reviewer every run decides as.
pub const REVIEWER: &str = ALICE;
