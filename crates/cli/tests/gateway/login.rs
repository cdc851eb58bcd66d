//! `login` with an API key on standard input, against a real Secret Service. Runs only where
//! one is provided (`COUNTERSIGN_REQUIRE_SECRET_SERVICE=1`, as `make test` sets inside
//! scripts/with-session-services.sh); elsewhere it says it skipped.

use crate::support::{password_user, Harness, ALICE, CLI, PASSWORD, USER};

#[test]
fn login_stores_the_key_in_the_keychain_only() {
    if std::env::var("COUNTERSIGN_REQUIRE_SECRET_SERVICE").as_deref() != Ok("1") {
        println!("skipped: COUNTERSIGN_REQUIRE_SECRET_SERVICE is not 1 (no Secret Service)");
        return;
    }
    let h = Harness::start_with_users(vec![password_user()]);
    let profile = format!("cli-test-{}", std::process::id());
    // The session's own environment (D-Bus address), minus any credentials.
    let command = |args: &[&str]| {
        let mut command = std::process::Command::new(CLI);
        command
            .env("COUNTERSIGN_DATA_DIR", h.data_dir())
            .env_remove("COUNTERSIGN_GATEWAY_URL")
            .env_remove("COUNTERSIGN_TENANT")
            .env_remove("COUNTERSIGN_API_KEY")
            .args(["--profile", &profile])
            .args(args);
        command
    };
    let login = h.cli_with_stdin(
        command(&[
            "login",
            "--gateway",
            &h.url,
            "--tenant",
            "default",
            "--api-key-stdin",
        ]),
        &format!("{ALICE}\n"),
    );
    login.success();
    assert!(login.stdout.contains("as alice"), "{login:?}");

    let job = h.submit();
    let list = h.cli_with_stdin(command(&["list"]), "");
    list.success();
    assert!(list.stdout.contains(&job), "{list:?}");
    let profiles = h.cli_with_stdin(command(&["--json", "profiles"]), "");
    assert_eq!(profiles.json()["profiles"][0]["name"], profile.as_str());
    h.assert_no_secret_leaked();

    h.cli_with_stdin(command(&["logout", "--forget"]), "")
        .success();
    h.cli_with_stdin(command(&["list"]), "").failed_with(6);
    let ledger = h
        .data_dir()
        .join("ledgers")
        .join(format!("{profile}.sqlite"));
    assert!(ledger.exists(), "the ledger is kept as evidence");

    // A password is exchanged for a session token; only the token is kept (in the keychain).
    let login = h.cli_with_stdin(
        command(&[
            "login",
            "--gateway",
            &h.url,
            "--tenant",
            "default",
            "--username",
            USER,
            "--password-stdin",
        ]),
        &format!("{PASSWORD}\n"),
    );
    login.success();
    assert!(login.stdout.contains("as carol"), "{login:?}");
    h.cli_with_stdin(command(&["show", &job]), "").success();
    h.cli_with_stdin(command(&["logout", "--forget"]), "")
        .success();
    h.assert_no_secret_leaked();
}
