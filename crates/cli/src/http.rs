//! A small JSON-over-HTTP client (hyper) for talking to a running gateway: `status
//! --gateway` and `admin`.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An answer: the status code and the JSON body (`Null` when the body was not JSON).
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body, parsed.
    pub json: serde_json::Value,
}

impl Answer {
    /// The gateway's error message (`{"error", "message"}`), or the status line.
    pub fn message(&self) -> String {
        match self.json.get("message").and_then(|m| m.as_str()) {
            Some(m) => m.to_string(),
            None => format!("HTTP {}", self.status),
        }
    }
}

/// Sends `method` to `base` + `path`, with `Authorization: Bearer <token>` when given.
pub async fn call(
    method: &str,
    base: &str,
    path: &str,
    token: Option<&str>,
) -> Result<Answer, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| format!("{base:?} is not a URL like http://127.0.0.1:8080"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{base:?}: only http:// gateway URLs are supported (put TLS in front with a proxy)"
        ));
    }
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let sent = tokio::time::timeout(TIMEOUT, async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| unreachable(base, &e))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("the gateway at {base} broke off its answer: {e}"))?
            .to_bytes();
        Ok::<_, String>(Answer {
            status,
            json: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        })
    })
    .await;
    sent.unwrap_or_else(|_| {
        Err(format!(
            "the gateway at {base} did not answer within {TIMEOUT:?}"
        ))
    })
}

/// "cannot reach ...", with the innermost cause (e.g. "Connection refused").
fn unreachable(base: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("cannot reach the gateway at {base}: {cause}")
}
