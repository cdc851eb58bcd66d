//! `countersign-cli policy`: a policy change proposed, shown, diffed, weighed and countersigned
//! from a terminal, and every way the countersign is refused.

use countersign_client::{Credential, GatewayClient, HttpConfig, Secret};

use crate::support::{Harness, ALICE, AUTH, BOB, CONFLICT, POLICY, TENANT};

fn tighter() -> String {
    format!(
        "{POLICY}  - id: deploys-need-a-human\n    when: {{ topic: deploy.production }}\n    \
         decision: require_human\n    reason: Production deploys need a human.\n"
    )
}

fn propose(h: &Harness, title: &str, yaml: &str) -> String {
    let file = h.dir.path().join(format!("{title}.yaml"));
    std::fs::write(&file, yaml).expect("policy file");
    let run = h.cli(
        BOB,
        &[
            "--json",
            "policy",
            "propose",
            "--title",
            title,
            "--file",
            file.to_str().expect("utf-8"),
        ],
    );
    run.success();
    run.json()["draft"]["draft_id"]
        .as_str()
        .expect("draft id")
        .to_owned()
}

#[test]
fn a_policy_change_is_shown_diffed_weighed_and_countersigned() {
    let h = Harness::start();
    let pending = h.submit();
    let draft = propose(&h, "deploys", &tighter());

    let listed = h.cli(ALICE, &["policy", "drafts"]);
    listed.success();
    assert!(
        listed.stdout.contains(&draft) && listed.stdout.contains("ready"),
        "{listed:?}"
    );
    let shown = h.cli(ALICE, &["policy", "show", &draft]);
    shown.success();
    assert!(shown.stdout.contains("source sha256"), "{shown:?}");
    assert!(
        shown.stdout.contains("| version: v1"),
        "the text is shown: {shown:?}"
    );
    assert!(!shown.stdout.contains("WARNING"), "{shown:?}");
    let diff = h.cli(ALICE, &["policy", "diff", &draft]);
    diff.success();
    assert!(
        diff.stdout
            .contains("+ #2 deploys-need-a-human: require_human"),
        "{diff:?}"
    );
    let impact = h.cli(ALICE, &["--json", "policy", "impact", &draft]).json();
    assert_eq!(impact["impact"]["pending"], 1, "{impact}");

    // The author cannot countersign their own change.
    let own = h.cli(BOB, &["policy", "approve", &draft]);
    own.failed_with(AUTH);
    assert!(own.stderr.contains("self_approval_denied"), "{own:?}");

    let approved = h.cli(
        ALICE,
        &[
            "--json",
            "policy",
            "approve",
            &draft,
            "--rationale",
            "deploys are risky",
        ],
    );
    approved.success();
    let record = &approved.json()["decision"]["answer"]["approval"];
    assert_eq!(record["actor"], "alice", "{approved:?}");
    assert_eq!(record["channel"], "cli");
    assert_eq!(record["rationale"], "deploys are risky");
    let again = h.cli(ALICE, &["policy", "approve", &draft]);
    again.success();
    assert!(
        again.stdout.contains("already approved by alice"),
        "{again:?}"
    );

    // Both sides record it: the gateway's current policy, and the ledger offline.
    let snapshots = h
        .runtime
        .block_on(h.gateway().snapshots(TENANT))
        .expect("snapshots");
    assert_eq!(
        snapshots[0],
        record["published_snapshot"].as_str().expect("published")
    );
    let history = h.cli(
        ALICE,
        &[
            "--json",
            "audit",
            "list",
            "--kind",
            "governance_outcome",
            "--job",
            &draft,
        ],
    );
    history.success();
    let outcomes: Vec<String> = history.json()["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["outcome"].as_str().map(str::to_owned))
        .collect();
    assert!(outcomes.contains(&"approved".to_owned()), "{outcomes:?}");
    assert!(!pending.is_empty());
}

#[test]
fn a_draft_that_moved_after_it_was_shown_is_refused_and_a_reject_needs_a_reason() {
    let h = Harness::start();
    let draft = propose(&h, "deploys", &tighter());
    h.cli(ALICE, &["policy", "show", &draft]).success();
    let bob = GatewayClient::new(
        &h.url,
        TENANT,
        Credential::ApiKey(Secret::new(BOB)),
        &HttpConfig::default(),
    )
    .expect("client");
    h.runtime
        .block_on(bob.update_draft(
            &draft,
            &tighter().replace("Production deploys", "All deploys"),
        ))
        .expect("updated");
    let moved = h.cli(ALICE, &["--json", "policy", "approve", &draft]);
    moved.failed_with(CONFLICT);
    assert_eq!(moved.json()["error"]["code"], "stale_lineage", "{moved:?}");
    // Shown again, the new version can be decided.
    h.cli(ALICE, &["policy", "show", &draft]).success();
    h.cli(ALICE, &["policy", "reject", &draft]).failed_with(2);
    let rejected = h.cli(
        ALICE,
        &["policy", "reject", &draft, "--reason", "too broad"],
    );
    rejected.success();
    assert!(rejected.stdout.contains("rejected"), "{rejected:?}");
    let closed = h.cli(ALICE, &["--json", "policy", "approve", &draft]);
    closed.failed_with(CONFLICT);
    assert_eq!(closed.json()["error"]["code"], "draft_closed", "{closed:?}");
}
