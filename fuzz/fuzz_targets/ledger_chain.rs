//! Structured entries appended to a real ledger file, exported as JSON Lines, and the export
//! re-verified offline: whatever the ledger accepts, its own export must verify intact, as the
//! ledger itself must; the export's entries must hash as stored after a JSON round trip; and
//! one act of tampering with the export (an edited field, a deleted line, two lines swapped)
//! must be caught.
//!
//! Bodies are arbitrary JSON values (deep nesting, floats, big integers, any text), because
//! entry bodies carry what a gateway served.

#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use countersign_ledger::{verify_export, Entry, EntryKind, Ledger, NewEntry};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

#[derive(Debug, Arbitrary)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
    /// One level of nesting per step: reaches depths that random trees rarely do.
    Nest(u8, Box<Json>),
}

/// How deep a generated body may nest: past the ledger's limit, so that refusing is fuzzed
/// too, yet far from what would overflow a stack in this target's own recursion (the app only
/// builds values serde_json parsed, at most 128 levels, plus a few wrapping ones).
const MAX_GENERATED_DEPTH: usize = countersign_ledger::MAX_BODY_DEPTH + 44;

impl Json {
    /// The value, with containers beyond `room` levels replaced by `null`.
    fn value(self, room: usize) -> Value {
        let inner = room.saturating_sub(1);
        match self {
            Self::Array(_) | Self::Object(_) | Self::Nest(..) if room == 0 => Value::Null,
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Int(n) => Value::from(n),
            Self::UInt(n) => Value::from(n),
            Self::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Self::Text(text) => Value::String(text),
            Self::Array(items) => Value::Array(items.into_iter().map(|v| v.value(inner)).collect()),
            Self::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k, v.value(inner)))
                    .collect::<Map<_, _>>(),
            ),
            Self::Nest(depth, value) => {
                let depth = usize::from(depth).min(room);
                let mut value = value.value(room - depth);
                for _ in 0..depth {
                    value = Value::Array(vec![value]);
                }
                value
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Line {
    kind: u8,
    job_id: Option<String>,
    topic: Option<String>,
    decision: Option<String>,
    outcome: Option<String>,
    body: Json,
}

impl Line {
    fn entry(self) -> NewEntry {
        let kind = EntryKind::ALL[usize::from(self.kind) % EntryKind::ALL.len()];
        NewEntry {
            kind,
            job_id: self.job_id,
            topic: self.topic,
            decision: self.decision,
            outcome: self.outcome,
            body: self.body.value(MAX_GENERATED_DEPTH),
        }
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Tamper {
    /// `recorded_at` of the entry on this line changed.
    Edit(u8),
    Delete(u8),
    Swap(u8, u8),
}

#[derive(Debug, Arbitrary)]
struct Input {
    recorded_at: i64,
    lines: Vec<Line>,
    tamper: Tamper,
}

/// A directory per fuzzing process, emptied for every input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("countersign-fuzz-chain-{}", std::process::id()))
    })
}

fuzz_target!(|input: Input| {
    let dir = scratch();
    let _ = std::fs::remove_dir_all(dir);
    let recorded_at = input.recorded_at;
    let ledger = Ledger::open_with_clock(dir.join("fuzz.ledger"), Arc::new(move || recorded_at))
        .expect("ledger opens");
    let count = input.lines.len() as u64;
    let appended = match ledger.append_all(input.lines.into_iter().map(Line::entry)) {
        Ok(appended) => appended,
        // Only a body past the depth limit is refused.
        Err(err) => return assert_eq!(err.code(), "ledger_invalid_input", "{err}"),
    };
    assert_eq!(appended, count);
    let own = ledger.verify().expect("ledger verifies");
    assert!(own.is_intact(), "the ledger's own chain: {own:?}");

    let export = dir.join("export.jsonl");
    let header = ledger.export_jsonl(&export).expect("ledger exports");
    assert_eq!(header.entry_count, count);
    let report = verify_export(&export).expect("export verifies");
    assert!(report.is_intact(), "an honest export: {report:?}");
    assert_eq!(report.entries_checked, count);

    let text = std::fs::read_to_string(&export).expect("export readable");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for line in &lines[1..] {
        let entry: Entry = read_line(line).expect("an exported entry reads back");
        assert_eq!(entry.computed_hash(), entry.entry_hash, "{line}");
    }
    if count == 0 {
        return;
    }
    let at = |n: u8| 1 + usize::from(n) % lines.len().saturating_sub(1);
    match input.tamper {
        Tamper::Edit(n) => {
            let i = at(n);
            let mut entry: Value = read_line(&lines[i]).expect("entry is JSON");
            entry["recorded_at"] = Value::from(recorded_at.wrapping_add(1));
            lines[i] = entry.to_string();
        }
        Tamper::Delete(n) => {
            lines.remove(at(n));
        }
        Tamper::Swap(a, b) => {
            let (a, b) = (at(a), at(b));
            if a == b {
                return;
            }
            lines.swap(a, b);
        }
    }
    std::fs::write(&export, lines.join("\n") + "\n").expect("export writable");
    let report = verify_export(&export).expect("tampered export still reads");
    assert!(
        !report.is_intact(),
        "tampering went unnoticed: {:?}",
        input.tamper
    );
});

/// An export line, read as the ledger reads it: bodies may nest past serde_json's default
/// limit, up to `MAX_BODY_DEPTH` (which bounds the generated bodies too).
fn read_line<T: DeserializeOwned>(line: &str) -> serde_json::Result<T> {
    let mut reader = serde_json::Deserializer::from_str(line);
    reader.disable_recursion_limit();
    T::deserialize(&mut reader)
}
