//! [`ServerOptions`]: what kind of `redis-server` a test wants.
//!
//! The options are plain data; `config.rs` turns them into a config file. Keeping them
//! separate lets the cluster and sentinel setups build on the same server type by
//! setting a few crate-private switches.

/// How a [`crate::RedisServer`] should be configured.
///
/// Persistence is off by default (`save ""`, `appendonly no`) because most tests want a
/// fast, throw-away server; [`ServerOptions::aof_always`] turns on the one persistence
/// mode whose durability a test can rely on after a `kill -9`.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub(crate) unix_socket: bool,
    pub(crate) aof_always: bool,
    pub(crate) requirepass: Option<String>,
    pub(crate) acl_users: Vec<AclUser>,
    pub(crate) port: Option<u16>,
    pub(crate) args: Vec<(String, String)>,
    pub(crate) tls: bool,
    pub(crate) cluster: bool,
    pub(crate) sentinel: bool,
}

/// One `ACL SETUSER`-style user written into the config file.
#[derive(Clone, Debug)]
pub(crate) struct AclUser {
    pub(crate) name: String,
    pub(crate) password: String,
    pub(crate) rules: String,
}

impl ServerOptions {
    /// The defaults: TCP on a free loopback port, no persistence, no auth.
    pub fn new() -> Self {
        Self::default()
    }

    /// Listen on a unix socket in the server's private temp dir instead of TCP (`port 0`),
    /// so tests of the `redis+unix://` path need no free port at all.
    pub fn unix_socket(mut self, yes: bool) -> Self {
        self.unix_socket = yes;
        self
    }

    /// `appendonly yes` + `appendfsync always`: every acknowledged write is on disk, so
    /// data survives [`crate::RedisServer::kill`] + [`crate::RedisServer::restart`].
    pub fn aof_always(mut self, yes: bool) -> Self {
        self.aof_always = yes;
        self
    }

    /// Require this password for the `default` user (`requirepass`). [`crate::RedisServer::cli`]
    /// and the readiness probe authenticate with it automatically.
    pub fn requirepass(mut self, pw: &str) -> Self {
        self.requirepass = Some(pw.to_owned());
        self
    }

    /// Add an ACL user: `user <user> on ><password> <rules>`, e.g. rules `"+@all ~* -set"`
    /// for a user that may do everything except `SET`. Rules are whitespace-separated ACL
    /// rules, written as-is.
    pub fn acl_user(mut self, user: &str, password: &str, rules: &str) -> Self {
        self.acl_users.push(AclUser {
            name: user.to_owned(),
            password: password.to_owned(),
            rules: rules.to_owned(),
        });
        self
    }

    /// Listen on this fixed TCP port, usually one reserved earlier with [`crate::free_port`]
    /// so a client could be pointed at a server that did not exist yet.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Add an extra config directive. `value` is copied verbatim after `name` on one
    /// config line, so multi-word values work (`arg("client-output-buffer-limit",
    /// "pubsub 0 0 0")`) and quoting is the caller's business (`arg("save", "\"\"")`).
    pub fn arg(mut self, name: &str, value: &str) -> Self {
        self.args.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Serve TLS only: `tls-port` on a free port, `port 0`, with a CA, server and client
    /// certificate generated into the temp dir. Clients without a certificate may connect
    /// (`tls-auth-clients optional`). See [`crate::TlsServer`] for the certificate paths.
    pub fn tls(mut self, yes: bool) -> Self {
        self.tls = yes;
        self
    }

    /// `cluster-enabled yes` with a private cluster bus port; used by [`crate::RedisCluster`].
    pub(crate) fn cluster(mut self, yes: bool) -> Self {
        self.cluster = yes;
        self
    }

    /// Run as a sentinel (`redis-server <conf> --sentinel`); used by [`crate::SentinelSetup`].
    pub(crate) fn sentinel(mut self, yes: bool) -> Self {
        self.sentinel = yes;
        self
    }
}
