//! Item 5: a session is valid only while its user exists, is enabled and holds the role it
//! was issued with; checked on every request, across restarts.

use countersign_gateway::{GatewayConfig, Role};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn signed_in_rita() -> (Harness, String) {
    let hash = cheap_hash("s3cret");
    let h = Harness::start_with(move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
    })
    .await;
    let (status, session) = login(&h, json!({"username": "rita", "password": "s3cret"})).await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    assert_eq!(list_status(&h, &token).await, 200);
    (h, token)
}

async fn list_status(h: &Harness, token: &str) -> u16 {
    sent(h.bearer(Method::GET, token, "/api/v1/approvals"))
        .await
        .status()
        .as_u16()
}

async fn restarted_with(h: Harness, adjust: impl FnOnce(&mut GatewayConfig)) -> Harness {
    h.restart_configured(|_| {}, adjust).await
}

#[tokio::test]
async fn a_removed_users_session_ends() {
    let (h, token) = signed_in_rita().await;
    let id = h.payment().await;
    let h = restarted_with(h, |_| {}).await;
    assert_eq!(list_status(&h, &token).await, 401);
    let resp = sent(h.bearer(
        Method::POST,
        &token,
        &format!("/api/v1/approvals/{id}/approve"),
    ))
    .await;
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn a_demoted_users_session_ends() {
    let (h, token) = signed_in_rita().await;
    let hash = cheap_hash("s3cret");
    let h = restarted_with(h, move |c| {
        c.credentials.users.push(user("rita", hash, Role::Viewer));
    })
    .await;
    assert_eq!(list_status(&h, &token).await, 401);
    // Signing in again gives the new role.
    let (status, session) = login(&h, json!({"username": "rita", "password": "s3cret"})).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["roles"], json!(["viewer"]));
}

#[tokio::test]
async fn a_disabled_users_session_ends_and_it_cannot_sign_in() {
    let (h, token) = signed_in_rita().await;
    let hash = format!("!{}", cheap_hash("s3cret"));
    let h = restarted_with(h, move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
    })
    .await;
    assert_eq!(list_status(&h, &token).await, 401);
    let got = login(&h, json!({"username": "rita", "password": "s3cret"})).await;
    assert_error(&got, 401, None, "invalid credentials");
}

#[tokio::test]
async fn a_session_still_works_while_its_user_is_unchanged() {
    let (h, token) = signed_in_rita().await;
    let hash = cheap_hash("another password, same user");
    let h = restarted_with(h, move |c| {
        c.credentials.users.push(user("rita", hash, Role::Operator));
    })
    .await;
    assert_eq!(list_status(&h, &token).await, 200);
}
