//! The hash chain's byte-level rules: canonical JSON for entry bodies, the unambiguous encoding
//! of an entry's fields, and the SHA-256 that links each entry to the one before it.
//!
//! # The entry hash
//!
//! `entry_hash` is the lowercase hex SHA-256 of this byte string, fields in this order:
//!
//! 1. the domain tag `countersign-ledger/entry/v1`, as a string field;
//! 2. `seq` as 8 bytes unsigned big-endian;
//! 3. `recorded_at` (ms since the Unix epoch) as 8 bytes signed big-endian;
//! 4. `kind`, `job_id`, `topic`, `decision`, `outcome`, `body`, `prev_hash`, each as a string
//!    field: the byte `0x00` for an absent value, or the byte `0x01`, the UTF-8 length as
//!    8 bytes unsigned big-endian, then the UTF-8 bytes.
//!
//! Every field is either fixed-width or length-prefixed, so no two different entries encode
//! to the same bytes (moving text from `topic` into `job_id` changes the hash), and an absent
//! column differs from an empty one.
//!
//! `body` is the canonical JSON text of the entry body (see [`canonical_json`]); it is stored
//! exactly as hashed, so verifying a ledger never re-serializes JSON.
//!
//! The first entry's `prev_hash` is [`GENESIS_HASH`], 64 zeros.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of entry 1, and the head hash of an empty ledger.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &str = "countersign-ledger/entry/v1";

/// The last entry of a chain: what to copy somewhere else (a ticket, a mail, another machine)
/// so that a later rewrite of the whole file can be caught. `seq` 0 with [`GENESIS_HASH`] is
/// the head of an empty ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub entry_hash: String,
}

impl ChainHead {
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            entry_hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// The hashed fields of one entry, borrowed from wherever they are stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashInput<'a> {
    pub seq: u64,
    pub recorded_at: i64,
    pub kind: &'a str,
    pub job_id: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub decision: Option<&'a str>,
    pub outcome: Option<&'a str>,
    /// Canonical JSON text.
    pub body: &'a str,
    pub prev_hash: &'a str,
}

impl HashInput<'_> {
    pub fn entry_hash(&self) -> String {
        hex::encode(self.digest())
    }

    /// Whether these fields hash to `stored` (lowercase hex), without building a string.
    pub fn hashes_to(&self, stored: &str) -> bool {
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.digest(), &mut hex).is_ok() && hex == stored.as_bytes()
    }

    fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        string_field(&mut hasher, Some(DOMAIN));
        hasher.update(self.seq.to_be_bytes());
        hasher.update(self.recorded_at.to_be_bytes());
        for field in [
            Some(self.kind),
            self.job_id,
            self.topic,
            self.decision,
            self.outcome,
            Some(self.body),
            Some(self.prev_hash),
        ] {
            string_field(&mut hasher, field);
        }
        hasher.finalize().into()
    }
}

fn string_field(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            // usize always fits in u64 on supported targets; the cast cannot truncate.
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    }
}

pub use countersign_core::canonical::canonical_json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input<'a>(job_id: Option<&'a str>, topic: Option<&'a str>) -> HashInput<'a> {
        HashInput {
            seq: 1,
            recorded_at: 1_700_000_000_000,
            kind: "login",
            job_id,
            topic,
            decision: None,
            outcome: None,
            body: "{}",
            prev_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_without_whitespace() {
        let value = json!({"b": 1, "a": {"z": [true, null, {"y": "x", "c": 1.5}], "a": "\"q\n"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"a":"\"q\n","z":[true,null,{"c":1.5,"y":"x"}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_json_round_trips_through_parsing() {
        let value = json!({"n": 0.1, "big": 18446744073709551615u64, "neg": -3, "s": "é\u{1F600}"});
        let text = canonical_json(&value);
        let reparsed: serde_json::Value =
            serde_json::from_str(&text).expect("canonical json parses");
        assert_eq!(canonical_json(&reparsed), text);
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let a = input(Some("ab"), Some("c")).entry_hash();
        let b = input(Some("a"), Some("bc")).entry_hash();
        assert_ne!(a, b);
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        assert_ne!(
            input(None, None).entry_hash(),
            input(Some(""), None).entry_hash()
        );
    }

    #[test]
    fn hash_is_lowercase_hex_sha256_and_stable() {
        let hash = input(Some("job-1"), None).entry_hash();
        assert_eq!(hash.len(), 64);
        assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        // Pinned: a change here breaks every ledger file already written.
        assert_eq!(
            hash,
            "b244b18131f8f5ecf0a22e54c967bb2300e9af18f288bd8539c04cd8c4f41047"
        );
        assert_eq!(GENESIS_HASH, "0".repeat(64));
    }

    #[test]
    fn hashes_to_accepts_exactly_the_stored_lowercase_hex() {
        let fields = input(Some("job-1"), None);
        let hash = fields.entry_hash();
        assert!(fields.hashes_to(&hash));
        for wrong in [
            hash.to_uppercase(),
            hash[..63].to_owned(),
            format!("{hash}0"),
            input(Some("job-2"), None).entry_hash(),
            String::new(),
        ] {
            assert!(!fields.hashes_to(&wrong), "{wrong:?}");
        }
    }
}
