//! The hardening of issue 8: tenant isolation of policy, bounded agent input, deadlines,
//! sessions that follow their user, login, the auth-failure log, slow connections, event
//! streams, cookie-authenticated writes and reserved labels; plus the protections that
//! already held, kept tested.

#[path = "../common/mod.rs"]
mod common;

mod authlog;
mod connections;
mod cookies;
mod deadlines;
mod kept;
mod labels;
mod limits;
mod login;
mod sessions;
mod streams;
mod tenancy;
