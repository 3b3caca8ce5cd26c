//! Rendering [`ServerOptions`] into a `redis.conf`.
//!
//! A config file (rather than `--name value` arguments) is used because sentinels must
//! have one they can rewrite, restarts must reuse exactly the same settings, and ACL
//! `user` lines with quoted passwords are unambiguous there.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::options::ServerOptions;
use crate::tls::TlsFiles;

/// Where a server listens. Fixed for the server's lifetime so restarts reuse it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Listen {
    /// Plain TCP on 127.0.0.1.
    Tcp { port: u16 },
    /// TLS only on 127.0.0.1 (`port 0`).
    Tls { port: u16 },
    /// A unix socket (`port 0`).
    Unix(PathBuf),
}

/// Quotes a config token the way redis' `sdssplitargs` reads it back.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

/// The full config file for one server.
pub(crate) fn render(
    opts: &ServerOptions,
    listen: &Listen,
    bus_port: Option<u16>,
    dir: &Path,
    tls: Option<&TlsFiles>,
) -> String {
    let mut c = String::new();
    // `writeln!` into a String cannot fail; the results are ignored on purpose below.
    let _ = writeln!(c, "daemonize no");
    let _ = writeln!(c, "bind 127.0.0.1");
    let _ = writeln!(c, "protected-mode no");
    let _ = writeln!(c, "dir {}", path(dir));
    let _ = writeln!(c, "logfile {}", path(&dir.join("redis.log")));
    match listen {
        Listen::Tcp { port } => {
            let _ = writeln!(c, "port {port}");
        }
        Listen::Unix(sock) => {
            let _ = writeln!(c, "port 0");
            let _ = writeln!(c, "unixsocket {}", path(sock));
            let _ = writeln!(c, "unixsocketperm 700");
        }
        Listen::Tls { port } => {
            let _ = writeln!(c, "port 0");
            let _ = writeln!(c, "tls-port {port}");
        }
    }
    if let Some(t) = tls {
        let _ = writeln!(c, "tls-cert-file {}", path(&t.server_cert));
        let _ = writeln!(c, "tls-key-file {}", path(&t.server_key));
        let _ = writeln!(c, "tls-ca-cert-file {}", path(&t.ca_cert));
        let _ = writeln!(c, "tls-auth-clients optional");
        if bus_port.is_some() {
            let _ = writeln!(c, "tls-cluster yes");
        }
    }
    if !opts.sentinel {
        let _ = writeln!(c, "save \"\"");
        if opts.aof_always {
            let _ = writeln!(c, "appendonly yes");
            let _ = writeln!(c, "appendfsync always");
        } else {
            let _ = writeln!(c, "appendonly no");
        }
        // Lets tests simulate a slow server with `DEBUG SLEEP`; loopback only anyway.
        let _ = writeln!(c, "enable-debug-command local");
    }
    if let Some(pw) = &opts.requirepass {
        let _ = writeln!(c, "requirepass {}", quote(pw));
    }
    for u in &opts.acl_users {
        let _ = writeln!(
            c,
            "user {} on {} {}",
            quote(&u.name),
            quote(&format!(">{}", u.password)),
            u.rules
        );
    }
    if let Some(bus) = bus_port {
        let _ = writeln!(c, "cluster-enabled yes");
        let _ = writeln!(c, "cluster-config-file nodes.conf");
        let _ = writeln!(c, "cluster-port {bus}");
    }
    for (name, value) in &opts.args {
        let _ = writeln!(c, "{name} {value}");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_what_sdssplitargs_unescapes() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn acl_user_line_quotes_the_password_and_keeps_rules_verbatim() {
        let opts = ServerOptions::new().acl_user("alice", "p w", "+@all ~* -set");
        let conf = render(&opts, &Listen::Tcp { port: 1 }, None, Path::new("/d"), None);
        assert!(
            conf.contains("user \"alice\" on \">p w\" +@all ~* -set\n"),
            "{conf}"
        );
    }
}
