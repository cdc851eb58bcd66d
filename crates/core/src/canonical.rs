//! The canonical JSON text every digest in Countersign is computed over: the card content's
//! digest (`content`), the payload check, and the ledger's hash chain. Object keys are sorted by
//! their UTF-8 bytes, there is no whitespace, and scalars have serde_json's one rendering.
//!
//! Sorting is done here rather than relied upon from `serde_json::Map`, because any crate in
//! the build enabling serde_json's `preserve_order` feature would silently turn the map into
//! an insertion-ordered one and change every digest. Reading the text back gives the same
//! floats only with serde_json's `float_roundtrip`, which this crate enables.

use serde_json::Value;

/// The canonical encoding of one JSON value.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

/// Appends the canonical encoding of `value` to `out`.
pub fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::String(text) => write_string(text, out),
        // Scalars have exactly one serde_json rendering.
        Value::Null | Value::Bool(_) | Value::Number(_) => out.push_str(&value.to_string()),
    }
}

/// Appends `text` as a JSON string literal.
pub fn write_string(text: &str, out: &mut String) {
    // Serializing a string to JSON cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_by_bytes_at_every_depth_without_whitespace() {
        let value = json!({"b": [1, {"z": null, "a": true}], "a": "x\"y", "B": {}, "\u{e9}": 1.5});
        assert_eq!(
            canonical_json(&value),
            "{\"B\":{},\"a\":\"x\\\"y\",\"b\":[1,{\"a\":true,\"z\":null}],\"\u{e9}\":1.5}"
        );
    }

    /// Found by `make fuzz` (ledger_chain): without serde_json's `float_roundtrip`, reading
    /// this float's shortest form back gave a neighbouring float, so an honest ledger export
    /// holding it failed to verify.
    #[test]
    fn floats_read_back_to_the_same_canonical_text() {
        let value = json!({"x": -2.937446524335573e-306});
        let text = canonical_json(&value);
        let reparsed: Value = serde_json::from_str(&text).expect("canonical json parses");
        assert_eq!(canonical_json(&reparsed), text);
    }
}
