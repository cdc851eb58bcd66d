//! `countersign-gateway`: run the reference control plane from a terminal.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use countersign_gateway::config::{Credentials, PolicyPublish, API_KEYS_ENV};
use countersign_gateway::demo::{DemoAgents, DemoCredentials, DEMO_TENANT};
use countersign_gateway::{start, DemoConfig, DemoTraffic, FailMode, GatewayConfig};

/// A reference control plane speaking Cordum's approval API, backed by SQLite.
#[derive(Debug, Parser)]
#[command(name = "countersign-gateway", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// SQLite database file.
    #[arg(long, default_value = "countersign-gateway.db")]
    data: PathBuf,
    /// Policy YAML file of every tenant without its own; reloaded on SIGHUP and when it changes.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// A tenant's own policy file, as TENANT=FILE (repeatable); reloaded like --policy.
    #[arg(long = "tenant-policy", value_parser = parse_tenant_policy)]
    tenant_policy: Vec<(String, PathBuf)>,
    /// API keys (and users) YAML file.
    #[arg(long = "api-keys")]
    api_keys: Option<PathBuf>,
    /// Create demo credentials and run simulated agents.
    #[arg(long)]
    demo: bool,
    /// What the dispatch-time gate does while the policy engine is unavailable, for jobs
    /// whose `env` label has no fail mode of its own (development: open; staging,
    /// production: closed).
    #[arg(long, value_parser = parse_fail_mode, default_value = "closed")]
    policy_check_fail_mode: FailMode,
    /// `direct`: `PUT /api/v1/policy` publishes at once (bootstrap, the demo);
    /// `approval_required`: policy changes are drafts another reviewer approves.
    #[arg(long, value_parser = parse_policy_publish, default_value = "direct")]
    policy_publish: PolicyPublish,
    /// Let admins switch the simulated policy engine and workers over HTTP
    /// (`/api/v1/admin/policy-engine`, `/api/v1/admin/workers`); on with --demo.
    #[arg(long)]
    simulation_controls: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let mut credentials = Credentials::default();
    if let Some(path) = &args.api_keys {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        credentials.merge(Credentials::from_yaml(&text)?);
    }
    if let Ok(value) = std::env::var(API_KEYS_ENV) {
        credentials.merge(Credentials::from_env_value(&value)?);
    }
    let demo_keys = if args.demo {
        Some(DemoCredentials::generate(&mut credentials)?)
    } else {
        None
    };

    let mut config = GatewayConfig::new(args.listen, args.data.clone());
    config.policy_file = args.policy.clone();
    config.tenant_policy_files = args.tenant_policy.iter().cloned().collect();
    config.credentials = credentials;
    config.dispatch.policy_check_fail_mode = args.policy_check_fail_mode;
    config.dispatch.simulation_controls = args.simulation_controls || args.demo;
    config.policy_publish = args.policy_publish;
    let running = start(config).await?;

    let _demo = match &demo_keys {
        Some(keys) => {
            let agents = DemoAgents::from_keys(running.gateway(), keys)?;
            print_demo_keys(keys);
            Some(
                DemoTraffic::spawn(running.gateway().clone(), agents, DemoConfig::default())
                    .await?,
            )
        }
        None => None,
    };

    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{}", running.addr)?;
    stdout.flush()?;

    wait_for_shutdown(running.gateway()).await?;
    tracing::info!("shutting down");
    running.shutdown().await?;
    Ok(())
}

fn parse_fail_mode(text: &str) -> Result<FailMode, String> {
    match text.trim() {
        "closed" => Ok(FailMode::Closed),
        "open" => Ok(FailMode::Open),
        other => Err(format!("expected closed or open, got {other:?}")),
    }
}

fn parse_policy_publish(text: &str) -> Result<PolicyPublish, String> {
    match text.trim() {
        "direct" => Ok(PolicyPublish::Direct),
        "approval_required" => Ok(PolicyPublish::ApprovalRequired),
        other => Err(format!(
            "expected direct or approval_required, got {other:?}"
        )),
    }
}

fn parse_tenant_policy(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((tenant, file)) if !tenant.trim().is_empty() && !file.is_empty() => {
            Ok((tenant.trim().to_owned(), PathBuf::from(file)))
        }
        _ => Err(format!("expected TENANT=FILE, got {text:?}")),
    }
}

fn print_demo_keys(keys: &DemoCredentials) {
    println!("demo tenant:    {DEMO_TENANT}");
    println!(
        "agent key:      {} (role agent, principal agent-7)",
        keys.agent
    );
    println!(
        "reviewer key:   {} (role operator, principal alice)",
        keys.alice
    );
    println!("reviewer key:   {} (role admin, principal bob)", keys.bob);
    println!("demo login:     demo / {}", keys.password);
}

/// Waits for SIGINT or SIGTERM; SIGHUP reloads the policy file meanwhile.
#[cfg(unix)]
async fn wait_for_shutdown(gateway: &countersign_gateway::Gateway) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = hup.recv() => match gateway.reload_policy_files().await {
                Ok(0) => tracing::info!("SIGHUP: no policy file configured"),
                Ok(files) => tracing::info!(files, "policy files reloaded on SIGHUP"),
                Err(e) => tracing::error!(error = %e, "a policy reload failed; that file's tenants keep their policy"),
            },
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_shutdown(_gateway: &countersign_gateway::Gateway) -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}
