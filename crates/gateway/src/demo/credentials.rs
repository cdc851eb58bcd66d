//! The demo's credentials: fresh random keys on every start, so a demo gateway never accepts
//! a key that was printed or stored by an earlier run.

use std::collections::BTreeMap;

use crate::auth::{hash_password, new_api_key, Caller};
use crate::config::{ApiKeyConfig, Credentials, Role, UserConfig};
use crate::error::GatewayError;
use crate::service::Gateway;

/// The tenant every demo credential belongs to.
pub const DEMO_TENANT: &str = "default";

/// The simulated agents, each with a key of its own: like real agents, each is its own
/// authenticated submitter, which reviewers' notifications (and their flood limits) follow.
/// The workflow may set `gate_type`, as Cordum's workflow engine does.
pub const SIMULATED_AGENTS: [(&str, Role); 4] = [
    ("agent-support", Role::Agent),
    ("agent-infra", Role::Agent),
    ("agent-billing", Role::Agent),
    ("workflow.incident-triage", Role::Workflow),
];

/// The keys and password of one demo run. Reviewers: `alice` (operator) and `bob` (admin);
/// `agent` is a key for a person trying the API by hand; the simulated agents submit with
/// theirs (`simulated`, by principal); the user `demo` signs in with `password`.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub agent: String,
    pub simulated: Vec<(String, String)>,
    pub alice: String,
    pub bob: String,
    pub password: String,
}

impl DemoCredentials {
    /// New random keys, added to `credentials`.
    pub fn generate(credentials: &mut Credentials) -> Result<Self, GatewayError> {
        let keys = Self {
            agent: new_api_key("demo-agent"),
            simulated: SIMULATED_AGENTS
                .iter()
                .map(|(principal, _)| ((*principal).to_owned(), new_api_key("demo-agent")))
                .collect(),
            alice: new_api_key("demo-alice"),
            bob: new_api_key("demo-bob"),
            password: new_api_key("pw"),
        };
        let key = |key: &str, role, principal: &str| ApiKeyConfig {
            tenant: DEMO_TENANT.into(),
            key: key.into(),
            role,
            principal: principal.into(),
        };
        credentials.keys.extend([
            key(&keys.agent, Role::Agent, "agent-7"),
            key(&keys.alice, Role::Operator, "alice"),
            key(&keys.bob, Role::Admin, "bob"),
        ]);
        for ((principal, key_text), (_, role)) in keys.simulated.iter().zip(SIMULATED_AGENTS) {
            credentials.keys.push(key(key_text, role, principal));
        }
        credentials.users.push(UserConfig {
            username: "demo".into(),
            password_hash: hash_password(&keys.password)?,
            tenant: DEMO_TENANT.into(),
            role: Role::Operator,
            principal: "demo-reviewer".into(),
        });
        Ok(keys)
    }
}

/// Who submits the demo's jobs: the caller of each simulated agent by principal, and one for
/// any other principal.
#[derive(Debug, Clone)]
pub struct DemoAgents {
    by_principal: BTreeMap<String, Caller>,
    fallback: Caller,
}

impl DemoAgents {
    /// Every job submitted by `caller`.
    pub fn single(caller: Caller) -> Self {
        Self {
            by_principal: BTreeMap::new(),
            fallback: caller,
        }
    }

    /// The simulated agents' callers on `gateway`, which holds `keys`.
    pub fn from_keys(gateway: &Gateway, keys: &DemoCredentials) -> Result<Self, GatewayError> {
        let caller = |key: &str| {
            gateway
                .auth()
                .api_key(key)
                .ok_or_else(|| GatewayError::Config("a demo key was not accepted".into()))
        };
        let mut by_principal = BTreeMap::new();
        for (principal, key) in &keys.simulated {
            by_principal.insert(principal.clone(), caller(key)?);
        }
        Ok(Self {
            by_principal,
            fallback: caller(&keys.agent)?,
        })
    }

    pub fn caller_for(&self, principal: &str) -> &Caller {
        self.by_principal.get(principal).unwrap_or(&self.fallback)
    }

    pub fn tenant(&self) -> &str {
        &self.fallback.tenant
    }
}
