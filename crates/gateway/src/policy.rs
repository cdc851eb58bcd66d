//! The safety policy: rules in the seeds' YAML format, their evaluation against a job, and the
//! snapshot ids that bind an approval to the policy it was decided under.
//!
//! # Format
//!
//! ```yaml
//! version: v1
//! rules:
//!   - id: require-approval-prod-finance
//!     when: { topic: finance.payment.execute, env: production }
//!     decision: require_human          # allow | deny | require_human | throttle
//!     reason: Payments need a human.
//!     constraints: { budgets: { max_retries: 1 } }   # optional, any mapping
//! ```
//!
//! # Matching
//!
//! * `topic` matches the job topic exactly, or as a prefix when it ends in `*`
//!   (`finance.*` matches `finance.payment.execute`); a rule without `topic` matches any topic.
//! * Every other `when` key matches the job label of that name exactly (`env: production`,
//!   `channel: external`, `cidr: "0.0.0.0/0"`); a missing label never matches.
//! * Rules are tried in order; the first match wins. No match allows the job.
//!
//! # Snapshot ids
//!
//! The base id is the SHA-256 hex of the *canonical* policy: the parsed rules re-serialized as
//! JSON with sorted keys, so whitespace, comments and key order in the YAML do not change it.
//! A gateway configuration overlay (settings that influence decisions, such as the throttle
//! back-off) is hashed the same way and appended as `base|cfg:<hash>`; clients compare only
//! the base, so an overlay-only change keeps pending approvals valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::GatewayError;

/// A policy decision, as the policy file spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
    #[serde(alias = "require_approval")]
    RequireHuman,
    Throttle,
}

impl Decision {
    /// Cordum's `SafetyDecision` name, as approval items and job records carry it.
    pub fn wire_name(self) -> &'static str {
        match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
            Self::RequireHuman => "REQUIRE_APPROVAL",
            Self::Throttle => "THROTTLE",
        }
    }

    /// Whether an approval may proceed when re-evaluation yields this decision.
    pub fn lets_approval_proceed(self) -> bool {
        matches!(self, Self::Allow | Self::RequireHuman)
    }
}

/// One rule of a policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "scalar_map")]
    pub when: BTreeMap<String, String>,
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Value>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub version: String,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// The outcome of evaluating a job against a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub decision: Decision,
    /// The matched rule, or empty when no rule matched.
    pub rule_id: String,
    pub reason: String,
    pub constraints: Option<Value>,
}

/// What policy evaluation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub topic: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

impl Policy {
    /// Parses and validates a YAML policy document.
    pub fn from_yaml(text: &str) -> Result<Self, GatewayError> {
        let policy: Self =
            serde_yaml_ng::from_str(text).map_err(|e| GatewayError::Policy(e.to_string()))?;
        if policy.version != "v1" {
            return Err(GatewayError::Policy(format!(
                "unsupported policy version {:?} (expected \"v1\")",
                policy.version
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for rule in &policy.rules {
            if rule.id.trim().is_empty() {
                return Err(GatewayError::Policy(
                    "every rule needs a non-empty id".into(),
                ));
            }
            if !seen.insert(rule.id.as_str()) {
                return Err(GatewayError::Policy(format!(
                    "duplicate rule id {:?}",
                    rule.id
                )));
            }
            if let Some(c) = &rule.constraints {
                if !c.is_object() {
                    return Err(GatewayError::Policy(format!(
                        "rule {:?}: constraints must be a mapping",
                        rule.id
                    )));
                }
            }
        }
        Ok(policy)
    }

    /// The empty policy: no rules, so everything is allowed.
    pub fn allow_all() -> Self {
        Self {
            version: "v1".into(),
            rules: Vec::new(),
        }
    }

    /// The canonical text whose hash is the snapshot base.
    pub fn canonical(&self) -> String {
        // serde_json::Value objects are BTreeMaps, so a round-trip sorts every key.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// The snapshot base id of this policy.
    pub fn base_id(&self) -> String {
        sha256_hex(self.canonical().as_bytes())
    }

    /// Evaluates a job: the first matching rule wins, no match allows.
    pub fn evaluate(&self, subject: Subject<'_>) -> Evaluation {
        self.rules
            .iter()
            .find(|rule| rule.matches(subject))
            .map_or_else(
                || Evaluation {
                    decision: Decision::Allow,
                    rule_id: String::new(),
                    reason: String::new(),
                    constraints: None,
                },
                |rule| Evaluation {
                    decision: rule.decision,
                    rule_id: rule.id.clone(),
                    reason: rule.reason.clone().unwrap_or_default(),
                    constraints: rule.constraints.clone(),
                },
            )
    }

    /// The rule with this id, for the context view's policy summary.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

impl Rule {
    fn matches(&self, subject: Subject<'_>) -> bool {
        self.when.iter().all(|(key, want)| {
            if key == "topic" {
                topic_matches(want, subject.topic)
            } else {
                subject.labels.get(key) == Some(want)
            }
        })
    }
}

fn topic_matches(pattern: &str, topic: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => topic.starts_with(prefix),
        None => pattern == topic,
    }
}

/// Accepts YAML scalars of any type as match values (`port: 443`, `public: true`), because a
/// policy author should not have to quote them; nested values are an error.
fn scalar_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    let raw = Option::<BTreeMap<String, serde_yaml_ng::Value>>::deserialize(deserializer)?;
    raw.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_yaml_ng::Value::String(s) => s,
                serde_yaml_ng::Value::Bool(b) => b.to_string(),
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(D::Error::custom(format!(
                        "`when.{k}` must be a string, number or boolean"
                    )))
                }
            };
            Ok((k, text))
        })
        .collect()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The full snapshot id of a policy under a configuration overlay.
pub fn snapshot_id(policy: &Policy, overlay: &Value) -> String {
    format!(
        "{}|cfg:{}",
        policy.base_id(),
        sha256_hex(overlay.to_string().as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
version: v1
rules:
  - id: deny-prod-public-ingress
    when:
      topic: infra.security_group.update
      env: production
      cidr: "0.0.0.0/0"
    decision: deny
  - id: require-approval-prod-delete
    when: { topic: infra.resource.delete, env: production }
    decision: require_human
  - id: finance-any
    when: { topic: "finance.*" }
    decision: require_approval
    reason: money
"#;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn first_match_wins_and_labels_must_match_exactly() {
        let p = Policy::from_yaml(SEED).expect("seed parses");
        let prod = labels(&[("env", "production"), ("cidr", "0.0.0.0/0")]);
        let e = p.evaluate(Subject {
            topic: "infra.security_group.update",
            labels: &prod,
        });
        assert_eq!(e.decision, Decision::Deny);
        let staging = labels(&[("env", "staging"), ("cidr", "0.0.0.0/0")]);
        let e = p.evaluate(Subject {
            topic: "infra.security_group.update",
            labels: &staging,
        });
        assert_eq!((e.decision, e.rule_id.as_str()), (Decision::Allow, ""));
        let e = p.evaluate(Subject {
            topic: "finance.payment.execute",
            labels: &staging,
        });
        assert_eq!(
            (e.decision, e.reason.as_str()),
            (Decision::RequireHuman, "money")
        );
    }

    #[test]
    fn snapshot_ignores_formatting_but_not_content() {
        let a = Policy::from_yaml(SEED).expect("parses");
        let reformatted = SEED.replace("    decision: deny", "    # comment\n    decision:   deny");
        let b = Policy::from_yaml(&reformatted).expect("parses");
        assert_eq!(a.base_id(), b.base_id());
        let c = Policy::from_yaml(&SEED.replace("money", "cash")).expect("parses");
        assert_ne!(a.base_id(), c.base_id());
    }

    #[test]
    fn overlay_keeps_the_base() {
        let p = Policy::allow_all();
        let one = snapshot_id(&p, &serde_json::json!({"throttle_retry_after_s": 30}));
        let two = snapshot_id(&p, &serde_json::json!({"throttle_retry_after_s": 60}));
        assert_ne!(one, two);
        assert_eq!(
            countersign_core::snapshot::snapshot_base(&one),
            countersign_core::snapshot::snapshot_base(&two)
        );
    }

    #[test]
    fn invalid_documents_are_rejected_clearly() {
        assert!(Policy::from_yaml("version: v2\nrules: []").is_err());
        assert!(Policy::from_yaml("rules: [").is_err());
        assert!(Policy::from_yaml("version: v1\nrules:\n  - id: a\n    decision: maybe").is_err());
        let dup = "version: v1\nrules:\n  - {id: a, decision: allow}\n  - {id: a, decision: deny}";
        assert!(Policy::from_yaml(dup).is_err());
    }
}
