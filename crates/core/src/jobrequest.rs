//! Cordum's `cordum.agent.v1.JobRequest` in both generations' schemas ([`Generation`]: CAP
//! v2.0.12 fields 1 to 16 for v0.9, plus field 17 `compensation` of CAP v2.13.3; CONTRACT.md §8.2):
//! the data model, a protojson reader that accepts and rejects what protobuf-go's
//! `protojson.Unmarshal` does, a protobuf binary reader that matches `proto.Unmarshal`, and
//! protojson output.
//!
//! Both readers exist for the job hash: the hash is over Go's binary encoding of the message
//! that Go decoded, so a reviewer's client must end up with the same message from the same
//! input, or refuse the input. protojson is what the gateway stores and serves; binary covers
//! what protojson cannot express, such as unknown fields (see [`crate::jobhash`]).

mod error;
mod json;
mod model;
mod protojson;
mod serialize;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

pub use error::{JobRequestError, Problem};
pub use model::{
    ActorType, Budget, Compensation, ContextHints, Generation, JobMetadata, JobPriority, JobRequest,
};

impl JobRequest {
    /// Parses protojson as protobuf-go's `protojson.Unmarshal` with `DiscardUnknown: false`,
    /// with `generation`'s schema (v0.9 refuses `compensation`, even as `null`).
    pub fn from_protojson(bytes: &[u8], generation: Generation) -> Result<Self, JobRequestError> {
        protojson::decode(bytes, generation)
    }

    /// Parses protobuf binary as protobuf-go's `proto.Unmarshal` with `generation`'s schema,
    /// keeping unknown fields (under v0.9, field 17 is one).
    pub fn from_wire(bytes: &[u8], generation: Generation) -> Result<Self, JobRequestError> {
        wire::decode(bytes, generation)
    }

    /// This request as compact protojson (see the `Serialize` impl); reads back with
    /// [`JobRequest::from_protojson`] into an equal request, unknown fields aside, which
    /// protojson cannot carry.
    pub fn to_protojson(&self) -> String {
        // serde_json fails only for non-string map keys or a failing `Serialize` impl, and
        // neither exists here; the empty fallback is unreachable rather than a silent loss.
        serde_json::to_string(self).unwrap_or_default()
    }
}
