//! `countersign-ledger` owns Countersign's local audit history: one SQLite file per profile
//! holding an append-only, hash-chained record of everything the reviewer saw and did.
//!
//! * [`Ledger`] opens a file (WAL, `synchronous=FULL`, migrated schema) and appends
//!   [`Entry`]s; [`NewEntry`] has typed constructors for logins, verdicts, requests and
//!   conflicts. Each entry's `entry_hash` covers its fields and the previous entry's hash
//!   ([`chain`] has the exact byte encoding), so editing, deleting, reordering or truncating
//!   entries is found by [`Ledger::verify`] ([`verify`] says what it cannot catch).
//! * The decision [`outbox`] ([`DecisionIntent`], [`DecisionOutcome`]) records a decision
//!   before it is sent and its answer after, so a crash in between is recovered at the next
//!   start.
//! * The [`governance`] outbox ([`GovernanceIntent`]) does the same for policy-draft decisions
//!   (seed 004), and records each draft snapshot shown.
//! * The seen set ([`ItemSighting`]) makes "item arrived" happen once per job and request hash,
//!   across restarts; mirrored gateway audit events are kept once each.
//! * Offline [`Query`]s, JSON Lines exports and per-job [`EvidencePack`]s ([`export`]) read it
//!   all back. Free text is narrowed by a trigram index kept beside the chain (`search.rs`);
//!   every candidate is checked against the entry itself.
//!
//! Secrets never go into the ledger: no API here takes a token, password or key, and callers
//! must keep them out of entry bodies. The file is evidence meant to be exported and shared.
//!
//! The ledger owns no platform paths: the app and the CLI pick the file (typically in the
//! platform's app-data directory, one per profile) and pass it to [`Ledger::open`].

mod body;
pub mod chain;
mod entry;
mod error;
pub mod export;
mod files;
pub mod governance;
pub mod holder;
mod ledger;
pub mod outbox;
mod query;
mod record;
mod schema;
mod search;
mod seen;
pub mod verify;

pub use body::MAX_BODY_DEPTH;
pub use chain::{canonical_json, ChainHead, GENESIS_HASH};
pub use entry::{Entry, EntryKind, NewEntry};
pub use error::{LedgerError, Result};
pub use export::{verify_export, ChainProof, EvidencePack, ExportHeader, ProofLink};
pub use files::create_private_dir_all;
pub use governance::{GovernanceIntent, GovernanceRecord, GOVERNANCE_TOPIC};
pub use holder::LeaseHolder;
pub use ledger::{system_clock, Clock, Ledger};
pub use outbox::{new_decision_id, DecisionIntent, DecisionOutcome, IntentRecord};
pub use query::{Page, Query, DEFAULT_LIMIT, MAX_LIMIT};
pub use schema::SCHEMA_VERSION;
pub use seen::ItemSighting;
pub use verify::{ChainProblem, ChainStatus, VerifyReport};
