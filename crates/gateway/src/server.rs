//! [`serve`]: bind, log the URL to open, serve until the shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use redis_ssot::RedisManager;

use crate::config::GatewayConfig;
use crate::error::GatewayError;
use crate::state::AppState;

/// Runs the gateway on `manager` until `shutdown` resolves. Returns once in-flight requests
/// have finished (open sockets are told the gateway is going away).
pub async fn serve(
    config: GatewayConfig,
    manager: RedisManager,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let addr = config.listen;
    let listener = bind(addr).map_err(|source| GatewayError::Bind { addr, source })?;
    serve_on(listener, config, manager, shutdown).await
}

/// Pending connections the kernel queues for `accept` (capped by `net.core.somaxconn`).
/// Tokio's default of 1024 overflowed when 1,000 users logged in and opened 2,000 sockets at
/// once, and the overflow showed up as connection resets on login.
const BACKLOG: u32 = 4096;

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Like [`serve`] on an already bound listener (tests bind port 0 and read the address).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: GatewayConfig,
    manager: RedisManager,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let local = listener.local_addr().map_err(GatewayError::Serve)?;
    let _ = crate::metrics::install();
    let upkeep = tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if let Some(h) = crate::metrics::prometheus() {
                h.run_upkeep();
            }
        }
    });
    let state = AppState::new(config, manager);
    tracing::info!(
        url = %format!("http://{}", display_addr(local)),
        auth = state.authenticator().mode(),
        "chat gateway listening; open the URL in a browser"
    );
    let app =
        crate::routes::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm and
    // delayed ACKs add ~40 ms to a reply.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(GatewayError::Serve);
    upkeep.abort();
    tracing::info!("chat gateway stopped");
    result
}

/// `0.0.0.0` is where we listen, not an address a browser can open.
fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
