//! The event-stream reader as the watch runs it, for the fuzz targets in `fuzz/` only. The
//! SSE parser and the event reader take the least trusted bytes the client reads, and both
//! are private to the watch; this is their one outside door. Not part of the API.

pub use super::sse::SseEvent;
use super::sse::SseParser;
use super::stream_event::parse_event;

/// Feeds `chunks` through one parser, as they would arrive from the network, and reads each
/// completed event; the flag says whether the watch could read it. An error is the parser's,
/// on which the watch drops the connection.
pub fn read_stream(chunks: &[&[u8]]) -> Result<Vec<(SseEvent, bool)>, String> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    for chunk in chunks {
        for event in parser.feed(chunk)? {
            let readable = parse_event(&event.kind, &event.data).is_ok();
            events.push((event, readable));
        }
    }
    Ok(events)
}
