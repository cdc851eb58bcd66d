//! The reviewer's settings that change what the desk allows, not only how it looks.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The risk tags that make an item high risk unless the reviewer chose others.
pub const DEFAULT_HIGH_RISK_TAGS: [&str; 4] = ["prod", "secrets", "finance", "delete"];
const MAX_TAGS: usize = 32;
const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct ReviewSettings {
    /// Items with any of these risk tags need the typed job hash characters to approve and
    /// are left out of bulk approval. Compared case-insensitively.
    pub high_risk_tags: Vec<String>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            high_risk_tags: DEFAULT_HIGH_RISK_TAGS.map(str::to_owned).to_vec(),
        }
    }
}

impl ReviewSettings {
    /// A tag that is not plain printable ASCII counts as high risk: `prоd` with a Cyrillic
    /// `о`, or `prod` with a zero-width space, looks like `prod` on screen and must not slip
    /// past the guard by not matching it.
    pub fn is_high_risk(&self, risk_tags: &[String]) -> bool {
        risk_tags.iter().any(|tag| {
            let tag = tag.trim();
            !tag.chars().all(|c| c.is_ascii_graphic())
                || self
                    .high_risk_tags
                    .iter()
                    .any(|high| high.eq_ignore_ascii_case(tag))
        })
    }

    /// Trimmed, lower-cased, de-duplicated; refuses what cannot be a tag.
    pub fn normalized(self) -> Result<Self, String> {
        if self.high_risk_tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} high-risk tags"));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in self.high_risk_tags {
            let tag = tag.trim().to_ascii_lowercase();
            if tag.is_empty() {
                continue;
            }
            if tag.chars().count() > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
                return Err(format!("invalid risk tag {tag:?}"));
            }
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Self {
            high_risk_tags: tags,
        })
    }

    /// The tags that are high risk under these settings and would not be under `next`: a
    /// change that lowers the guard, which the reviewer must confirm outside the webview.
    pub fn guard_removed_by(&self, next: &ReviewSettings) -> Vec<String> {
        self.high_risk_tags
            .iter()
            .filter(|tag| !next.is_high_risk(std::slice::from_ref(*tag)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_risk_is_any_configured_tag_ignoring_case() {
        let settings = ReviewSettings::default();
        assert!(settings.is_high_risk(&["write".into(), "PROD".into()]));
        assert!(!settings.is_high_risk(&["write".into(), "network".into()]));
        assert!(!settings.is_high_risk(&[]));
        assert!(
            settings.is_high_risk(&["pr\u{043e}d".into()]),
            "a lookalike letter"
        );
        assert!(
            settings.is_high_risk(&["prod\u{200b}".into()]),
            "a zero-width space"
        );
        assert!(
            settings.is_high_risk(&["read only".into()]),
            "not a tag a policy writes"
        );
    }

    #[test]
    fn removing_a_high_risk_tag_lowers_the_guard_and_adding_one_does_not() {
        let current = ReviewSettings::default();
        let added = ReviewSettings {
            high_risk_tags: vec![
                "prod".into(),
                "secrets".into(),
                "finance".into(),
                "delete".into(),
                "network".into(),
            ],
        };
        assert!(current.guard_removed_by(&added).is_empty());
        let fewer = ReviewSettings {
            high_risk_tags: vec!["PROD".into(), "delete".into()],
        };
        assert_eq!(current.guard_removed_by(&fewer), ["secrets", "finance"]);
        let none = ReviewSettings {
            high_risk_tags: Vec::new(),
        };
        assert_eq!(current.guard_removed_by(&none).len(), 4);
    }

    #[test]
    fn settings_are_normalized_and_bad_tags_refused() {
        let got = ReviewSettings {
            high_risk_tags: vec![" Prod ".into(), "prod".into(), "".into(), "secrets".into()],
        }
        .normalized()
        .expect("valid");
        assert_eq!(got.high_risk_tags, ["prod", "secrets"]);
        assert!(ReviewSettings {
            high_risk_tags: vec!["a\nb".into()]
        }
        .normalized()
        .is_err());
        assert!(ReviewSettings {
            high_risk_tags: vec!["x".into(); 33]
        }
        .normalized()
        .is_err());
    }
}
