//! The policy snapshot base rule (CONTRACT.md §3, §7). Snapshot ids may be combined as
//! `"<bundle-hash>|cfg:<config-hash>"`; Cordum compares only the part before the first `|`, so a
//! change of the config overlay alone does not invalidate an approval.

/// The base of a snapshot id: everything before the first `|` (Cordum's `snapshotBase`).
pub fn snapshot_base(snapshot: &str) -> &str {
    snapshot
        .split_once('|')
        .map_or(snapshot, |(base, _overlay)| base)
}

/// Whether two snapshot ids name the same policy. Like Cordum, both ids are trimmed before
/// their bases are compared; the base itself is not trimmed again, matching Go's
/// `snapshotBase(strings.TrimSpace(s))`. Two empty ids count as the same policy here; whether
/// an empty snapshot is acceptable at all is the caller's decision.
pub fn same_policy(a: &str, b: &str) -> bool {
    snapshot_base(a.trim()) == snapshot_base(b.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_the_part_before_the_first_pipe() {
        assert_eq!(snapshot_base("base|cfg:x"), "base");
        assert_eq!(snapshot_base("base|cfg:x|more"), "base");
        assert_eq!(snapshot_base("plain"), "plain");
        assert_eq!(snapshot_base("|cfg:x"), "");
        assert_eq!(snapshot_base(""), "");
    }

    #[test]
    fn overlay_only_change_is_the_same_policy() {
        assert!(same_policy("base|cfg:x", "base|cfg:y"));
        assert!(same_policy("base", "base|cfg:y"));
        assert!(same_policy("base|cfg:a|b", "base|other"));
    }

    #[test]
    fn different_bases_are_different_policies() {
        assert!(!same_policy("a", "b"));
        assert!(!same_policy("a|cfg:x", "b|cfg:x"));
        assert!(!same_policy("base", "base2|cfg:x"));
    }

    #[test]
    fn surrounding_whitespace_is_ignored_like_cordum() {
        assert!(same_policy("  base|cfg:x\n", "base"));
        assert!(same_policy("\tbase ", "base|cfg:y"));
        // Whitespace inside the id is significant: Go trims only the whole id.
        assert!(!same_policy("base |cfg:x", "base"));
    }

    #[test]
    fn empty_ids_only_match_each_other() {
        assert!(same_policy("", ""));
        assert!(same_policy("", "   "));
        assert!(same_policy("|cfg:x", ""));
        assert!(!same_policy("", "base"));
    }
}
