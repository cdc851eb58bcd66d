//! A Server-Sent Events parser (the WHATWG event-stream format: `id:`, `event:`, `data:`,
//! comments, blank-line dispatch, `\n` / `\r\n` / `\r` line ends), fed chunk by chunk.
//! A hostile server cannot make it buffer without bound: a line or an event longer than
//! [`MAX_EVENT_BYTES`] is an error, and the caller drops the connection.
//!
//! An event id is sent back as the `Last-Event-ID` header on reconnect, so only an id a
//! header can carry is kept (printable ASCII, at most [`MAX_ID_BYTES`]); any other is
//! ignored like the spec ignores an id with NUL. Otherwise one bad id would make every
//! reconnect fail before it is sent.

/// Largest event (or single line) accepted: an event carries one item.
pub(crate) const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Longest event id kept.
pub(crate) const MAX_ID_BYTES: usize = 256;

/// Whether `id` can be kept as the last event id.
fn usable_id(id: &str) -> bool {
    id.len() <= MAX_ID_BYTES && id.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// `message` when the server named none.
    pub kind: String,
    pub data: String,
    /// The last event id seen so far on the stream (ids persist across events).
    pub id: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next chunk belongs to it.
    after_cr: bool,
    kind: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// Lines completed so far, comments included: the stream's sign of life (bytes that
    /// never complete a line are none).
    lines: u64,
}

impl SseParser {
    /// Feeds bytes; returns the events completed by them.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, String> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    self.lines += 1;
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&line)? {
                        events.push(event);
                    }
                }
                _ => {
                    if self.line.len() >= MAX_EVENT_BYTES {
                        return Err("event stream line too long".into());
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(events)
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<SseEvent>, String> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        let line = String::from_utf8_lossy(line);
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.kind = value.to_owned(),
            "data" => {
                if self.data.len() + value.len() >= MAX_EVENT_BYTES {
                    return Err("event stream event too large".into());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if usable_id(value) => self.last_id = Some(value.to_owned()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let kind = std::mem::take(&mut self.kind);
        let data = std::mem::take(&mut self.data);
        if !std::mem::take(&mut self.has_data) {
            return None;
        }
        Some(SseEvent {
            kind: if kind.is_empty() {
                "message".into()
            } else {
                kind
            },
            data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        chunks
            .iter()
            .flat_map(|c| parser.feed(c).expect("parses"))
            .collect()
    }

    #[test]
    fn events_with_ids_kinds_and_multiline_data() {
        let events = parse_all(&[
            b": keep-alive\n\nid: 7\nevent: approval.required\ndata: {\"a\":\ndata: 1}\n\n",
            b"data: plain\n\n",
        ]);
        assert_eq!(
            events,
            vec![
                SseEvent {
                    kind: "approval.required".into(),
                    data: "{\"a\":\n1}".into(),
                    id: Some("7".into()),
                },
                SseEvent {
                    kind: "message".into(),
                    data: "plain".into(),
                    id: Some("7".into()),
                },
            ]
        );
    }

    #[test]
    fn any_chunking_and_line_ending_gives_the_same_events() {
        let text = b"id: 1\r\nevent: x\r\ndata: y\r\n\r\nid: 2\revent: z\rdata: w\r\r";
        let whole = parse_all(&[text]);
        assert_eq!(whole.len(), 2);
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(parse_all(&[a, b]), whole, "split at {split}");
        }
    }

    #[test]
    fn ids_a_header_cannot_carry_are_ignored() {
        let long = "9".repeat(MAX_ID_BYTES + 1);
        let stream = format!(
            "id: 1\ndata: a\n\nid: 2\u{7}x\ndata: b\n\nid: {long}\ndata: c\n\nid: \u{e9}\ndata: d\n\nid: 3\ndata: e\n\n"
        );
        let ids: Vec<Option<String>> = parse_all(&[stream.as_bytes()])
            .into_iter()
            .map(|event| event.id)
            .collect();
        let kept = |id: &str| Some(id.to_owned());
        assert_eq!(ids, [kept("1"), kept("1"), kept("1"), kept("1"), kept("3")]);
    }

    #[test]
    fn oversized_lines_are_refused() {
        let mut parser = SseParser::default();
        let big = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert!(parser.feed(&big).is_err());
    }
}
