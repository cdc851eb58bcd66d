//! Arbitrary bytes as the gateway's event stream (`GET /api/v1/approvals/events`), through the
//! client's SSE parser and event reader as the watch runs them (`watch::fuzzing`, the one
//! outside door to both). The first two bytes choose where the stream is cut in two.
//!
//! Beyond "no panic": the network may cut a stream anywhere, so the events, their ids and
//! whether each could be read must not depend on the chunks, down to one byte at a time; and
//! an id the parser keeps is one a `Last-Event-ID` header can carry.

#![no_main]

use countersign_client::watch::fuzzing::read_stream;
use libfuzzer_sys::fuzz_target;

/// The parser's cap on a kept event id (`watch/sse.rs`).
const MAX_ID_BYTES: usize = 256;

fuzz_target!(|data: &[u8]| {
    let [high, low, stream @ ..] = data else {
        return;
    };
    let whole = read_stream(&[stream]);
    let cut = usize::from(u16::from_be_bytes([*high, *low])) % (stream.len() + 1);
    let (a, b) = stream.split_at(cut);
    assert_eq!(read_stream(&[a, b]), whole, "cut at {cut}");
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(read_stream(&bytes), whole, "one byte at a time");
    for (event, _) in whole.iter().flatten() {
        if let Some(id) = &event.id {
            assert!(id.len() <= MAX_ID_BYTES, "{id:?}");
            assert!(id.bytes().all(|b| (0x20..0x7f).contains(&b)), "{id:?}");
        }
    }
});
