//! [`Endpoint`]: how to reach one server (address, credentials, TLS files).
//!
//! URLs, `redis-cli` arguments, raw connections and the readiness probe all derive from
//! this one value, so they can't disagree about where a server is or how to log in.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::cli;
use crate::config::Listen;
use crate::resp::{RespClient, Value};
use crate::tls::TlsFiles;

#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) listen: Listen,
    pub(crate) password: Option<String>,
    pub(crate) tls: Option<TlsFiles>,
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the readiness probe found.
pub(crate) enum Probe {
    /// Our process answers and has finished loading.
    Ready,
    /// Our process answers, but is still loading its dataset.
    Loading,
    /// Not (yet) ready; the text says why, for the timeout error.
    NotYet(String),
}

impl Endpoint {
    pub(crate) fn addr(&self) -> Option<SocketAddr> {
        match self.listen {
            Listen::Tcp { port } | Listen::Tls { port } => {
                Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            }
            Listen::Unix(_) => None,
        }
    }

    pub(crate) fn socket_path(&self) -> Option<PathBuf> {
        match &self.listen {
            Listen::Unix(p) => Some(p.clone()),
            _ => None,
        }
    }

    /// `redis://`, `rediss://` or `redis+unix://` URL, with optional credentials.
    pub(crate) fn url_with(&self, user: Option<&str>, password: Option<&str>) -> String {
        match &self.listen {
            Listen::Unix(path) => {
                let mut url = format!("redis+unix://{}", path.display());
                let mut sep = '?';
                if let Some(u) = user {
                    url.push_str(&format!("{sep}user={}", encode(u)));
                    sep = '&';
                }
                if let Some(p) = password {
                    url.push_str(&format!("{sep}pass={}", encode(p)));
                }
                url
            }
            Listen::Tcp { port } | Listen::Tls { port } => {
                let scheme = if self.tls.is_some() {
                    "rediss"
                } else {
                    "redis"
                };
                let auth = match (user, password) {
                    (None, None) => String::new(),
                    (u, p) => format!(
                        "{}:{}@",
                        encode(u.unwrap_or_default()),
                        encode(p.unwrap_or_default())
                    ),
                };
                format!("{scheme}://{auth}127.0.0.1:{port}")
            }
        }
    }

    /// `redis-cli` arguments that reach this server, authenticated as `user`/`password`
    /// (falling back to `requirepass`).
    pub(crate) fn cli_args(&self, user: Option<&str>, password: Option<&str>) -> Vec<String> {
        let mut a: Vec<String> = match &self.listen {
            Listen::Unix(p) => vec!["-s".into(), p.to_string_lossy().into_owned()],
            Listen::Tcp { port } | Listen::Tls { port } => {
                vec![
                    "-h".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                ]
            }
        };
        if let Some(t) = &self.tls {
            a.extend([
                "--tls".into(),
                "--cacert".into(),
                t.ca_cert.to_string_lossy().into_owned(),
                "--cert".into(),
                t.client_cert.to_string_lossy().into_owned(),
                "--key".into(),
                t.client_key.to_string_lossy().into_owned(),
            ]);
        }
        if let Some(u) = user {
            a.extend(["--user".into(), u.into()]);
        }
        if let Some(p) = password.or(self.password.as_deref()) {
            a.extend(["--pass".into(), p.into(), "--no-auth-warning".into()]);
        }
        a
    }

    /// Runs `redis-cli` with `args` against this server; stdout trimmed.
    pub(crate) fn cli(
        &self,
        user: Option<&str>,
        password: Option<&str>,
        args: &[&str],
        timeout: Duration,
    ) -> io::Result<String> {
        let mut all = self.cli_args(user, password);
        all.extend(args.iter().map(|s| (*s).to_owned()));
        cli::run_ok(&cli::redis_cli_bin(), &all, timeout)
    }

    /// A raw RESP connection, authenticated with `requirepass` if set. Not for TLS.
    pub(crate) fn connect(&self, timeout: Duration) -> io::Result<RespClient> {
        let mut c = match (&self.listen, &self.tls) {
            (_, Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "RespClient does not speak TLS; use cli() or a TLS client",
                ));
            }
            (Listen::Unix(p), None) => RespClient::connect_unix(p, timeout)?,
            (_, None) => {
                let addr = self
                    .addr()
                    .ok_or_else(|| io::Error::other("TCP endpoint without an address"))?;
                RespClient::connect(addr, timeout)?
            }
        };
        if let Some(pw) = &self.password {
            c.command_ok(&["AUTH", pw])?;
        }
        Ok(c)
    }

    /// Checks that the process with `pid` answers here and is not loading data.
    ///
    /// Checking the pid matters: if our server failed to bind, some other test's server
    /// on the same port would otherwise answer the PING for it.
    pub(crate) fn probe(&self, pid: u32) -> Probe {
        let info = if self.tls.is_some() {
            match self.cli(None, None, &["INFO", "server"], Duration::from_secs(3)) {
                Ok(text) => text,
                Err(e) => return Probe::NotYet(e.to_string()),
            }
        } else {
            let reply = self
                .connect(Duration::from_millis(500))
                .and_then(|mut c| c.command(&["INFO", "server", "persistence"]));
            match reply {
                Ok(Value::Error(e)) if e.starts_with("LOADING") => return Probe::Loading,
                // Some other error (e.g. the default user cannot run INFO): it answers.
                Ok(Value::Error(_)) => return Probe::Ready,
                Ok(v) => v.text().unwrap_or_default(),
                Err(e) => return Probe::NotYet(e.to_string()),
            }
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.trim().strip_prefix(name)?.strip_prefix(':'))
                .map(str::to_owned)
        };
        match field("process_id") {
            Some(p) if p != pid.to_string() => {
                Probe::NotYet(format!("another process (pid {p}) answers at this address"))
            }
            _ if field("loading").as_deref() == Some("1") => Probe::Loading,
            _ => Probe::Ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_urls_are_percent_encoded() {
        let e = Endpoint {
            listen: Listen::Tcp { port: 7 },
            password: Some("p@ss".into()),
            tls: None,
        };
        assert_eq!(
            e.url_with(None, Some("p@ss")),
            "redis://:p%40ss@127.0.0.1:7"
        );
        let u = Endpoint {
            listen: Listen::Unix("/t/s.sock".into()),
            ..e
        };
        assert_eq!(
            u.url_with(None, Some("pw")),
            "redis+unix:///t/s.sock?pass=pw"
        );
    }
}
