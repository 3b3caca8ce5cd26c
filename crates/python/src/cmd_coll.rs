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

    /// LINSERT `value` before or after (`where`) the first `refvalue`: the new length, -1
    /// when `refvalue` is not in the list, 0 when the list does not exist.
    fn linsert(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        r#where: &Bound<'_, PyAny>,
        refvalue: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let text = crate::args::to_text(r#where, "where")?;
        let place = match text.to_ascii_uppercase().as_str() {
            "BEFORE" => "BEFORE",
            "AFTER" => "AFTER",
            _ => {
                return Err(value_error(format!(
                    "linsert: where must be 'BEFORE' or 'AFTER', not '{text}'"
                )));
            }
        };
        let mut c = cmd1("LINSERT", name, "name")?;
        c.arg(place);
        push(&mut c, refvalue, "refvalue")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// LMOVE the `src` end of `first_list` to the `dest` end of `second_list`: the element,
    /// or `None` when `first_list` is empty.
    #[pyo3(signature = (first_list, second_list, src = None, dest = None))]
    fn lmove(
        slf: &Bound<'_, Self>,
        first_list: &Bound<'_, PyAny>,
        second_list: &Bound<'_, PyAny>,
        src: Option<&Bound<'_, PyAny>>,
        dest: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("LMOVE", first_list, "first_list")?;
        push(&mut c, second_list, "second_list")?;
        c.arg(src.map_or(Ok("LEFT"), |v| side(v, "lmove", "src"))?);
        c.arg(dest.map_or(Ok("RIGHT"), |v| side(v, "lmove", "dest"))?);
        Self::run(slf, c, Shape::Raw)
    }

    /// RPOPLPUSH: the element moved from the tail of `src` to the head of `dst`, or `None`.
    fn rpoplpush(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("RPOPLPUSH", src, "src")?;
        push(&mut c, dst, "dst")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// BRPOPLPUSH on a dedicated connection: the element, or `None` after `timeout` seconds
    /// (required and positive, as for `blpop`).
    #[pyo3(signature = (src, dst, timeout))]
    fn brpoplpush(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
        timeout: f64,
    ) -> PyResult<Py<PyAny>> {
        blocking(slf, "BRPOPLPUSH", timeout, Shape::Raw, |c| {
            push(c, src, "src")?;
            push(c, dst, "dst")
        })
    }

    /// BLMOVE on a dedicated connection: as `lmove`, waiting up to `timeout` seconds
    /// (required and positive) for an element; `None` if none came.
    #[pyo3(signature = (first_list, second_list, timeout, src = None, dest = None))]
    fn blmove(
        slf: &Bound<'_, Self>,
        first_list: &Bound<'_, PyAny>,
        second_list: &Bound<'_, PyAny>,
        timeout: f64,
        src: Option<&Bound<'_, PyAny>>,
        dest: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let from = src.map_or(Ok("LEFT"), |v| side(v, "blmove", "src"))?;
        let to = dest.map_or(Ok("RIGHT"), |v| side(v, "blmove", "dest"))?;
        blocking(slf, "BLMOVE", timeout, Shape::Raw, |c| {
            push(c, first_list, "first_list")?;
            push(c, second_list, "second_list")?;
            c.arg(from).arg(to);
            Ok(())
        })
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

    /// SINTERSTORE into `dest`: the size of the stored intersection.
    #[pyo3(signature = (dest, keys, *args))]
    fn sinterstore(
        slf: &Bound<'_, Self>,
        dest: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_store(slf, "SINTERSTORE", dest, keys, args)
    }

    /// SUNIONSTORE into `dest`: the size of the stored union.
    #[pyo3(signature = (dest, keys, *args))]
    fn sunionstore(
        slf: &Bound<'_, Self>,
        dest: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_store(slf, "SUNIONSTORE", dest, keys, args)
    }

    /// SDIFFSTORE into `dest`: the size of the stored difference.
    #[pyo3(signature = (dest, keys, *args))]
    fn sdiffstore(
        slf: &Bound<'_, Self>,
        dest: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        set_store(slf, "SDIFFSTORE", dest, keys, args)
    }

    /// SMOVE `value` from set `src` to set `dst`: whether it was a member of `src`.
    fn smove(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("SMOVE", src, "src")?;
        push(&mut c, dst, "dst")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Bool)
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

fn set_store(
    slf: &Bound<'_, Client>,
    word: &str,
    dest: &Bound<'_, PyAny>,
    keys: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<Py<PyAny>> {
    let mut c = cmd1(word, dest, "dest")?;
    need_keys(
        slf.py(),
        push_keys(&mut c, keys, args)?,
        &word.to_ascii_lowercase(),
    )?;
    Client::run(slf, c, Shape::Raw)
}

fn blocking_pop(
    slf: &Bound<'_, Client>,
    word: &'static str,
    keys: &Bound<'_, PyAny>,
    timeout: f64,
) -> PyResult<Py<PyAny>> {
    blocking(slf, word, timeout, Shape::Tuple, |c| {
        let n = push_keys(c, keys, &PyTuple::empty(slf.py()))?;
        need_keys(slf.py(), n, word)
    })
}

/// A blocking command (`word`, the arguments `fill` pushes, then `timeout`) on a dedicated
/// connection. The timeout must be positive: a command never waits without a deadline, and
/// redis-py's default (0, forever) would silently become one here. The Python classes check
/// it first, to tell a missing timeout from a bad one.
fn blocking(
    slf: &Bound<'_, Client>,
    word: &'static str,
    timeout: f64,
    shape: Shape,
    fill: impl FnOnce(&mut redis::Cmd) -> PyResult<()>,
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
    fill(&mut c)?;
    c.arg(float_text(timeout));
    let decode = this.decode;
    this.spawn_abortable(slf.py(), move |m| async move {
        let value: Value = m.cmd_blocking(&c, block).await?;
        Ok(Reply::Value {
            value,
            shape,
            decode,
        })
    })
}

/// A list end for LMOVE/BLMOVE: `LEFT` or `RIGHT`, in any case.
fn side(v: &Bound<'_, PyAny>, command: &str, what: &str) -> PyResult<&'static str> {
    let text = crate::args::to_text(v, what)?;
    match text.to_ascii_uppercase().as_str() {
        "LEFT" => Ok("LEFT"),
        "RIGHT" => Ok("RIGHT"),
        _ => Err(value_error(format!(
            "{command}: {what} must be 'LEFT' or 'RIGHT', not '{text}'"
        ))),
    }
}
