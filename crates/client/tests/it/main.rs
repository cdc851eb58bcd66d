//! Integration tests against the reference gateway embedded on 127.0.0.1:0, with real ledger
//! files in temp dirs. One binary, so the gateway and client compile once.

mod after_approval;
mod auth;
mod decide;
mod drift;
mod drift_windows;
mod exactly_once;
mod governance;
mod hostile;
mod hostile_gateway;
mod http;
mod keyring;
mod paging;
mod races;
mod support;
mod watch;
mod watch_hostile;
