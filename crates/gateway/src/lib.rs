//! `countersign-gateway` will own the reference control plane: Cordum's approval API backed
//! by SQLite, used as the embedded gateway of demo mode and as the real peer in tests. It is
//! built in its own issue; until then it is an empty package so the workspace layout and
//! dependency directions are fixed from day one.
