//! JSON columns as stored (a job's `context`, its safety constraints): copied into the item as
//! they are wherever that is byte-identical with parsing them and writing them again, and
//! parsed where it is not. Every such column is written by `serde_json` from a `Value`, so a
//! sound row is always copied; a row edited by hand or by another program (spaces, keys out of
//! order, a number `serde_json` would write another way, text that is not JSON) is parsed, with
//! the same fallback as before (unreadable text is `null`). Parsing and re-writing was a tenth
//! of a listing's cost (issue 14).

use std::borrow::Cow;

use serde_json::Value;

/// Deeper text is left to the parser, whose limit (128) this stays well under.
const MAX_DEPTH: usize = 64;

/// A stored JSON column.
#[derive(Debug)]
pub(super) enum StoredJson<'a> {
    /// Text exactly as `serde_json` writes the value it parses to.
    Canonical(&'a str),
    /// Anything else, parsed (`null` when it does not parse).
    Parsed(Value),
}

impl<'a> StoredJson<'a> {
    pub(super) fn read(text: &'a str) -> Self {
        if is_canonical(text) {
            Self::Canonical(text)
        } else {
            Self::Parsed(serde_json::from_str(text).unwrap_or(Value::Null))
        }
    }

    pub(super) fn is_null(&self) -> bool {
        match self {
            Self::Canonical(text) => *text == "null",
            Self::Parsed(value) => value.is_null(),
        }
    }

    /// Writes the value, as `serde_json` would write it parsed.
    pub(super) fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Self::Canonical(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            Self::Parsed(value) => serde_json::to_writer(out, value),
        }
    }

    /// The members of an object, in order (none for anything else).
    pub(super) fn members(&self) -> Members<'_> {
        match self {
            Self::Canonical(text) => {
                let bytes = text.as_bytes();
                Members::Text {
                    text,
                    at: (bytes.first() == Some(&b'{') && bytes.get(1) != Some(&b'}')).then_some(1),
                }
            }
            Self::Parsed(Value::Object(map)) => Members::Map(map.iter()),
            Self::Parsed(_) => Members::Text { text: "", at: None },
        }
    }
}

/// The members of a stored object.
pub(super) enum Members<'a> {
    /// Of canonical text: the offset of the next member's key, if any.
    Text {
        text: &'a str,
        at: Option<usize>,
    },
    Map(serde_json::map::Iter<'a>),
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, Member<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Map(iter) => iter.next().map(|(k, v)| (k.as_str(), Member::Value(v))),
            Self::Text { text, at } => {
                let start = at.take()?;
                let bytes = text.as_bytes();
                // Canonical text: the key is a string without escapes, then a colon, then
                // the value; the scan that proved it canonical finds the value's end again.
                let key_end = string(bytes, start)?.0;
                let value_end = value(bytes, key_end + 1, 0)?;
                if bytes.get(value_end) == Some(&b',') {
                    *at = Some(value_end + 1);
                }
                Some((
                    text.get(start + 1..key_end - 1)?,
                    Member::Text(text.get(key_end + 1..value_end)?),
                ))
            }
        }
    }
}

/// One member's value.
#[derive(Debug, Clone, Copy)]
pub(super) enum Member<'a> {
    /// Canonical JSON text.
    Text(&'a str),
    Value(&'a Value),
}

impl<'a> Member<'a> {
    /// A string that is not blank, or a number as text (as `serde_json` writes it).
    pub(super) fn text(self) -> Option<Cow<'a, str>> {
        let text = match self {
            Self::Value(Value::String(s)) => Cow::Borrowed(s.as_str()),
            Self::Value(Value::Number(n)) => return Some(Cow::Owned(n.to_string())),
            Self::Value(_) => return None,
            Self::Text(json) => match json.as_bytes().first()? {
                b'"' if !json.contains('\\') => Cow::Borrowed(json.get(1..json.len() - 1)?),
                b'"' => Cow::Owned(serde_json::from_str(json).ok()?),
                // Canonical, so the text is the number as `serde_json` writes it.
                b'-' | b'0'..=b'9' => return Some(Cow::Borrowed(json)),
                _ => return None,
            },
        };
        (!text.trim().is_empty()).then_some(text)
    }

    /// A number, as `Value::as_f64` reads it.
    pub(super) fn as_f64(self) -> Option<f64> {
        match self {
            Self::Value(v) => v.as_f64(),
            Self::Text(json) => match json.as_bytes().first()? {
                b'-' | b'0'..=b'9' => serde_json::from_str::<serde_json::Number>(json)
                    .ok()?
                    .as_f64(),
                _ => None,
            },
        }
    }
}

/// Whether `text` is exactly what `serde_json` writes for the value it parses to: no
/// whitespace, object keys without escapes in strictly increasing order (a `Value`'s map is
/// sorted and has no duplicates), strings escaped as `serde_json` escapes them, integers in
/// range, floats that `serde_json` writes back the same. Sound rather than complete: text it
/// refuses is parsed instead.
pub(super) fn is_canonical(text: &str) -> bool {
    let bytes = text.as_bytes();
    value(bytes, 0, 0) == Some(bytes.len())
}

/// The end of the canonical value starting at `at`.
fn value(b: &[u8], at: usize, depth: usize) -> Option<usize> {
    match *b.get(at)? {
        b'{' => object(b, at, depth + 1),
        b'[' => array(b, at, depth + 1),
        b'"' => string(b, at).map(|(end, _)| end),
        b't' => literal(b, at, b"true"),
        b'f' => literal(b, at, b"false"),
        b'n' => literal(b, at, b"null"),
        b'-' | b'0'..=b'9' => number(b, at),
        _ => None,
    }
}

fn literal(b: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    let end = at + word.len();
    (b.get(at..end)? == word).then_some(end)
}

fn object(b: &[u8], at: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut at = at + 1;
    if b.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    let mut previous: Option<&[u8]> = None;
    loop {
        let (key_end, escaped) = string(b, at)?;
        let key = b.get(at + 1..key_end - 1)?;
        // Compared as stored bytes, which is the map's order only without escapes.
        if escaped || previous.is_some_and(|p| p >= key) {
            return None;
        }
        previous = Some(key);
        if b.get(key_end) != Some(&b':') {
            return None;
        }
        at = value(b, key_end + 1, depth)?;
        match b.get(at)? {
            b',' => at += 1,
            b'}' => return Some(at + 1),
            _ => return None,
        }
    }
}

fn array(b: &[u8], at: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut at = at + 1;
    if b.get(at) == Some(&b']') {
        return Some(at + 1);
    }
    loop {
        at = value(b, at, depth)?;
        match b.get(at)? {
            b',' => at += 1,
            b']' => return Some(at + 1),
            _ => return None,
        }
    }
}

/// The end of the string starting at `at` (past its closing quote), and whether it holds an
/// escape. Only the escapes `serde_json` writes are canonical: the short forms of `"`, `\`,
/// backspace, form feed, newline, carriage return and tab, and `\u00xx` in lowercase for the
/// other control characters.
fn string(b: &[u8], at: usize) -> Option<(usize, bool)> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let (mut i, mut escaped) = (at + 1, false);
    loop {
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let code = b.get(i + 2..i + 6)?;
                        let lower_hex = |c: &u8| matches!(c, b'0'..=b'9' | b'a'..=b'f');
                        if !code.iter().all(lower_hex) {
                            return None;
                        }
                        let code = u8::from_str_radix(std::str::from_utf8(code).ok()?, 16).ok()?;
                        if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            0x00..=0x1f => return None,
            _ => i += 1,
        }
    }
}

fn number(b: &[u8], at: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let negative = b.get(at) == Some(&b'-');
    let int_start = at + usize::from(negative);
    let int_end = match *b.get(int_start)? {
        b'0' => int_start + 1,
        b'1'..=b'9' => digits(int_start + 1),
        _ => return None,
    };
    let text = std::str::from_utf8(b.get(at..int_end)?).ok()?;
    if !matches!(b.get(int_end), Some(b'.' | b'e' | b'E')) {
        // `serde_json` keeps these as integers and writes them back alike; `-0` and numbers
        // out of range it reads as floats.
        let in_range = if negative {
            text != "-0" && text.parse::<i64>().is_ok()
        } else {
            text.parse::<u64>().is_ok()
        };
        return in_range.then_some(int_end);
    }
    let mut end = int_end;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        if frac_end == end + 1 {
            return None;
        }
        end = frac_end;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits(end + 1 + sign);
        if exp_end == end + 1 + sign {
            return None;
        }
        end = exp_end;
    }
    // A float is canonical when `serde_json` writes what it reads back as the same text.
    let token = std::str::from_utf8(b.get(at..end)?).ok()?;
    let parsed: Value = serde_json::from_str(token).ok()?;
    (serde_json::to_string(&parsed).ok()? == token).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Texts `serde_json` writes: all canonical, and copied as they are.
    fn written() -> Vec<String> {
        let values = [
            json!(null),
            json!(true),
            json!({}),
            json!([]),
            json!({"amount": 12, "currency": "EUR", "vendor": "vendor 12"}),
            json!({"a": [1, -2, 3.5, 1e300, 1e-7, 0.30000000000000004, -0.5, 12.0]}),
            json!({"big": u64::MAX, "small": i64::MIN, "zero": 0, "float_zero": 0.0}),
            json!({"s": "quote \" backslash \\ controls \u{0}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f} del \u{7f} é"}),
            json!({"nested": {"deeper": [{"x": null, "y": [[], {}]}]}, "B": 1, "a": 2, "é": 3}),
            json!("just a string"),
            json!(-7),
            json!(2.5e-300),
        ];
        values
            .iter()
            .map(|v| serde_json::to_string(v).expect("json"))
            .collect()
    }

    #[test]
    fn what_serde_json_writes_is_canonical() {
        for text in written() {
            assert!(is_canonical(&text), "{text}");
        }
    }

    #[test]
    fn canonical_text_is_what_parsing_and_writing_again_gives() {
        let others = [
            "",
            " ",
            "nul",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" :1}",
            " {}",
            "{} ",
            "[1 ]",
            "01",
            "-0",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "1E5",
            "1e5",
            "1.50",
            "100.0e0",
            "18446744073709551616",
            "-9223372036854775809",
            "-9223372036854775808",
            "1e400",
            "\"\\/\"",
            "\"\\u0041\"",
            "\"\\u000A\"",
            "\"\\u001F\"",
            "\"\\u001f\"",
            "\"\\u0008\"",
            "\"\\x\"",
            "\"raw \u{1} control\"",
            "\"unterminated",
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":2}",
            "{\"a\\u0000\":1}",
            "{\"\\\"\":1}",
            "[true,false,null]",
            "tru",
            "nulll",
            "{\"a\":{\"b\":[1,2,{\"c\":\"d\"}]}}",
        ];
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let texts = written()
            .into_iter()
            .chain(others.iter().map(|s| (*s).to_owned()))
            .chain([deep]);
        for text in texts {
            let reparsed = serde_json::from_str::<Value>(&text)
                .ok()
                .map(|v| serde_json::to_string(&v).expect("json"));
            if is_canonical(&text) {
                assert_eq!(reparsed.as_deref(), Some(text.as_str()), "{text}");
            }
            // Whatever the path, the column writes what parsing it wrote.
            let mut out = Vec::new();
            StoredJson::read(&text).write(&mut out).expect("written");
            let want = reparsed.unwrap_or_else(|| "null".into());
            assert_eq!(String::from_utf8(out).expect("UTF-8"), want, "{text}");
        }
    }

    #[test]
    fn members_are_read_alike_from_text_and_from_a_parsed_value() {
        let text = r#"{"a":"x","b":" ","c":-1.5,"d":"q\"uote","e":{"f":1},"g":18446744073709551615,"h":null}"#;
        let canonical = StoredJson::read(text);
        assert!(matches!(canonical, StoredJson::Canonical(_)));
        let parsed = StoredJson::Parsed(serde_json::from_str(text).expect("json"));
        let read = |json: &StoredJson| -> Vec<(String, Option<String>, Option<f64>)> {
            json.members()
                .map(|(k, m)| (k.to_owned(), m.text().map(Cow::into_owned), m.as_f64()))
                .collect()
        };
        assert_eq!(read(&canonical), read(&parsed));
        assert_eq!(read(&canonical).len(), 7);
        for other in ["{}", "[1]", "\"s\"", "null", "not json"] {
            assert_eq!(StoredJson::read(other).members().count(), 0, "{other}");
        }
    }
}
