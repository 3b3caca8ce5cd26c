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
//! - [`server`]: [`serve`] (bind, log the URL, run until shutdown).
//! - [`routes`]: [`router`] and one file per group of HTTP routes.
//! - [`extract`]: extractors that validate before handlers run (JSON, client IP, session,
//!   the readiness gate).
//! - [`error`]: [`GatewayError`] and the JSON HTTP error [`ApiError`].
//! - [`ids`]: validated user names, thread ids and event ids.
//! - [`token`]: opaque 256-bit session tokens and their fingerprints.
//! - [`auth`]: the [`Authenticator`](auth::Authenticator) trait; demo and HS256 JWT.
//! - [`access`]: sessions, blacklist, login rate limits and run state (the redis-ssot stores).
//! - [`eventlog`]: the per-user and per-thread streams, epochs, replay checks.
//! - [`keys`]: the chat's key and channel names.
//! - [`events`]: the event and error shapes sent to clients.
//! - [`notice`]: the notification payloads (a batch of events, close, wake) and event wire text.
//! - [`hub`]: this instance's sockets, fed by one pub/sub subscription.
//! - [`ws`]: the gated upgrade and the per-socket loop.
//! - [`agent`]: the [`Agent`](agent::Agent) trait, the demo agent and the run driver.
//! - [`metrics`]: the Prometheus recorder behind `/metrics`, and the gateway's families.
//! - [`client`]: a small HTTP + WebSocket client for the gateway's API (load and tests).
//! - [`load`]: the load generator behind `redis-ssot bench gateway`.

pub mod access;
pub mod admin;
pub mod agent;
pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod eventlog;
pub mod events;
pub mod extract;
pub mod hub;
pub mod ids;
pub mod keys;
pub mod load;
pub mod metrics;
pub mod notice;
pub mod routes;
pub mod server;
pub mod state;
pub mod token;
pub mod ws;

pub use config::{AuthMode, GatewayConfig, LoginLimit, OutageHook};
pub use error::{ApiError, GatewayError};
pub use routes::router;
pub use server::{serve, serve_on};
pub use state::AppState;
