use countersign_core::approval::ApprovalItem;

use super::*;
use crate::settings::ReviewSettings;

fn card(id: &str, requester: &str, tags: &[&str]) -> CardView {
    let mut item = ApprovalItem::default();
    item.job.id = id.into();
    item.job.state = "APPROVAL_REQUIRED".into();
    item.job.principal = requester.into();
    item.job.topic = "customer.notify".into();
    item.job.risk_tags = tags.iter().map(|t| (*t).to_owned()).collect();
    item.job_hash = format!("sha256:{id}00c0ffee");
    item.policy_snapshot = "s1".into();
    CardView::new(&item, &ReviewSettings::default())
}

fn shown(commands: &[AlertCommand]) -> Vec<&Alert> {
    commands
        .iter()
        .filter_map(|c| match c {
            AlertCommand::Show(alert) => Some(alert),
            _ => None,
        })
        .collect()
}

fn closed(commands: &[AlertCommand]) -> Vec<AlertKey> {
    commands
        .iter()
        .filter_map(|c| match c {
            AlertCommand::Close(key) => Some(key.clone()),
            _ => None,
        })
        .collect()
}

/// Rules under which only floods collapse, never bursts.
fn without_bursts() -> Alerts {
    Alerts::new(AlertRules {
        burst_count: 1_000,
        ..AlertRules::default()
    })
}

fn item(id: &str) -> AlertKey {
    AlertKey::Item(id.into())
}

#[test]
fn one_notification_per_item_with_its_facts_and_never_its_payload() {
    let mut alerts = Alerts::new(AlertRules::default());
    let mut view = card("a", "agent-7", &["network"]);
    view.payload = vec![crate::card::Fact {
        key: "api_key".into(),
        value: "sk-live-123".into(),
    }];
    let commands = alerts.arrived(&view, 0);
    let alert = shown(&commands)[0];
    assert_eq!(alert.key, item("a"));
    assert_eq!(alert.summary, format!("Approval: {}", view.card.title));
    assert!(alert.body.contains("agent-7") && alert.body.contains("network"));
    assert!(alert.body.contains("…ffee"), "{}", alert.body);
    assert!(!alert.body.contains("sk-live"), "payload never shown");
    assert_eq!(
        alert.actions,
        [
            AlertAction::Approve,
            AlertAction::Reject,
            AlertAction::Open,
            AlertAction::Report
        ]
    );
    assert!(
        alerts.arrived(&view, 10).is_empty(),
        "the same item is not raised twice"
    );
}

#[test]
fn a_high_risk_item_offers_no_approve_and_a_pressed_approve_only_opens() {
    let mut alerts = Alerts::new(AlertRules::default());
    let risky = card("p", "agent-7", &["finance"]);
    let commands = alerts.arrived(&risky, 0);
    assert!(!shown(&commands)[0].actions.contains(&AlertAction::Approve));
    assert_eq!(
        alerts.resolve(&item("p"), AlertAction::Approve),
        AlertTarget::Open(Some("p".into())),
        "a forged or stale Approve on a high-risk item decides nothing"
    );
    assert_eq!(
        alerts.resolve(&item("p"), AlertAction::Reject),
        AlertTarget::Reject(risky.seen.clone())
    );
}

#[test]
fn actions_bind_to_what_was_shown_and_stale_notifications_are_withdrawn() {
    let mut alerts = Alerts::new(AlertRules::default());
    let view = card("a", "agent-7", &[]);
    alerts.arrived(&view, 0);
    assert_eq!(
        alerts.resolve(&item("a"), AlertAction::Approve),
        AlertTarget::Approve(view.seen.clone())
    );
    // Unchanged: it stays.
    assert!(alerts.stale("a", Some(&view.seen)).is_empty());
    let mut changed = view.seen.clone();
    changed.job_hash = "sha256:other".into();
    assert_eq!(closed(&alerts.stale("a", Some(&changed))), [item("a")]);
    assert_eq!(
        alerts.resolve(&item("a"), AlertAction::Approve),
        AlertTarget::Open(Some("a".into()))
    );
    // Resolved elsewhere: closed too.
    alerts.arrived(&card("b", "agent-7", &[]), 10);
    assert_eq!(closed(&alerts.stale("b", None)), [item("b")]);
    // Decided: replaced by a confirmation without buttons.
    alerts.arrived(&card("c", "agent-7", &[]), 20);
    // The item usually leaves the queue before the gateway's answer is in.
    assert_eq!(closed(&alerts.stale("c", None)), [item("c")]);
    let done = alerts.decided("c", "Approved");
    let confirmation = shown(&done)[0];
    assert_eq!(confirmation.key, item("c"));
    assert_eq!(confirmation.summary, "Approved · Review customer.notify");
    assert!(confirmation.actions.is_empty() && confirmation.transient);
    assert_eq!(
        alerts.resolve(&item("c"), AlertAction::Approve),
        AlertTarget::Open(Some("c".into()))
    );
}

#[test]
fn more_than_three_arrivals_in_two_seconds_collapse_into_one_updated_summary() {
    let mut alerts = Alerts::new(AlertRules::default());
    let mut all = Vec::new();
    for (n, at) in [0, 300, 600].into_iter().enumerate() {
        all.extend(alerts.arrived(&card(&format!("j{n}"), "agent-7", &[]), at));
    }
    assert_eq!(shown(&all).len(), 3, "three are shown one by one");
    let fourth = alerts.arrived(&card("j3", "agent-7", &[]), 900);
    assert_eq!(closed(&fourth).len(), 3, "the three fold into the summary");
    assert_eq!(shown(&fourth)[0].key, AlertKey::Burst);
    assert_eq!(shown(&fourth)[0].summary, "4 new approvals");
    assert_eq!(shown(&fourth)[0].actions, [AlertAction::Open]);
    let more: Vec<_> = (4..10)
        .flat_map(|n| alerts.arrived(&card(&format!("j{n}"), "agent-7", &[]), 1_000 + n))
        .collect();
    let summaries = shown(&more);
    assert!(
        summaries.iter().all(|a| a.key == AlertKey::Burst),
        "updated, not stacked"
    );
    assert_eq!(
        summaries.last().map(|a| a.summary.as_str()),
        Some("10 new approvals")
    );
    // After a quiet window, the next one is shown on its own.
    let later = alerts.arrived(&card("k", "agent-9", &[]), 10_000);
    assert_eq!(shown(&later)[0].key, item("k"));
}

#[test]
fn a_flood_from_one_requester_collapses_and_warns_and_report_mutes_it() {
    let mut alerts = without_bursts();
    let mut all = Vec::new();
    for n in 0..11 {
        all.extend(alerts.arrived(&card(&format!("f{n}"), "spammer", &[]), n * 1_000));
    }
    assert!(all
        .iter()
        .any(|c| matches!(c, AlertCommand::Warn(w) if w.contains("spammer"))));
    let last = shown(&all);
    let flood = last.last().expect("a flood notification");
    assert_eq!(flood.key, AlertKey::Flood("spammer".into()));
    assert_eq!(flood.summary, "11 approvals from spammer");
    assert_eq!(
        closed(&all).len(),
        10,
        "its single notifications are withdrawn"
    );

    let reported = alerts.report("spammer", 20_000);
    assert!(closed(&reported).contains(&AlertKey::Flood("spammer".into())));
    assert!(alerts.is_muted("spammer", 20_000 + 19 * 60_000));
    assert!(alerts
        .arrived(&card("f99", "spammer", &[]), 21_000)
        .is_empty());
    assert!(!alerts.is_muted("spammer", 20_000 + 20 * 60_000));
    assert!(
        !alerts
            .arrived(&card("ok", "someone-else", &[]), 21_000)
            .is_empty(),
        "others are not muted"
    );
}

#[test]
fn approve_leaves_notifications_after_five_approvals_in_a_minute_until_the_window_opens() {
    let mut alerts = Alerts::new(AlertRules::default());
    alerts.arrived(&card("a", "agent-7", &[]), 0);
    for n in 0..4 {
        assert!(alerts.approved_from_notification(n * 1_000).is_empty());
    }
    let paused = alerts.approved_from_notification(5_000);
    assert!(!shown(&paused)[0].actions.contains(&AlertAction::Approve));
    assert_eq!(
        alerts.resolve(&item("a"), AlertAction::Approve),
        AlertTarget::Open(Some("a".into()))
    );
    let next = alerts.arrived(&card("b", "agent-7", &[]), 70_000);
    assert!(!shown(&next)[0].actions.contains(&AlertAction::Approve));
    alerts.window_opened();
    let after = alerts.arrived(&card("c", "agent-7", &[]), 80_000);
    assert!(shown(&after)[0].actions.contains(&AlertAction::Approve));
}

#[test]
fn do_not_disturb_raises_nothing_loses_nothing_and_sums_up_when_turned_off() {
    let mut alerts = Alerts::new(AlertRules::default());
    alerts.arrived(&card("a", "agent-7", &[]), 0);
    assert_eq!(closed(&alerts.set_do_not_disturb(true)), [item("a")]);
    assert!(alerts.arrived(&card("b", "agent-7", &[]), 10).is_empty());
    assert!(alerts.arrived(&card("c", "agent-7", &[]), 20).is_empty());
    let back = alerts.set_do_not_disturb(false);
    assert_eq!(shown(&back)[0].key, AlertKey::Missed);
    assert_eq!(
        shown(&back)[0].summary,
        "2 approvals arrived while notifications were paused"
    );
    assert!(alerts.set_do_not_disturb(false).is_empty());
}

#[test]
fn action_keys_round_trip_and_unknown_ones_are_refused() {
    for action in [
        AlertAction::Approve,
        AlertAction::Reject,
        AlertAction::Open,
        AlertAction::Report,
    ] {
        assert_eq!(AlertAction::from_key(action.key()), Some(action));
    }
    assert_eq!(AlertAction::from_key("approve-all"), None);
}

#[test]
fn agent_text_cannot_add_lines_or_hide_the_hash() {
    let mut view = card("x", "bot\nrisk: none", &["network"]);
    view.card.title = format!("Pay\u{202e}evil {}", "x".repeat(500));
    let commands = Alerts::new(AlertRules::default()).arrived(&view, 0);
    let alert = shown(&commands)[0];
    assert!(!alert.summary.contains('\n') && !alert.summary.contains('\u{202e}'));
    assert!(alert.summary.chars().count() < 100, "{}", alert.summary);
    let lines: Vec<&str> = alert.body.lines().collect();
    assert_eq!(lines[0], "bot risk: none", "one line for the requester");
    assert!(lines.last().is_some_and(|l| l.starts_with("hash …")));
}

#[test]
fn a_pressed_button_leaves_the_notification_at_once() {
    let mut alerts = Alerts::new(AlertRules::default());
    let view = card("a", "agent-7", &[]);
    alerts.arrived(&view, 0);
    let pressed = alerts.pressed("a", AlertAction::Approve);
    assert!(shown(&pressed)[0].actions.is_empty());
    assert!(shown(&pressed)[0].summary.starts_with("Approving… · "));
    assert_eq!(
        alerts.resolve(&item("a"), AlertAction::Reject),
        AlertTarget::Open(Some("a".into())),
        "a second press decides nothing"
    );
    assert!(alerts.pressed("a", AlertAction::Reject).is_empty());
}

#[test]
fn floods_follow_the_authenticated_submitter_not_the_principal_the_agent_wrote() {
    let mut alerts = without_bursts();
    let mut all = Vec::new();
    for n in 0..11 {
        let mut view = card(&format!("r{n}"), &format!("rotating-{n}"), &[]);
        view.submitted_by = Some("agent-key-1".into());
        all.extend(alerts.arrived(&view, n * 1_000));
    }
    assert!(shown(&all)
        .iter()
        .any(|a| a.key == AlertKey::Flood("agent-key-1".into())));
}

#[test]
fn a_button_counts_only_with_the_key_its_own_notification_carried() {
    let key = AlertAction::Approve.wire_key("n1");
    assert_eq!(key, "approve:n1");
    assert_eq!(
        AlertAction::from_wire_key(&key, Some("n1")),
        Some(AlertAction::Approve)
    );
    assert_eq!(
        AlertAction::from_wire_key(&key, Some("n2")),
        None,
        "another notification's"
    );
    assert_eq!(
        AlertAction::from_wire_key("approve", Some("n1")),
        None,
        "no key"
    );
    assert_eq!(AlertAction::from_wire_key("approve:", Some("")), None);
    assert_eq!(AlertAction::from_wire_key(&key, None), None, "not ours");
    assert_eq!(
        AlertAction::from_wire_key("default", None),
        Some(AlertAction::Open),
        "the body click only opens"
    );
}

#[test]
fn after_a_notification_server_restart_old_buttons_act_no_more_and_one_summary_says_what_waits() {
    let mut alerts = without_bursts();
    let view = card("a", "agent-7", &[]);
    alerts.arrived(&view, 0);
    alerts.arrived(&card("b", "agent-8", &[]), 10);
    let commands = alerts.server_restarted();
    let summary = shown(&commands);
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].key, AlertKey::Missed);
    assert_eq!(summary[0].summary, "2 approvals still waiting");
    assert_eq!(summary[0].actions, [AlertAction::Open]);
    assert_eq!(
        alerts.resolve(&item("a"), AlertAction::Approve),
        AlertTarget::Open(Some("a".into()))
    );
    assert!(
        alerts.server_restarted().is_empty(),
        "nothing left on screen"
    );
    // A new arrival is raised as usual.
    assert_eq!(
        shown(&alerts.arrived(&card("c", "agent-7", &[]), 20)).len(),
        1
    );
}
