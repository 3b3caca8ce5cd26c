//! # loadgen: a client of the chat gateway, and the load generator on top of it
//!
//! The gateway's own crate serves; this one talks to it, as a browser, a script or
//! `redis-ssot bench gateway` would. It lives apart so that a user of the gateway library
//! does not inherit client dependencies, and so that the load generator measures the
//! gateway from the outside (its memory and CPU from `/proc`, its sockets through the
//! kernel's counters).
//!
//! ## Map
//! - [`http`]: [`HttpClient`](http::HttpClient), one JSON request and its whole answer on
//!   hyper's pooled client; also any HTTP server such as chromedriver.
//! - [`client`]: [`GatewayClient`](client::GatewayClient): login, threads, the WebSocket
//!   (tokio-tungstenite), with small client-side socket buffers.
//! - [`run`]: [`run`](run::run) and [`LoadConfig`](run::LoadConfig): users in phases, the
//!   coordinator that measures between them.
//! - `user`: one simulated user (two sockets, timed messages, the end-of-run audit).
//! - [`report`]: [`LoadReport`](report::LoadReport) and its arithmetic (percentiles, lost
//!   and duplicated events, CPU per run, capacity).
//! - [`procfs`]: readings from `/proc`: RSS, CPU time, children, the kernel's socket memory.

#![warn(missing_docs)]

pub mod client;
pub mod http;
pub mod procfs;
pub mod report;
pub mod run;
mod user;

pub use client::{GatewayClient, WsStream};
pub use http::{ClientError, HttpClient, HttpResponse, RawRequest, request};
pub use report::LoadReport;
pub use run::{LoadConfig, Phase, Watched, run};
