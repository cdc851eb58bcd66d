//! Drift windows (issue 13): between "shown to the reviewer" and "the gateway commits", the
//! request, the payload behind `context_ptr`, or the policy changes at every step of the
//! approve protocol, on the reference gateway and on the v0.9 emulation. The change is made
//! while the proxy holds the protocol's n-th request, for every n up to and including the
//! decision POST (and once after it, where the approval landed first). No approval may land
//! for content or policy other than what was shown; every refusal must name the change.
//!
//! The v0.9 emulation is the reference gateway behind the proxy's v0.9 mode, so where Cordum
//! v0.9 itself binds less than the reference gateway (the content behind its `redis://`
//! pointer is not covered by the job hash: v09-observed.md), the emulation is stricter than the
//! real thing; what the client alone guarantees there is what it checks before sending.

use std::sync::atomic::{AtomicBool, Ordering};

use countersign_client::{ClientError, Decider, DecisionReport};

use crate::support::proxy::{Intercept, Proxy, Resume};
use crate::support::{client_for, fast_http, fast_retry, Harness, ALICE, POLICY, POLICY_V2};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A label of the stored request (the job hash no longer matches it).
    Request,
    /// The payload behind the content-addressed `context_ptr`.
    Payload,
    /// A new policy published.
    Policy,
}

/// How one approve ended.
#[derive(Debug)]
enum Ending {
    RefusedLocally(&'static str),
    RefusedByGateway(&'static str),
    /// Landed; `mismatch` is what the client reported of a binding other than what was seen.
    Landed(Option<String>),
    Other(String),
}

fn ending(result: countersign_client::Result<DecisionReport>) -> Ending {
    match result {
        Ok(report) => Ending::Landed(report.mismatch),
        Err(ClientError::Drift(verdict)) => Ending::RefusedLocally(verdict.code()),
        Err(ClientError::Conflict(outcome)) => Ending::RefusedByGateway(outcome.code()),
        Err(other) => Ending::Other(format!("{other:?}")),
    }
}

/// The reasons that name `change` truly.
fn names(change: Change, code: &str) -> bool {
    let allowed: &[&str] = match change {
        Change::Request => &[
            "request_changed",
            "content_changed",
            "content_mismatch",
            "stale_request",
        ],
        Change::Payload => &["content_changed", "payload_mismatch", "stale_request"],
        Change::Policy => &["policy_changed", "stale_snapshot"],
    };
    allowed.contains(&code)
}

struct Trial<'a> {
    h: &'a Harness,
    proxy: &'a Proxy,
    decider: &'a Decider,
    /// Whether `POLICY_V2` is the current policy (each policy change publishes the other).
    on_v2: &'a AtomicBool,
}

impl Trial<'_> {
    async fn change(&self, job: &str, change: Change) {
        let gateway = self.h.running().gateway();
        match change {
            Change::Request => gateway
                .mutate_stored_request(job, |req| {
                    req.labels.insert("env".into(), "attacker".into());
                })
                .await
                .expect("request changed"),
            Change::Payload => gateway
                .mutate_stored_context(job, |context| {
                    context["amount"] = serde_json::json!(9_800_000);
                })
                .await
                .expect("payload changed"),
            Change::Policy => {
                let yaml = if self.on_v2.fetch_xor(true, Ordering::SeqCst) {
                    POLICY
                } else {
                    POLICY_V2
                };
                gateway
                    .publish_policy(yaml, "drift window")
                    .await
                    .expect("published");
            }
        }
    }

    /// Approves a fresh job, making `change` while the proxy holds the approve's `step`-th
    /// request (`None`: not at all); the ending, whether the change was made (the request was
    /// reached) and whether it came before the commit.
    async fn run(&self, change: Change, step: Option<usize>) -> (String, Ending, bool, bool) {
        let job = self.h.submit().await;
        let seen = self.h.seen(&job).await;
        let held = step.map(|n| self.proxy.intercept(Intercept::Nth(n)));
        let approve = self.decider.approve(&seen, "looked at it", "");
        tokio::pin!(approve);
        let (mut changed, mut before_commit) = (false, false);
        let result = match held {
            None => approve.await,
            Some(held) => tokio::select! {
                result = &mut approve => result,
                held = held => {
                    let held = held.expect("held");
                    // Held, the request has not reached the gateway: a decision POST held is
                    // still uncommitted, a read after the POST comes after the commit.
                    before_commit = !self.decided(&job).await;
                    self.change(&job, change).await;
                    changed = true;
                    held.resume.send(Resume::Forward).expect("proxy waits");
                    approve.await
                }
            },
        };
        (job, ending(result), changed, before_commit)
    }

    async fn decided(&self, job: &str) -> bool {
        self.h.job(job).await["state"] != "APPROVAL_REQUIRED"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_approval_lands_for_anything_but_what_was_shown() {
    let h = Harness::start().await;
    let mut problems = Vec::new();
    let mut figures = Vec::new();
    let on_v2 = AtomicBool::new(false);
    for v09 in [false, true] {
        let proxy = Proxy::start(h.addr, v09).await;
        let decider = Decider::new(
            client_for(&proxy.url(), ALICE, fast_http()),
            h.ledger(if v09 { "alice-v09" } else { "alice" }),
            fast_retry(),
        );
        let trial = Trial {
            h: &h,
            proxy: &proxy,
            decider: &decider,
            on_v2: &on_v2,
        };
        // How many requests one approve makes through this proxy, the POST among them: the
        // second of two, since the first also learns what the gateway offers.
        let mut steps = 0;
        for _ in 0..2 {
            let start = proxy.received().len();
            let (_, control, _, _) = trial.run(Change::Request, None).await;
            assert!(matches!(control, Ending::Landed(None)), "{control:?}");
            steps = proxy.received().len() - start;
        }
        let (mut trials, mut refused_locally, mut refused_by_gateway, mut after_commit) =
            (0, 0, 0, 0);
        let mut landed_for_other = 0;
        for change in [Change::Request, Change::Payload, Change::Policy] {
            for step in 0..steps {
                trials += 1;
                let (job, ending, changed, before_commit) = trial.run(change, Some(step)).await;
                if !changed {
                    problems.push(format!(
                        "v09={v09} {change:?}: request {step} of {steps} was never reached"
                    ));
                }
                let record = h.job(&job).await;
                let dispatched = h.dispatches(&job).await;
                let what = format!("v09={v09} {change:?} at request {step} of {steps}: {ending:?}");
                match &ending {
                    Ending::RefusedLocally(code) | Ending::RefusedByGateway(code) => {
                        if matches!(ending, Ending::RefusedLocally(_)) {
                            refused_locally += 1;
                        } else {
                            refused_by_gateway += 1;
                        }
                        if !names(change, code) {
                            problems.push(format!("{what}: the refusal names another reason"));
                        }
                        if record["state"] != "APPROVAL_REQUIRED" || dispatched != 0 {
                            problems.push(format!("{what}: refused, yet {record}"));
                        }
                    }
                    Ending::Landed(mismatch) => {
                        if before_commit {
                            landed_for_other += 1;
                            problems.push(format!(
                                "{what}: landed after the change (mismatch reported: {mismatch:?})"
                            ));
                        } else {
                            after_commit += 1;
                        }
                    }
                    Ending::Other(error) => problems.push(format!("{what}: {error}")),
                }
            }
        }
        figures.push(format!(
            "{}_trials={trials} {0}_requests_per_approve={steps} {0}_refused_locally={refused_locally} \
             {0}_refused_by_gateway={refused_by_gateway} {0}_changed_after_commit={after_commit} \
             {0}_landed_for_other={landed_for_other}",
            if v09 { "v09" } else { "reference" }
        ));
    }
    println!("RELIABILITY drift_windows {}", figures.join(" "));
    assert!(problems.is_empty(), "{problems:#?}");
}
