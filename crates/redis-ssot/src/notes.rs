//! The last errors the manager saw, for `status()`, with every secret scrubbed out before they
//! are stored (so nothing later can leak one).

use std::sync::Mutex;

use crate::config::Config;
use crate::error::{BusyReason, ConnectionKind, Error};

/// Replaces configured passwords in text with `***`.
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn new(config: &Config) -> Redactor {
        let secrets = [&config.password, &config.sentinel_password]
            .into_iter()
            .flatten()
            .map(|s| s.expose().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Redactor { secrets }
    }

    /// `message` with every secret replaced.
    pub(crate) fn redact(&self, mut message: String) -> String {
        for secret in &self.secrets {
            message = message.replace(secret.as_str(), "***");
        }
        message
    }
}

/// Why the last connect attempt failed, in a form `status()` can reason about.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConnectFailure {
    /// The redacted error text.
    pub(crate) message: String,
    /// The redacted error detail alone (without the "connection error (kind):" prefix).
    pub(crate) detail: String,
    /// The connection kind, when it was a connection error.
    pub(crate) kind: Option<ConnectionKind>,
    /// The busy reason, when the server answered that it cannot serve.
    pub(crate) busy: Option<BusyReason>,
}

/// The last command error and the last connect failure.
pub(crate) struct Notes {
    redactor: Redactor,
    command: Mutex<Option<String>>,
    connect: Mutex<Option<ConnectFailure>>,
}

impl Notes {
    pub(crate) fn new(config: &Config) -> Notes {
        Notes {
            redactor: Redactor::new(config),
            command: Mutex::new(None),
            connect: Mutex::new(None),
        }
    }

    /// `message` with every secret replaced.
    pub(crate) fn redact(&self, message: String) -> String {
        self.redactor.redact(message)
    }

    /// Remembers a command's error.
    pub(crate) fn command_failed(&self, error: &Error) {
        let clean = self.redact(error.to_string());
        if let Ok(mut slot) = self.command.lock() {
            *slot = Some(clean);
        }
    }

    /// Remembers why a connect attempt failed.
    pub(crate) fn connect_failed(&self, error: &Error) {
        let detail = match error {
            Error::Connection { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let failure = ConnectFailure {
            message: self.redact(error.to_string()),
            detail: self.redact(detail),
            kind: error.connection_kind(),
            busy: match error {
                Error::ServerBusy { reason, .. } => Some(*reason),
                _ => None,
            },
        };
        if let Ok(mut slot) = self.connect.lock() {
            *slot = Some(failure);
        }
    }

    /// A connect attempt succeeded: the last failure no longer applies.
    pub(crate) fn connected(&self) {
        if let Ok(mut slot) = self.connect.lock() {
            *slot = None;
        }
    }

    /// The last command error (redacted).
    pub(crate) fn last_command(&self) -> Option<String> {
        self.command.lock().ok().and_then(|g| g.clone())
    }

    /// The last connect failure, if the last attempt failed.
    pub(crate) fn last_connect(&self) -> Option<ConnectFailure> {
        self.connect.lock().ok().and_then(|g| g.clone())
    }
}
