//! [`RespClient`]: a tiny blocking RESP2 client over TCP or a unix socket.
//!
//! The kit needs to talk to servers it manages (readiness probes, cluster and sentinel
//! admin) without an async runtime and without spawning `redis-cli` for every poll.
//! Tests also use it as a "raw socket with a read timeout" to observe hangs precisely.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// One RESP2 reply. Error replies are values, not `Err`, so callers can assert on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `+OK`
    Simple(String),
    /// `-ERR ...` (the text without the leading `-`).
    Error(String),
    /// `:1`
    Int(i64),
    /// `$3\r\nfoo`
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`
    Nil,
    /// `*2 ...`
    Array(Vec<Value>),
}

impl Value {
    /// The reply as text, for simple strings, bulk strings (lossy UTF-8), integers and errors.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Simple(s) | Value::Error(s) => Some(s.clone()),
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Int(i) => Some(i.to_string()),
            Value::Nil | Value::Array(_) => None,
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A blocking RESP2 connection with read/write timeouts.
///
/// A timed-out read leaves the connection out of sync; drop it afterwards.
pub struct RespClient {
    io: BufReader<Stream>,
}

impl RespClient {
    /// Connects over TCP; `timeout` bounds the connect and every later read and write.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(Self {
            io: BufReader::new(Stream::Tcp(s)),
        })
    }

    /// Connects to a unix socket; `timeout` bounds every read and write.
    pub fn connect_unix(path: &Path, timeout: Duration) -> io::Result<Self> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(Self {
            io: BufReader::new(Stream::Unix(s)),
        })
    }

    /// Changes the read timeout (`None` blocks forever), e.g. to wait longer for a
    /// blocking command or shorter to observe a hang.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.io.get_ref() {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Sends one command and reads its reply. Error replies come back as [`Value::Error`].
    /// Arguments may be `&str` or byte slices (binary keys).
    pub fn command<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Value> {
        self.send(args)?;
        self.read_value()
    }

    /// Like [`RespClient::command`] but an error reply becomes an `io::Error` naming the
    /// command, for admin calls that are expected to succeed.
    pub fn command_ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Value> {
        match self.command(args)? {
            Value::Error(e) => {
                let cmd: Vec<_> = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                    .collect();
                Err(io::Error::other(format!(
                    "redis replied to {:?}: {e}",
                    cmd.join(" ")
                )))
            }
            v => Ok(v),
        }
    }

    /// Writes one command without waiting for the reply (for pipelining or hang tests).
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.io.get_mut().write_all(&out)
    }

    /// Reads one reply.
    pub fn read_value(&mut self) -> io::Result<Value> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(1);
        let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad RESP: {line:?}"));
        match kind {
            "+" => Ok(Value::Simple(rest.to_owned())),
            "-" => Ok(Value::Error(rest.to_owned())),
            ":" => rest.parse().map(Value::Int).map_err(|_| bad()),
            "$" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                let Ok(len) = usize::try_from(len) else {
                    return Ok(Value::Nil);
                };
                let mut buf = vec![0; len + 2];
                self.io.read_exact(&mut buf)?;
                buf.truncate(len);
                Ok(Value::Bulk(buf))
            }
            "*" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                let Ok(len) = usize::try_from(len) else {
                    return Ok(Value::Nil);
                };
                (0..len)
                    .map(|_| self.read_value())
                    .collect::<io::Result<_>>()
                    .map(Value::Array)
            }
            _ => Err(bad()),
        }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.io.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "empty RESP line",
            ));
        }
        Ok(trimmed.to_owned())
    }
}
