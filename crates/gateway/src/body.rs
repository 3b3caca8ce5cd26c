//! Reading what clients send (HTTP bodies and WebSocket frames) into typed requests, with
//! errors in plain words.
//!
//! Why not serde's derive straight into the types: its messages are written for Rust
//! programmers (`invalid type: integer `5`, expected a string`, `expected internally tagged
//! enum ClientFrame`) and they would reach users. A request is read as a JSON object first,
//! then field by field through [`Fields`], which names each field and says what it must be.

use serde_json::{Map, Value};

/// Why a body or frame was refused: a message for a person, and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON field, when the problem is one field.
    pub field: Option<&'static str>,
    /// What is wrong, in plain words.
    pub message: String,
    /// The input was not JSON (or not an object) at all, rather than a wrong field.
    pub syntax: bool,
}

impl FieldError {
    /// A problem with `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: Some(field),
            message: message.into(),
            syntax: false,
        }
    }

    fn syntax(message: String) -> FieldError {
        FieldError {
            field: None,
            message,
            syntax: true,
        }
    }
}

/// A type read from a JSON object.
pub trait FromFields: Sized {
    /// Reads `Self` from `fields`; [`Fields::finish`] then refuses any field left over.
    fn from_fields(fields: &mut Fields) -> Result<Self, FieldError>;
}

/// Reads `T` from JSON text; `what` names the input in messages ("the body", "the message").
pub fn parse<T: FromFields>(text: &[u8], what: &'static str) -> Result<T, FieldError> {
    let mut fields = Fields::parse(text, what)?;
    let value = T::from_fields(&mut fields)?;
    fields.finish()?;
    Ok(value)
}

/// The fields of one JSON object, taken one at a time.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    what: &'static str,
    taken: Vec<&'static str>,
}

impl Fields {
    /// Parses `text` as a JSON object.
    pub fn parse(text: &[u8], what: &'static str) -> Result<Fields, FieldError> {
        let value: Value = serde_json::from_slice(text).map_err(|e| {
            let at = format!("(line {}, column {})", e.line(), e.column());
            FieldError::syntax(match e.classify() {
                serde_json::error::Category::Eof if text.iter().all(u8::is_ascii_whitespace) => {
                    format!("{what} is empty; send a JSON object")
                }
                serde_json::error::Category::Eof => {
                    format!("{what} ends before its JSON is complete {at}")
                }
                _ => format!("{what} is not valid JSON {at}"),
            })
        })?;
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                what,
                taken: Vec::new(),
            }),
            other => Err(FieldError::syntax(format!(
                "{what} must be a JSON object ({{...}}), not {}",
                kind(&other)
            ))),
        }
    }

    /// The text field `name`, if present (`null` counts as absent).
    pub fn text(&mut self, name: &'static str) -> Result<Option<String>, FieldError> {
        self.taken.push(name);
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(FieldError::field(
                name,
                format!("{name} must be text (a JSON string), not {}", kind(&other)),
            )),
        }
    }

    /// The text field `name`, which must be present.
    pub fn required_text(&mut self, name: &'static str) -> Result<String, FieldError> {
        self.text(name)?
            .ok_or_else(|| FieldError::field(name, format!("{name} is required")))
    }

    /// Refuses fields that no [`Fields::text`] call took.
    pub fn finish(&self) -> Result<(), FieldError> {
        let Some(unknown) = self.map.keys().next() else {
            return Ok(());
        };
        let known = if self.taken.is_empty() {
            format!("{} takes no fields", self.what)
        } else {
            format!("{} takes {}", self.what, self.taken.join(", "))
        };
        Err(FieldError {
            field: None,
            message: format!("unknown field {unknown:?}; {known}"),
            syntax: false,
        })
    }
}

/// "a number", "an array", ... for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Login {
        username: String,
    }

    impl FromFields for Login {
        fn from_fields(f: &mut Fields) -> Result<Self, FieldError> {
            Ok(Login {
                username: f.required_text("username")?,
            })
        }
    }

    fn message(text: &str) -> String {
        parse::<Login>(text.as_bytes(), "the body")
            .unwrap_err()
            .message
    }

    #[test]
    fn a_body_is_read_field_by_field() {
        let ok: Login = parse(br#"{"username":"alice"}"#, "the body").unwrap();
        assert_eq!(ok.username, "alice");
    }

    #[test]
    fn every_refusal_is_in_plain_words_and_names_the_field() {
        assert_eq!(message(""), "the body is empty; send a JSON object");
        assert_eq!(
            message(r#"{"username": "#),
            "the body ends before its JSON is complete (line 1, column 13)"
        );
        assert_eq!(
            message("{nope"),
            "the body is not valid JSON (line 1, column 2)"
        );
        assert_eq!(
            message("[1]"),
            "the body must be a JSON object ({...}), not a list"
        );
        assert_eq!(message("{}"), "username is required");
        assert_eq!(
            message(r#"{"username": 5}"#),
            "username must be text (a JSON string), not a number"
        );
        assert_eq!(
            message(r#"{"username": "a", "admin": true}"#),
            "unknown field \"admin\"; the body takes username"
        );
        let err = parse::<Login>(br#"{"username": 5}"#, "the body").unwrap_err();
        assert_eq!(err.field, Some("username"));
    }
}
