//! The notification payloads on `chat:notify:<user>`, and the wire text of a stored event.
//!
//! Three forms:
//! - `x:<fingerprint>`: close this session's sockets (logout, from any instance);
//! - `b:<epoch>\n<prev>\n<id>\n<json>[\n<id>\n<json>...]`: the events one append script
//!   just added, with `prev`, the id of the log's last entry before them (empty when the log
//!   was empty);
//! - anything else (`e:<id>`): "the log grew, look again".
//!
//! Why carry the events: a socket whose cursor is exactly `prev` (in the same epoch) can send
//! them as they are, so the common case costs no `XRANGE` per socket per append. Exactly-once
//! still rests on the cursor: a batch is only sent when it starts right after the cursor,
//! one that ends at or before the cursor is skipped, and anything else (a missed
//! notification, a new epoch, a log written by another kind of writer) falls back to reading
//! the log by id. Stored JSON never contains a raw newline (serde_json escapes it), so the
//! line format needs no escaping.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;

use crate::events::Event;
use crate::ids::EventId;

/// A parsed notification.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Close the sockets of the session with this token fingerprint.
    Close(String),
    /// These events were appended.
    Batch(Arc<Batch>),
    /// The log grew; read it.
    Wake,
}

/// Events appended together by one script call, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The log's epoch when they were written.
    pub epoch: String,
    /// The log's last entry before them (`None`: the log was empty).
    pub prev: Option<EventId>,
    /// Each event's id and its wire text (with `event_id` filled in), in log order.
    pub events: Vec<(EventId, Utf8Bytes)>,
}

impl Batch {
    /// The id of the newest event of the batch.
    pub fn last(&self) -> Option<EventId> {
        self.events.last().map(|(id, _)| *id)
    }
}

/// The payload that closes a session's sockets everywhere.
pub fn close_payload(session_fingerprint: &str) -> String {
    format!("x:{session_fingerprint}")
}

/// Parses a payload; a malformed batch degrades to [`Notice::Wake`] (the socket then reads
/// the log, which is always correct).
pub fn parse(payload: &[u8]) -> Notice {
    let Ok(text) = std::str::from_utf8(payload) else {
        return Notice::Wake;
    };
    if let Some(session) = text.strip_prefix("x:") {
        return Notice::Close(session.to_string());
    }
    match text.strip_prefix("b:").and_then(parse_batch) {
        Some(batch) => Notice::Batch(Arc::new(batch)),
        None => Notice::Wake,
    }
}

fn parse_batch(text: &str) -> Option<Batch> {
    let mut lines = text.split('\n');
    let epoch = lines.next()?.to_string();
    let prev = match lines.next()? {
        "" => None,
        raw => Some(EventId::parse(raw)?),
    };
    let mut events = Vec::new();
    while let Some(raw_id) = lines.next() {
        let json = lines.next()?;
        let id = EventId::parse(raw_id)?;
        events.push((id, wire_text(json, raw_id)?));
    }
    (!events.is_empty()).then_some(Batch {
        epoch,
        prev,
        events,
    })
}

/// The text sent to clients for a stored event: its JSON with `event_id` set to `id`.
///
/// Stored events are serialized with `"event_id":""` right after `timestamp` (the field
/// order of [`Event`]), so the id is spliced in there instead of parsing and re-serializing
/// every event for every socket. Anything else is decoded and encoded properly.
pub fn wire_text(json: &str, id: &str) -> Option<Utf8Bytes> {
    splice_id(json, id)
        .or_else(|| {
            let mut event: Event = serde_json::from_str(json).ok()?;
            event.event_id = id.to_string();
            serde_json::to_string(&event).ok()
        })
        .map(Utf8Bytes::from)
}

fn splice_id(json: &str, id: &str) -> Option<String> {
    const EMPTY_ID: &str = ",\"event_id\":\"\"";
    let rest = json.strip_prefix("{\"type\":\"")?;
    let ts_at = rest.find("\",\"timestamp\":")? + "\",\"timestamp\":".len();
    let digits = rest[ts_at..].bytes().take_while(u8::is_ascii_digit).count();
    let at = json.len() - rest.len() + ts_at + digits;
    if digits == 0 || !json[at..].starts_with(EMPTY_ID) {
        return None;
    }
    let insert = at + EMPTY_ID.len() - 1;
    let mut out = String::with_capacity(json.len() + id.len());
    out.push_str(&json[..insert]);
    out.push_str(id);
    out.push_str(&json[insert..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventKind, RunRef};

    fn stored(text: &str) -> String {
        let run = RunRef {
            user_id: "alice".into(),
            thread_id: "t1".into(),
            run_id: "r1".into(),
            agent_name: "demo".into(),
        };
        let mut e = run.event(EventKind::AgentThinking);
        e.text = Some(text.into());
        serde_json::to_string(&e).unwrap()
    }

    #[test]
    fn the_wire_text_equals_decoding_setting_the_id_and_encoding() {
        let json = stored("a tricky \"event_id\":\"\" and a\nnewline");
        let mut expected: Event = serde_json::from_str(&json).unwrap();
        expected.event_id = "17-3".into();
        let wire = wire_text(&json, "17-3").unwrap();
        let got: Event = serde_json::from_str(wire.as_str()).unwrap();
        assert_eq!(got, expected);
        assert_eq!(splice_id(&json, "17-3").unwrap(), wire.as_str());
    }

    #[test]
    fn a_batch_payload_carries_prev_epoch_and_each_event_with_its_id() {
        let (a, b) = (stored("one"), stored("two"));
        let payload = format!("b:ep\n5-0\n6-0\n{a}\n6-1\n{b}");
        let Notice::Batch(batch) = parse(payload.as_bytes()) else {
            panic!("not a batch");
        };
        assert_eq!(batch.epoch, "ep");
        assert_eq!(batch.prev, EventId::parse("5-0"));
        assert_eq!(batch.last(), EventId::parse("6-1"));
        let ids: Vec<String> = batch
            .events
            .iter()
            .map(|(_, t)| {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                v["event_id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids, ["6-0", "6-1"]);
    }

    #[test]
    fn first_batch_close_and_malformed_payloads_are_told_apart() {
        let a = stored("one");
        let Notice::Batch(first) = parse(format!("b:ep\n\n1-0\n{a}").as_bytes()) else {
            panic!("not a batch");
        };
        assert_eq!(first.prev, None);
        assert_eq!(parse(b"x:abc"), Notice::Close("abc".into()));
        assert_eq!(parse(b"e:1-0"), Notice::Wake);
        assert_eq!(parse(b"b:ep\n1-0\n2-0"), Notice::Wake);
        assert_eq!(parse(b"b:ep\nnope\n2-0\n{}"), Notice::Wake);
    }
}
