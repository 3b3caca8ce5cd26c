//! List and set commands, with redis-py's names, arguments and reply shapes.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use redis_ssot::redis::{self, Value};

use crate::args::{float_text, push, push_all};
use crate::bridge::Reply;
use crate::client::{Client, Kind, duration};
use crate::cmd_keys::{cmd1, need_keys, push_keys};
use crate::errors::{type_error, value_error};
use crate::reply::Shape;

fn push_count(c: &mut redis::Cmd, count: Option<i64>) {
    if let Some(n) = count {
        c.arg(n);
    }
}

#[pymethods]
impl Client {
    /// LPUSH: the new length.
    #[pyo3(signature = (name, *values))]
    fn lpush(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LPUSH", name, "name")?;
        need_keys(
            slf.py(),
            push_all(&mut c, values.as_any(), "value")?,
            "lpush",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// RPUSH: the new length.
    #[pyo3(signature = (name, *values))]
    fn rpush(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("RPUSH", name, "name")?;
        need_keys(
            slf.py(),
            push_all(&mut c, values.as_any(), "value")?,
            "rpush",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// LPOP: one value (or `None`), or with `count` a list.
    #[pyo3(signature = (name, count = None))]
    fn lpop(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LPOP", name, "name")?;
        push_count(&mut c, count);
        Self::run(slf, c, Shape::Raw)
    }

    /// RPOP: one value (or `None`), or with `count` a list.
    #[pyo3(signature = (name, count = None))]
    fn rpop(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("RPOP", name, "name")?;
        push_count(&mut c, count);
        Self::run(slf, c, Shape::Raw)
    }

    /// LRANGE `start..=end` (negative from the end).
    fn lrange(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        start: i64,
        end: i64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LRANGE", name, "name")?;
        c.arg(start).arg(end);
        Self::run(slf, c, Shape::Raw)
    }

    /// LLEN.
    fn llen(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("LLEN", name, "name")?, Shape::Raw)
    }

    /// LTRIM to `start..=end`: `True`.
    fn ltrim(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        start: i64,
        end: i64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LTRIM", name, "name")?;
        c.arg(start).arg(end);
        Self::run(slf, c, Shape::Raw)
    }

    /// LINDEX: the element, or `None`.
    fn lindex(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>, index: i64) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LINDEX", name, "name")?;
        c.arg(index);
        Self::run(slf, c, Shape::Raw)
    }

    /// LSET: `True`.
    fn lset(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        index: i64,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LSET", name, "name")?;
        c.arg(index);
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// LREM: how many were removed.
    fn lrem(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: i64,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LREM", name, "name")?;
        c.arg(count);
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// BLPOP on a dedicated connection: `(key, value)`, or `None` after `timeout` seconds.
    /// The timeout has no default and must be positive: a command never waits without a
    /// deadline, and redis-py's default (0, forever) would silently become one here. The
    /// Python classes check it first, to tell a missing timeout from a bad one.
    #[pyo3(signature = (keys, timeout))]
    fn blpop(slf: &Bound<'_, Self>, keys: &Bound<'_, PyAny>, timeout: f64) -> PyResult<Py<PyAny>> {
        blocking_pop(slf, "BLPOP", keys, timeout)
    }

    /// BRPOP, as `blpop`.
    #[pyo3(signature = (keys, timeout))]
    fn brpop(slf: &Bound<'_, Self>, keys: &Bound<'_, PyAny>, timeout: f64) -> PyResult<Py<PyAny>> {
        blocking_pop(slf, "BRPOP", keys, timeout)
    }

    /// SADD: how many were added.
    #[pyo3(signature = (name, *values))]
    fn sadd(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SADD", name, "name")?;
        need_keys(
            slf.py(),
            push_all(&mut c, values.as_any(), "value")?,
            "sadd",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// SREM: how many were removed.
    #[pyo3(signature = (name, *values))]
    fn srem(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SREM", name, "name")?;
        need_keys(
            slf.py(),
            push_all(&mut c, values.as_any(), "value")?,
            "srem",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// SMEMBERS: a set (empty when the key does not exist).
    fn smembers(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("SMEMBERS", name, "name")?, Shape::Set)
    }

    /// SISMEMBER: whether `value` is a member.
    fn sismember(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SISMEMBER", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Bool)
    }

    /// SMISMEMBER: one bool per value, in order.
    #[pyo3(signature = (name, values, *args))]
    fn smismember(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SMISMEMBER", name, "name")?;
        let n = push_keys(&mut c, values, args)?;
        if n == 0 {
            return Err(value_error("smismember needs at least one value"));
        }
        Self::run(slf, c, Shape::Bools)
    }

    /// SINTER of the sets: a set.
    #[pyo3(signature = (keys, *args))]
    fn sinter(
        slf: &Bound<'_, Self>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_op(slf, "SINTER", keys, args)
    }

    /// SUNION of the sets: a set.
    #[pyo3(signature = (keys, *args))]
    fn sunion(
        slf: &Bound<'_, Self>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_op(slf, "SUNION", keys, args)
    }

    /// SDIFF: the members of the first set in none of the others, as a set.
    #[pyo3(signature = (keys, *args))]
    fn sdiff(
        slf: &Bound<'_, Self>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_op(slf, "SDIFF", keys, args)
    }

    /// SCARD.
    fn scard(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("SCARD", name, "name")?, Shape::Raw)
    }

    /// SPOP: one member (or `None`), or with `count` a list.
    #[pyo3(signature = (name, count = None))]
    fn spop(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SPOP", name, "name")?;
        push_count(&mut c, count);
        Self::run(slf, c, Shape::Raw)
    }

    /// SRANDMEMBER: one member (or `None`), or with `number` a list.
    #[pyo3(signature = (name, number = None))]
    fn srandmember(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        number: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SRANDMEMBER", name, "name")?;
        push_count(&mut c, number);
        Self::run(slf, c, Shape::Raw)
    }
}

fn set_op(
    slf: &Bound<'_, Client>,
    word: &str,
    keys: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<Py<PyAny>> {
    let mut c = redis::cmd(word);
    need_keys(
        slf.py(),
        push_keys(&mut c, keys, args)?,
        &word.to_ascii_lowercase(),
    )?;
    Client::run(slf, c, Shape::Set)
}

fn blocking_pop(
    slf: &Bound<'_, Client>,
    word: &'static str,
    keys: &Bound<'_, PyAny>,
    timeout: f64,
) -> PyResult<Py<PyAny>> {
    let this = slf.get();
    if matches!(this.kind, Kind::Pipeline { .. }) {
        return Err(type_error(format!(
            "{} cannot be used inside a pipeline",
            word.to_ascii_lowercase()
        )));
    }
    if timeout.is_nan() || timeout <= 0.0 {
        return Err(value_error(format!(
            "{} needs a positive timeout in seconds; got {} (waiting forever is not supported: \
             a command never waits without a deadline)",
            word.to_ascii_lowercase(),
            crate::args::number_text(timeout)
        )));
    }
    let block = duration(timeout, "timeout")?;
    let mut c = redis::cmd(word);
    need_keys(
        slf.py(),
        push_keys(&mut c, keys, &PyTuple::empty(slf.py()))?,
        word,
    )?;
    c.arg(float_text(timeout));
    let decode = this.decode;
    this.spawn_abortable(slf.py(), move |m| async move {
        let value: Value = m.cmd_blocking(&c, block).await?;
        Ok(Reply::Value {
            value,
            shape: Shape::Tuple,
            decode,
        })
    })
}
