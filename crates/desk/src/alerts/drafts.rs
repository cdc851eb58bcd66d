//! Notifications of policy drafts: a new draft snapshot to countersign is announced with Open
//! only. Governance is never decided from a notification (seed 004 wants a reviewer who read the
//! diff and the impact), and a draft decided elsewhere withdraws its notification.

use countersign_core::governance::{DraftStatus, PolicyDraft};

use super::{plain, Alert, AlertAction, AlertCommand, AlertKey, Alerts};

/// Longest title shown in a notification.
const MAX_TITLE: usize = 120;

impl Alerts {
    /// The drafts as read after a draft event about `changed`: the changed draft is announced
    /// when it is open at a snapshot not announced yet; every announced draft that is no longer
    /// open is withdrawn. Drafts the event did not name are not news, so a backlog stays quiet.
    pub fn drafts_changed(
        &mut self,
        changed: Option<&str>,
        drafts: &[PolicyDraft],
    ) -> Vec<AlertCommand> {
        let mut commands = Vec::new();
        for draft in drafts {
            let id = &draft.draft_id;
            let snapshot = &draft.active_snapshot;
            if draft.status != DraftStatus::Open {
                if self.drafts.remove(id).is_some() {
                    commands.push(AlertCommand::Close(AlertKey::Draft(id.clone())));
                }
                continue;
            }
            let news =
                changed == Some(id.as_str()) && self.drafts.get(id) != Some(&snapshot.snapshot_id);
            if !news || self.do_not_disturb {
                continue;
            }
            self.drafts.insert(id.clone(), snapshot.snapshot_id.clone());
            let checks = if snapshot.ready_for_approval {
                "ready for approval".to_owned()
            } else {
                format!("{} blocker(s)", snapshot.blocker_ids.len())
            };
            commands.push(AlertCommand::Show(Alert {
                key: AlertKey::Draft(id.clone()),
                summary: format!(
                    "Policy change to countersign: {}",
                    plain(&draft.title, MAX_TITLE)
                ),
                body: format!(
                    "Version {} by {}, {checks}. Open the app to read the diff and its impact: \
                     policy changes are approved there only.",
                    snapshot.version,
                    plain(&draft.author, 64)
                ),
                actions: vec![AlertAction::Open],
                transient: false,
            }));
        }
        commands
    }
}

#[cfg(test)]
mod tests {
    use countersign_core::governance::DraftStatus;
    use serde_json::json;

    use super::*;
    use crate::alerts::AlertTarget;

    fn draft(id: &str, snapshot: &str, status: DraftStatus) -> PolicyDraft {
        serde_json::from_value(json!({
            "draft_id": id, "tenant": "default", "title": "Require a human\u{202e} for deploys",
            "author": "policy-bot", "status": status, "created_at": "t", "updated_at": "t",
            "active_snapshot": {
                "snapshot_id": snapshot, "draft_id": id, "version": 2,
                "source_snapshot_hash": "ab", "base_snapshot": "base", "author": "policy-bot",
                "created_at": "t", "status": "ready_for_approval", "ready_for_approval": true,
                "blocker_ids": [], "advisory_ids": [], "findings": [], "rule_count": 1
            }
        }))
        .expect("draft")
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

    #[test]
    fn a_new_draft_snapshot_is_announced_once_with_open_only() {
        let mut alerts = Alerts::default();
        let drafts = [draft("drf-1", "dsn-2", DraftStatus::Open)];
        let first = alerts.drafts_changed(Some("drf-1"), &drafts);
        let alert = shown(&first)[0];
        assert_eq!(
            alert.actions,
            vec![AlertAction::Open],
            "never Approve or Reject"
        );
        assert!(!alert.summary.contains('\u{202e}'), "{:?}", alert.summary);
        assert!(alert.body.contains("Version 2 by policy-bot"));
        assert!(
            alerts.drafts_changed(Some("drf-1"), &drafts).is_empty(),
            "once per snapshot"
        );
        let moved = [draft("drf-1", "dsn-3", DraftStatus::Open)];
        assert_eq!(
            shown(&alerts.drafts_changed(Some("drf-1"), &moved)).len(),
            1
        );
        assert_eq!(
            alerts.resolve(&AlertKey::Draft("drf-1".into()), AlertAction::Approve),
            AlertTarget::OpenDraft("drf-1".into()),
            "any button of a draft's notification only opens it"
        );
    }

    #[test]
    fn a_backlog_stays_quiet_and_decided_drafts_are_withdrawn() {
        let mut alerts = Alerts::default();
        let backlog = [
            draft("drf-old", "dsn-1", DraftStatus::Open),
            draft("drf-1", "dsn-1", DraftStatus::Open),
        ];
        let commands = alerts.drafts_changed(Some("drf-1"), &backlog);
        assert_eq!(shown(&commands).len(), 1, "only the draft the event named");
        let decided = [draft("drf-1", "dsn-1", DraftStatus::Approved)];
        assert_eq!(
            alerts.drafts_changed(Some("drf-1"), &decided),
            vec![AlertCommand::Close(AlertKey::Draft("drf-1".into()))]
        );
        alerts.set_do_not_disturb(true);
        assert!(alerts
            .drafts_changed(Some("drf-2"), &[draft("drf-2", "dsn-1", DraftStatus::Open)])
            .is_empty());
    }
}
