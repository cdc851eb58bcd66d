//! A draft's policy against the current one, rule by rule (rules are matched by id; order
//! matters because the first match wins, so a move is a change of `position`).

use countersign_core::governance::{PlacedRule, PolicyRule, RuleChange};
use serde_json::Value;

use crate::policy::{Policy, Rule};

/// Rules added, removed, changed, and how many stayed as they were.
pub(super) struct RuleDiff {
    pub added: Vec<PlacedRule>,
    pub removed: Vec<PlacedRule>,
    pub changed: Vec<RuleChange>,
    pub unchanged: u32,
}

fn wire(rule: &Rule) -> PolicyRule {
    PolicyRule {
        id: rule.id.clone(),
        description: rule.description.clone(),
        when: rule.when.clone(),
        decision: serde_json::to_value(rule.decision)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        reason: rule.reason.clone(),
        constraints: rule.constraints.clone().unwrap_or(Value::Null),
    }
}

fn placed(position: usize, rule: &Rule) -> PlacedRule {
    PlacedRule {
        position: u32::try_from(position).unwrap_or(u32::MAX),
        rule: wire(rule),
    }
}

pub(super) fn diff(current: &Policy, draft: &Policy) -> RuleDiff {
    let find = |policy: &Policy, id: &str| policy.rules.iter().position(|r| r.id == id);
    let mut out = RuleDiff {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        unchanged: 0,
    };
    for (after_at, after) in draft.rules.iter().enumerate() {
        let Some(before_at) = find(current, &after.id) else {
            out.added.push(placed(after_at, after));
            continue;
        };
        let before = &current.rules[before_at];
        let mut fields = Vec::new();
        for (field, differs) in [
            ("description", before.description != after.description),
            ("when", before.when != after.when),
            ("decision", before.decision != after.decision),
            ("reason", before.reason != after.reason),
            ("constraints", before.constraints != after.constraints),
            ("position", before_at != after_at),
        ] {
            if differs {
                fields.push(field.to_owned());
            }
        }
        if fields.is_empty() {
            out.unchanged += 1;
        } else {
            out.changed.push(RuleChange {
                rule_id: after.id.clone(),
                before: placed(before_at, before),
                after: placed(after_at, after),
                fields,
            });
        }
    }
    for (before_at, before) in current.rules.iter().enumerate() {
        if find(draft, &before.id).is_none() {
            out.removed.push(placed(before_at, before));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_matched_by_id_and_moves_count() {
        let current = Policy::from_yaml(
            "version: v1\nrules:\n  - { id: a, decision: deny, reason: r }\n  - { id: b, decision: allow, when: { topic: x } }\n  - { id: gone, decision: deny }\n",
        )
        .expect("current");
        let draft = Policy::from_yaml(
            "version: v1\nrules:\n  - { id: new, decision: require_human, when: { topic: y } }\n  - { id: a, decision: deny, reason: r }\n  - { id: b, decision: require_human, when: { topic: x } }\n",
        )
        .expect("draft");
        let d = diff(&current, &draft);
        assert_eq!(d.added.len(), 1);
        assert_eq!(
            (d.added[0].position, d.added[0].rule.decision.as_str()),
            (0, "require_human")
        );
        assert_eq!(d.removed[0].rule.id, "gone");
        let fields: Vec<(&str, &[String])> = d
            .changed
            .iter()
            .map(|c| (c.rule_id.as_str(), c.fields.as_slice()))
            .collect();
        assert_eq!(
            fields,
            [
                ("a", &["position".to_owned()][..]),
                ("b", &["decision".to_owned(), "position".to_owned()][..])
            ]
        );
        assert_eq!(d.unchanged, 0);
        assert_eq!(diff(&current, &current).unchanged, 3);
    }
}
