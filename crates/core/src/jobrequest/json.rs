//! A pull reader for JSON text with the grammar of protobuf-go's `internal/encoding/json`, the
//! decoder behind `protojson.Unmarshal`.
//!
//! It exists instead of serde_json because protojson needs three things serde_json hides: the
//! raw text of numbers (`1e3` and `5.0` are valid int32s, `1.00000000000000000001` is not, and
//! an `f64` cannot tell), every duplicate member name, and Go's exact number grammar. The
//! protojson schema walker drives the reader and rejects any value it does not expect, so the
//! reader never has to skip a value and its recursion depth is bounded by the schema.

use std::borrow::Cow;

use super::error::Problem;

/// One JSON value as seen from its first token; containers are read by the caller.
#[derive(Debug)]
pub(super) enum Value<'a> {
    Null,
    Bool(bool),
    /// The raw number text, already checked against Go's number grammar.
    Number(&'a [u8]),
    String(Cow<'a, str>),
    ObjectStart,
    ArrayStart,
}

#[derive(Debug)]
pub(super) struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Self { src, pos: 0 }
    }

    /// Reads the next value; for an object or array only its opening bracket.
    pub(super) fn value(&mut self) -> Result<Value<'a>, Problem> {
        self.skip_whitespace();
        let rest = self.rest();
        let value = match rest.first() {
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'-' | b'0'..=b'9') => {
                let len = number_len(rest).ok_or_else(|| self.syntax("invalid number"))?;
                self.pos += len;
                Value::Number(rest.get(..len).unwrap_or_default())
            }
            Some(b'"') => Value::String(self.string()?),
            Some(b'{') => {
                self.pos += 1;
                Value::ObjectStart
            }
            Some(b'[') => {
                self.pos += 1;
                Value::ArrayStart
            }
            Some(_) => return Err(self.syntax("expected a JSON value")),
            None => return Err(self.syntax("unexpected end of input")),
        };
        Ok(value)
    }

    /// Consumes a `null` if one comes next; protojson reads `null` as "field not set".
    pub(super) fn take_null(&mut self) -> Result<bool, Problem> {
        self.skip_whitespace();
        if self.rest().first() == Some(&b'n') {
            self.literal("null", ())?;
            return Ok(true);
        }
        Ok(false)
    }

    /// After an object's `{`: the next member name (its `:` consumed), or `None` at the `}`.
    /// `first` tracks whether a `,` must come before the next member.
    pub(super) fn next_name(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, Problem> {
        self.skip_whitespace();
        match self.rest().first() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_whitespace();
            }
            _ if !*first => return Err(self.syntax("expected ',' or '}' after an object member")),
            _ => {}
        }
        *first = false;
        if self.rest().first() != Some(&b'"') {
            return Err(self.syntax("expected a member name"));
        }
        let name = self.string()?;
        self.skip_whitespace();
        if self.rest().first() != Some(&b':') {
            return Err(self.syntax("expected ':' after a member name"));
        }
        self.pos += 1;
        Ok(Some(name))
    }

    /// After an array's `[`: whether another element follows (consuming the `]` if not).
    pub(super) fn next_element(&mut self, first: &mut bool) -> Result<bool, Problem> {
        self.skip_whitespace();
        match self.rest().first() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !*first => {
                self.pos += 1;
                Ok(true)
            }
            _ if !*first => Err(self.syntax("expected ',' or ']' after an array element")),
            _ => {
                *first = false;
                Ok(true)
            }
        }
    }

    /// Checks that nothing but whitespace follows the top-level value.
    pub(super) fn finish(mut self) -> Result<(), Problem> {
        self.skip_whitespace();
        if self.pos < self.src.len() {
            return Err(self.syntax("unexpected data after the top-level value"));
        }
        Ok(())
    }

    fn rest(&self) -> &'a [u8] {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn syntax(&self, what: &'static str) -> Problem {
        Problem::Syntax {
            offset: self.pos,
            what,
        }
    }

    fn skip_whitespace(&mut self) {
        let skipped = self
            .rest()
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        self.pos += skipped;
    }

    /// A literal must end at a delimiter, so `nullx` and `true1` are errors, as in Go.
    fn literal<T>(&mut self, word: &'static str, value: T) -> Result<T, Problem> {
        let rest = self.rest();
        let ends_at_delimiter = rest.get(word.len()).is_none_or(|&b| !is_not_delimiter(b));
        if !rest.starts_with(word.as_bytes()) || !ends_at_delimiter {
            return Err(self.syntax("invalid literal"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// Reads a string starting at its opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, Problem> {
        let start = self.pos + 1;
        let body = self.src.get(start..).unwrap_or_default();
        let plain = body.iter().position(ends_plain_run).unwrap_or(body.len());
        // Most strings have no escapes: borrow them straight from the input.
        if body.get(plain) == Some(&b'"') {
            let text = body.get(..plain).unwrap_or_default();
            let text = std::str::from_utf8(text).map_err(|e| Problem::Syntax {
                offset: start + e.valid_up_to(),
                what: "invalid UTF-8 in string",
            })?;
            self.pos = start + plain + 1;
            return Ok(Cow::Borrowed(text));
        }
        self.pos = start;
        let mut out = Vec::with_capacity(plain + 16);
        loop {
            let rest = self.rest();
            let run = rest
                .iter()
                .position(ends_plain_run)
                .ok_or(Problem::Syntax {
                    offset: self.src.len(),
                    what: "unterminated string",
                })?;
            out.extend_from_slice(rest.get(..run).unwrap_or_default());
            self.pos += run;
            match rest.get(run) {
                Some(b'"') => break,
                Some(b'\\') => self.escape(&mut out)?,
                _ => return Err(self.syntax("control character in string")),
            }
        }
        self.pos += 1;
        // Escapes only ever add whole characters, so invalid UTF-8 here came from the input.
        String::from_utf8(out)
            .map(Cow::Owned)
            .map_err(|_| Problem::Syntax {
                offset: start,
                what: "invalid UTF-8 in string",
            })
    }

    /// Decodes one escape sequence at the backslash into `out`.
    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), Problem> {
        let rest = self.rest();
        let simple = match rest.get(1) {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let c = self.unicode_escape()?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err(self.syntax("invalid escape in string")),
        };
        out.push(simple);
        self.pos += 2;
        Ok(())
    }

    /// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`. Go rejects lone surrogates rather than
    /// replacing them, and so does this.
    fn unicode_escape(&mut self) -> Result<char, Problem> {
        let rest = self.rest();
        let first = hex4(rest.get(2..6)).ok_or_else(|| self.syntax("invalid \\u escape"))?;
        if !(0xD800..=0xDFFF).contains(&first) {
            self.pos += 6;
            return char::from_u32(first).ok_or_else(|| self.syntax("invalid \\u escape"));
        }
        let second = match rest.get(6..8) {
            Some(b"\\u") => hex4(rest.get(8..12)),
            _ => None,
        };
        let pair = match second {
            Some(low @ 0xDC00..=0xDFFF) if (0xD800..=0xDBFF).contains(&first) => {
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))
            }
            _ => None,
        };
        let c = pair.ok_or_else(|| self.syntax("lone surrogate in \\u escape"))?;
        self.pos += 12;
        Ok(c)
    }
}

/// Whether a byte ends a run of string bytes that can be copied as they are.
fn ends_plain_run(b: &u8) -> bool {
    matches!(b, b'"' | b'\\' | 0x00..=0x1f)
}

/// Exactly four hex digits, as Go's `strconv.ParseUint(s, 16, 16)` accepts them.
fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    digits?.iter().try_fold(0u32, |acc, &b| {
        let digit = char::from(b).to_digit(16)?;
        Some(acc * 16 + digit)
    })
}

/// protobuf-go's `isNotDelim`: bytes that may not directly follow a number or a literal.
fn is_not_delimiter(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_')
}

/// The parts of a number, as protobuf-go's `parseNumberParts` splits them.
struct NumberParts<'a> {
    len: usize,
    negative: bool,
    /// Integer digits without a lone leading `0`.
    int: &'a [u8],
    frac: &'a [u8],
    /// The exponent's sign and digits, without the `e`.
    exp: &'a [u8],
}

/// Splits a number the way protobuf-go does, quirks included: an `e` followed by neither
/// digits nor a sign is still part of the number (`1e` followed by `,` reads as 1).
fn number_parts(input: &[u8]) -> Option<NumberParts<'_>> {
    let digits_at = |from: usize| {
        input
            .get(from..)
            .map_or(0, |s| s.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let negative = input.first() == Some(&b'-');
    let mut pos = usize::from(negative);
    let int_start = pos;
    match input.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos += digits_at(pos),
        _ => return None,
    }
    let int = match input.get(int_start) {
        Some(b'0') => &[][..],
        _ => input.get(int_start..pos)?,
    };
    let mut frac: &[u8] = &[];
    if input.get(pos) == Some(&b'.') && input.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        let n = digits_at(pos + 1);
        frac = input.get(pos + 1..pos + 1 + n)?;
        pos += 1 + n;
    }
    let mut exp: &[u8] = &[];
    if matches!(input.get(pos), Some(b'e' | b'E')) && input.len() >= pos + 2 {
        pos += 1;
        let exp_start = pos;
        if matches!(input.get(pos), Some(b'+' | b'-')) {
            pos += 1;
            if pos == input.len() {
                return None;
            }
        }
        pos += digits_at(pos);
        exp = input.get(exp_start..pos)?;
    }
    Some(NumberParts {
        len: pos,
        negative,
        int,
        frac,
        exp,
    })
}

/// The length of the number at the start of `input` under protobuf-go's `parseNumber`,
/// which also requires the number to end at a delimiter (so `12ab` is not a number).
fn number_len(input: &[u8]) -> Option<usize> {
    let parts = number_parts(input)?;
    match input.get(parts.len) {
        Some(&b) if is_not_delimiter(b) => None,
        _ => Some(parts.len),
    }
}

/// protobuf-go's `Token.Int(64)` on the text of a number token: the value if it is an
/// integer, however it is written (`1e3`, `5.0`, `100e-2`), and fits in an `i64`.
///
/// Like Go this reads only as much of `raw` as forms a number, which matters for one quirk:
/// the token `1e` (the reader's grammar allows it before a delimiter) is the integer 1.
pub(super) fn token_integer(raw: &[u8]) -> Option<i64> {
    integer_value(&number_parts(raw)?)
}

/// An integer given as a JSON string (`"-12"`, `"1e3"`), as newer protobuf-go reads int64s:
/// the string must hold exactly one number token and nothing else, not even spaces.
pub(super) fn string_integer(text: &str) -> Option<i64> {
    let parts = number_parts(text.as_bytes()).filter(|parts| parts.len == text.len())?;
    integer_value(&parts)
}

/// protobuf-go's `normalizeToIntString` followed by `strconv.ParseInt(_, 10, 64)`.
fn integer_value(parts: &NumberParts<'_>) -> Option<i64> {
    // uint64's 20 digits; Go refuses longer results before building them.
    const MAX_DIGITS: i64 = 20;
    let zeros = parts.frac.iter().rev().take_while(|&&b| b == b'0').count();
    let frac = parts.frac.get(..parts.frac.len() - zeros)?;
    if parts.int.is_empty() && frac.is_empty() {
        return Some(0);
    }
    let exp = if parts.exp.is_empty() {
        0
    } else {
        i64::from(std::str::from_utf8(parts.exp).ok()?.parse::<i32>().ok()?)
    };
    let int_len = i64::try_from(parts.int.len()).ok()?;
    let frac_len = i64::try_from(frac.len()).ok()?;
    let mut digits = Vec::new();
    if exp >= 0 {
        if frac_len > exp || int_len + exp > MAX_DIGITS {
            return None;
        }
        digits.extend_from_slice(parts.int);
        digits.extend_from_slice(frac);
        digits.resize(digits.len() + usize::try_from(exp - frac_len).ok()?, b'0');
    } else {
        if !frac.is_empty() {
            return None;
        }
        let point = usize::try_from(int_len + exp).ok()?;
        let (whole, shifted_out) = parts.int.split_at_checked(point)?;
        if shifted_out.iter().any(|&b| b != b'0') {
            return None;
        }
        digits.extend_from_slice(whole);
    }
    let magnitude = std::str::from_utf8(&digits).ok()?;
    if parts.negative {
        format!("-{magnitude}").parse().ok()
    } else {
        magnitude.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_go_normalisation() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("-0", Some(0)),
            ("7", Some(7)),
            ("-7", Some(-7)),
            ("1e3", Some(1000)),
            ("1E+3", Some(1000)),
            ("5.0", Some(5)),
            ("5.000e0", Some(5)),
            ("1.5e1", Some(15)),
            ("0.5e1", Some(5)),
            ("100e-2", Some(1)),
            ("-10e-1", Some(-1)),
            ("0.0e-9", Some(0)),
            ("1.5", None),
            ("0.5", None),
            ("15e-1", None),
            ("1.00000000000000000001", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("1e19", None),
            ("1e20", None),
            ("1e2147483648", None),
            // Exactly representable only in decimal: an f64 detour would round it.
            ("9007199254740993.0", Some(9_007_199_254_740_993)),
            // Go counts integer digits plus exponent against 20 before trimming anything.
            ("0.00000000000000000000000001e26", None),
            ("1e+", None),
            ("", None),
            ("-", None),
            ("abc", None),
        ];
        for (text, want) in cases {
            assert_eq!(token_integer(text.as_bytes()), *want, "token {text}");
            assert_eq!(string_integer(text), *want, "string {text}");
        }
    }

    #[test]
    fn strings_must_hold_exactly_one_number() {
        // As a token `1e` only exists before a delimiter, and Go reads it as 1.
        assert_eq!(token_integer(b"1e"), Some(1));
        for text in ["1e", "1x", "1 ", " 1", "012", "1,", "1 2", "0x10", "+1"] {
            assert_eq!(string_integer(text), None, "{text:?}");
        }
    }

    #[test]
    fn number_tokens_end_at_a_delimiter() {
        assert_eq!(number_len(b"12,"), Some(2));
        assert_eq!(number_len(b"12}"), Some(2));
        assert_eq!(number_len(b"1e,"), Some(2));
        assert_eq!(number_len(b"1e+,"), Some(3));
        assert_eq!(number_len(b"12ab"), None);
        assert_eq!(number_len(b"01"), None);
        assert_eq!(number_len(b"1."), None);
        assert_eq!(number_len(b"1.e5"), None);
        assert_eq!(number_len(b"-"), None);
        assert_eq!(number_len(b"1e+"), None);
    }

    fn read_string(json: &str) -> Result<String, Problem> {
        match Reader::new(json.as_bytes()).value()? {
            Value::String(s) => Ok(s.into_owned()),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn strings_decode_escapes_and_reject_lone_surrogates() {
        assert_eq!(
            read_string(r#""a\"b\\c\/\b\f\n\r\t""#).as_deref(),
            Ok("a\"b\\c/\u{8}\u{c}\n\r\t")
        );
        assert_eq!(read_string(r#""\u00e9\uD83D\uDE00""#).as_deref(), Ok("é😀"));
        assert_eq!(read_string(r#""\u0000""#).as_deref(), Ok("\0"));
        for bad in [
            r#""\uD83D""#,
            r#""\uDE00""#,
            r#""\uD83D\u0041""#,
            r#""\uDE00\uD83D""#,
            r#""\u12""#,
            r#""\u12G4""#,
            r#""\x""#,
            "\"tab\there\"",
            r#""unterminated"#,
        ] {
            assert!(read_string(bad).is_err(), "{bad}");
        }
        assert!(Reader::new(b"\"\xff\"").value().is_err());
        assert!(Reader::new(b"\"\\n\xff\"").value().is_err());
    }

    #[test]
    fn literals_need_a_delimiter() {
        assert!(matches!(Reader::new(b"null").value(), Ok(Value::Null)));
        assert!(matches!(
            Reader::new(b"true]").value(),
            Ok(Value::Bool(true))
        ));
        assert!(Reader::new(b"nullx").value().is_err());
        assert!(Reader::new(b"True").value().is_err());
        assert!(Reader::new(b"nul").value().is_err());
    }
}
