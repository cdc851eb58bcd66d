//! `countersign-desk` owns the reviewer's desk: one open profile's review session, shaped the
//! way the desktop app shows it, with every rule the app needs and none of the GUI.
//!
//! * [`session`]: [`Desk`], the open profile: gateway client, ledger, decision protocol, the
//!   queue watch and the recovery timer, with events pushed through an emitter;
//! * [`queue`]: the queue's cards and connection state, folded from the client's watch events
//!   into numbered [`DeskEvent`]s the UI applies after a [`QueueSnapshot`];
//! * [`card`]: one card ([`CardView`]), bound to the [`SeenItem`] it displays;
//! * [`decision`]: a click's own guards (in queue, not expired, high-risk proof of reading)
//!   and what a decision became;
//! * [`detail`]: the full request with secrets masked, the recomputed hash and the preflight
//!   checklist;
//! * [`governance`]: the Policy section: policy drafts, their diff and impact, and approve or
//!   reject bound to the snapshot on screen;
//! * [`history`]: the ledger read offline: list, verify, export;
//! * [`demo`]: the embedded reference gateway with simulated agents;
//! * [`open`]: the demo, a saved profile or a new one, in the files `countersign-cli` uses;
//! * [`settings`], [`error`].
//!
//! The protocol itself (verification, outbox, retries) is `countersign-client`'s; this crate
//! only decides what a reviewer's action means and what the screen should say.
//!
//! [`SeenItem`]: countersign_core::verify::SeenItem

pub mod alerts;
pub mod card;
pub mod decision;
pub mod demo;
pub mod detail;
pub mod error;
mod follow;
pub mod governance;
pub mod history;
pub mod open;
pub mod queue;
pub mod session;
pub mod settings;

pub use card::CardView;
pub use decision::{Channel, DecisionRequest, DecisionView};
pub use demo::{EmbeddedDemo, DEMO_PROFILE};
pub use error::{DeskError, Result};
pub use governance::{DraftDecisionRequest, DraftDecisionView, DraftReview, PolicyDesk};
pub use queue::{ConnectionStatus, DeskEvent, DeskMessage, LinkState, QueueSnapshot};
pub use session::{Desk, Emitter, OpenSession, SessionView};
pub use settings::{QuietHours, ReviewSettings};
