//! `countersign-ledger` will own the local audit history: an append-only SQLite file per
//! profile in which every entry carries `prev_hash` and `entry_hash`, so tampering is
//! detectable offline. It is built in the issue after the foundation; until then it is an
//! empty package so the workspace layout and dependency directions are fixed from day one.
