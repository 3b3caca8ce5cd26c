//! The one error type of the gardener.
//!
//! Every variant names the file it is about, and where the problem has a position, the line and
//! column too: a message such as `ssot.toml:12:5: unknown field` lets a user go straight there,
//! which matters more for a config checker than a rich error hierarchy. The variants are split by
//! cause so that the command line can map them to exit codes (usage and config errors exit 2).

use std::path::PathBuf;

/// Everything that can stop a gardener command before it produces a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The rules file is not valid TOML or does not follow the schema.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        /// The rules file.
        path: PathBuf,
        /// 1-based line of the offending value (1 when unknown).
        line: usize,
        /// 1-based column of the offending value (1 when unknown).
        column: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A baseline, history or journal file exists but cannot be understood.
    #[error("{}: {message}", path.display())]
    Data {
        /// The data file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The command line asks for something that cannot be done (for example a fix while an
    /// earlier fix has not been rolled back or cleared).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A data-file error with its path.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The gardener's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
