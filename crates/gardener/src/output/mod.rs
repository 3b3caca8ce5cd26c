//! Rendering a scan for people (text) and machines (JSON, SARIF).
//!
//! Renderers return strings and never print: the command line decides where output goes.

pub mod json;
pub mod sarif;
pub mod text;

/// The output formats of `garden scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `path:line:column: message` lines and a summary, for terminals.
    Text,
    /// One JSON object with `violations` and `summary`.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}
