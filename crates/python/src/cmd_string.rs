//! String commands (GET/SET and their variants, counters, ranges, MGET/MSET), with
//! redis-py's names, arguments and reply shapes.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use redis_ssot::redis;

use crate::args::push;
use crate::client::{Client, Kind};
use crate::cmd_keys::{cmd1, int64, push_keys, unix_time, whole};
use crate::errors::{type_error, value_error};
use crate::reply::Shape;

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
        Self::run(slf, pairs("MSET", mapping)?, Shape::Raw)
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

    /// GETSET: the old value (or `None`), and `value` is set (with no TTL).
    fn getset(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("GETSET", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// GETRANGE `start..=end` (negative from the end): the substring, `b""` for a missing key.
    fn getrange(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("GETRANGE", key, "key")?;
        c.arg(int64(start, "start")?).arg(int64(end, "end")?);
        Self::run(slf, c, Shape::Raw)
    }

    /// SETRANGE: overwrites from byte `offset` (zero-padding a shorter value); the new length.
    fn setrange(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        offset: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SETRANGE", name, "name")?;
        c.arg(int64(offset, "offset")?);
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// PSETEX: set with a TTL in milliseconds (int or timedelta): `True`.
    fn psetex(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        time_ms: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("PSETEX", name, "name")?;
        c.arg(whole(time_ms, "time_ms", 1.0)?);
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// MSETNX from a mapping: `True` if every key was set, `False` (and none set) if any
    /// existed.
    fn msetnx(slf: &Bound<'_, Self>, mapping: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, pairs("MSETNX", mapping)?, Shape::Bool)
    }
}

/// `WORD k1 v1 k2 v2 ...` from a dict (MSET, MSETNX), refusing an empty one: Redis would
/// answer a bare `MSET` with a syntax error.
fn pairs(word: &str, mapping: &Bound<'_, PyAny>) -> PyResult<redis::Cmd> {
    let what = word.to_ascii_lowercase();
    let mapping = mapping
        .cast::<PyDict>()
        .map_err(|_| type_error(format!("{what} takes a dict of key -> value")))?;
    if mapping.is_empty() {
        return Err(value_error(format!(
            "{what} needs at least one key -> value pair (the dict is empty)"
        )));
    }
    let mut c = redis::cmd(word);
    for (k, v) in mapping.iter() {
        push(&mut c, &k, "key")?;
        push(&mut c, &v, "value")?;
    }
    Ok(c)
}
