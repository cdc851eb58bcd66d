//! A small JSON writer for the approval item, the one view written for thousands of rows at a
//! time. Every value goes out exactly as `serde_json` writes it (strings that need escaping,
//! numbers and parsed values are handed to `serde_json` itself); what it saves is `serde_json`'s
//! byte-by-byte escape scan of every field name and of every string that needs no escaping,
//! which was most of the cost of writing a list page (issue 14).

use serde::Serialize;

/// An object being written into `out`. Field names are static and need no escaping.
pub(super) struct Obj<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> Obj<'o> {
    /// Opens an object at the end of `out`.
    pub(super) fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Writes `"name":` and returns the buffer for the value that must follow.
    pub(super) fn key(&mut self, name: &'static str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(name.as_bytes()), "field name {name:?}");
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(super) fn str(&mut self, name: &'static str, value: &str) -> serde_json::Result<()> {
        string(self.key(name), value)
    }

    /// Leaves the field out when `value` is empty.
    pub(super) fn str_nonempty(
        &mut self,
        name: &'static str,
        value: &str,
    ) -> serde_json::Result<()> {
        if value.is_empty() {
            return Ok(());
        }
        self.str(name, value)
    }

    /// Any other value, as `serde_json` writes it.
    pub(super) fn value<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        serde_json::to_writer(self.key(name), value)
    }

    pub(super) fn close(self) {
        self.out.push(b'}');
    }
}

/// `value` as a JSON string: copied between quotes when nothing in it needs escaping, which
/// is almost always; otherwise escaped by `serde_json`.
pub(super) fn string(out: &mut Vec<u8>, value: &str) -> serde_json::Result<()> {
    if needs_escape(value.as_bytes()) {
        return serde_json::to_writer(out, value);
    }
    out.reserve(value.len() + 2);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether `serde_json` would escape any of these bytes: a quote, a backslash or a control
/// character (below 0x20). A fold without early exit, which the compiler turns into a vector
/// scan (SSE2 on x86-64; a hand-written eight-bytes-a-word version measured no faster).
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let cases = [
            "",
            "plain",
            "quote \" and backslash \\",
            "control \u{0} \u{1f} \n \t \r \u{8} \u{c}",
            "del \u{7f}, non-ASCII é €, line separator \u{2028}",
            "</script><b>&amp;</b>",
            "exactly8",
            "sixteen bytes ok",
            "a quote at the end of a long run of plain text \"",
            "a control character in the second word: \u{1f}",
            "bytes just above the limits: ! # ] ^ \u{20} \u{7f} \u{80} \u{ff}",
        ];
        for case in cases {
            let mut out = Vec::new();
            string(&mut out, case).expect("written");
            assert_eq!(out, serde_json::to_vec(case).expect("json"), "{case:?}");
        }
    }

    #[test]
    fn every_byte_that_needs_escaping_is_found_wherever_it_is() {
        let plain = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for byte in 0..=u8::MAX {
            for at in 0..17 {
                let mut bytes = [b'a'; 17];
                bytes[at] = byte;
                for len in [at + 1, 17] {
                    assert_eq!(
                        needs_escape(&bytes[..len]),
                        plain(byte),
                        "{byte:#x} at {at}"
                    );
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn an_object_separates_its_fields_and_skips_empty_ones() {
        let mut out = Vec::new();
        let mut obj = Obj::open(&mut out);
        obj.str("a", "x").expect("a");
        obj.str_nonempty("skipped", "").expect("skipped");
        obj.value("n", &-3_i64).expect("n");
        obj.key("raw").extend_from_slice(b"[1,{\"b\":null}]");
        let mut inner = Obj::open(obj.key("inner"));
        inner.value("f", &1.5_f64).expect("f");
        inner.close();
        obj.close();
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            r#"{"a":"x","n":-3,"raw":[1,{"b":null}],"inner":{"f":1.5}}"#
        );
    }
}
