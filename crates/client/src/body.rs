//! Reading gateway answers with bounded memory. Each endpoint has its own ceiling, sized for
//! the largest honest answer it gives, and an error answer is read only far enough to show
//! its message: a hostile gateway can make a call fail, not exhaust memory.

use std::time::Duration;

use reqwest::Response;
use serde_json::Value;

use crate::error::{ClientError, Result};
use crate::text::clip;

/// A list page: 500 rich items, each with its decoded job input, are a few MiB.
pub(crate) const LIST_BODY_BYTES: usize = 16 * 1024 * 1024;
/// One job's documents (`/request`, `/context`): the request with its input payload.
pub(crate) const DOCUMENT_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Decisions, job records, sessions, snapshot lists, logins.
pub(crate) const SMALL_BODY_BYTES: usize = 1024 * 1024;
/// An error answer matters only for its message, which is clipped anyway.
pub(crate) const ERROR_BODY_BYTES: usize = 64 * 1024;

/// Reads up to `limit` bytes; the flag says whether the body went on beyond them.
async fn read_up_to(mut response: Response, limit: usize) -> Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok((bytes, true));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, false))
}

/// The whole body, which must fit in `limit` bytes (more is a protocol error).
pub(crate) async fn read_capped(response: Response, limit: usize) -> Result<String> {
    read_within(response, limit)
        .await?
        .ok_or_else(|| ClientError::GatewayProtocol(format!("answer larger than {limit} bytes")))
}

/// The whole body if it fits in `limit` bytes; `None` when it is longer (nothing more is
/// read, so a hostile answer costs at most `limit` bytes).
pub(crate) async fn read_within(response: Response, limit: usize) -> Result<Option<String>> {
    let (bytes, overflowed) = read_up_to(response, limit).await?;
    if overflowed {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The start of an error answer ([`ERROR_BODY_BYTES`] at most), read within `patience`:
/// the caller already knows the call failed and only wants the message, so a body that is
/// too long or too slow is cut rather than turned into another error.
pub(crate) async fn read_error_body(response: Response, patience: Duration) -> String {
    match tokio::time::timeout(patience, read_up_to(response, ERROR_BODY_BYTES)).await {
        Ok(Ok((bytes, _))) => String::from_utf8_lossy(&bytes).into_owned(),
        Ok(Err(_)) | Err(_) => String::new(),
    }
}

/// The human message of an error answer: `error`, else `message`, else the text itself.
pub(crate) fn error_message(body: &str) -> String {
    let parsed = serde_json::from_str::<Value>(body.trim()).ok();
    let field = parsed.as_ref().and_then(|v| {
        v.get("error")
            .or_else(|| v.get("message"))
            .and_then(Value::as_str)
    });
    clip(field.unwrap_or(body.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::MAX_GATEWAY_TEXT_CHARS;

    #[test]
    fn error_messages_prefer_json_fields() {
        assert_eq!(error_message(r#"{"error":"nope","status":409}"#), "nope");
        assert_eq!(error_message(r#"{"message":"m"}"#), "m");
        assert_eq!(
            error_message("job not awaiting approval\n"),
            "job not awaiting approval"
        );
        assert_eq!(
            error_message(&"x".repeat(10_000)).len(),
            MAX_GATEWAY_TEXT_CHARS
        );
    }
}
