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

const MINUTES_PER_DAY: u16 = 24 * 60;

/// A daily span of local time in which desktop notifications are paused as by Do not
/// disturb: nothing is raised, nothing is lost, one summary when it ends. `from` may be later
/// than `to`: 18:00 to 09:00 spans the night.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct QuietHours {
    pub enabled: bool,
    /// Minutes after local midnight, 0 to 1439.
    pub from_minute: u16,
    pub to_minute: u16,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            enabled: false,
            from_minute: 18 * 60,
            to_minute: 9 * 60,
        }
    }
}

impl QuietHours {
    /// Whether `minute_of_day` (local) falls in the span; the start counts, the end does not.
    pub fn contains(&self, minute_of_day: u16) -> bool {
        let (from, to, now) = (self.from_minute, self.to_minute, minute_of_day);
        if !self.enabled || from == to {
            false
        } else if from < to {
            (from..to).contains(&now)
        } else {
            now >= from || now < to
        }
    }

    pub fn normalized(self) -> Result<Self, String> {
        if self.from_minute >= MINUTES_PER_DAY || self.to_minute >= MINUTES_PER_DAY {
            return Err("quiet hours start and end within the day, 00:00 to 23:59".into());
        }
        if self.enabled && self.from_minute == self.to_minute {
            return Err("quiet hours need an end different from their start".into());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(from: u16, to: u16) -> QuietHours {
        QuietHours {
            enabled: true,
            from_minute: from,
            to_minute: to,
        }
    }

    #[test]
    fn quiet_hours_span_the_night_or_part_of_a_day() {
        let night = quiet(18 * 60, 9 * 60);
        for (minute, inside) in [
            (17 * 60 + 59, false),
            (18 * 60, true),
            (23 * 60 + 59, true),
            (0, true),
            (8 * 60 + 59, true),
            (9 * 60, false),
            (12 * 60, false),
        ] {
            assert_eq!(night.contains(minute), inside, "minute {minute}");
        }
        let lunch = quiet(12 * 60, 13 * 60);
        assert!(lunch.contains(12 * 60 + 30));
        assert!(!lunch.contains(13 * 60));
        assert!(!lunch.contains(11 * 60));
        assert!(!QuietHours {
            enabled: false,
            ..night
        }
        .contains(20 * 60));
    }

    #[test]
    fn quiet_hours_outside_the_day_or_empty_are_refused() {
        assert!(quiet(24 * 60, 0).normalized().is_err());
        assert!(quiet(0, 24 * 60).normalized().is_err());
        assert!(quiet(600, 600).normalized().is_err());
        assert!(QuietHours {
            enabled: false,
            ..quiet(600, 600)
        }
        .normalized()
        .is_ok());
        assert_eq!(quiet(0, 1439).normalized(), Ok(quiet(0, 1439)));
    }

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
