//! Proving ground, suite "hostile gateway" (issue 13): every client call against every
//! hostile answer a gateway can give, as one table: malformed JSON, wrong types, a 100 MB
//! body, an endless body (an event that never ends, for the stream), a slowloris trickle, a
//! redirect to another origin and a self-signed certificate; and items whose claimed job hash
//! does not match their request.
//!
//! Each case must end in a typed error with the code the table names, within a bound, without
//! a panic, and (for the 100 MB and endless bodies) with the process's peak RSS growing far
//! less than the body. A redirect is never followed: what a redirect would take elsewhere
//! (the API key, the password) must never reach the other origin. A forged item is refused
//! before anything is sent and never reported verified.
//!
//! `hostile.rs`, `http.rs` and `watch_hostile.rs` hold the single-answer cases this table
//! does not repeat (lock-busy retries, drift, duplicate keys, over-bounds streams).
//! The suite prints one `RELIABILITY hostile_gateway …` line with its own figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_client::session::sign_in_with_password;
use countersign_client::{
    AuthMethod, ClientError, Decider, HttpConfig, MemorySecretStore, Profile, QueueWatch, Secret,
    WatchConfig, WatchEvent,
};
use countersign_core::jobhash::{job_hash, Generation};
use countersign_core::jobrequest::JobRequest;
use countersign_core::verify::SeenItem;
use countersign_ledger::Ledger;

use crate::support::scripted::{seen_j1 as seen, Answer, Scripted};
use crate::support::tls::SelfSigned;
use crate::support::{client_for, fast_retry, ALICE, PASSWORD, PASSWORD_USER, TENANT};

const HUGE_BYTES: u64 = 100 * 1024 * 1024;
/// Far below the 100 MB sent: the largest ceiling (a list page) is 16 MiB.
const MAX_RSS_GROWTH: u64 = 48 * 1024 * 1024;
/// An error message is for a person: a body quoted in it is clipped.
const MAX_MESSAGE_BYTES: usize = 2000;
const JSON: &str = "application/json";
const EVENTS: &str = "text/event-stream";
const CONTEXT: &str = r#"{"approval": {"job_id": "j1", "state": "APPROVAL_REQUIRED",
    "job_hash": "h1", "policy_snapshot": "s1|cfg:a", "decision": "REQUIRE_APPROVAL"}}"#;
const JOB_PENDING: &str = r#"{"id":"j1","state":"APPROVAL_REQUIRED"}"#;

/// Timeouts short enough for a table of slow answers, long enough for a loaded machine.
fn short_http() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_millis(1500),
        connect_timeout: Duration::from_secs(1),
        stream_idle_timeout: Duration::from_millis(1500),
        ..HttpConfig::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    List,
    Job,
    Session,
    Login,
    Approve,
    Watch,
}

impl Call {
    const ALL: [Self; 6] = [
        Self::List,
        Self::Job,
        Self::Session,
        Self::Login,
        Self::Approve,
        Self::Watch,
    ];

    fn route(self) -> &'static str {
        match self {
            Self::List => "GET /api/v1/approvals",
            Self::Job => "GET /api/v1/jobs/j1",
            Self::Session => "GET /api/v1/auth/session",
            Self::Login => "POST /api/v1/auth/login",
            Self::Approve => "POST /api/v1/approvals/j1/approve",
            Self::Watch => "GET /api/v1/approvals/events",
        }
    }

    fn content_type(self) -> &'static str {
        if self == Self::Watch {
            EVENTS
        } else {
            JSON
        }
    }

    /// A body that is not JSON (for the stream: an event whose data is not).
    fn malformed(self) -> &'static str {
        match self {
            Self::List => r#"{"items": [{"job": {"id": "j1""#,
            Self::Job => r#"{"id": "j1", "state": "#,
            Self::Session => r#"{"user": {"id": "#,
            Self::Login => r#"{"token": "#,
            Self::Approve => r#"{"job_id": "#,
            Self::Watch => "event: approval.required\ndata: {\"job\": {\"id\": \n\n",
        }
    }

    /// JSON of the right shape with the wrong types in it.
    fn wrong_types(self) -> &'static str {
        match self {
            Self::List => r#"{"items": {"job": 1}, "next_cursor": "later"}"#,
            Self::Job => r#"{"id": ["j1"], "state": 7, "approval_by": {}}"#,
            Self::Session => r#"{"user": {"id": 7, "roles": "admin"}}"#,
            Self::Login => r#"{"token": 12345, "user": []}"#,
            Self::Approve => r#"{"job_id": 7, "status": ["already_approved"]}"#,
            Self::Watch => "event: approval.required\ndata: {\"job\": 5, \"job_hash\": []}\n\n",
        }
    }

    /// How a huge or endless body starts: for the stream, one event that never ends.
    fn prefix(self) -> &'static str {
        match self {
            Self::Watch => "event: approval.required\ndata: ",
            _ => r#"{"items": [], "pad": ""#,
        }
    }

    /// What repeats in an endless body: for the stream, data lines of an event never
    /// dispatched (each line is short, the event is not).
    fn endless_unit(self) -> &'static str {
        match self {
            Self::Watch => "data: xxxxxxxxxxxxxxxx\n",
            _ => r#"{"job": {"id": "x"}},"#,
        }
    }

    /// How long the call may take: a decision retries transient failures.
    fn bound(self) -> Duration {
        match self {
            Self::Approve => Duration::from_secs(30),
            Self::Watch => Duration::from_secs(15),
            _ => Duration::from_secs(6),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Hostile {
    Malformed,
    WrongTypes,
    Huge,
    Endless,
    Slowloris,
    Redirect,
    InvalidTls,
}

impl Hostile {
    const ALL: [Self; 7] = [
        Self::Malformed,
        Self::WrongTypes,
        Self::Huge,
        Self::Endless,
        Self::Slowloris,
        Self::Redirect,
        Self::InvalidTls,
    ];

    /// The code the call must fail with.
    fn expected(self, call: Call) -> &'static str {
        match (self, call) {
            (Self::InvalidTls, _) => "network",
            // An approve answer that was never read whole may follow a commit: the decision
            // stays open, to be reconciled from the job record.
            (Self::Huge | Self::Endless | Self::Slowloris, Call::Approve) => "outcome_unknown",
            // One that was read, however wrong, while the job record shows the job still
            // waiting, did not land: after the same answer twice the decision is closed as
            // refused, and the reviewer may decide again.
            (_, Call::Approve) => "conflict",
            (Self::Slowloris, _) => "timeout",
            _ => "gateway_protocol",
        }
    }

    /// The scripted answer; `None` for the one a TLS gateway gives by its certificate.
    fn answer(self, call: Call, elsewhere: &str) -> Option<Answer> {
        let (content_type, prefix) = (call.content_type(), call.prefix().to_owned());
        Some(match self {
            Self::Malformed => Answer::Body(200, call.malformed().to_owned()),
            Self::WrongTypes => Answer::Body(200, call.wrong_types().to_owned()),
            Self::Huge => Answer::Huge {
                content_type,
                prefix,
                bytes: HUGE_BYTES,
            },
            Self::Endless => Answer::Endless {
                content_type,
                prefix,
                unit: call.endless_unit().to_owned(),
            },
            Self::Slowloris => Answer::Trickle {
                content_type,
                prefix: if call == Call::Watch {
                    "data: ".to_owned()
                } else {
                    String::new()
                },
                every: Duration::from_millis(20),
            },
            // 307 keeps the method and the body: a followed login would resend the password.
            Self::Redirect => {
                let path = call.route().split_once(' ').expect("route").1;
                Answer::Redirect(307, format!("{elsewhere}{path}"))
            }
            Self::InvalidTls => return None,
        })
    }

    fn measures_memory(self) -> bool {
        matches!(self, Self::Huge | Self::Endless)
    }
}

/// The honest answers around the hostile one: what a decision and a watch also read.
fn honest(gw: &Scripted) {
    gw.on("GET /api/v1/approvals/j1/context", &[(200, CONTEXT)]);
    gw.on(
        "GET /api/v1/policy/snapshots",
        &[(200, r#"{"snapshots": ["s1|cfg:b"]}"#)],
    );
    gw.on("GET /api/v1/jobs/j1", &[(200, JOB_PENDING)]);
    gw.on(
        "GET /api/v1/approvals",
        &[(200, r#"{"items": [], "next_cursor": null}"#)],
    );
}

/// A failure as the caller sees it: its code and its message.
type Failure = (String, String);

/// Runs `call` against `base` and returns its failure; `Ok` is a failed case.
async fn perform(call: Call, base: &str, dir: &std::path::Path) -> Result<(), Failure> {
    let client = client_for(base, ALICE, short_http());
    let code = |e: ClientError| (e.code().to_owned(), e.to_string());
    match call {
        Call::List => client.list_approvals(None, 10, false).await.map(drop),
        Call::Job => client.job_status("j1").await.map(drop),
        Call::Session => client.session().await.map(drop),
        Call::Login => {
            let profile = Profile {
                name: "p".into(),
                gateway_url: base.to_owned(),
                tenant: TENANT.into(),
                auth: AuthMethod::Password {
                    username: PASSWORD_USER.into(),
                },
            };
            let secrets = MemorySecretStore::default();
            sign_in_with_password(&profile, &Secret::new(PASSWORD), &secrets, &short_http())
                .await
                .map(drop)
        }
        Call::Approve => {
            let ledger = Arc::new(Ledger::open(dir.join("ledger")).expect("ledger"));
            Decider::new(client, ledger, fast_retry())
                .approve(&seen(), "ok", "")
                .await
                .map(drop)
        }
        Call::Watch => return watch_failure(client, dir).await,
    }
    .map_err(code)
}

/// The first failure the watch reports, and then it must stop promptly.
async fn watch_failure(
    client: countersign_client::GatewayClient,
    dir: &std::path::Path,
) -> Result<(), Failure> {
    let ledger = Arc::new(Ledger::open(dir.join("ledger")).expect("ledger"));
    let config = WatchConfig {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..WatchConfig::default()
    };
    let mut watch = QueueWatch::spawn(client, ledger, config);
    let failure = loop {
        match watch.next().await {
            Some(
                WatchEvent::Disconnected { code, message, .. }
                | WatchEvent::Skipped { code, message },
            ) => break (code, message),
            Some(WatchEvent::Arrived(item)) => panic!("a hostile stream delivered {item:?}"),
            Some(_) => {}
            None => return Ok(()),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), watch.stop())
        .await
        .expect("the watch stops within 5 s");
    Err(failure)
}

/// This process's resident set now, and its peak since the last reset, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect(name)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sets the peak back to the current resident set (Linux's `clear_refs` value 5), so one
/// case's peak is not hidden by an earlier one.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs");
}

struct Tally {
    cases: usize,
    typed: usize,
    panics: usize,
    slowest: Duration,
    max_growth: u64,
    leaked: usize,
    failures: Vec<String>,
}

/// One case; what it got wrong goes to `tally.failures`, so one run shows every failure.
async fn case(call: Call, hostile: Hostile, elsewhere: &Scripted, tally: &mut Tally) {
    let label = format!("{call:?} x {hostile:?}");
    if let Err(failure) = check_case(call, hostile, elsewhere, tally).await {
        tally.failures.push(format!("{label}: {failure}"));
    }
}

async fn check_case(
    call: Call,
    hostile: Hostile,
    elsewhere: &Scripted,
    tally: &mut Tally,
) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("dir");
    let gw = Scripted::start().await;
    honest(&gw);
    let tls = match hostile.answer(call, &elsewhere.url()) {
        Some(answer) => {
            gw.answer(call.route(), vec![answer]);
            None
        }
        None => Some(SelfSigned::start(r#"{"snapshots": ["s1"]}"#).await),
    };
    let base = tls.as_ref().map_or_else(|| gw.url(), SelfSigned::url);
    if hostile.measures_memory() {
        reset_peak();
    }
    let before = rss().0;
    let started = Instant::now();
    let path = dir.path().to_owned();
    let run = tokio::spawn(async move { perform(call, &base, &path).await });
    let abort = run.abort_handle();
    let joined = tokio::time::timeout(call.bound(), run).await;
    let elapsed = started.elapsed();
    tally.cases += 1;
    tally.slowest = tally.slowest.max(elapsed);
    let Ok(joined) = joined else {
        abort.abort();
        return Err(format!("no answer within {:?}", call.bound()));
    };
    let result = match joined {
        Ok(result) => result,
        Err(error) if error.is_panic() => {
            tally.panics += 1;
            return Err("the client panicked".into());
        }
        Err(error) => return Err(error.to_string()),
    };
    if hostile.measures_memory() {
        let growth = rss().1.saturating_sub(before);
        tally.max_growth = tally.max_growth.max(growth);
        if growth >= MAX_RSS_GROWTH {
            return Err(format!("peak RSS grew {} MiB", growth >> 20));
        }
    }
    let leaks = elsewhere.requests().len();
    tally.leaked += leaks;
    if leaks > 0 {
        return Err(format!("{leaks} requests reached the redirect's target"));
    }
    if let Some(tls) = &tls {
        if tls.requests() > 0 {
            return Err("a request crossed the untrusted TLS".into());
        }
    }
    let (code, message) = match result {
        Ok(()) => return Err("the call succeeded".into()),
        Err(failure) => failure,
    };
    if code != hostile.expected(call) {
        return Err(format!(
            "code {code} ({message}), expected {}",
            hostile.expected(call)
        ));
    }
    // A refused redirect says what it was (a decision reports the gateway's answer instead).
    if hostile == Hostile::Redirect && call != Call::Approve && !message.contains("redirect") {
        return Err(format!("a redirect refused as {message:?}"));
    }
    // Clear: it says something, and not a hostile body's worth of it.
    if message.trim().is_empty() || message.len() > MAX_MESSAGE_BYTES {
        return Err(format!("a message of {} bytes", message.len()));
    }
    tally.typed += 1;
    Ok(())
}

/// The forged items: the request served hashes to something other than the hash the item
/// claims (with and without the answer vouching for the claim). The decision must be
/// refused with `content_mismatch` before anything is sent; the honest twin verifies.
async fn forged(tally: &mut Tally) -> (usize, usize) {
    let request = r#"{"jobId": "j1", "topic": "finance.payment.execute"}"#;
    let parsed = JobRequest::from_protojson(request.as_bytes(), Generation::New).expect("req");
    let true_hash = job_hash(&parsed, Generation::New);
    let (mut refused, mut verified_forgeries) = (0, 0);
    for (claimed, vouch, forged) in [
        ("h1", "", true),
        ("h1", "h1", true),
        (true_hash.as_str(), "", false),
    ] {
        let gw = Scripted::start().await;
        honest(&gw);
        let context = CONTEXT.replace("\"h1\"", &format!("{claimed:?}"));
        gw.on("GET /api/v1/approvals/j1/context", &[(200, &context)]);
        let doc = format!(r#"{{"job_id": "j1", "job_hash": "{vouch}", "job_request": {request}}}"#);
        gw.on("GET /api/v1/approvals/j1/request", &[(200, &doc)]);
        gw.on(
            "POST /api/v1/approvals/j1/approve",
            &[(200, r#"{"job_id":"j1"}"#)],
        );
        let dir = tempfile::tempdir().expect("dir");
        let ledger = Arc::new(Ledger::open(dir.path().join("l")).expect("ledger"));
        let client = client_for(&gw.url(), ALICE, short_http());
        let seen = SeenItem {
            job_hash: claimed.to_owned(),
            ..seen()
        };
        let started = Instant::now();
        let result = Decider::new(client, ledger, fast_retry())
            .approve(&seen, "ok", "")
            .await;
        tally.cases += 1;
        tally.slowest = tally.slowest.max(started.elapsed());
        if !forged {
            let report = result.expect("the honest twin is approved");
            let verdict = report.verdict.expect("verdict");
            assert!(verdict.is_verified(), "{verdict:?}");
            assert_eq!(verdict.code(), "identity_checked");
            continue;
        }
        match result {
            Err(ClientError::Drift(verdict)) => {
                if verdict.is_verified() {
                    verified_forgeries += 1;
                }
                assert_eq!(verdict.code(), "content_mismatch", "{verdict:?}");
                refused += 1;
                tally.typed += 1;
            }
            other => panic!("a forged item was not refused: {other:?}"),
        }
        assert!(gw.received("POST").is_empty(), "a forged item was sent");
    }
    (refused, verified_forgeries)
}

/// The refusals of the self-signed gateway are about trust: told to trust its certificate
/// (a private CA), the same client gets through.
async fn trusted_tls_connects() {
    let tls = SelfSigned::start(r#"{"snapshots": ["s1"]}"#).await;
    let config = HttpConfig {
        extra_root_pem: Some(tls.cert_pem.clone().into_bytes()),
        ..short_http()
    };
    let snapshots = client_for(&tls.url(), ALICE, config)
        .policy_snapshots()
        .await
        .expect("a trusted certificate is accepted");
    assert_eq!(snapshots, ["s1"]);
    assert_eq!(tls.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_against_every_hostile_answer() {
    let started = Instant::now();
    // Where redirects point: anything it receives was sent to another origin.
    let elsewhere = Scripted::start().await;
    honest(&elsewhere);
    let mut tally = Tally {
        cases: 0,
        typed: 0,
        panics: 0,
        slowest: Duration::ZERO,
        max_growth: 0,
        leaked: 0,
        failures: Vec::new(),
    };
    for call in Call::ALL {
        for hostile in Hostile::ALL {
            case(call, hostile, &elsewhere, &mut tally).await;
        }
    }
    trusted_tls_connects().await;
    let (forged_refused, forged_verified) = forged(&mut tally).await;
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert_eq!(tally.panics, 0);
    assert_eq!(
        tally.typed,
        tally.cases - 1,
        "every case but the honest twin"
    );
    println!(
        "RELIABILITY hostile_gateway cases={} typed_errors={} panics={} forged_refused={} \
         forged_verified={} redirect_leaks={} max_call_ms={} max_rss_growth_mb={} wall_s={}",
        tally.cases,
        tally.typed,
        tally.panics,
        forged_refused,
        forged_verified,
        tally.leaked,
        tally.slowest.as_millis(),
        tally.max_growth >> 20,
        started.elapsed().as_secs()
    );
}
