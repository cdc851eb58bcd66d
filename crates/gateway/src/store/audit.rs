//! The per-tenant audit hash chain (CONTRACT.md §6). Each event carries `seq` (previous + 1)
//! and `prev_hash` (the previous `event_hash`, empty for the first), and `event_hash` is the
//! lowercase hex SHA-256 of the event serialized the way Cordum's Go code does it: fields in
//! SIEMEvent order, empty fields omitted, `seq` zeroed (so omitted) and `event_hash` empty,
//! with `<`, `>`, `&`, U+2028 and U+2029 escaped like Go's `encoding/json`.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::sha256_hex;

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One audit event, in SIEMEvent field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub timestamp: String,
    pub event_type: String,
    pub severity: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_id: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decision: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched_rule: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_hash: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prev_hash: String,
}

impl AuditEvent {
    /// The hash this event should carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.seq = 0;
        unhashed.event_hash.clear();
        let json = serde_json::to_string(&unhashed).unwrap_or_default();
        sha256_hex(go_escape(&json).as_bytes())
    }
}

/// Go's `encoding/json` HTML-safe escaping; these characters can only occur inside JSON
/// strings, so replacing them in the whole document is exact.
fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Appends `event` to its tenant's chain (call inside the state change's transaction).
pub fn append(db: &Connection, mut event: AuditEvent) -> rusqlite::Result<AuditEvent> {
    let head: Option<(i64, String)> = db
        .query_row(
            "SELECT seq, event_hash FROM audit WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1",
            [&event.tenant_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_seq, prev_hash) = head.unwrap_or_default();
    event.seq = prev_seq.saturating_add(1);
    event.prev_hash = prev_hash;
    event.event_hash = event.compute_hash();
    db.execute(
        "INSERT INTO audit (tenant, seq, event, event_hash, prev_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            event.tenant_id,
            event.seq,
            serde_json::to_string(&event).unwrap_or_default(),
            event.event_hash,
            event.prev_hash
        ],
    )?;
    Ok(event)
}

/// Events of a tenant with `seq > after`, oldest first.
pub fn list(
    db: &Connection,
    tenant: &str,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<AuditEvent>> {
    let mut stmt = db.prepare_cached(
        "SELECT event FROM audit WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![tenant, after, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| r.get::<_, String>(0),
    )?;
    rows.map(|text| Ok(serde_json::from_str(&text?).unwrap_or_default()))
        .collect()
}

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub at_seq: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The result of verifying one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: &'static str,
    pub total_events: i64,
    pub verified_events: i64,
    pub gaps: Vec<Gap>,
    pub first_seq: i64,
    pub last_seq: i64,
}

/// Re-walks a tenant's whole chain: sequence continuity, links and hashes.
pub fn verify(db: &Connection, tenant: &str) -> rusqlite::Result<Verification> {
    let mut stmt =
        db.prepare_cached("SELECT seq, event FROM audit WHERE tenant = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([tenant], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut result = Verification {
        status: "ok",
        total_events: 0,
        verified_events: 0,
        gaps: Vec::new(),
        first_seq: 0,
        last_seq: 0,
    };
    let mut prev: Option<(i64, String)> = None;
    for row in rows {
        let (seq, text) = row?;
        result.total_events += 1;
        if result.first_seq == 0 {
            result.first_seq = seq;
        }
        result.last_seq = seq;
        let event: AuditEvent = serde_json::from_str(&text).unwrap_or_default();
        let expected_seq = prev.as_ref().map_or(1, |(s, _)| s.saturating_add(1));
        let mut ok = true;
        if seq != expected_seq || event.seq != seq {
            result.gaps.push(Gap {
                at_seq: seq,
                kind: if seq > expected_seq {
                    "missing"
                } else {
                    "out_of_order"
                },
            });
            ok = false;
        }
        let expected_prev = prev.as_ref().map_or("", |(_, h)| h.as_str());
        if event.prev_hash != expected_prev || event.compute_hash() != event.event_hash {
            result.gaps.push(Gap {
                at_seq: seq,
                kind: "hash_mismatch",
            });
            ok = false;
        }
        if ok {
            result.verified_events += 1;
        }
        prev = Some((seq, event.event_hash));
    }
    if !result.gaps.is_empty() {
        result.status = "compromised";
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Connection {
        let db = Connection::open_in_memory().expect("db");
        super::super::schema::migrate(&db).expect("schema");
        db
    }

    fn event(tenant: &str, reason: &str) -> AuditEvent {
        AuditEvent {
            timestamp: "2026-11-21T05:17:45.000000Z".into(),
            event_type: "approval".into(),
            severity: "INFO".into(),
            tenant_id: tenant.into(),
            action: "approve".into(),
            reason: reason.into(),
            ..AuditEvent::default()
        }
    }

    #[test]
    fn hash_covers_prev_hash_but_not_seq_and_escapes_like_go() {
        let e = event("t", "a < b & c");
        let json = serde_json::to_string(&e).expect("json");
        assert!(go_escape(&json).contains(r"a \u003c b \u0026 c"));
        let mut moved = e.clone();
        moved.seq = 9;
        assert_eq!(moved.compute_hash(), e.compute_hash());
        let mut linked = e.clone();
        linked.prev_hash = "00".into();
        assert_ne!(linked.compute_hash(), e.compute_hash());
    }

    #[test]
    fn chains_are_per_tenant_and_verify() {
        let db = chain();
        let first = append(&db, event("a", "one")).expect("append");
        let second = append(&db, event("a", "two")).expect("append");
        let other = append(&db, event("b", "x")).expect("append");
        assert_eq!((first.seq, second.seq, other.seq), (1, 2, 1));
        assert_eq!(second.prev_hash, first.event_hash);
        assert!(other.prev_hash.is_empty());
        let v = verify(&db, "a").expect("verify");
        assert_eq!((v.status, v.total_events, v.verified_events), ("ok", 2, 2));
    }

    #[test]
    fn deleted_and_edited_events_are_reported() {
        let db = chain();
        for reason in ["one", "two", "three"] {
            append(&db, event("a", reason)).expect("append");
        }
        db.execute("DELETE FROM audit WHERE seq = 2", [])
            .expect("delete");
        let v = verify(&db, "a").expect("verify");
        assert_eq!(v.status, "compromised");
        assert!(v.gaps.contains(&Gap {
            at_seq: 3,
            kind: "missing"
        }));
        assert!(v.gaps.contains(&Gap {
            at_seq: 3,
            kind: "hash_mismatch"
        }));
    }
}
