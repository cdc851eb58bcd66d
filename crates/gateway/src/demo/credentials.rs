//! The demo's credentials: fresh random keys on every start, so a demo gateway never accepts
//! a key that was printed or stored by an earlier run.

use crate::auth::{hash_password, new_api_key};
use crate::config::{ApiKeyConfig, Credentials, Role, UserConfig};
use crate::error::GatewayError;

/// The tenant every demo credential belongs to.
pub const DEMO_TENANT: &str = "default";

/// The keys and password of one demo run. Reviewers: `alice` (operator) and `bob` (admin);
/// the agents submit with `agent`; the user `demo` signs in with `password`.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub agent: String,
    pub alice: String,
    pub bob: String,
    pub password: String,
}

impl DemoCredentials {
    /// New random keys, added to `credentials`.
    pub fn generate(credentials: &mut Credentials) -> Result<Self, GatewayError> {
        let keys = Self {
            agent: new_api_key("demo-agent"),
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
