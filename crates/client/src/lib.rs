//! `countersign-client` owns everything the app and the CLI do with a gateway:
//!
//! * [`profile`]: profiles (gateway URL, tenant, auth method) persisted as JSON in a directory
//!   the caller chooses, with the transport rule (https, or plain http to loopback only);
//! * [`secrets`]: the [`SecretStore`] trait and its OS-keychain implementation; secrets never
//!   reach files, logs or the ledger;
//! * [`session`]: signing in with an API key or a password (exchanged for a session token);
//! * [`http`]: [`GatewayClient`], the typed calls, for both Cordum API generations, with
//!   [`generation`] detecting which one (and which extensions) a gateway speaks;
//! * [`review`]: one item fetched fresh by id, with the content its card shows ([`Review`]);
//! * [`decide`]: the decision protocol ([`Decider`]): verify, record intent, send, retry,
//!   reconcile, close, and [`Decider::recover`] at start-up;
//! * [`governance`]: approving and rejecting policy drafts bound to the snapshot seen
//!   ([`GovernanceDecider`]), with the same outbox, retries and recovery;
//! * [`watch`]: [`QueueWatch`], a task keeping an up-to-date view of pending approvals and
//!   emitting typed events, over the gateway's event stream or by polling;
//! * [`audit`]: mirroring the gateway's audit log into the ledger;
//! * [`error`]: [`ClientError`] with stable codes.
//!
//! The ledger (`countersign-ledger`) is the client's durable memory: the decision outbox and
//! the seen set live there.
//!
//! A session of the app or the CLI, in order:
//!
//! ```no_run
//! # async fn run(dir: std::path::PathBuf) -> countersign_client::Result<()> {
//! use std::sync::Arc;
//! use countersign_client::*;
//!
//! let profile = ProfileStore::new(&dir).get("work")?;
//! let client = GatewayClient::from_profile(&profile, &KeyringStore, &HttpConfig::default())?;
//! let ledger = Arc::new(countersign_ledger::Ledger::open(dir.join("work.ledger"))?);
//! let decider = Decider::new(client.clone(), Arc::clone(&ledger), RetryPolicy::default());
//! // Finish whatever a crash left open before anything else.
//! for recovered in decider.recover().await? {
//!     println!("{}: {:?}", recovered.job_id, recovered.result.map(|r| r.settlement));
//! }
//! let mut watch = QueueWatch::spawn(client, ledger, WatchConfig::default());
//! while let Some(event) = watch.next().await {
//!     if let WatchEvent::Arrived(item) = event {
//!         // The reviewer looks at the item, then decides on exactly what they saw.
//!         let review = decider.client().review_of(item.as_ref().clone()).await?;
//!         // ... the card shows `review.content` ...
//!         let report = decider.approve(&review.seen(), "checked", "").await?;
//!         println!("{:?}", report.settlement);
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod after_approval;
pub mod audit;
mod body;
pub mod decide;
pub mod error;
pub mod generation;
pub mod governance;
pub mod http;
mod job;
pub mod layout;
mod paging;
pub mod profile;
pub mod review;
pub mod secrets;
pub mod session;
mod text;
mod transport;
pub mod watch;

use std::sync::Arc;

use countersign_ledger::{Ledger, LedgerError};

pub use after_approval::AfterApproval;
pub use decide::{Decider, DecisionReport, Recovered, RetryPolicy, Settlement};
pub use error::{ClientError, Result};
pub use generation::{Capabilities, Generation};
pub use governance::{DraftFilter, GovernanceDecider, GovernanceReport};
pub use http::{Credential, GatewayClient, HttpConfig, SessionInfo};
pub use job::JobStatus;
pub use paging::PendingList;
pub use profile::{AuthMethod, Profile, ProfileStore};
pub use review::Review;
pub use secrets::{KeyringStore, MemorySecretStore, Secret, SecretKind, SecretStore};
pub use watch::{QueueWatch, WatchConfig, WatchEvent};

/// Runs a ledger call on the blocking pool: SQLite blocks, and writes wait for `fsync`.
pub(crate) async fn ledger_call<T, F>(ledger: &Arc<Ledger>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Ledger) -> Result<T, LedgerError> + Send + 'static,
{
    let ledger = Arc::clone(ledger);
    tokio::task::spawn_blocking(move || f(&ledger))
        .await
        .map_err(|e| ClientError::Io(format!("ledger task failed: {e}")))?
        .map_err(ClientError::from)
}
