//! Why a JobRequest could not be decoded, and where in the message.

use std::fmt;

use thiserror::Error;

/// A JobRequest that could not be decoded from protojson or protobuf binary.
///
/// `path` names the field in protojson style (`meta.actorType`, `labels["k"]`,
/// `contextHints.tags[2]`); it is empty when the problem is not inside a field, such as a
/// document that is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid JobRequest: {}{problem}", PathLabel(path))]
pub struct JobRequestError {
    pub path: String,
    pub problem: Problem,
}

/// What was wrong, independent of where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// Not JSON, or JSON in a place the grammar does not allow; `offset` is a byte offset.
    #[error("JSON syntax error at byte {offset}: {what}")]
    Syntax { offset: usize, what: &'static str },
    /// A member name that is neither a JSON name nor a proto name of the message.
    #[error("unknown field")]
    UnknownField,
    /// The same field twice, possibly once by JSON name and once by proto name.
    #[error("field given more than once")]
    DuplicateField,
    /// The same key twice in one protojson map.
    #[error("map key given more than once")]
    DuplicateMapKey,
    /// A JSON value of the wrong type, or a number that does not fit the field.
    #[error("expected {expected}")]
    InvalidValue { expected: &'static str },
    /// Protobuf binary that protobuf-go cannot parse.
    #[error("cannot parse invalid wire-format data: {0}")]
    Wire(&'static str),
    /// Protobuf binary whose string field is not UTF-8 (protobuf-go's wording).
    #[error("string field contains invalid UTF-8")]
    InvalidUtf8,
}

impl JobRequestError {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self.problem {
            Problem::Syntax { .. } => "jobrequest_json_syntax",
            Problem::UnknownField => "jobrequest_unknown_field",
            Problem::DuplicateField => "jobrequest_duplicate_field",
            Problem::DuplicateMapKey => "jobrequest_duplicate_map_key",
            Problem::InvalidValue { .. } => "jobrequest_invalid_value",
            Problem::Wire(_) => "jobrequest_invalid_wire",
            Problem::InvalidUtf8 => "jobrequest_invalid_utf8",
        }
    }

    /// Puts the error inside `segment`: a field name, or an index such as `[3]`.
    ///
    /// Errors are built where they happen, with a path relative to the message being read,
    /// and each enclosing level prepends its own segment on the way out; paths therefore cost
    /// nothing on success.
    pub(crate) fn within(mut self, segment: &str) -> Self {
        if self.path.is_empty() {
            self.path = segment.to_owned();
        } else {
            let separator = if self.path.starts_with('[') { "" } else { "." };
            self.path = format!("{segment}{separator}{}", self.path);
        }
        self
    }
}

impl From<Problem> for JobRequestError {
    fn from(problem: Problem) -> Self {
        Self {
            path: String::new(),
            problem,
        }
    }
}

/// Renders a non-empty path followed by `": "`, so that root-level errors read naturally.
struct PathLabel<'a>(&'a str);

impl fmt::Display for PathLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}
