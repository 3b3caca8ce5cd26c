//! HTTP/1.1 requests with hyper's client: one JSON request, one whole answer.
//!
//! Why hyper and a pool: the earlier hand-written client opened a connection per request and
//! parsed the answer itself (chunked bodies, servers that ignore `Connection: close`). hyper
//! does the parsing, and its pool reuses keep-alive connections, so 5,000 logins do not
//! leave 5,000 sockets in TIME_WAIT on a loopback that also carries 10,000 WebSockets.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What can go wrong talking to the gateway (or to any HTTP server, such as chromedriver).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be built (a bad address or header).
    #[error("cannot build the request: {0}")]
    Request(String),
    /// The connection failed or the answer was cut off; the innermost cause is quoted.
    #[error("{0}")]
    Io(String),
    /// The server answered with a status the caller did not expect.
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
    /// The body as text (lossy UTF-8).
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

/// A request as sent: anything a test needs to provoke an error (no body, a wrong content
/// type, an oversized body, an unusual method).
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// An HTTP client with a keep-alive pool, for one server at `host:port` (cheap to clone).
#[derive(Clone, Debug)]
pub struct HttpClient {
    addr: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// A client of the server at `addr` (`host:port`).
    pub fn new(addr: &str) -> HttpClient {
        let mut connector = HttpConnector::new();
        // Requests are small and latency-bound (see the gateway's TCP_NODELAY note).
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            // Short: a load run's logins are over in seconds, and a kept-alive connection
            // holds buffers in the gateway that would count as the idle sockets' memory.
            .pool_idle_timeout(Duration::from_secs(1))
            .build(connector);
        HttpClient {
            addr: addr.to_string(),
            client,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `method path` with `Authorization: Bearer <bearer>` and a JSON `body` when given.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<HttpResponse, ClientError> {
        let mut req = RawRequest {
            method: method.to_string(),
            path: path.to_string(),
            ..RawRequest::default()
        };
        if let Some(t) = bearer {
            req.headers
                .push(("authorization".into(), format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req.headers
                .push(("content-type".into(), "application/json".into()));
            req.body = b.to_string().into_bytes();
        }
        self.send(req).await
    }

    /// Sends `req` as it is and reads the whole answer.
    pub async fn send(&self, req: RawRequest) -> Result<HttpResponse, ClientError> {
        let uri = format!("http://{}{}", self.addr, req.path);
        let mut builder = hyper::Request::builder()
            .method(req.method.as_str())
            .uri(uri);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(req.body)))
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let fut = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| ClientError::Io(innermost(&e)))?;
            read_answer(resp).await
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}

impl HttpClient {
    /// Sends `req`'s head with `Content-Length: declared_len` and `Expect: 100-continue`, and
    /// reads the answer without sending any of the body: what curl does for a large body.
    /// A server that refuses by the head (413 for the length, 415 for the type) answers
    /// without reading anything, so the answer cannot be lost to a reset, as it can be when
    /// a client pushes megabytes at a server that has already answered and closed.
    pub async fn send_head_only(
        &self,
        req: RawRequest,
        declared_len: u64,
    ) -> Result<HttpResponse, ClientError> {
        use hyper::body::Frame;
        let fut = async {
            let stream = tokio::net::TcpStream::connect(&self.addr)
                .await
                .map_err(|e| ClientError::Io(e.to_string()))?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(|e| ClientError::Io(innermost(&e)))?;
            let driver = tokio::spawn(conn);
            let never = futures_util::stream::pending::<Result<Frame<Bytes>, std::io::Error>>();
            let mut builder = hyper::Request::builder()
                .method(req.method.as_str())
                .uri(req.path.as_str())
                .header("host", self.addr.as_str())
                .header("content-length", declared_len)
                .header("expect", "100-continue");
            for (k, v) in &req.headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            let request = builder
                .body(http_body_util::StreamBody::new(never))
                .map_err(|e| ClientError::Request(e.to_string()))?;
            let resp = sender
                .send_request(request)
                .await
                .map_err(|e| ClientError::Io(innermost(&e)))?;
            let answer = read_answer(resp).await;
            driver.abort();
            answer
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}

/// Status, headers and the whole body of an answer.
async fn read_answer<B>(resp: hyper::Response<B>) -> Result<HttpResponse, ClientError>
where
    B: hyper::body::Body,
    B::Error: std::error::Error + 'static,
{
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ClientError::Io(innermost(&e)))?
        .to_bytes();
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// One request to `addr` on a fresh client: for callers that send a single request.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> Result<HttpResponse, ClientError> {
    HttpClient::new(addr).json(method, path, bearer, body).await
}

/// The innermost cause of an error chain ("Connection refused" rather than "client error").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
