//! `countersign-client` will own everything the app and the CLI do with a gateway: profiles
//! and sessions, the queue watch, and the decision protocol (verify locally, record intent,
//! send, retry, reconcile). It is built in the issue after the foundation; until then it is
//! an empty package so the workspace layout and dependency directions are fixed from day one.
