//! Configuration: where Redis is, how to reach it, and the manager's limits.
//!
//! One URL names the deployment, so moving from one server to a cluster is a URL change:
//! `redis://`, `rediss://` (TLS), `redis+unix:///path`, `redis+sentinel://h:p,h:p/master`,
//! `redis+cluster://h:p,h:p`. Everything is validated when loaded and every error names the
//! field to fix. The password lives in a [`Secret`] so that `Debug`, `Display`, logs and
//! `status()` can never print it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// A password or other credential. Its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself; call only where it is handed to the Redis client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    /// TCP host and port.
    Tcp {
        /// Host name or IP literal.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A unix domain socket.
    Unix(PathBuf),
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            ServerAddr::Tcp { host, port } => write!(f, "{host}:{port}"),
            ServerAddr::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The shape of the deployment behind the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One server (or a primary without failover).
    Standalone(ServerAddr),
    /// A Redis Cluster, reached through any of these seed nodes.
    Cluster(Vec<ServerAddr>),
    /// A Sentinel-managed primary.
    Sentinel {
        /// The sentinels to ask.
        sentinels: Vec<ServerAddr>,
        /// The monitored master's name.
        master_name: String,
    },
}

/// TLS settings (`rediss://`). There is never a silent fallback to plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsConfig {
    /// A PEM CA bundle to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate (mutual TLS); requires `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
}

/// Everything the manager needs. Build with [`Config::from_url`] or [`Config::from_env`], then
/// adjust the public tunables; [`Config::validate`] runs again in `RedisManager::connect`.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Where Redis is.
    pub topology: Topology,
    /// TLS settings; `Some` for `rediss://` schemes.
    pub tls: Option<TlsConfig>,
    /// ACL user name.
    pub username: Option<String>,
    /// ACL or `requirepass` password.
    pub password: Option<Secret>,
    /// The sentinels' own ACL user name (Sentinel topology only).
    pub sentinel_username: Option<String>,
    /// The sentinels' own password (`requirepass` in sentinel.conf; Sentinel topology only).
    /// The data nodes use `password`.
    pub sentinel_password: Option<Secret>,
    /// Logical database (standalone and sentinel only).
    pub db: i64,
    /// Deadline for one command (default 1 s).
    pub command_timeout: Duration,
    /// Deadline for establishing a connection, handshake included (default 2 s).
    pub connect_timeout: Duration,
    /// Extra time a blocking command gets on top of its block time (default 1 s).
    pub blocking_margin: Duration,
    /// First reconnect backoff step (default 50 ms).
    pub backoff_base: Duration,
    /// Largest reconnect backoff (default 2 s); each sleep is uniform in `[0, step]`.
    pub backoff_cap: Duration,
    /// While reconnecting, a cheap TCP probe runs this often and cuts the backoff short once
    /// the port accepts again, so recovery does not wait for a long backoff step (default 100 ms).
    pub probe_interval: Duration,
    /// Consecutive connection failures or timeouts that open the breaker (default 5).
    pub breaker_failure_threshold: u32,
    /// How long the breaker stays open before admitting probes (default 2 s).
    pub breaker_cooldown: Duration,
    /// How many probe calls may be in flight while half-open (default 3).
    pub breaker_half_open_probes: u32,
    /// Successful probes that close the breaker (default 2).
    pub breaker_success_threshold: u32,
    /// Consecutive command timeouts that make the supervisor replace the connection (default 3).
    pub timeouts_before_reconnect: u32,
    /// Most commands in flight at once; past that, `Overloaded` at once (default 10,000).
    pub max_in_flight: usize,
    /// Health PING interval (default 1 s; while the breaker is not closed the PING runs every
    /// `probe_interval` instead). With `health_timeout`, how soon an idle manager notices a
    /// hung or dead server: within `health_interval + health_timeout`.
    pub health_interval: Duration,
    /// Deadline of the health PING (default 500 ms). A PING that misses it opens the breaker
    /// at once: the cheapest command there is did not come back.
    pub health_timeout: Duration,
    /// Dedicated connections for blocking commands, WATCH and pub/sub (default 4).
    pub dedicated_pool_size: usize,
    /// Cluster only: how often the slot map is re-read; when it changed (a failover, a slot
    /// migration, a node added) a fresh cluster connection is built and swapped in without a
    /// readiness gap (default 10 s; zero turns it off, leaving only redis-rs's refresh on
    /// MOVED and on node errors).
    pub topology_refresh: Duration,
}

const DEFAULT_URL_ENV: &str = "REDIS_URL";

impl Config {
    /// Parses a URL and applies the defaults. See the module docs for the accepted forms.
    ///
    /// Query parameters: `db`, `user`/`username`, `pass`/`password`, for TLS `ca_file`,
    /// `cert_file`, `key_file`, and for sentinels that require their own credentials
    /// `sentinel_user`/`sentinel_username`, `sentinel_pass`/`sentinel_password` (sentinels are
    /// reached over plain TCP; the data nodes use `user`/`pass` and TLS).
    pub fn from_url(url: &str) -> Result<Config> {
        let parsed = ParsedUrl::parse(url)?;
        let config = parsed.into_config()?;
        config.validate()?;
        Ok(config)
    }

    /// Reads `REDIS_URL` and the `REDIS_SSOT_*` tunables from the environment. A
    /// `REDIS_SSOT_*` variable that nothing in redis-ssot reads is an error naming the closest
    /// real one: a misspelt setting silently left at its default is how a timeout goes
    /// unnoticed until an outage.
    pub fn from_env() -> Result<Config> {
        Config::check_environment()?;
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// The check [`Config::from_env`] makes first, for programs that read the environment
    /// through [`Config::from_lookup`]: every `REDIS_SSOT_*` variable set is one that is read.
    pub fn check_environment() -> Result<()> {
        check_env_names(std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()))
    }

    /// Like [`Config::from_env`], but reads variables through `lookup` (for tests and for
    /// embedding in programs with their own settings source).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let url =
            lookup(DEFAULT_URL_ENV).ok_or_else(|| Error::config(DEFAULT_URL_ENV, "not set"))?;
        let mut config = ParsedUrl::parse(&url)
            .map_err(|e| rename_field(e, DEFAULT_URL_ENV))?
            .into_config()
            .map_err(|e| rename_field(e, DEFAULT_URL_ENV))?;
        if let Some(user) = lookup("REDIS_USERNAME") {
            config.username = Some(user);
        }
        if let Some(pass) = lookup("REDIS_PASSWORD") {
            config.password = Some(Secret::new(pass));
        }
        if let Some(user) = lookup("REDIS_SSOT_SENTINEL_USERNAME") {
            config.sentinel_username = Some(user);
        }
        if let Some(pass) = lookup("REDIS_SSOT_SENTINEL_PASSWORD") {
            config.sentinel_password = Some(Secret::new(pass));
        }
        for (name, slot) in [
            ("REDIS_SSOT_TLS_CA_FILE", 0usize),
            ("REDIS_SSOT_TLS_CERT_FILE", 1),
            ("REDIS_SSOT_TLS_KEY_FILE", 2),
        ] {
            if let Some(path) = lookup(name) {
                let tls = config.tls.as_mut().ok_or_else(|| {
                    Error::config(name, "TLS files need a rediss:// URL; refusing plaintext")
                })?;
                let target = match slot {
                    0 => &mut tls.ca_file,
                    1 => &mut tls.cert_file,
                    _ => &mut tls.key_file,
                };
                *target = Some(PathBuf::from(path));
            }
        }
        let ms = |name: &str, slot: &mut Duration| -> Result<()> {
            if let Some(raw) = lookup(name) {
                let v: u64 = raw.trim().parse().map_err(|_| {
                    Error::config(name, format!("expected milliseconds, got {raw:?}"))
                })?;
                *slot = Duration::from_millis(v);
            }
            Ok(())
        };
        ms("REDIS_SSOT_COMMAND_TIMEOUT_MS", &mut config.command_timeout)?;
        ms("REDIS_SSOT_CONNECT_TIMEOUT_MS", &mut config.connect_timeout)?;
        ms("REDIS_SSOT_BLOCKING_MARGIN_MS", &mut config.blocking_margin)?;
        ms("REDIS_SSOT_BACKOFF_BASE_MS", &mut config.backoff_base)?;
        ms("REDIS_SSOT_BACKOFF_CAP_MS", &mut config.backoff_cap)?;
        ms("REDIS_SSOT_PROBE_INTERVAL_MS", &mut config.probe_interval)?;
        ms(
            "REDIS_SSOT_BREAKER_COOLDOWN_MS",
            &mut config.breaker_cooldown,
        )?;
        ms("REDIS_SSOT_HEALTH_INTERVAL_MS", &mut config.health_interval)?;
        ms("REDIS_SSOT_HEALTH_TIMEOUT_MS", &mut config.health_timeout)?;
        ms(
            "REDIS_SSOT_TOPOLOGY_REFRESH_MS",
            &mut config.topology_refresh,
        )?;
        let num = |name: &str| -> Result<Option<u64>> {
            lookup(name)
                .map(|raw| {
                    raw.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::config(name, format!("expected a number, got {raw:?}")))
                })
                .transpose()
        };
        let small = |name: &str, v: u64| -> Result<u32> {
            u32::try_from(v).map_err(|_| Error::config(name, "too large"))
        };
        if let Some(v) = num("REDIS_SSOT_BREAKER_THRESHOLD")? {
            config.breaker_failure_threshold = small("REDIS_SSOT_BREAKER_THRESHOLD", v)?;
        }
        if let Some(v) = num("REDIS_SSOT_BREAKER_PROBES")? {
            config.breaker_half_open_probes = small("REDIS_SSOT_BREAKER_PROBES", v)?;
        }
        if let Some(v) = num("REDIS_SSOT_BREAKER_SUCCESSES")? {
            config.breaker_success_threshold = small("REDIS_SSOT_BREAKER_SUCCESSES", v)?;
        }
        if let Some(v) = num("REDIS_SSOT_TIMEOUTS_BEFORE_RECONNECT")? {
            config.timeouts_before_reconnect = small("REDIS_SSOT_TIMEOUTS_BEFORE_RECONNECT", v)?;
        }
        if let Some(v) = num("REDIS_SSOT_MAX_IN_FLIGHT")? {
            config.max_in_flight = v as usize;
        }
        if let Some(v) = num("REDIS_SSOT_POOL_SIZE")? {
            config.dedicated_pool_size = v as usize;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        let positive = |field: &str, d: Duration| {
            if d.is_zero() {
                Err(Error::config(field, "must be greater than zero"))
            } else {
                Ok(())
            }
        };
        positive("command_timeout", self.command_timeout)?;
        positive("connect_timeout", self.connect_timeout)?;
        positive("backoff_base", self.backoff_base)?;
        positive("probe_interval", self.probe_interval)?;
        positive("breaker_cooldown", self.breaker_cooldown)?;
        positive("health_interval", self.health_interval)?;
        positive("health_timeout", self.health_timeout)?;
        if self.backoff_cap < self.backoff_base {
            return Err(Error::config(
                "backoff_cap",
                "must be at least backoff_base",
            ));
        }
        for (field, v) in [
            ("breaker_failure_threshold", self.breaker_failure_threshold),
            ("breaker_half_open_probes", self.breaker_half_open_probes),
            ("breaker_success_threshold", self.breaker_success_threshold),
            ("timeouts_before_reconnect", self.timeouts_before_reconnect),
        ] {
            if v == 0 {
                return Err(Error::config(field, "must be at least 1"));
            }
        }
        if self.breaker_success_threshold > self.breaker_half_open_probes.max(1) * 64 {
            return Err(Error::config(
                "breaker_success_threshold",
                "unreasonably large",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(Error::config("max_in_flight", "must be at least 1"));
        }
        if self.dedicated_pool_size == 0 {
            return Err(Error::config("dedicated_pool_size", "must be at least 1"));
        }
        if self.db < 0 {
            return Err(Error::config("db", "must not be negative"));
        }
        if matches!(self.topology, Topology::Cluster(_)) && self.db != 0 {
            return Err(Error::config("db", "Redis Cluster only has database 0"));
        }
        let addrs: &[ServerAddr] = match &self.topology {
            Topology::Standalone(a) => std::slice::from_ref(a),
            Topology::Cluster(nodes) => nodes,
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                if master_name.is_empty() {
                    return Err(Error::config("master_name", "missing after the host list"));
                }
                sentinels
            }
        };
        if addrs.is_empty() {
            return Err(Error::config("host", "no host given"));
        }
        if let Some(tls) = &self.tls {
            if addrs.iter().any(|a| matches!(a, ServerAddr::Unix(_))) {
                return Err(Error::config(
                    "tls",
                    "TLS over a unix socket is not supported",
                ));
            }
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                let field = if tls.cert_file.is_some() {
                    "key_file"
                } else {
                    "cert_file"
                };
                return Err(Error::config(
                    field,
                    "a client certificate needs both cert_file and key_file",
                ));
            }
        }
        if self.password.is_none() && self.username.is_some() {
            return Err(Error::config(
                "password",
                "an ACL user name needs a password",
            ));
        }
        let sentinel = matches!(self.topology, Topology::Sentinel { .. });
        if !sentinel && self.sentinel_password.is_some() {
            return Err(Error::config(
                "sentinel_password",
                "only for a redis+sentinel:// URL",
            ));
        }
        if self.sentinel_password.is_none() && self.sentinel_username.is_some() {
            return Err(Error::config(
                "sentinel_password",
                "a sentinel ACL user name needs a password",
            ));
        }
        Ok(())
    }

    /// The URL with the password replaced by `***`: safe for logs and status.
    pub fn redacted_url(&self) -> String {
        let tls = if self.tls.is_some() { "s" } else { "" };
        let auth = match (&self.username, &self.password) {
            (Some(u), Some(_)) => format!("{u}:***@"),
            (None, Some(_)) => ":***@".to_string(),
            _ => String::new(),
        };
        let join = |addrs: &[ServerAddr]| {
            addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        match &self.topology {
            Topology::Standalone(ServerAddr::Unix(path)) => {
                format!("redis+unix://{auth}{}?db={}", path.display(), self.db)
            }
            Topology::Standalone(addr) => format!("redis{tls}://{auth}{addr}/{}", self.db),
            Topology::Cluster(nodes) => format!("redis{tls}+cluster://{auth}{}", join(nodes)),
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                let sentinel_auth = match (&self.sentinel_username, &self.sentinel_password) {
                    (Some(u), Some(_)) => format!("?sentinel_user={u}&sentinel_pass=***"),
                    (None, Some(_)) => "?sentinel_pass=***".to_string(),
                    _ => String::new(),
                };
                format!(
                    "redis{tls}+sentinel://{auth}{}/{master_name}{sentinel_auth}",
                    join(sentinels)
                )
            }
        }
    }

    fn with_defaults(topology: Topology) -> Config {
        Config {
            topology,
            tls: None,
            username: None,
            password: None,
            sentinel_username: None,
            sentinel_password: None,
            db: 0,
            command_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
            blocking_margin: Duration::from_secs(1),
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(2),
            probe_interval: Duration::from_millis(100),
            breaker_failure_threshold: 5,
            breaker_cooldown: Duration::from_secs(2),
            breaker_half_open_probes: 3,
            breaker_success_threshold: 2,
            timeouts_before_reconnect: 3,
            max_in_flight: 10_000,
            health_interval: Duration::from_secs(1),
            health_timeout: Duration::from_millis(500),
            dedicated_pool_size: 4,
            topology_refresh: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.redacted_url())
            .field("tls", &self.tls)
            .field("command_timeout", &self.command_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff", &(self.backoff_base, self.backoff_cap))
            .field("breaker_failure_threshold", &self.breaker_failure_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted_url())
    }
}

fn rename_field(err: Error, env_name: &str) -> Error {
    match err {
        Error::Config { field, message } => Error::config(format!("{env_name} ({field})"), message),
        other => other,
    }
}

/// Every `REDIS_SSOT_*` variable [`Config::from_lookup`] reads.
const SETTINGS: [&str; 21] = [
    "REDIS_SSOT_SENTINEL_USERNAME",
    "REDIS_SSOT_SENTINEL_PASSWORD",
    "REDIS_SSOT_TLS_CA_FILE",
    "REDIS_SSOT_TLS_CERT_FILE",
    "REDIS_SSOT_TLS_KEY_FILE",
    "REDIS_SSOT_COMMAND_TIMEOUT_MS",
    "REDIS_SSOT_CONNECT_TIMEOUT_MS",
    "REDIS_SSOT_BLOCKING_MARGIN_MS",
    "REDIS_SSOT_BACKOFF_BASE_MS",
    "REDIS_SSOT_BACKOFF_CAP_MS",
    "REDIS_SSOT_PROBE_INTERVAL_MS",
    "REDIS_SSOT_BREAKER_COOLDOWN_MS",
    "REDIS_SSOT_HEALTH_INTERVAL_MS",
    "REDIS_SSOT_HEALTH_TIMEOUT_MS",
    "REDIS_SSOT_TOPOLOGY_REFRESH_MS",
    "REDIS_SSOT_BREAKER_THRESHOLD",
    "REDIS_SSOT_BREAKER_PROBES",
    "REDIS_SSOT_BREAKER_SUCCESSES",
    "REDIS_SSOT_TIMEOUTS_BEFORE_RECONNECT",
    "REDIS_SSOT_MAX_IN_FLIGHT",
    "REDIS_SSOT_POOL_SIZE",
];

/// `REDIS_SSOT_*` variables read by other parts of the project: the gateway's secrets, the
/// Python package's thread count and its test suite's helper binary.
const READ_ELSEWHERE: [&str; 4] = [
    "REDIS_SSOT_PY_WORKERS",
    "REDIS_SSOT_JWT_SECRET",
    "REDIS_SSOT_ADMIN_TOKEN",
    "REDIS_SSOT_INTEROP_BIN",
];

/// Refuses a `REDIS_SSOT_*` name that nothing reads, naming the closest one that is read.
fn check_env_names(names: impl Iterator<Item = String>) -> Result<()> {
    let known = || SETTINGS.iter().chain(READ_ELSEWHERE.iter());
    for name in names.filter(|n| n.starts_with("REDIS_SSOT_")) {
        if known().any(|k| *k == name) {
            continue;
        }
        let closest = known()
            .map(|k| (edit_distance(k, &name), *k))
            .min()
            .filter(|(d, _)| *d <= 3);
        let hint = match closest {
            Some((_, k)) => format!("; did you mean {k}?"),
            None => format!("; the settings are {}", SETTINGS.join(", ")),
        };
        return Err(Error::config(
            name,
            format!("is not a setting redis-ssot reads, so it would be ignored{hint}"),
        ));
    }
    Ok(())
}

/// Levenshtein distance of two ASCII-ish names (variable names are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The pieces of a URL before they become a [`Config`].
struct ParsedUrl {
    scheme: String,
    username: Option<String>,
    password: Option<String>,
    hosts: String,
    path: String,
    query: BTreeMap<String, String>,
}

impl ParsedUrl {
    fn parse(url: &str) -> Result<ParsedUrl> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::config("url", "expected scheme://..., e.g. redis://127.0.0.1:6379")
        })?;
        let (rest, query_str) = rest.split_once('?').unwrap_or((rest, ""));
        let mut query = BTreeMap::new();
        for pair in query_str.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.insert(k.to_string(), percent_decode(v, "query")?);
        }
        let is_unix = matches!(scheme, "redis+unix" | "unix");
        let (userinfo, after_auth) = match rest.rfind('@') {
            Some(i) if !is_unix || !rest[..i].contains('/') => (Some(&rest[..i]), &rest[i + 1..]),
            _ => (None, rest),
        };
        // An '@' after the '?' with none before it is almost always a password holding a raw
        // '?': the user info then sits in the query and what precedes the '?' is half of it.
        // Every later error would quote a piece of that password, so stop here, quoting none.
        if userinfo.is_none() && query_str.contains('@') {
            return Err(Error::config(
                "url",
                "the URL has an '@' after its '?' and none before it, so its user info cannot \
                 be told apart; write a '?' in a password as %3F (and an '@' in a query value \
                 as %40)",
            ));
        }
        let (hosts, path) = if is_unix {
            (after_auth.to_string(), String::new())
        } else {
            match after_auth.split_once('/') {
                Some((h, p)) => (h.to_string(), p.to_string()),
                None => (after_auth.to_string(), String::new()),
            }
        };
        let (mut username, mut password) = (None, None);
        if let Some(info) = userinfo {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            if !u.is_empty() {
                username = Some(percent_decode(u, "username")?);
            }
            if let Some(p) = p {
                password = Some(percent_decode(p, "password")?);
            }
        }
        Ok(ParsedUrl {
            scheme: scheme.to_ascii_lowercase(),
            username,
            password,
            hosts,
            path,
            query,
        })
    }

    fn into_config(mut self) -> Result<Config> {
        let (tls, kind) = match self.scheme.as_str() {
            "redis" => (false, "standalone"),
            "rediss" => (true, "standalone"),
            "redis+unix" | "unix" => (false, "unix"),
            "redis+sentinel" => (false, "sentinel"),
            "rediss+sentinel" => (true, "sentinel"),
            "redis+cluster" => (false, "cluster"),
            "rediss+cluster" => (true, "cluster"),
            other => {
                return Err(Error::config(
                    "scheme",
                    format!(
                        "unknown scheme {other:?}; use redis, rediss, redis+unix, redis+sentinel or redis+cluster"
                    ),
                ));
            }
        };
        let topology = match kind {
            "unix" => {
                if self.hosts.is_empty() || !self.hosts.starts_with('/') {
                    return Err(Error::config(
                        "path",
                        "redis+unix:// needs an absolute socket path",
                    ));
                }
                Topology::Standalone(ServerAddr::Unix(PathBuf::from(percent_decode(
                    &self.hosts,
                    "path",
                )?)))
            }
            "standalone" => {
                let mut addrs = parse_hosts(&self.hosts)?;
                if addrs.len() != 1 {
                    return Err(Error::config(
                        "host",
                        "one host expected; for several use redis+cluster:// or redis+sentinel://",
                    ));
                }
                Topology::Standalone(addrs.remove(0))
            }
            "cluster" => Topology::Cluster(parse_hosts(&self.hosts)?),
            _ => {
                let master_name = self.path.trim_matches('/').to_string();
                let sentinels = parse_hosts(&self.hosts)?;
                self.path.clear();
                Topology::Sentinel {
                    sentinels,
                    master_name,
                }
            }
        };
        let mut config = Config::with_defaults(topology);
        if tls {
            config.tls = Some(TlsConfig::default());
        }
        config.username = self.username.take();
        config.password = self.password.take().map(Secret::new);
        let db_text = if !self.path.is_empty() {
            Some(self.path.trim_matches('/').to_string())
        } else {
            self.query.remove("db")
        };
        if let Some(db) = db_text.filter(|d| !d.is_empty()) {
            config.db = db
                .parse()
                .map_err(|_| Error::config("db", format!("expected a number, got {db:?}")))?;
        }
        for key in ["user", "username"] {
            if let Some(u) = self.query.remove(key) {
                config.username = Some(u);
            }
        }
        for key in ["pass", "password"] {
            if let Some(p) = self.query.remove(key) {
                config.password = Some(Secret::new(p));
            }
        }
        for key in ["sentinel_user", "sentinel_username"] {
            if let Some(u) = self.query.remove(key) {
                config.sentinel_username = Some(u);
            }
        }
        for key in ["sentinel_pass", "sentinel_password"] {
            if let Some(p) = self.query.remove(key) {
                config.sentinel_password = Some(Secret::new(p));
            }
        }
        for key in ["ca_file", "cert_file", "key_file"] {
            if let Some(path) = self.query.remove(key) {
                let tls = config.tls.as_mut().ok_or_else(|| {
                    Error::config(key, "TLS files need a rediss:// URL; refusing plaintext")
                })?;
                let slot = match key {
                    "ca_file" => &mut tls.ca_file,
                    "cert_file" => &mut tls.cert_file,
                    _ => &mut tls.key_file,
                };
                *slot = Some(PathBuf::from(path));
            }
        }
        if let Some((unknown, _)) = self.query.iter().next() {
            return Err(Error::config(
                unknown.clone(),
                "unknown URL parameter (known: db, user, pass, sentinel_user, sentinel_pass, \
                 ca_file, cert_file, key_file)",
            ));
        }
        Ok(config)
    }
}

fn parse_hosts(list: &str) -> Result<Vec<ServerAddr>> {
    let mut out = Vec::new();
    for part in list.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(Error::config("host", "empty host in the host list"));
        }
        let (host, port) = if let Some(rest) = part.strip_prefix('[') {
            let (h, tail) = rest
                .split_once(']')
                .ok_or_else(|| Error::config("host", format!("unclosed [ in {part:?}")))?;
            (h.to_string(), tail.strip_prefix(':'))
        } else {
            match part.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (part.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(Error::config("host", format!("missing host in {part:?}")));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| Error::config("port", format!("invalid port {p:?}")))?,
            None => 6379,
        };
        out.push(ServerAddr::Tcp { host, port });
    }
    Ok(out)
}

fn percent_decode(s: &str, field: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::config(field, "bad percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::config(field, "not valid UTF-8 after decoding"))
}

#[cfg(test)]
mod tests;
