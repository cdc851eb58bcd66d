//! The real OS keychain. It needs a reachable Secret Service (on Linux: a D-Bus session with
//! an unlocked keyring); `make test` provides one and sets `COUNTERSIGN_REQUIRE_SECRET_SERVICE=1`,
//! which turns "unreachable" from a skip into a failure.

use countersign_client::{KeyringStore, Secret, SecretKind, SecretStore};

#[test]
fn keyring_stores_reads_and_deletes_secrets() {
    let required = std::env::var("COUNTERSIGN_REQUIRE_SECRET_SERVICE").as_deref() == Ok("1");
    let store = KeyringStore;
    let profile = format!("countersign-test-{}", std::process::id());
    let secret = Secret::new(format!("key-{}", std::process::id()));
    if let Err(error) = store.set(&profile, SecretKind::ApiKey, &secret) {
        assert!(
            !required,
            "COUNTERSIGN_REQUIRE_SECRET_SERVICE=1 but no Secret Service is reachable: {error}"
        );
        println!("skipped: no Secret Service reachable ({error})");
        return;
    }
    assert_eq!(
        store.get(&profile, SecretKind::ApiKey).expect("read back"),
        Some(secret.clone())
    );
    assert_eq!(
        store
            .get(&profile, SecretKind::SessionToken)
            .expect("other kind"),
        None
    );
    let token = Secret::new("session-abc");
    store
        .set(&profile, SecretKind::SessionToken, &token)
        .expect("second secret");
    assert_eq!(
        store
            .get(&profile, SecretKind::SessionToken)
            .expect("token"),
        Some(token)
    );
    for kind in [SecretKind::ApiKey, SecretKind::SessionToken] {
        store.delete(&profile, kind).expect("delete");
        store
            .delete(&profile, kind)
            .expect("deleting twice is fine");
        assert_eq!(store.get(&profile, kind).expect("gone"), None);
    }
}
