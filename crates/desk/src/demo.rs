//! The embedded demo: a reference gateway on a free loopback port with simulated agents, and a
//! reviewer profile named `demo` whose key lives in memory only. Its database is a temporary
//! file, so each demo starts with a fresh queue; its history (the `demo` ledger) persists like
//! any profile's.

use countersign_client::{AuthMethod, MemorySecretStore, Profile, Secret, SecretKind, SecretStore};
use countersign_gateway::config::Credentials;
use countersign_gateway::demo::{DemoAgents, DemoCredentials, DEMO_TENANT};
use countersign_gateway::{start, DemoConfig, DemoTraffic, GatewayConfig, RunningGateway};

use crate::error::{codes, DeskError, Result};

/// The demo profile's name, and so its ledger's: `ledgers/demo.sqlite`.
pub const DEMO_PROFILE: &str = "demo";

/// A running demo gateway with its traffic. Dropping it stops both and deletes the database.
#[derive(Debug)]
pub struct EmbeddedDemo {
    // Field order is drop order: traffic first, then the server, then its files.
    traffic: DemoTraffic,
    gateway: RunningGateway,
    _dir: tempfile::TempDir,
}

impl EmbeddedDemo {
    /// Starts the gateway and its agents; returns it with the reviewer's profile and key.
    pub async fn start(config: DemoConfig) -> Result<(Self, Profile, MemorySecretStore)> {
        let failed = |e: &dyn std::fmt::Display| {
            DeskError::new(
                codes::DEMO_FAILED,
                format!("the demo gateway could not start: {e}"),
            )
        };
        let dir = tempfile::Builder::new()
            .prefix("countersign-demo-")
            .tempdir()
            .map_err(|e| failed(&e))?;
        let mut credentials = Credentials::default();
        let keys = DemoCredentials::generate(&mut credentials).map_err(|e| failed(&e))?;
        let mut gateway_config = GatewayConfig::new(
            ([127, 0, 0, 1], 0).into(),
            dir.path().join("gateway.sqlite"),
        );
        gateway_config.credentials = credentials;
        let gateway = start(gateway_config).await.map_err(|e| failed(&e))?;
        let agents = DemoAgents::from_keys(gateway.gateway(), &keys).map_err(|e| failed(&e))?;
        let traffic = DemoTraffic::spawn(gateway.gateway().clone(), agents, config)
            .await
            .map_err(|e| failed(&e))?;
        let profile = Profile {
            name: DEMO_PROFILE.into(),
            gateway_url: format!("http://{}", gateway.addr),
            tenant: DEMO_TENANT.into(),
            auth: AuthMethod::ApiKey,
        };
        let secrets = MemorySecretStore::default();
        secrets
            .set(DEMO_PROFILE, SecretKind::ApiKey, &Secret::new(keys.alice))
            .map_err(DeskError::from)?;
        Ok((
            Self {
                traffic,
                gateway,
                _dir: dir,
            },
            profile,
            secrets,
        ))
    }

    /// The demo gateway itself, for tests that act as another party (an agent, a second
    /// reviewer) or stop it.
    pub fn gateway(&self) -> &RunningGateway {
        &self.gateway
    }

    /// Stops the traffic and the gateway, waiting for in-flight requests.
    pub async fn shutdown(self) {
        let Self {
            traffic,
            gateway,
            _dir,
        } = self;
        traffic.stop();
        if let Err(error) = gateway.shutdown().await {
            tracing::warn!(%error, "demo gateway did not shut down cleanly");
        }
    }
}
