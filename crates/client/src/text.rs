//! Gateway text shown to people (error messages, unreadable bodies) is clipped to one length
//! everywhere, so a hostile gateway cannot flood a log line or a dialog.

/// Longest piece of gateway text kept, in characters.
pub(crate) const MAX_GATEWAY_TEXT_CHARS: usize = 500;

/// The first [`MAX_GATEWAY_TEXT_CHARS`] characters of `text`.
pub(crate) fn clip(text: &str) -> String {
    text.chars().take(MAX_GATEWAY_TEXT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_by_characters_not_bytes() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(MAX_GATEWAY_TEXT_CHARS + 10);
        assert_eq!(clip(&long).chars().count(), MAX_GATEWAY_TEXT_CHARS);
    }
}
