//! `countersign-gateway`: a reference control plane that speaks Cordum's approval API
//! (CONTRACT.md, new generation), backed by one SQLite file. It is the embedded gateway of
//! Countersign's demo mode and the real peer the client's tests talk to.
//!
//! Agents submit jobs (`POST /api/v1/jobs`); a YAML policy decides at submit time whether a
//! job runs, is denied, throttled, or waits for a human. Reviewers list, inspect, approve and
//! reject; every approval is bound to the policy snapshot and the job hash it was asked under.
//! See `README.md` for the HTTP API and the extensions beyond Cordum.
//!
//! Embedding:
//!
//! ```no_run
//! # async fn demo() -> Result<(), countersign_gateway::GatewayError> {
//! use countersign_gateway::{start, GatewayConfig};
//! let config = GatewayConfig::new(([127, 0, 0, 1], 0).into(), "gateway.db".into());
//! let running = start(config).await?;
//! println!("listening on http://{}", running.addr);
//! running.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod apierror;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod http;
pub mod metrics;
pub mod policy;
pub mod request;
mod serve;
pub mod service;
pub mod store;
pub mod view;
pub mod workers;

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    ApiKeyConfig, AuthLimits, BreakerConfig, ConnectionLimits, CookiePolicy, Credentials,
    DispatchConfig, FailMode, GatewayConfig, Role, StreamLimits, SubmitLimits, UserConfig,
};
pub use demo::{DemoConfig, DemoTraffic};
pub use error::GatewayError;
pub use service::Gateway;

/// A gateway serving HTTP.
#[derive(Debug)]
pub struct RunningGateway {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    gateway: Gateway,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    connections: serve::ConnectionGauge,
    /// Policy file watchers, the expiry sweep, the dispatcher and the pending replayer.
    tasks: Vec<JoinHandle<()>>,
}

/// Opens the database, loads the policy, binds the listener and starts serving.
pub async fn start(config: GatewayConfig) -> Result<RunningGateway, GatewayError> {
    let gateway = Gateway::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = http::router(gateway.clone());
    // Before the server runs, so that no stream starts after an event the fan-out skips.
    let fan_out = tokio::spawn(service::fan_out_events(
        gateway.clone(),
        gateway.newest_event_id(),
    ));
    let connections = serve::ConnectionGauge::new(config.connection_limits.max_connections);
    // A dropped sender means the handle is gone: the server shuts down as well.
    let server = tokio::spawn(serve::serve(
        listener,
        app,
        config.connection_limits.clone(),
        connections.clone(),
        stopped,
    ));
    let mut tasks: Vec<JoinHandle<()>> = gateway
        .policy_files()
        .into_iter()
        .map(|(scope, path)| {
            tokio::spawn(watch_policy_file(
                gateway.clone(),
                scope,
                path,
                config.policy_poll,
            ))
        })
        .collect();
    tasks.push(fan_out);
    tasks.push(tokio::spawn(service::sweep_expired(
        gateway.clone(),
        config.expiry_sweep,
    )));
    tasks.push(tokio::spawn(service::run_dispatcher(gateway.clone())));
    // Its first pass is the start-up replay of jobs a previous run left in flight.
    tasks.push(tokio::spawn(service::run_replayer(gateway.clone())));
    tracing::info!(%addr, data = %config.data.display(), "gateway started");
    Ok(RunningGateway {
        addr,
        gateway,
        stop: Some(stop),
        server: Some(server),
        tasks,
        connections,
    })
}

impl RunningGateway {
    /// The gateway's state, for embedding and tests.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// HTTP connections open now (at most `connection_limits.max_connections`).
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// Stops accepting requests, ends event streams and waits for in-flight requests (at
    /// most `connection_limits.shutdown_grace`, then open connections are closed).
    pub async fn shutdown(mut self) -> Result<(), GatewayError> {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            server
                .await
                .map_err(|e| GatewayError::StorageTask(e.to_string()))??;
        }
        Ok(())
    }

    fn begin_shutdown(&mut self) {
        self.gateway.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Polls a policy file and republishes it for the tenants it governs when its content changes;
/// an invalid file is logged and the current policy stays. Content is compared rather than
/// the modification time, whose granularity can hide two writes in quick succession.
async fn watch_policy_file(
    gateway: Gateway,
    scope: service::PolicyScope,
    path: std::path::PathBuf,
    every: std::time::Duration,
) {
    // No baseline: the first poll republishes whatever the file holds then (a no-op when it
    // is what `start` loaded), so a write racing the watcher's start is never missed.
    let mut seen: Option<Vec<u8>> = None;
    loop {
        tokio::time::sleep(every).await;
        let now = tokio::fs::read(&path).await.ok();
        if now.is_none() || now == seen {
            continue;
        }
        seen = now;
        match gateway.reload_policy(&scope).await {
            Ok(snapshot) => tracing::info!(%snapshot, ?scope, "policy file reloaded"),
            Err(e) => tracing::error!(
                error = %e,
                path = %path.display(),
                "policy file rejected; keeping the current policy"
            ),
        }
    }
}
