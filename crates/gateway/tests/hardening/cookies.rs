//! Item 10: writes authenticated by the session cookie need `Content-Type: application/json`
//! and an allowed `Origin`; the cookie is `Secure` when served over TLS.

use countersign_gateway::Role;
use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn harness(allowed: &[&str], secure: bool) -> Harness {
    let hash = cheap_hash("s3cret");
    let allowed: Vec<String> = allowed.iter().map(|o| (*o).to_owned()).collect();
    Harness::start_with(move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
        c.cookies.allowed_origins = allowed;
        c.cookies.secure = secure;
    })
    .await
}

/// Logs rita in; returns the session token and the Set-Cookie value.
async fn cookie_login(h: &Harness, forwarded_https: bool) -> (String, String) {
    let mut req = h
        .http
        .post(h.url("/api/v1/auth/login"))
        .json(&json!({"username": "rita", "password": "s3cret"}));
    if forwarded_https {
        req = req.header("X-Forwarded-Proto", "https");
    }
    let resp = sent(req).await;
    assert_eq!(resp.status(), 200);
    let set = resp.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let body: serde_json::Value = resp.json().await.expect("json");
    (body["token"].as_str().expect("token").to_owned(), set)
}

async fn cookie_approve(
    h: &Harness,
    token: &str,
    job: &str,
    content_type: &str,
    origin: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = h
        .http
        .post(h.url(&format!("/api/v1/approvals/{job}/approve")))
        .header("Cookie", format!("cordum_session={token}"))
        .header("Content-Type", content_type)
        .body("{}");
    if let Some(origin) = origin {
        req = req.header("Origin", origin);
    }
    call(req).await
}

#[tokio::test]
async fn cookie_writes_need_json_and_an_allowed_origin() {
    let h = harness(&["https://desk.example.com"], false).await;
    let (token, set_cookie) = cookie_login(&h, false).await;
    assert!(
        set_cookie.contains("HttpOnly") && !set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    let job = h.payment().await;

    let got = cookie_approve(&h, &token, &job, "text/plain", Some("http://evil.example")).await;
    assert_error(
        &got,
        415,
        None,
        "cookie-authenticated writes need Content-Type: application/json",
    );
    let forbidden = "cookie-authenticated writes need an allowed Origin";
    let got = cookie_approve(
        &h,
        &token,
        &job,
        "application/json",
        Some("http://evil.example"),
    )
    .await;
    assert_error(&got, 403, None, forbidden);
    let got = cookie_approve(&h, &token, &job, "application/json", None).await;
    assert_error(&got, 403, None, forbidden);
    assert_eq!(h.dispatches(&job).await, 0, "nothing was approved");

    // Reads need neither.
    let resp = sent(
        h.http
            .get(h.url("/api/v1/approvals"))
            .header("Cookie", format!("cordum_session={token}")),
    )
    .await;
    assert_eq!(resp.status(), 200);

    let own = h.base.clone();
    let got = cookie_approve(
        &h,
        &token,
        &job,
        "application/json; charset=utf-8",
        Some(&own),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let other = h.payment().await;
    let got = cookie_approve(
        &h,
        &token,
        &other,
        "application/json",
        Some("https://desk.example.com"),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);

    // A Bearer token is not a cookie: no browser adds it on its own.
    let third = h.payment().await;
    let resp = sent(
        h.bearer(
            Method::POST,
            &token,
            &format!("/api/v1/approvals/{third}/approve"),
        )
        .header("Content-Type", "text/plain")
        .header("Origin", "http://evil.example"),
    )
    .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_cookie_is_secure_over_tls() {
    let h = harness(&[], false).await;
    let (_, behind_tls_proxy) = cookie_login(&h, true).await;
    assert!(behind_tls_proxy.contains("; Secure"), "{behind_tls_proxy}");
    let configured = harness(&[], true).await;
    let (_, always) = cookie_login(&configured, false).await;
    assert!(always.contains("; Secure"), "{always}");
}
