//! Profiles, sign-in, expired sessions, the transport rule, and no secret in any file the
//! client or the ledger writes, nor in the logs.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use countersign_client::session::{sign_in_with_api_key, sign_in_with_password, sign_out};
use countersign_client::{
    AuthMethod, ClientError, Decider, GatewayClient, MemorySecretStore, Profile, ProfileStore,
    QueueWatch, Secret, SecretKind, SecretStore, Settlement,
};

use crate::support::{fast_http, fast_retry, Harness, ALICE, PASSWORD, PASSWORD_USER, TENANT};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_containing(dir: &Path, needle: &[u8], found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_containing(&path, needle, found);
        } else if std::fs::read(&path)
            .expect("read file")
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
}

fn profile(h: &Harness, name: &str, auth: AuthMethod) -> Profile {
    Profile {
        name: name.into(),
        gateway_url: h.url(),
        tenant: TENANT.into(),
        auth,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sign_in_decide_watch_and_leave_no_secret_behind() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::start().await;
    let data = h.dir.path().join("data");
    let profiles = ProfileStore::new(&data);
    let secrets = MemorySecretStore::default();

    // API key: checked, then stored.
    let keyed = profile(&h, "keyed", AuthMethod::ApiKey);
    profiles.save(&keyed).expect("save");
    let wrong =
        sign_in_with_api_key(&keyed, &Secret::new("wrong-key"), &secrets, &fast_http()).await;
    assert_eq!(wrong.expect_err("refused").code(), "unauthorized");
    assert_eq!(secrets.get("keyed", SecretKind::ApiKey).expect("get"), None);
    let (_, who) = sign_in_with_api_key(&keyed, &Secret::new(ALICE), &secrets, &fast_http())
        .await
        .expect("signed in");
    assert_eq!(who.expect("identity").principal, "alice");

    // Password: exchanged for a session token, which is what gets stored.
    let carol = profile(
        &h,
        "carol",
        AuthMethod::Password {
            username: PASSWORD_USER.into(),
        },
    );
    profiles.save(&carol).expect("save");
    assert!(matches!(
        GatewayClient::from_profile(&carol, &secrets, &fast_http()),
        Err(ClientError::ReauthRequired)
    ));
    let bad = sign_in_with_password(&carol, &Secret::new("nope"), &secrets, &fast_http()).await;
    assert_eq!(bad.expect_err("refused").code(), "unauthorized");
    let (client, who) =
        sign_in_with_password(&carol, &Secret::new(PASSWORD), &secrets, &fast_http())
            .await
            .expect("logged in");
    assert_eq!(who.principal, PASSWORD_USER);
    let token = secrets
        .get("carol", SecretKind::SessionToken)
        .expect("get")
        .expect("token stored");

    // Decide and watch with the session, writing the ledger in the data dir.
    let ledger =
        Arc::new(countersign_ledger::Ledger::open(data.join("carol.ledger")).expect("ledger"));
    let job = h.submit().await;
    let seen = h.seen(&job).await;
    let decider = Decider::new(client.clone(), Arc::clone(&ledger), fast_retry());
    let report = decider.approve(&seen, "ok", "").await.expect("approved");
    assert_eq!(report.settlement, Settlement::Applied);
    let job2 = h.submit().await;
    let mut watch = QueueWatch::spawn(client.clone(), Arc::clone(&ledger), Default::default());
    let arrived = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(event) = watch.next().await {
            if matches!(&event, countersign_client::WatchEvent::Arrived(item) if item.job.id == job2) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(arrived, Ok(true));
    watch.stop().await;

    // The session ends on the gateway: the next call asks to sign in again.
    let logout = h
        .http
        .post(format!("{}/api/v1/auth/logout", h.url()))
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status().as_u16(), 204);
    let expired = client.list_approvals(None, 1, false).await;
    assert!(
        matches!(expired, Err(ClientError::ReauthRequired)),
        "{expired:?}"
    );
    let seen2 = h.seen(&job2).await;
    let refused = decider.approve(&seen2, "", "").await;
    assert_eq!(refused.expect_err("expired").code(), "reauth_required");
    sign_out(&carol, &secrets).expect("sign out");
    assert_eq!(
        secrets.get("carol", SecretKind::SessionToken).expect("get"),
        None
    );

    drop(ledger);
    let logs = logs.0.lock().expect("logs").clone();
    assert!(!logs.is_empty(), "the test captured the client's logs");
    for secret in [ALICE, PASSWORD, token.expose()] {
        let mut found = Vec::new();
        files_containing(&data, secret.as_bytes(), &mut found);
        assert!(found.is_empty(), "a secret is in {found:?}");
        assert!(
            !logs.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is in the logs"
        );
    }
    assert!(data.join("profiles.json").exists());
}

#[tokio::test]
async fn plain_http_is_refused_except_to_loopback() {
    let error = GatewayClient::new(
        "http://gateway.example.com",
        TENANT,
        countersign_client::Credential::ApiKey(Secret::new("k")),
        &fast_http(),
    )
    .expect_err("refused");
    assert_eq!(error.code(), "insecure_transport");
    assert!(error.to_string().contains("gateway.example.com"));
    // https is always allowed, and really is TLS: against the plain-HTTP gateway the
    // handshake fails instead of falling back.
    let h = Harness::start().await;
    let client = GatewayClient::new(
        &format!("https://{}", h.addr),
        TENANT,
        countersign_client::Credential::ApiKey(Secret::new(ALICE)),
        &fast_http(),
    )
    .expect("https is fine");
    let error = client.policy_snapshots().await.expect_err("no TLS there");
    assert_eq!(error.code(), "network", "{error}");

    let mut http = fast_http();
    http.extra_root_pem = Some(b"not a certificate".to_vec());
    let error = GatewayClient::new(
        &h.url(),
        TENANT,
        countersign_client::Credential::ApiKey(Secret::new(ALICE)),
        &http,
    )
    .expect_err("bad CA bundle");
    assert_eq!(error.code(), "invalid_profile");
}
