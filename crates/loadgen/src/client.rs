//! [`GatewayClient`]: the gateway's API as a program uses it (login, threads, the socket).

use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::http::{ClientError, HttpClient, HttpResponse, RawRequest};

/// A client WebSocket to the gateway.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The client side's socket buffers. A load generator shares the machine with the gateway
/// it measures, so it keeps them small too: tungstenite zero-fills its read buffer (128 KiB
/// by default) on every read attempt, and frames from the gateway are a few hundred bytes.
/// A write buffer of 0 writes each frame at once (the client sends one frame at a time).
pub fn client_ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// A client of one gateway at `host:port` (cheap to clone: the HTTP pool is shared).
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: HttpClient,
}

impl GatewayClient {
    /// A client for the gateway at `addr` (`host:port`, or a `http://host:port` URL).
    pub fn new(addr: &str) -> GatewayClient {
        let addr = addr
            .trim_start_matches("http://")
            .trim_start_matches("ws://")
            .trim_end_matches('/');
        GatewayClient {
            http: HttpClient::new(addr),
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        self.http.addr()
    }

    /// The HTTP client underneath (for raw requests).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// GET `path`.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Result<HttpResponse, ClientError> {
        self.http.json("GET", path, bearer, None).await
    }

    /// POST `path` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<HttpResponse, ClientError> {
        self.http.json("POST", path, bearer, Some(body)).await
    }

    /// Sends a raw request (tests of error answers).
    pub async fn send(&self, req: RawRequest) -> Result<HttpResponse, ClientError> {
        self.http.send(req).await
    }

    /// Demo login; returns the session token.
    pub async fn login(&self, username: &str) -> Result<String, ClientError> {
        self.login_with(&json!({ "username": username })).await
    }

    /// Login with any body (`{"token": <jwt>}` in JWT mode); returns the session token.
    pub async fn login_with(&self, body: &Value) -> Result<String, ClientError> {
        let r = self.post("/api/login", None, body).await?;
        expect_ok(r, |v| v["token"].as_str().map(str::to_string))
    }

    /// Creates (or re-announces) the thread `id`; returns its id.
    pub async fn create_thread(&self, token: &str, id: &str) -> Result<String, ClientError> {
        let r = self
            .post("/api/threads", Some(token), &json!({ "id": id }))
            .await?;
        expect_ok(r, |v| v["id"].as_str().map(str::to_string))
    }

    /// Opens `/ws` with `token` and extra query parameters (`last_event_id`, `epoch`).
    pub async fn connect(
        &self,
        token: &str,
        extra_query: &[(&str, &str)],
    ) -> Result<WsStream, ClientError> {
        let mut url = format!("ws://{}/ws?token={token}", self.addr());
        for (k, v) in extra_query {
            url.push('&');
            url.push_str(k);
            url.push('=');
            url.push_str(v);
        }
        let req = url.into_client_request()?;
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(req, Some(client_ws_config()), true)
                .await?;
        Ok(ws)
    }
}

/// `pick(body)` of a 200 answer; any other answer (or a 200 without the field) is
/// [`ClientError::Status`].
fn expect_ok(
    r: HttpResponse,
    pick: impl FnOnce(&Value) -> Option<String>,
) -> Result<String, ClientError> {
    match (r.status, pick(&r.json())) {
        (200, Some(v)) => Ok(v),
        (status, _) => Err(ClientError::Status {
            status,
            body: r.body,
        }),
    }
}
