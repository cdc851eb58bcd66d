//! Profiles through the commands: connect, sign out, sign in again, the demo, the command line.

use serde_json::{json, Value};

use super::*;

#[test]
fn connect_approve_reject_and_history_through_the_commands() {
    let h = Harness::start();
    let session = h.connect("work");
    assert_eq!(session["profile"], "work");
    assert_eq!(session["demo"], false);
    let profiles = h.ok("list_profiles", json!({}));
    assert_eq!(profiles[0]["name"], "work");
    let again = h.err(
        "connect_gateway",
        json!({"request": {"name": "work", "gateway_url": "http://127.0.0.1:9", "tenant": "default",
            "credential": {"method": "api_key", "api_key": BOB}}}),
    );
    assert_eq!(
        again["code"], "invalid_input",
        "an existing profile is never repointed: {again}"
    );
    let on_disk = std::fs::read_to_string(data_file(&h, "profiles.json")).expect("profiles.json");
    assert!(
        !on_disk.contains(ALICE),
        "the key must live in the keychain only"
    );

    // An ordinary item approves in one click, bound to the hash the card showed.
    let notice = h.submit("customer.notify", &["network"]);
    let card = h.card(&notice);
    assert_eq!(card["high_risk"], false);
    let approved = h.ok("decide", decision(&card, "approve", "checked", None));
    assert_eq!(approved["outcome"], "applied");
    let job = h.job(&notice);
    assert_eq!(
        job.approval_job_hash,
        card["seen"]["job_hash"].as_str().expect("hash")
    );

    // A high-risk item needs the typed hash tail; a wrong one sends nothing.
    let payment = h.submit("finance.payment.execute", &["finance"]);
    let card = h.card(&payment);
    assert_eq!(card["high_risk"], true);
    assert_eq!(
        h.err("decide", decision(&card, "approve", "", None))["code"],
        "confirmation_required"
    );
    assert_eq!(
        h.err("decide", decision(&card, "approve", "", Some("zzzz")))["code"],
        "confirmation_mismatch"
    );
    assert_eq!(
        h.job(&payment).state,
        "APPROVAL_REQUIRED",
        "nothing was sent"
    );

    // A reject needs a reason and lands with it.
    assert_eq!(
        h.err("decide", decision(&card, "reject", " ", None))["code"],
        "invalid_input"
    );
    let rejected = h.ok("decide", decision(&card, "reject", "wrong vendor", None));
    assert_eq!(rejected["outcome"], "applied");
    assert_eq!(h.job(&payment).state, "DENIED");

    let detail = h.ok("item_detail", json!({"seen": card["seen"]}));
    assert!(detail["history"].as_array().is_some_and(|e| !e.is_empty()));
    let history = h.ok(
        "history_query",
        json!({"query": {"kinds": ["decision_outcome"]}}),
    );
    assert_eq!(
        history["entries"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
    assert_eq!(h.ok("history_verify", json!({}))["intact"], true);
    assert_eq!(
        h.err("history_query", json!({"query": {"kinds": ["nonsense"]}}))["code"],
        "ledger_invalid_query"
    );

    h.ok("sign_out", json!({}));
    assert_eq!(h.ok("session_info", json!({})), Value::Null);
    // The key left the keychain: the profile stays, but opening it needs a new sign-in.
    let reopened = h.err("open_profile", json!({"name": "work"}));
    assert_eq!(reopened["code"], "reauth_required", "{reopened}");
    let wrong = h.err(
        "sign_in_again",
        json!({"name": "work", "secret": "app-test-wrong-key-999"}),
    );
    assert_eq!(wrong["code"], "unauthorized", "{wrong}");
    assert_eq!(h.ok("session_info", json!({})), Value::Null);
    let again = h.ok("sign_in_again", json!({"name": "work", "secret": ALICE}));
    assert_eq!(again["profile"], "work");
}

#[test]
fn the_demo_starts_an_embedded_gateway_with_arriving_approvals() {
    let h = Harness::start();
    let session = h.ok("start_demo", json!({}));
    assert_eq!(session["profile"], "demo");
    assert_eq!(session["demo"], true);
    assert!(session["gateway_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://127.0.0.1:")));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let snapshot = h.ok("queue_snapshot", json!({}));
        if snapshot["cards"].as_array().is_some_and(|c| c.len() >= 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no two demo approvals arrived: {snapshot}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The UI's first screen: the newest cards only, and how many there are in all.
    let first = h.ok("queue_snapshot", json!({ "limit": 1 }));
    assert_eq!(first["cards"].as_array().map(Vec::len), Some(1));
    assert!(
        first["total"].as_u64().is_some_and(|total| total >= 2),
        "{first}"
    );
    assert!(data_file(&h, "ledgers/demo.sqlite").exists());
}

#[test]
fn the_command_line_names_the_launch_and_the_data_directory() {
    let parse = |args: &[&str]| Args::parse(args.iter().map(|a| (*a).to_owned()));
    assert_eq!(parse(&[]).expect("empty").launch, Launch::LastProfile);
    let demo = parse(&["--data-dir", "/tmp/x", "--demo"]).expect("both");
    assert_eq!(demo.launch, Launch::Demo);
    assert_eq!(demo.data_dir.as_deref(), Some(Path::new("/tmp/x")));
    assert!(parse(&["--hidden"]).expect("hidden").hidden);
    assert!(!parse(&[]).expect("shown").hidden);
    assert!(parse(&["--data-dir"]).is_err());
    assert!(parse(&["--data-dir", ""]).is_err());
    assert!(parse(&["--frobnicate"])
        .expect_err("unknown")
        .contains("usage"));
}

#[test]
fn a_password_profile_keeps_only_a_session_and_signs_in_again_in_place() {
    let h = Harness::start();
    let connect = |password: &str| {
        h.invoke(
            "connect_gateway",
            json!({"request": {"name": "carol", "gateway_url": h.url(), "tenant": "default",
                "credential": {"method": "password", "username": CAROL, "password": password}}}),
        )
    };
    let refused = connect("not-her-password").expect_err("a wrong password");
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    assert!(
        h.ok("list_profiles", json!({}))
            .as_array()
            .is_some_and(Vec::is_empty),
        "a refused sign-in saves nothing"
    );
    let session = connect(CAROL_PASSWORD).expect("signed in");
    assert_eq!(session["profile"], "carol");
    assert_eq!(h.ok("list_profiles", json!({}))[0]["auth"], "password");
    let on_disk = std::fs::read_to_string(data_file(&h, "profiles.json")).expect("profiles");
    assert!(!on_disk.contains(CAROL_PASSWORD));
    let job_id = h.submit("customer.notify", &[]);
    assert_eq!(h.card(&job_id)["card"]["job_id"], job_id.as_str());

    h.ok("sign_out", json!({}));
    let reopened = h.err("open_profile", json!({"name": "carol"}));
    assert_eq!(reopened["code"], "reauth_required", "{reopened}");
    let again = h.ok(
        "sign_in_again",
        json!({"name": "carol", "secret": CAROL_PASSWORD}),
    );
    assert_eq!(again["profile"], "carol");
    assert_eq!(h.card(&job_id)["card"]["job_id"], job_id.as_str());
}
