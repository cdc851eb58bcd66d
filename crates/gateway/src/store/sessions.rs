//! Login sessions. Only the SHA-256 of a token is stored, so a copy of the database does not
//! hand out live sessions.

use rusqlite::{params, Connection, OptionalExtension};

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub username: String,
    pub tenant: String,
    pub role: String,
    pub principal: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Stores a session (and drops expired ones, so the table cannot grow without bound).
pub fn insert(db: &Connection, s: &SessionRow) -> rusqlite::Result<()> {
    db.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1",
        [s.created_at],
    )?;
    db.execute(
        "INSERT INTO sessions (token_hash, username, tenant, role, principal, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![s.token_hash, s.username, s.tenant, s.role, s.principal, s.created_at, s.expires_at],
    )?;
    Ok(())
}

/// The unexpired session with this token hash.
pub fn get(db: &Connection, token_hash: &str, now_us: i64) -> rusqlite::Result<Option<SessionRow>> {
    db.query_row(
        "SELECT token_hash, username, tenant, role, principal, created_at, expires_at \
         FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
        params![token_hash, now_us],
        |r| {
            Ok(SessionRow {
                token_hash: r.get(0)?,
                username: r.get(1)?,
                tenant: r.get(2)?,
                role: r.get(3)?,
                principal: r.get(4)?,
                created_at: r.get(5)?,
                expires_at: r.get(6)?,
            })
        },
    )
    .optional()
}

/// Ends a session.
pub fn delete(db: &Connection, token_hash: &str) -> rusqlite::Result<()> {
    db.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}
