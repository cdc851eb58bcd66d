//! `countersign-cli` as a reviewer runs it against a real gateway: the built binary in its own
//! process, the reference gateway on loopback, credentials in the environment.

mod after_approval;
mod audit;
#[path = "../common/mod.rs"]
mod common;
mod login;
mod policy;
mod review;
mod support;
mod watch;
