//! Key-space and string commands, scripts, `publish` and `execute_command`, with redis-py's
//! names, arguments and reply shapes.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
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
fn unix_time(v: &Bound<'_, PyAny>, what: &str, per_second: f64) -> PyResult<i64> {
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
    /// GET: the value, or `None` if the key does not exist.
    fn get(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("GET", name, "name")?, Shape::Raw)
    }

    /// SET with redis-py's options: `True` when written, `None` when `nx`/`xx` refused (with
    /// `get=True`: the old value).
    #[pyo3(signature = (name, value, ex = None, px = None, nx = false, xx = false, keepttl = false, get = false, exat = None, pxat = None))]
    #[allow(clippy::too_many_arguments)]
    fn set(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        ex: Option<&Bound<'_, PyAny>>,
        px: Option<&Bound<'_, PyAny>>,
        nx: bool,
        xx: bool,
        keepttl: bool,
        get: bool,
        exat: Option<&Bound<'_, PyAny>>,
        pxat: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        if nx && xx {
            return Err(value_error("set: nx and xx cannot both be true"));
        }
        let expiries = [
            ex.is_some(),
            px.is_some(),
            exat.is_some(),
            pxat.is_some(),
            keepttl,
        ];
        if expiries.iter().filter(|x| **x).count() > 1 {
            return Err(value_error(
                "set: give at most one of ex, px, exat, pxat and keepttl",
            ));
        }
        let mut c = cmd1("SET", name, "name")?;
        push(&mut c, value, "value")?;
        for (word, v, unit) in [
            ("EX", ex, 1000.0),
            ("PX", px, 1.0),
            ("EXAT", exat, 1000.0),
            ("PXAT", pxat, 1.0),
        ] {
            if let Some(v) = v {
                let n = whole(v, &word.to_ascii_lowercase(), unit)?;
                if n <= 0 && (word == "EX" || word == "PX") {
                    return Err(value_error(format!(
                        "set: {} must be positive",
                        word.to_ascii_lowercase()
                    )));
                }
                c.arg(word).arg(n);
            }
        }
        if keepttl {
            c.arg("KEEPTTL");
        }
        if nx {
            c.arg("NX");
        }
        if xx {
            c.arg("XX");
        }
        if get {
            c.arg("GET");
        }
        Self::run(slf, c, if get { Shape::Raw } else { Shape::SetResult })
    }

    /// SETNX: whether the key was set.
    fn setnx(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SETNX", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Bool)
    }

    /// SETEX: set with a TTL in seconds (int or timedelta).
    fn setex(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        time: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SETEX", name, "name")?;
        c.arg(whole(time, "time", 1000.0)?);
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// GETDEL: the value (or `None`), and the key is gone.
    fn getdel(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("GETDEL", name, "name")?, Shape::Raw)
    }

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

    /// GETEX: the value (or `None`), setting or removing (`persist`) its TTL.
    #[pyo3(signature = (name, ex = None, px = None, exat = None, pxat = None, persist = false))]
    fn getex(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        ex: Option<&Bound<'_, PyAny>>,
        px: Option<&Bound<'_, PyAny>>,
        exat: Option<&Bound<'_, PyAny>>,
        pxat: Option<&Bound<'_, PyAny>>,
        persist: bool,
    ) -> PyResult<Py<PyAny>> {
        let given =
            [ex, px, exat, pxat].iter().filter(|o| o.is_some()).count() + usize::from(persist);
        if given > 1 {
            return Err(value_error(
                "getex: give at most one of ex, px, exat, pxat and persist",
            ));
        }
        let mut c = cmd1("GETEX", name, "name")?;
        if let Some(v) = ex {
            c.arg("EX").arg(whole(v, "ex", 1000.0)?);
        }
        if let Some(v) = px {
            c.arg("PX").arg(whole(v, "px", 1.0)?);
        }
        if let Some(v) = exat {
            c.arg("EXAT").arg(unix_time(v, "exat", 1.0)?);
        }
        if let Some(v) = pxat {
            c.arg("PXAT").arg(unix_time(v, "pxat", 1000.0)?);
        }
        if persist {
            c.arg("PERSIST");
        }
        Self::run(slf, c, Shape::Raw)
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

    /// INCRBY `amount` (default 1): the new value.
    #[pyo3(signature = (name, amount = None))]
    fn incr(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("INCRBY", name, "name")?;
        c.arg(amount.map(|a| int64(a, "amount")).transpose()?.unwrap_or(1));
        Self::run(slf, c, Shape::Raw)
    }

    /// INCRBY: the new value.
    #[pyo3(signature = (name, amount = None))]
    fn incrby(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        Self::incr(slf, name, amount)
    }

    /// DECRBY `amount` (default 1): the new value.
    #[pyo3(signature = (name, amount = None))]
    fn decr(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("DECRBY", name, "name")?;
        c.arg(amount.map(|a| int64(a, "amount")).transpose()?.unwrap_or(1));
        Self::run(slf, c, Shape::Raw)
    }

    /// DECRBY: the new value.
    #[pyo3(signature = (name, amount = None))]
    fn decrby(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        Self::decr(slf, name, amount)
    }

    /// INCRBYFLOAT: the new value as a float.
    #[pyo3(signature = (name, amount = 1.0))]
    fn incrbyfloat(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: f64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("INCRBYFLOAT", name, "name")?;
        c.arg(crate::args::float_text(amount));
        Self::run(slf, c, Shape::Float)
    }

    /// MGET: one value (or `None`) per key, in order; no keys, no values (`[]`, as redis-py,
    /// without a round trip).
    #[pyo3(signature = (keys, *args))]
    fn mget(
        slf: &Bound<'_, Self>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("MGET");
        if push_keys(&mut c, keys, args)? == 0 {
            let this = slf.get();
            if matches!(this.kind, Kind::Pipeline { .. }) {
                // A pipeline's replies are positional: an empty MGET has no slot to fill.
                return Err(value_error("mget needs at least one key inside a pipeline"));
            }
            let empty = pyo3::types::PyList::empty(slf.py()).into_any().unbind();
            return this.ready(slf.py(), empty);
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// MSET from a mapping: `True`.
    fn mset(slf: &Bound<'_, Self>, mapping: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let mapping = mapping
            .cast::<PyDict>()
            .map_err(|_| type_error("mset takes a dict of key -> value"))?;
        let mut c = redis::cmd("MSET");
        if mapping.is_empty() {
            return Err(value_error(
                "mset needs at least one key -> value pair (the dict is empty)",
            ));
        }
        for (k, v) in mapping.iter() {
            push(&mut c, &k, "key")?;
            push(&mut c, &v, "value")?;
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// APPEND: the new length.
    fn append(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("APPEND", key, "key")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// STRLEN.
    fn strlen(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("STRLEN", name, "name")?, Shape::Raw)
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
