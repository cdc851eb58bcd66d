//! How deep an entry body may nest. A body quotes what a gateway served: an item parsed with
//! serde_json's limit of 128 levels from its own root, which the ledger then wraps in a few
//! more (`card`, `seen.content.payload`). serde_json's reader refuses more than 128 levels, so
//! an entry the ledger had appended could not be read back or exported. Bodies are read
//! here with the ledger's own limit instead, and [`MAX_BODY_DEPTH`] bounds what is appended:
//! whatever the ledger records, it can read.

use serde::de::{DeserializeOwned, Error as _};
use serde_json::Value;

/// Deepest nesting of arrays and objects an entry body may have: twice what any gateway
/// answer can carry, and shallow enough for the reader's recursion to stay on any stack.
pub const MAX_BODY_DEPTH: usize = 256;

/// Whether `value` nests more than `limit` arrays and objects (a scalar nests none).
pub(crate) fn deeper_than(value: &Value, limit: usize) -> bool {
    let deeper = |item: &Value| deeper_than(item, limit - 1);
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(deeper),
        Value::Object(map) => limit == 0 || map.values().any(deeper),
        _ => false,
    }
}

/// Parses JSON text nesting at most `limit` levels. The depth is counted before parsing, so
/// hostile text (an export is read from anywhere) cannot make the reader recurse without
/// bound.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str, limit: usize) -> serde_json::Result<T> {
    if text_deeper_than(text, limit) {
        return Err(serde_json::Error::custom(format!(
            "nested deeper than {limit} levels"
        )));
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    reader.disable_recursion_limit();
    let value = T::deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Whether `text` opens more than `limit` arrays and objects at once, brackets inside strings
/// aside. Malformed text is left for the parser to refuse.
fn text_deeper_than(text: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_arrays_and_objects_in_values_and_text() {
        let value = json!({"a": [1, {"b": "[[[{{{"}], "c": {}});
        assert!(!deeper_than(&value, 3));
        assert!(deeper_than(&value, 2));
        assert!(!deeper_than(&json!("x"), 0));
        let text = value.to_string();
        assert!(!text_deeper_than(&text, 3));
        assert!(text_deeper_than(&text, 2));
        assert!(!text_deeper_than(r#"["\"[[[["]"#, 1));
    }

    #[test]
    fn text_within_the_limit_parses_past_serde_json_s_own() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<Value>(&text).is_err());
        let value: Value = from_str(&text, 200).expect("within the limit");
        assert!(deeper_than(&value, 199) && !deeper_than(&value, 200));
        assert!(from_str::<Value>(&text, 199).is_err());
    }
}
