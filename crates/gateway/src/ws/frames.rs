//! Client frames: size check, JSON, then the typed message, each failure with its own error
//! code, so a client can tell "you sent garbage" from "you sent too much" from "a field is
//! wrong". None of them closes the socket.

use serde::Deserialize;
use serde_json::Value;

use crate::events::{ErrorCode, error_event};
use crate::ids::ThreadId;

/// The longest message text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 8_000;

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Ask the agent.
    UserMessage {
        /// The thread (created on first use).
        thread_id: ThreadId,
        /// The question.
        text: String,
        /// Echoed in the `accepted` answer, to correlate requests.
        #[serde(default)]
        client_ref: Option<String>,
    },
    /// Application-level ping; answered with `pong`.
    Ping,
}

/// Parses a text frame, or returns the error event to send back.
pub fn parse(text: &str, max_bytes: usize) -> Result<ClientFrame, Value> {
    if text.len() > max_bytes {
        return Err(error_event(
            ErrorCode::FrameTooLarge,
            format!(
                "frame of {} bytes exceeds the {max_bytes}-byte limit",
                text.len()
            ),
            None,
        ));
    }
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| error_event(ErrorCode::MalformedFrame, format!("not JSON: {e}"), None))?;
    let frame: ClientFrame = serde_json::from_value(raw)
        .map_err(|e| error_event(ErrorCode::InvalidMessage, e.to_string(), None))?;
    if let ClientFrame::UserMessage { text, .. } = &frame {
        if text.trim().is_empty() {
            return Err(error_event(
                ErrorCode::InvalidMessage,
                "`text` must not be empty",
                None,
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(error_event(
                ErrorCode::InvalidMessage,
                format!("`text` has {chars} characters; the limit is {MAX_TEXT_CHARS}"),
                None,
            ));
        }
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_message_parses_into_its_typed_fields() {
        let f = parse(
            r#"{"type":"user_message","thread_id":"t1","text":"hi"}"#,
            1024,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::UserMessage {
                thread_id: ThreadId::parse("t1").unwrap(),
                text: "hi".into(),
                client_ref: None
            }
        );
    }

    #[test]
    fn garbage_oversize_and_bad_fields_get_distinct_codes() {
        assert_eq!(parse("{nope", 1024).unwrap_err()["code"], "malformed_frame");
        assert_eq!(
            parse(&"x".repeat(2000), 1024).unwrap_err()["code"],
            "frame_too_large"
        );
        assert_eq!(
            parse(
                r#"{"type":"user_message","thread_id":"a b","text":"hi"}"#,
                1024
            )
            .unwrap_err()["code"],
            "invalid_message"
        );
        assert_eq!(
            parse(r#"{"type":"dance"}"#, 1024).unwrap_err()["code"],
            "invalid_message"
        );
        assert_eq!(
            parse(
                r#"{"type":"user_message","thread_id":"t","text":"  "}"#,
                1024
            )
            .unwrap_err()["message"],
            "`text` must not be empty"
        );
    }
}
