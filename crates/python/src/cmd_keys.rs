//! Key-space commands (delete, expiry, rename, copy, SCAN), scripts, `publish` and
//! `execute_command`, with redis-py's names, arguments and reply shapes; and the argument
//! helpers the other command files share (keys, whole numbers, Unix times).

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use redis_ssot::Topology;
use redis_ssot::redis::{self, Cmd, Value};

use crate::args::{push, push_all};
use crate::bridge::Reply;
use crate::client::{Client, Kind};
use crate::errors::{self, type_error, value_error};
use crate::reply::Shape;

/// `cmd` with one argument already pushed.
pub(crate) fn cmd1(name: &str, a: &Bound<'_, PyAny>, what: &str) -> PyResult<Cmd> {
    let mut c = redis::cmd(name);
    push(&mut c, a, what)?;
    Ok(c)
}

/// `InvalidKey` for a multi-key command given no key (as the Rust manager refuses it).
pub(crate) fn need_keys(py: Python<'_>, n: usize, what: &str) -> PyResult<()> {
    if n == 0 {
        return Err(errors::to_py(
            py,
            redis_ssot::Error::InvalidKey(format!("{what} needs at least one key")),
        ));
    }
    Ok(())
}

/// A whole number of seconds or milliseconds: an int, or a `timedelta` (in `unit` ms).
pub(crate) fn whole(v: &Bound<'_, PyAny>, what: &str, unit_ms: f64) -> PyResult<i64> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(type_error(format!(
            "{what} must be an int or a timedelta, not bool"
        )));
    }
    if let Ok(i) = v.cast::<pyo3::types::PyInt>() {
        return i.extract::<i64>().map_err(|_| {
            value_error(format!(
                "{what} is too large: at most {} (Redis's 64-bit integers)",
                i64::MAX
            ))
        });
    }
    if v.hasattr(pyo3::intern!(v.py(), "total_seconds"))? {
        let secs: f64 = v
            .call_method0(pyo3::intern!(v.py(), "total_seconds"))?
            .extract()?;
        return Ok((secs * 1000.0 / unit_ms) as i64);
    }
    Err(type_error(format!(
        "{what} must be an int or a timedelta, not {}",
        crate::args::type_name(v)
    )))
}

/// A Unix time: an int (in the command's unit), or a `datetime` (`per_second` units a
/// second).
pub(crate) fn unix_time(v: &Bound<'_, PyAny>, what: &str, per_second: f64) -> PyResult<i64> {
    if v.hasattr(pyo3::intern!(v.py(), "timestamp"))? {
        let secs: f64 = v
            .call_method0(pyo3::intern!(v.py(), "timestamp"))?
            .extract()?;
        return Ok((secs * per_second) as i64);
    }
    if v.is_instance_of::<pyo3::types::PyInt>() && !v.is_instance_of::<pyo3::types::PyBool>() {
        return int64(v, what);
    }
    Err(type_error(format!(
        "{what} must be an int (a Unix time) or a datetime, not {}",
        crate::args::type_name(v)
    )))
}

/// A Redis 64-bit integer argument: an int in range, in plain words otherwise.
pub(crate) fn int64(v: &Bound<'_, PyAny>, what: &str) -> PyResult<i64> {
    let int = (!v.is_instance_of::<pyo3::types::PyBool>())
        .then(|| v.cast::<pyo3::types::PyInt>().ok())
        .flatten();
    let Some(i) = int else {
        return Err(type_error(format!(
            "{what} must be an int, not {}",
            crate::args::type_name(v)
        )));
    };
    i.extract::<i64>().map_err(|_| {
        value_error(format!(
            "{what} must be between {} and {} (Redis's 64-bit integers)",
            i64::MIN,
            i64::MAX
        ))
    })
}

/// `keys` may be one key or an iterable of keys, followed by more keys (redis-py's `mget`).
pub(crate) fn push_keys(
    c: &mut Cmd,
    keys: &Bound<'_, PyAny>,
    more: &Bound<'_, PyTuple>,
) -> PyResult<usize> {
    let mut n = 0;
    if keys.is_instance_of::<pyo3::types::PyBytes>()
        || keys.is_instance_of::<pyo3::types::PyString>()
    {
        push(c, keys, "key")?;
        n += 1;
    } else {
        n += push_all(c, keys, "key")?;
    }
    n += push_all(c, more.as_any(), "key")?;
    Ok(n)
}

#[pymethods]
impl Client {
    /// DEL: how many of the keys existed.
    #[pyo3(signature = (*names))]
    fn delete(slf: &Bound<'_, Self>, names: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("DEL");
        need_keys(
            slf.py(),
            push_all(&mut c, names.as_any(), "name")?,
            "delete",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// UNLINK: like `delete`, freeing memory in the background.
    #[pyo3(signature = (*names))]
    fn unlink(slf: &Bound<'_, Self>, names: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("UNLINK");
        need_keys(
            slf.py(),
            push_all(&mut c, names.as_any(), "name")?,
            "unlink",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// EXISTS: how many of the keys exist.
    #[pyo3(signature = (*names))]
    fn exists(slf: &Bound<'_, Self>, names: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("EXISTS");
        need_keys(
            slf.py(),
            push_all(&mut c, names.as_any(), "name")?,
            "exists",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// EXPIRE (seconds, int or timedelta): whether the timeout was set.
    #[pyo3(signature = (name, time, nx = false, xx = false, gt = false, lt = false))]
    fn expire(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        nx: bool,
        xx: bool,
        gt: bool,
        lt: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("EXPIRE", name, "name")?;
        c.arg(whole(time, "time", 1000.0)?);
        expire_flags(&mut c, nx, xx, gt, lt);
        Self::run(slf, c, Shape::Bool)
    }

    /// PEXPIRE (milliseconds, int or timedelta): whether the timeout was set.
    #[pyo3(signature = (name, time, nx = false, xx = false, gt = false, lt = false))]
    fn pexpire(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        nx: bool,
        xx: bool,
        gt: bool,
        lt: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("PEXPIRE", name, "name")?;
        c.arg(whole(time, "time", 1.0)?);
        expire_flags(&mut c, nx, xx, gt, lt);
        Self::run(slf, c, Shape::Bool)
    }

    /// EXPIREAT a Unix time in seconds (int or `datetime`): whether the timeout was set.
    #[pyo3(signature = (name, when, nx = false, xx = false, gt = false, lt = false))]
    #[allow(clippy::too_many_arguments)]
    fn expireat(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        when: &Bound<'_, PyAny>,
        nx: bool,
        xx: bool,
        gt: bool,
        lt: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("EXPIREAT", name, "name")?;
        c.arg(unix_time(when, "when", 1.0)?);
        expire_flags(&mut c, nx, xx, gt, lt);
        Self::run(slf, c, Shape::Bool)
    }

    /// PEXPIREAT a Unix time in milliseconds (int or `datetime`).
    #[pyo3(signature = (name, when, nx = false, xx = false, gt = false, lt = false))]
    #[allow(clippy::too_many_arguments)]
    fn pexpireat(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        when: &Bound<'_, PyAny>,
        nx: bool,
        xx: bool,
        gt: bool,
        lt: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("PEXPIREAT", name, "name")?;
        c.arg(unix_time(when, "when", 1000.0)?);
        expire_flags(&mut c, nx, xx, gt, lt);
        Self::run(slf, c, Shape::Bool)
    }

    /// PERSIST: whether a timeout was removed.
    fn persist(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("PERSIST", name, "name")?, Shape::Bool)
    }

    /// TTL in seconds: -2 if the key does not exist, -1 if it has no timeout.
    fn ttl(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("TTL", name, "name")?, Shape::Raw)
    }

    /// PTTL in milliseconds: -2 if the key does not exist, -1 if it has no timeout.
    fn pttl(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("PTTL", name, "name")?, Shape::Raw)
    }

    /// TYPE: `string`, `list`, `hash`, ... or `none`.
    #[pyo3(name = "type")]
    fn type_(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("TYPE", name, "name")?, Shape::Raw)
    }

    /// RENAME: `True`.
    fn rename(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("RENAME", src, "src")?;
        push(&mut c, dst, "dst")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// RENAMENX: whether `src` was renamed (`False` when `dst` exists).
    fn renamenx(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("RENAMENX", src, "src")?;
        push(&mut c, dst, "dst")?;
        Self::run(slf, c, Shape::Bool)
    }

    /// COPY `source` to `destination` (in `destination_db` if given): whether it was copied
    /// (`False` when the destination exists and `replace` is not set, or the source is
    /// missing).
    #[pyo3(signature = (source, destination, destination_db = None, replace = false))]
    fn copy(
        slf: &Bound<'_, Self>,
        source: &Bound<'_, PyAny>,
        destination: &Bound<'_, PyAny>,
        destination_db: Option<&Bound<'_, PyAny>>,
        replace: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("COPY", source, "source")?;
        push(&mut c, destination, "destination")?;
        if let Some(db) = destination_db {
            c.arg("DB");
            push(&mut c, db, "destination_db")?;
        }
        if replace {
            c.arg("REPLACE");
        }
        Self::run(slf, c, Shape::Bool)
    }

    /// PING: `True`.
    fn ping(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::run(slf, redis::cmd("PING"), Shape::Bool)
    }

    /// ECHO.
    fn echo(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("ECHO", value, "value")?, Shape::Raw)
    }

    /// DBSIZE.
    fn dbsize(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::run(slf, redis::cmd("DBSIZE"), Shape::Raw)
    }

    /// FLUSHDB: `True`.
    #[pyo3(signature = (asynchronous = false))]
    fn flushdb(slf: &Bound<'_, Self>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("FLUSHDB");
        if asynchronous {
            c.arg("ASYNC");
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// PUBLISH: how many subscribers received the message.
    fn publish(
        slf: &Bound<'_, Self>,
        channel: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("PUBLISH", channel, "channel")?;
        push(&mut c, message, "message")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// Any command, through the same choke point; the reply as it is (`OK` is `True`).
    #[pyo3(signature = (*args))]
    fn execute_command(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let mut it = args.iter();
        let name = it
            .next()
            .ok_or_else(|| type_error("execute_command needs a command name"))?;
        let mut c = redis::cmd(&crate::args::to_text(&name, "command name")?);
        for a in it {
            push(&mut c, &a, "argument")?;
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// EVAL `script` with `numkeys` keys followed by arguments.
    #[pyo3(signature = (script, numkeys, *keys_and_args))]
    fn eval(
        slf: &Bound<'_, Self>,
        script: &Bound<'_, PyAny>,
        numkeys: usize,
        keys_and_args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        eval_cmd(slf, "EVAL", script, numkeys, keys_and_args)
    }

    /// EVALSHA of a loaded script.
    #[pyo3(signature = (sha, numkeys, *keys_and_args))]
    fn evalsha(
        slf: &Bound<'_, Self>,
        sha: &Bound<'_, PyAny>,
        numkeys: usize,
        keys_and_args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        eval_cmd(slf, "EVALSHA", sha, numkeys, keys_and_args)
    }

    /// One SCAN step: `(next_cursor, keys)`; cursor 0 again means done. On a cluster the
    /// cursor walks every master (see the Rust `scan_step`).
    #[pyo3(signature = (cursor = 0, r#match = None, count = None, _type = None))]
    fn scan(
        slf: &Bound<'_, Self>,
        cursor: u64,
        r#match: Option<&Bound<'_, PyAny>>,
        count: Option<usize>,
        _type: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        let cluster = matches!(this.core.config().topology, Topology::Cluster(_));
        if !cluster || matches!(this.kind, Kind::Pipeline { .. }) {
            let mut c = redis::cmd("SCAN");
            c.arg(cursor);
            if let Some(m) = r#match {
                c.arg("MATCH");
                push(&mut c, m, "match")?;
            }
            if let Some(n) = count {
                c.arg("COUNT").arg(n.max(1));
            }
            if let Some(t) = _type {
                c.arg("TYPE");
                push(&mut c, t, "_type")?;
            }
            return Self::run(slf, c, Shape::Scan);
        }
        if _type.is_some() {
            return Err(value_error("scan: _type is not supported on a cluster"));
        }
        let pattern = match r#match {
            Some(m) => crate::args::to_text(m, "match")?,
            None => "*".into(),
        };
        let decode = this.decode;
        this.spawn(slf.py(), move |m| async move {
            let (next, keys) = m.scan_step(cursor, &pattern, count.unwrap_or(10)).await?;
            let keys = keys
                .into_iter()
                .map(|k| Value::BulkString(k.into_bytes()))
                .collect();
            Ok(Reply::Value {
                value: Value::Array(vec![Value::Int(next as i64), Value::Array(keys)]),
                shape: Shape::Scan,
                decode,
            })
        })
    }
}

fn expire_flags(c: &mut Cmd, nx: bool, xx: bool, gt: bool, lt: bool) {
    for (on, word) in [(nx, "NX"), (xx, "XX"), (gt, "GT"), (lt, "LT")] {
        if on {
            c.arg(word);
        }
    }
}

fn eval_cmd(
    slf: &Bound<'_, Client>,
    word: &str,
    script: &Bound<'_, PyAny>,
    numkeys: usize,
    rest: &Bound<'_, PyTuple>,
) -> PyResult<Py<PyAny>> {
    if numkeys > rest.len() {
        return Err(value_error(format!(
            "{}: numkeys is {numkeys} but only {} keys and arguments were given",
            word.to_ascii_lowercase(),
            rest.len()
        )));
    }
    let mut c = cmd1(word, script, "script")?;
    c.arg(numkeys);
    push_all(&mut c, rest.as_any(), "key or argument")?;
    Client::run(slf, c, Shape::Raw)
}
