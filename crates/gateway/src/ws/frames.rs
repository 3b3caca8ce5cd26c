//! Client frames: size check, JSON, then the typed message, each failure with its own error
//! code, so a client can tell "you sent garbage" from "you sent too much" from "a field is
//! wrong". None of them closes the socket. The words come from [`crate::body`] and
//! [`crate::ids`], the same as for HTTP bodies.

use crate::body::{FieldError, Fields};
use crate::events::{ErrorCode, ErrorEvent};
use crate::ids::{self, Kind, ThreadId};

/// The longest `client_ref` accepted, in bytes.
pub const MAX_CLIENT_REF: usize = 128;

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// Ask the agent.
    UserMessage {
        /// The thread (one of the user's threads; see `POST /api/threads`).
        thread_id: ThreadId,
        /// The question.
        text: String,
        /// Echoed in the `accepted` answer and in an `error` about this message.
        client_ref: Option<String>,
    },
    /// Application-level ping; answered with `pong`.
    Ping,
}

/// Parses a text frame, or returns the error event to send back.
pub fn parse(text: &str, max_bytes: usize) -> Result<ClientFrame, ErrorEvent> {
    if text.len() > max_bytes {
        return Err(ErrorEvent::new(
            ErrorCode::FrameTooLarge,
            format!(
                "the message is {} bytes long; the limit is {max_bytes} bytes",
                text.len()
            ),
        ));
    }
    let mut fields = Fields::parse(text.as_bytes(), "a message").map_err(refused)?;
    let kind = fields.required_text("type").map_err(|_| {
        ErrorEvent::new(
            ErrorCode::InvalidMessage,
            "type is required: \"user_message\" or \"ping\"",
        )
    })?;
    match kind.as_str() {
        "ping" => {
            fields.finish().map_err(refused)?;
            Ok(ClientFrame::Ping)
        }
        "user_message" => {
            let client_ref = fields
                .text("client_ref")
                .map_err(refused)?
                .map(|r| check_ref(&r).map(|()| r))
                .transpose()
                .map_err(refused)?;
            user_message(&mut fields, client_ref.clone())
                .map_err(|e| refused(e).for_ref(client_ref.as_deref()))
        }
        other => Err(ErrorEvent::new(
            ErrorCode::InvalidMessage,
            format!(
                "unknown message type {other:?}; the gateway takes \"user_message\" and \"ping\""
            ),
        )),
    }
}

fn user_message(f: &mut Fields, client_ref: Option<String>) -> Result<ClientFrame, FieldError> {
    let thread_id = f.required_text("thread_id")?;
    let thread_id = ThreadId::parse(&thread_id).map_err(|m| FieldError::field("thread_id", m))?;
    let text = f.required_text("text")?;
    ids::check(Kind::Text, "text", &text).map_err(|m| FieldError::field("text", m))?;
    f.finish()?;
    Ok(ClientFrame::UserMessage {
        thread_id,
        text,
        client_ref,
    })
}

fn check_ref(r: &str) -> Result<(), FieldError> {
    if r.len() > MAX_CLIENT_REF {
        return Err(FieldError::field(
            "client_ref",
            format!(
                "client_ref is {} bytes long; the limit is {MAX_CLIENT_REF}",
                r.len()
            ),
        ));
    }
    match r.chars().find(|c| c.is_control()) {
        Some(c) => Err(FieldError::field(
            "client_ref",
            format!(
                "client_ref contains U+{:04X}, a control character",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// The error event for a refusal of [`crate::body`]: not JSON at all is `malformed_frame`,
/// a wrong or unknown field `invalid_message`.
fn refused(e: FieldError) -> ErrorEvent {
    let code = if e.syntax {
        ErrorCode::MalformedFrame
    } else {
        ErrorCode::InvalidMessage
    };
    let mut event = ErrorEvent::new(code, e.message);
    event.field = e.field;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> (ErrorCode, String, Option<String>) {
        let e = parse(text, 1024).unwrap_err();
        (e.code, e.message, e.client_ref)
    }

    #[test]
    fn user_message_parses_into_its_typed_fields() {
        let f = parse(
            r#"{"type":"user_message","thread_id":"t1","text":"hi","client_ref":"c1"}"#,
            1024,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::UserMessage {
                thread_id: ThreadId::parse("t1").unwrap(),
                text: "hi".into(),
                client_ref: Some("c1".into()),
            }
        );
    }

    #[test]
    fn garbage_oversize_and_bad_fields_get_distinct_codes_in_plain_words() {
        assert_eq!(
            refusal("{nope"),
            (
                ErrorCode::MalformedFrame,
                "a message is not valid JSON (line 1, column 2)".into(),
                None
            )
        );
        let big = parse(&"x".repeat(2000), 1024).unwrap_err();
        assert_eq!(big.code, ErrorCode::FrameTooLarge);
        assert_eq!(
            big.message,
            "the message is 2000 bytes long; the limit is 1024 bytes"
        );
        assert_eq!(
            refusal(r#"{"type":"user_message","thread_id":"a b","text":"hi","client_ref":"r"}"#),
            (
                ErrorCode::InvalidMessage,
                "thread_id contains \" \", and thread ids may only contain A-Z a-z 0-9 _ . @ -"
                    .into(),
                Some("r".into())
            )
        );
        assert_eq!(
            refusal(r#"{"type":"dance"}"#).1,
            "unknown message type \"dance\"; the gateway takes \"user_message\" and \"ping\""
        );
        assert_eq!(
            refusal(r#"{"text":"hi"}"#).1,
            "type is required: \"user_message\" or \"ping\""
        );
        assert_eq!(
            refusal(r#"{"type":"user_message","thread_id":"t","text":"  "}"#).1,
            "text must not be only spaces"
        );
        assert_eq!(
            refusal(r#"{"type":"user_message","thread_id":"t","text":5}"#).1,
            "text must be text (a JSON string), not a number"
        );
        assert_eq!(
            refusal(r#"{"type":"user_message","thread_id":"t","text":"a","mood":"x"}"#),
            (
                ErrorCode::InvalidMessage,
                "unknown field \"mood\"; a message takes type, client_ref, thread_id, text".into(),
                None
            )
        );
    }
}
