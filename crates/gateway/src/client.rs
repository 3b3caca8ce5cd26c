//! A small client for the gateway's own API: HTTP/1.1 requests with JSON bodies and
//! WebSocket connections. Used by the load generator and the tests.
//!
//! Hand-written HTTP on purpose: the gateway only needs "send one JSON request, read one
//! answer", and a full HTTP client stack would double the build for that. Every request uses
//! its own connection (`Connection: close`), which is also what a login storm looks like.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client WebSocket to the gateway.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong talking to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Network failure or a malformed HTTP answer.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The gateway answered with an unexpected status.
    #[error("HTTP {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The body.
        body: String,
    },
    /// The WebSocket handshake or stream failed.
    #[error("websocket: {0}")]
    Ws(Box<tokio_tungstenite::tungstenite::Error>),
    /// The request took longer than the client's deadline.
    #[error("timed out")]
    Timeout,
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        ClientError::Ws(Box::new(e))
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one request to `host:port` and reads the whole answer.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<HttpResponse, ClientError> {
    let fut = async {
        let mut stream = TcpStream::connect(addr).await?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(t) = bearer {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        // Read until the answer is complete: some servers (chromedriver) ignore
        // `Connection: close`, so end-of-stream alone is not enough.
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
            if is_complete(&raw) {
                break;
            }
        }
        parse_response(&raw)
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| ClientError::Timeout)?
}

/// Whether `raw` holds a whole answer (headers plus `Content-Length` bytes, or a chunked
/// body up to its last chunk).
fn is_complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = raw.len() - split - 4;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => body >= n,
        None if head.contains("transfer-encoding: chunked") => raw.ends_with(b"0\r\n\r\n"),
        None => false,
    }
}

fn parse_response(raw: &[u8]) -> Result<HttpResponse, ClientError> {
    let bad =
        |what: &str| ClientError::Io(std::io::Error::other(format!("bad HTTP answer: {what}")));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body).ok_or_else(|| bad("broken chunked body"))?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A client of one gateway at `host:port`.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    addr: String,
}

impl GatewayClient {
    /// A client for the gateway at `addr` (`host:port`, or a `http://host:port` URL).
    pub fn new(addr: &str) -> GatewayClient {
        let addr = addr
            .trim_start_matches("http://")
            .trim_start_matches("ws://")
            .trim_end_matches('/');
        GatewayClient {
            addr: addr.to_string(),
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// GET `path`.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Result<HttpResponse, ClientError> {
        request(&self.addr, "GET", path, bearer, None).await
    }

    /// POST `path` with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<HttpResponse, ClientError> {
        request(&self.addr, "POST", path, bearer, Some(body)).await
    }

    /// Demo login; returns the session token.
    pub async fn login(&self, username: &str) -> Result<String, ClientError> {
        let r = self
            .post(
                "/api/login",
                None,
                &serde_json::json!({ "username": username }),
            )
            .await?;
        match (r.status, r.json()["token"].as_str()) {
            (200, Some(t)) => Ok(t.to_string()),
            (status, _) => Err(ClientError::Status {
                status,
                body: r.body,
            }),
        }
    }

    /// Opens `/ws` with `token` and extra query parameters (`last_event_id`, `epoch`).
    pub async fn connect(
        &self,
        token: &str,
        extra_query: &[(&str, &str)],
    ) -> Result<WsStream, ClientError> {
        let mut url = format!("ws://{}/ws?token={token}", self.addr);
        for (k, v) in extra_query {
            url.push_str(&format!("&{k}={v}"));
        }
        let req = url.into_client_request()?;
        // A small read buffer: tungstenite zero-fills its whole read buffer (128 KiB by
        // default) on every read, which dominates a load generator's CPU.
        let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_reassembled() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nRetry-After: 3\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "Wikipedia");
        assert_eq!(r.header("retry-after"), Some("3"));
    }
}
