//! The typed command surface of [`RedisManager`](crate::RedisManager).
//!
//! Each method builds a redis-rs `Cmd` and hands it to the choke point; none of them talks to
//! a connection directly. A missing key is `Ok(None)` (or an empty collection), never an error.
//! Keys are checked for size before anything is sent.

mod collections;
mod durable;
mod exec;
mod streams;
mod strings;

pub use durable::{Durability, DurableWrites};
pub use exec::ScanStream;
pub use streams::StreamEntry;
pub use strings::{SetCondition, SetOptions, Ttl};

use redis::{Cmd, FromRedisValue};

use crate::error::{Error, Result};
use crate::manager::RedisManager;
use crate::metrics::Op;

/// Builds a `Cmd` in place (no clone of a half-built command), with its buffers sized for
/// the arguments up front: `redis::cmd` starts from empty vectors and grows them an argument
/// at a time, which callgrind put at about 8% of a GET/SET's instructions.
macro_rules! cmd {
    ($name:literal $(, $arg:expr)* $(,)?) => {{
        let mut c = redis::Cmd::with_capacity(
            1 + <[&str]>::len(&[$(stringify!($arg)),*]),
            $crate::commands::CMD_BYTES,
        );
        c.arg($name);
        $( c.arg($arg); )*
        c
    }};
}
pub(crate) use cmd;

/// The bytes a built command starts with room for: a name, a key and a short value; a
/// longer argument grows the buffer once. The argument count is one per macro argument (most
/// arguments are one Redis argument).
pub(crate) const CMD_BYTES: usize = 96;

/// The largest key the manager will send (Redis allows 512 MiB; nobody means that).
pub const MAX_KEY_LEN: usize = 64 * 1024;

pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKey(format!(
            "key of {} bytes exceeds the {MAX_KEY_LEN}-byte limit",
            key.len()
        )));
    }
    Ok(())
}

pub(crate) fn check_keys(keys: &[&str]) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::InvalidKey("no keys given".into()));
    }
    keys.iter().try_for_each(|k| check_key(k))
}

impl RedisManager {
    /// Sends one command on the shared connection with the default deadline. A plain `fn`
    /// returning the choke point's future (not an `async fn` wrapping it), so the command's
    /// future is not moved through one more layer on every call.
    #[inline]
    pub(crate) fn query<T: FromRedisValue>(
        &self,
        op: Op,
        cmd: Cmd,
    ) -> impl std::future::Future<Output = Result<T>> {
        self.run_single(op, cmd)
    }
}
