//! Typed constructors for the entries the app records besides items and decisions, so that each
//! kind fills its indexed columns the same way everywhere.
//!
//! None of them takes a credential. Gateway addresses are stored without user info, query or
//! fragment, where tokens are sometimes carried.

use countersign_core::verify::{SeenItem, Verdict};
use serde_json::{json, Value};

use crate::entry::{to_json, EntryKind, NewEntry};
use crate::error::Result;

impl NewEntry {
    /// The reviewer signed in to `gateway` as `principal`.
    pub fn login(gateway: &str, principal: &str) -> Self {
        Self::session(EntryKind::Login, gateway, principal)
    }

    /// The reviewer signed out of `gateway`.
    pub fn logout(gateway: &str, principal: &str) -> Self {
        Self::session(EntryKind::Logout, gateway, principal)
    }

    fn session(kind: EntryKind, gateway: &str, principal: &str) -> Self {
        Self::new(
            kind,
            json!({ "gateway": redact_url(gateway), "principal": principal }),
        )
    }

    /// The drift verdict computed for `seen`; the verdict code goes to the `outcome` column.
    pub fn verdict(seen: &SeenItem, verdict: &Verdict) -> Result<Self> {
        let body = json!({
            "seen": to_json(seen)?,
            "verdict": to_json(verdict)?,
            "message": verdict.message(),
        });
        Ok(Self::new(EntryKind::Verdict, body)
            .job_id(&seen.job_id)
            .outcome(verdict.code()))
    }

    /// The job request fetched to verify `job_id`, as the gateway served it (protojson).
    pub fn job_request(job_id: &str, request: Value) -> Self {
        Self::new(EntryKind::JobRequest, request).job_id(job_id)
    }

    /// A conflict on `job_id`, with a stable `code` in the `outcome` column and its details.
    pub fn conflict(job_id: &str, code: &str, detail: Value) -> Self {
        Self::new(EntryKind::Conflict, detail)
            .job_id(job_id)
            .outcome(code)
    }
}

/// `scheme://host[:port]/path` of a URL: user info, query and fragment removed. Text that is
/// not a URL is kept up to its first `?` or `#`.
fn redact_url(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            redact_url("https://ana:s3cret@gw.example:8443/base?token=abc#x"),
            "https://gw.example:8443/base"
        );
        assert_eq!(redact_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(redact_url("gw.local?api_key=1"), "gw.local");
        assert_eq!(redact_url("https://a@b@host/p@q"), "https://host/p@q");
    }

    #[test]
    fn login_records_no_secret() {
        let entry = NewEntry::login("https://ana:pw@gw/x?token=t", "ana");
        let text = entry.body.to_string();
        assert!(!text.contains("pw") && !text.contains("token"), "{text}");
        assert_eq!(entry.kind, EntryKind::Login);
    }
}
