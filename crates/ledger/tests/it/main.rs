//! Integration tests for `countersign-ledger`, all against real SQLite files in temporary
//! directories. One test binary (modules below) so the crash test can re-execute it as a child
//! writer.

mod common;

mod chain;
mod concurrency;
mod crash;
mod export;
mod governance;
mod open;
mod outbox;
mod query;
mod seen;
