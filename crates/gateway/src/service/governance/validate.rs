//! The validation of a draft snapshot: findings with stable ids. Blockers forbid approval (a
//! policy that cannot be read, a rule that can never match, a rule that allows everything);
//! advisories are what an approver should read first.

use std::collections::{BTreeMap, BTreeSet};

use countersign_core::governance::{Finding, FindingSeverity};
use serde_yaml_ng::Value;

use crate::policy::{Decision, Policy, Rule};

/// Decisions as a policy may spell them.
const DECISIONS: &[&str] = &[
    "allow",
    "deny",
    "require_human",
    "require_approval",
    "throttle",
];

/// What a snapshot's YAML is: its policy when it can be read, and every finding.
#[derive(Debug)]
pub(super) struct Validation {
    pub policy: Option<Policy>,
    pub findings: Vec<Finding>,
}

impl Validation {
    pub fn ids(&self, severity: FindingSeverity) -> Vec<String> {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.id.clone())
            .collect()
    }
}

fn finding(severity: FindingSeverity, kind: &str, rule: Option<&str>, message: String) -> Finding {
    Finding {
        id: rule.map_or_else(|| kind.to_owned(), |r| format!("{kind}:{r}")),
        severity,
        rule_id: rule.map(str::to_owned),
        message,
    }
}

fn blocker(kind: &str, rule: Option<&str>, message: String) -> Finding {
    finding(FindingSeverity::Blocker, kind, rule, message)
}

fn advisory(kind: &str, rule: Option<&str>, message: String) -> Finding {
    finding(FindingSeverity::Advisory, kind, rule, message)
}

/// Validates `yaml`; `current` is the tenant's policy now, for `unchanged_from_current`.
pub(super) fn validate(yaml: &str, current: &Policy) -> Validation {
    let raw = match serde_yaml_ng::from_str::<Value>(yaml) {
        Ok(Value::Mapping(map)) => Value::Mapping(map),
        Ok(_) => {
            let message = "the policy is not a YAML mapping".to_owned();
            return unreadable(blocker("yaml_unparsable", None, message));
        }
        Err(e) => return unreadable(blocker("yaml_unparsable", None, format!("not YAML: {e}"))),
    };
    let mut findings = raw_findings(&raw);
    if !findings.is_empty() {
        return Validation {
            policy: None,
            findings,
        };
    }
    let policy = match Policy::from_yaml(yaml) {
        Ok(policy) => policy,
        Err(e) => return unreadable(blocker("policy_invalid", None, e.to_string())),
    };
    findings.extend(rule_findings(&policy));
    if policy.base_id() == current.base_id() {
        findings.push(advisory(
            "unchanged_from_current",
            None,
            "this policy decides exactly as the current one".into(),
        ));
    }
    Validation {
        policy: Some(policy),
        findings,
    }
}

fn unreadable(finding: Finding) -> Validation {
    Validation {
        policy: None,
        findings: vec![finding],
    }
}

/// What can be said before the typed parse: decisions nobody knows, ids used twice.
fn raw_findings(raw: &Value) -> Vec<Finding> {
    let Some(Value::Sequence(rules)) = raw.get("rules") else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    let mut ids = BTreeSet::new();
    for rule in rules {
        let id = rule.get("id").and_then(Value::as_str).unwrap_or("");
        if let Some(decision) = rule.get("decision").and_then(Value::as_str) {
            if !DECISIONS.contains(&decision) {
                findings.push(blocker(
                    "unknown_decision",
                    Some(id),
                    format!("rule {id:?}: unknown decision {decision:?} (allow, deny, require_human or throttle)"),
                ));
            }
        }
        if !id.is_empty() && !ids.insert(id) {
            findings.push(blocker(
                "duplicate_rule_id",
                Some(id),
                format!("rule id {id:?} is used twice"),
            ));
        }
    }
    findings
}

fn rule_findings(policy: &Policy) -> Vec<Finding> {
    let mut findings = Vec::new();
    if policy.rules.is_empty() {
        findings.push(advisory(
            "no_rules",
            None,
            "no rules: every job is allowed and none needs a human".into(),
        ));
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let id = rule.id.as_str();
        if rule.decision == Decision::Allow && matches_everything(&rule.when) {
            findings.push(blocker(
                "rule_allows_everything",
                Some(id),
                format!("rule {id:?} allows every job: no rule after it can ever match"),
            ));
        }
        if let Some(earlier) = policy.rules[..index].iter().find(|e| covers(e, rule)) {
            findings.push(blocker(
                "rule_never_matches",
                Some(id),
                format!(
                    "rule {id:?} can never match: rule {:?} before it matches every job it would",
                    earlier.id
                ),
            ));
        }
        let no_reason = rule.reason.as_deref().is_none_or(|r| r.trim().is_empty());
        let kind = match rule.decision {
            Decision::RequireHuman => Some("require_human_without_reason"),
            Decision::Deny => Some("deny_without_reason"),
            _ => None,
        };
        if let (true, Some(kind)) = (no_reason, kind) {
            findings.push(advisory(
                kind,
                Some(id),
                format!("rule {id:?} gives the requester and the reviewer no reason"),
            ));
        }
    }
    findings
}

fn matches_everything(when: &BTreeMap<String, String>) -> bool {
    when.iter()
        .all(|(key, value)| key == "topic" && value == "*")
}

/// Whether `earlier` matches every job `later` matches (so `later` is never reached).
fn covers(earlier: &Rule, later: &Rule) -> bool {
    earlier
        .when
        .iter()
        .all(|(key, want)| match later.when.get(key) {
            Some(have) if key == "topic" => topic_covers(want, have),
            Some(have) => have == want,
            // A condition `later` does not have narrows `earlier`; only a catch-all topic is none.
            None => key == "topic" && want == "*",
        })
}

/// Whether topic pattern `a` matches every topic pattern `b` matches.
fn topic_covers(a: &str, b: &str) -> bool {
    match a.strip_suffix('*') {
        Some(prefix) => b.starts_with(prefix),
        None => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(yaml: &str) -> Vec<String> {
        let v = validate(yaml, &Policy::allow_all());
        v.findings.into_iter().map(|f| f.id).collect()
    }

    #[test]
    fn each_blocker_has_its_id() {
        assert_eq!(ids("rules: [unclosed"), ["yaml_unparsable"]);
        assert_eq!(ids("- just a list"), ["yaml_unparsable"]);
        assert_eq!(ids("version: v2\nrules: []\n"), ["policy_invalid"]);
        assert_eq!(
            ids("version: v1\nrules:\n  - { id: a, decision: maybe }\n"),
            ["unknown_decision:a"]
        );
        assert_eq!(
            ids("version: v1\nrules:\n  - { id: a, decision: deny, reason: x }\n  - { id: a, decision: deny, reason: y }\n"),
            ["duplicate_rule_id:a"]
        );
        let open = ids("version: v1\nrules:\n  - { id: open, decision: allow }\n  - { id: later, when: { topic: a.b }, decision: deny, reason: no }\n");
        assert_eq!(
            open,
            ["rule_allows_everything:open", "rule_never_matches:later"]
        );
        let shadowed = ids("version: v1\nrules:\n  - { id: all-finance, when: { topic: 'finance.*' }, decision: require_human, reason: r }\n  - { id: payments, when: { topic: finance.payment, env: prod }, decision: deny, reason: r }\n");
        assert_eq!(shadowed, ["rule_never_matches:payments"]);
    }

    #[test]
    fn a_narrower_rule_first_is_fine_and_advisories_are_named() {
        let fine = ids("version: v1\nrules:\n  - { id: payments, when: { topic: finance.payment, env: prod }, decision: deny, reason: r }\n  - { id: all-finance, when: { topic: 'finance.*' }, decision: require_human }\n");
        assert_eq!(fine, ["require_human_without_reason:all-finance"]);
        assert_eq!(
            ids("version: v1\nrules: []\n"),
            ["no_rules", "unchanged_from_current"]
        );
    }
}
