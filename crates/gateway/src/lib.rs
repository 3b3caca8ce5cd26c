//! # gateway: the chat gateway on the one Redis manager
//!
//! A user logs in, opens a WebSocket, asks an agent, and watches it work (`agent_started`,
//! `agent_thinking`, `tool_executing`, `tool_completed`, `agent_completed`). Every event is
//! appended to a durable, capped Redis stream and delivered from there, by id, to every open
//! socket of the user on every gateway instance, so delivery is exactly-once per socket and a
//! reconnecting client resumes where it left off (or is told its history was lost).
//!
//! ## Map
//! - [`config`]: [`GatewayConfig`], auth mode, the outage hook, limits.
//! - [`admin`]: the operator's admin token (digest only, constant-time check).
//! - [`outage`]: [`OutageGate`](outage::OutageGate), one simulated outage at a time and a
//!   cooldown after it.
//! - [`server`]: [`serve`] (bind, log the URL, run until shutdown).
//! - [`state`]: [`AppState`], what every handler shares.
//! - [`routes`]: [`router`] and one file per group of HTTP routes.
//! - [`extract`]: extractors that validate before handlers run (JSON, query, client IP,
//!   session, the readiness gate).
//! - [`body`]: reading JSON bodies and frames field by field, refusals in plain words.
//! - [`error`]: [`GatewayError`] and the JSON HTTP error [`ApiError`].
//! - [`ids`]: the one validation of user names, thread ids, titles and texts; event ids.
//! - [`token`]: opaque 256-bit session tokens and their fingerprints.
//! - [`auth`]: the [`Authenticator`](auth::Authenticator) trait; demo and HS256 JWT.
//! - [`access`]: sessions, blacklist, login rate limits and run state (the redis-ssot stores).
//! - [`eventlog`]: the per-user and per-thread streams, epochs, replay checks.
//! - [`history`]: a user's threads (index, titles) and their history by pages.
//! - [`keys`]: the chat's key and channel names.
//! - [`events`]: the event and error shapes sent to clients.
//! - [`notice`]: the notification payloads (a batch of events, close, wake) and event wire text.
//! - [`hub`]: this instance's sockets, fed by one pub/sub subscription.
//! - [`ws`]: the gated upgrade and the per-socket loop.
//! - [`agent`]: the [`Agent`](agent::Agent) trait, the demo agent and the run driver.
//! - [`metrics`]: the Prometheus recorder behind `/metrics`, and the gateway's families.
//!
//! The client side (an HTTP and WebSocket client of this API, and the load generator behind
//! `redis-ssot bench gateway`) is crate `loadgen`, so that a user of this library does not
//! inherit client dependencies.

#![warn(missing_docs)]

pub mod access;
pub mod admin;
pub mod agent;
pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod eventlog;
pub mod events;
pub mod extract;
pub mod history;
pub mod hub;
pub mod ids;
pub mod keys;
pub mod metrics;
pub mod notice;
pub mod outage;
pub mod routes;
pub mod server;
pub mod state;
pub mod token;
pub mod ws;

pub use config::{AuthMode, GatewayConfig, LoginLimit, MessageLimit, OutageHook};
pub use error::{ApiError, GatewayError};
pub use routes::router;
pub use server::{serve, serve_on};
pub use state::AppState;
