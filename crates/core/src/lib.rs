//! `countersign-core` owns the rules that must be exactly right and need no IO:
//!
//! * [`jobrequest`]: Cordum's `cordum.agent.v1.JobRequest`, parsed from protojson (and from
//!   protobuf binary, for inputs protojson cannot express);
//! * [`jobhash`]: Cordum's job hash, byte-identical with `HashJobRequest`;
//! * [`approval`]: approval items of both gateway API generations;
//! * [`content`]: what a card shows, bound by a digest, and content-addressed payload pointers;
//! * [`snapshot`]: the policy snapshot base rule;
//! * [`governance`]: policy drafts, their snapshots and governance approvals (seed 004);
//! * [`verify`]: the drift verdict computed before every approve;
//! * [`outcome`]: gateway answers to approve/reject, classified into stable codes.
//!
//! Everything here is deterministic and synchronous, so the client, the gateway, the CLI and
//! the desktop app all share one implementation and one set of tests.

pub mod approval;
pub mod canonical;
pub mod content;
pub mod governance;
pub mod jobhash;
pub mod jobrequest;
pub mod outcome;
pub mod snapshot;
pub mod verify;
