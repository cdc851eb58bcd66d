//! The command line: argument parsing, dispatch, and the exit codes scripts rely on. The one
//! mapping from the engine crates' stable error codes to exit codes lives here
//! ([`exit_code_for`]), so every command fails the same way for the same reason.

mod approve;
mod audit;
mod context;
mod hash;
mod list;
mod login;
mod output;
mod policy;
mod show;
mod time;
mod watch;

use clap::{Parser, Subcommand};
use countersign_client::ClientError;
use countersign_ledger::LedgerError;
use serde_json::Value;

pub use output::Output;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (including a decision that was already in effect)
  1  any other error
  2  invalid input: arguments, profile, insecure transport, a bad query
  3  conflict: drift refused locally (nothing sent), stale, already resolved otherwise,
     a decision already in flight, a policy draft that moved, has blockers or was decided
  4  authentication or authorization: unauthorized, reauth_required, forbidden,
     self-approval denied
  5  network: unreachable, timeout, gateway unavailable, outcome not known yet
  6  not found: unknown job, profile or ledger
  7  the ledger failed verification (tampered)

Environment:
  COUNTERSIGN_GATEWAY_URL, COUNTERSIGN_TENANT, COUNTERSIGN_API_KEY
      stand in for a saved profile (the key stays in memory; nothing is stored)
  COUNTERSIGN_DATA_DIR
      where profiles.json and ledgers/<profile>.sqlite live
      (default: the platform data directory, e.g. $XDG_DATA_HOME/countersign)

`approve` and `reject` bind the decision to what the reviewer last saw: the item as
`show` (or `watch`) last recorded it in the ledger, else the item fetched just now.
`policy approve` and `policy reject` do the same with the draft snapshot `policy show`,
`diff` or `impact` last recorded.";

#[derive(Debug, Parser)]
#[command(
    name = "countersign-cli",
    version,
    about = "Review AI-agent approvals from a terminal",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// Print machine-readable JSON on standard output (errors too, as {"error": {...}}).
    #[arg(long, global = true)]
    pub json: bool,
    /// The saved profile to use (default: the only one, or the one marked default). With the
    /// COUNTERSIGN_* environment variables it names the ledger instead (default "env").
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print Cordum's job hash of a JobRequest given in protojson.
    Hash(hash::HashArgs),
    /// Save a profile and sign in; the secret goes to the OS keychain.
    Login(login::LoginArgs),
    /// Forget a profile's secrets.
    Logout(login::LogoutArgs),
    /// List the saved profiles (never secrets).
    Profiles,
    /// List pending approvals.
    List(list::ListArgs),
    /// Show one pending approval in full, with the local verdict preview.
    Show(show::ShowArgs),
    /// Approve a job, bound to what was last shown.
    Approve(approve::ApproveArgs),
    /// Reject a job; a reason is required.
    Reject(approve::RejectArgs),
    /// Print approvals as they arrive, until Ctrl-C.
    Watch,
    /// Read, verify and export the local ledger (works offline).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Policy drafts: review and countersign policy changes.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

/// Exit codes are part of the CLI's contract with scripts: never renumber them.
pub mod exit {
    /// Anything without a more specific code.
    pub const OTHER: u8 = 1;
    /// The input (a file, standard input or an argument) was invalid.
    pub const INVALID_INPUT: u8 = 2;
    /// Drift refused locally, a stale or already-resolved job, a decision in flight.
    pub const CONFLICT: u8 = 3;
    /// Refused credentials, an expired session, missing permission, self-approval.
    pub const AUTH: u8 = 4;
    /// The gateway could not be reached or answered in time.
    pub const NETWORK: u8 = 5;
    pub const NOT_FOUND: u8 = 6;
    /// `audit verify` found the chain broken, the ledger refused to append, or the gateway
    /// applied an approval to something other than what was reviewed.
    pub const TAMPERED: u8 = 7;
}

/// The exit code for a stable error code of `ClientError`, `LedgerError` or this crate.
pub fn exit_code_for(code: &str) -> u8 {
    match code {
        "invalid_input"
        | "invalid_profile"
        | "insecure_transport"
        | "ledger_invalid_query"
        | "ledger_invalid_input" => exit::INVALID_INPUT,
        "drift"
        | "conflict"
        | "decision_in_flight"
        | "decision_abandoned"
        | "ledger_intent_pending"
        | "ledger_governance_pending"
        | "stale_lineage"
        | "stale_base"
        | "source_hash_mismatch"
        | "not_ready_for_approval"
        | "draft_closed" => exit::CONFLICT,
        "governance_bad_request" => exit::INVALID_INPUT,
        "unauthorized"
        | "reauth_required"
        | "forbidden"
        | "self_approval_denied"
        | "policy_publish_requires_approval" => exit::AUTH,
        "network" | "timeout" | "gateway_unavailable" | "outcome_unknown" => exit::NETWORK,
        "not_found" | "profile_not_found" | "ledger_not_found" | "draft_not_found" => {
            exit::NOT_FOUND
        }
        "ledger_tampered" | "applied_mismatch" => exit::TAMPERED,
        _ => exit::OTHER,
    }
}

/// A failed command: a stable code, what went wrong, optional structured details (a verdict,
/// a gateway outcome, a verify report) and the process exit code that tells scripts why.
#[derive(Debug)]
pub struct CliError {
    code: String,
    error: anyhow::Error,
    detail: Option<Value>,
}

impl CliError {
    pub fn new(code: impl Into<String>, error: anyhow::Error) -> Self {
        Self {
            code: code.into(),
            error,
            detail: None,
        }
    }

    pub fn invalid_input(error: anyhow::Error) -> Self {
        Self::new("invalid_input", error)
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn exit_code(&self) -> u8 {
        exit_code_for(&self.code)
    }

    /// `{"error": {"code", "message", "detail"?}}`, printed on stdout under `--json`.
    pub fn to_json(&self) -> Value {
        let mut error = serde_json::json!({ "code": self.code, "message": self.to_string() });
        if let (Some(detail), Some(object)) = (&self.detail, error.as_object_mut()) {
            object.insert("detail".into(), detail.clone());
        }
        serde_json::json!({ "error": error })
    }
}

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> Self {
        let detail = match &error {
            ClientError::Drift(verdict) => serde_json::to_value(verdict).ok(),
            ClientError::Conflict(outcome) => serde_json::to_value(outcome).ok(),
            _ => None,
        };
        // A governance refusal is known by its own code (`stale_lineage`, …), as the gateway
        // names it: that is what a script branches on.
        let code = match &error {
            ClientError::GovernanceRefused { code, .. } => code.clone(),
            other => other.code().to_owned(),
        };
        let error = match &error {
            // The reviewer needs the verdict's code as much as its sentence.
            ClientError::Drift(verdict) => {
                let context = format!("refused locally ({}); nothing was sent", verdict.code());
                anyhow::Error::new(error).context(context)
            }
            _ => error.into(),
        };
        Self {
            code,
            error,
            detail,
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(error: LedgerError) -> Self {
        Self::new(error.code(), error.into())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:#}` prints the whole context chain on one line: "reading x: No such file".
        write!(f, "{:#}", self.error)
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output::new(cli.json);
    let profile = cli.profile.as_deref();
    match cli.command {
        Command::Hash(args) => hash::run(&args),
        Command::Login(args) => block_on(login::login(&out, profile, args)),
        Command::Logout(args) => login::logout(&out, profile, &args),
        Command::Profiles => login::profiles(&out),
        Command::List(args) => block_on(list::run(&out, profile, &args)),
        Command::Show(args) => block_on(show::run(&out, profile, &args)),
        Command::Approve(args) => block_on(approve::approve(&out, profile, &args)),
        Command::Reject(args) => block_on(approve::reject(&out, profile, &args)),
        Command::Watch => block_on(watch::run(&out, profile)),
        Command::Audit(command) => audit::run(&out, profile, command),
        Command::Policy(command) => block_on(policy::run(&out, profile, command)),
    }
}

/// Runs a gateway command on a small runtime; only those need one.
fn block_on<F: std::future::Future<Output = Result<(), CliError>>>(
    future: F,
) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new("io", anyhow::Error::new(e).context("starting the runtime")))?;
    runtime.block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("countersign-cli").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_follow_the_engine_codes() {
        for (code, exit) in [
            ("drift", exit::CONFLICT),
            ("decision_abandoned", exit::CONFLICT),
            ("conflict", exit::CONFLICT),
            ("decision_in_flight", exit::CONFLICT),
            ("unauthorized", exit::AUTH),
            ("reauth_required", exit::AUTH),
            ("forbidden", exit::AUTH),
            ("self_approval_denied", exit::AUTH),
            ("network", exit::NETWORK),
            ("timeout", exit::NETWORK),
            ("gateway_unavailable", exit::NETWORK),
            ("invalid_input", exit::INVALID_INPUT),
            ("insecure_transport", exit::INVALID_INPUT),
            ("ledger_invalid_query", exit::INVALID_INPUT),
            ("not_found", exit::NOT_FOUND),
            ("profile_not_found", exit::NOT_FOUND),
            ("ledger_tampered", exit::TAMPERED),
            ("stale_lineage", exit::CONFLICT),
            ("stale_base", exit::CONFLICT),
            ("draft_not_found", exit::NOT_FOUND),
            ("gateway_protocol", exit::OTHER),
            ("something_new", exit::OTHER),
        ] {
            assert_eq!(exit_code_for(code), exit, "{code}");
        }
    }

    #[test]
    fn client_errors_keep_their_code_and_detail() {
        let error = CliError::from(ClientError::Drift(
            countersign_core::verify::Verdict::RequestChanged {
                seen_hash: "a".into(),
                now_hash: "b".into(),
            },
        ));
        assert_eq!(error.exit_code(), exit::CONFLICT);
        assert!(
            error
                .to_string()
                .starts_with("refused locally (request_changed)"),
            "{error}"
        );
        let json = error.to_json();
        assert_eq!(json["error"]["code"], "drift");
        assert_eq!(json["error"]["detail"]["code"], "request_changed");
        let error = CliError::from(ClientError::Timeout);
        assert_eq!(error.exit_code(), exit::NETWORK);
        assert!(error.to_json()["error"].get("detail").is_none());
    }

    #[test]
    fn global_flags_go_anywhere_and_secrets_are_not_arguments() {
        let cli = parse(&["list", "--json", "--profile", "work"]).expect("parses");
        assert!(cli.json);
        assert_eq!(cli.profile.as_deref(), Some("work"));
        assert!(parse(&["--json", "audit", "verify"]).expect("parses").json);
        // There is no way to pass a key or password as an argument.
        assert!(parse(&[
            "login",
            "--gateway",
            "http://127.0.0.1:1",
            "--tenant",
            "t",
            "--api-key",
            "k"
        ])
        .is_err());
        assert!(parse(&[
            "login",
            "--gateway",
            "http://x",
            "--tenant",
            "t",
            "--password",
            "p"
        ])
        .is_err());
    }

    #[test]
    fn decisions_need_what_they_need() {
        assert!(
            parse(&["reject", "job-1"]).is_err(),
            "a reject needs --reason"
        );
        assert!(parse(&["reject", "job-1", "--reason", "no"]).is_ok());
        assert!(parse(&["approve"]).is_err(), "approve needs a job");
        assert!(parse(&["approve", "job-1"]).is_ok());
        assert!(parse(&["approve", "job-1", "--reason", "ok", "--note", "n"]).is_ok());
        assert!(parse(&["audit", "export"]).is_err(), "export needs --out");
        assert!(
            parse(&[
                "login",
                "--gateway",
                "u",
                "--tenant",
                "t",
                "--api-key-stdin",
                "--username",
                "u"
            ])
            .is_err(),
            "one way to sign in"
        );
        assert!(parse(&["audit", "list", "--limit", "x"]).is_err());
    }
}
