//! Sorted-set commands, with redis-py's names, arguments and reply shapes (scores are
//! floats; `withscores` gives `(member, score)` tuples).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use redis_ssot::redis;

use crate::args::{float_text, push, push_all};
use crate::client::Client;
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
    /// ZADD from a `{member: score}` mapping: how many were added (changed, with `ch`); with
    /// `incr`, the new score.
    #[pyo3(signature = (name, mapping, nx = false, xx = false, ch = false, incr = false, gt = false, lt = false))]
    #[allow(clippy::too_many_arguments)]
    fn zadd(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        mapping: &Bound<'_, PyAny>,
        nx: bool,
        xx: bool,
        ch: bool,
        incr: bool,
        gt: bool,
        lt: bool,
    ) -> PyResult<Py<PyAny>> {
        let mapping = mapping
            .cast::<PyDict>()
            .map_err(|_| type_error("zadd takes a dict of member -> score"))?;
        if mapping.is_empty() {
            return Err(value_error("zadd: the mapping is empty"));
        }
        if nx && xx {
            return Err(value_error("zadd: nx and xx cannot both be true"));
        }
        if incr && mapping.len() != 1 {
            return Err(value_error("zadd: incr takes exactly one member"));
        }
        let mut c = cmd1("ZADD", name, "name")?;
        for (on, word) in [
            (nx, "NX"),
            (xx, "XX"),
            (gt, "GT"),
            (lt, "LT"),
            (ch, "CH"),
            (incr, "INCR"),
        ] {
            if on {
                c.arg(word);
            }
        }
        for (member, score) in mapping.iter() {
            let score: f64 = score
                .extract()
                .map_err(|_| type_error("zadd: every score must be a number"))?;
            c.arg(float_text(score));
            push(&mut c, &member, "member")?;
        }
        Self::run(slf, c, if incr { Shape::Float } else { Shape::Raw })
    }

    /// ZREM: how many were removed.
    #[pyo3(signature = (name, *values))]
    fn zrem(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        values: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZREM", name, "name")?;
        need_keys(
            slf.py(),
            push_all(&mut c, values.as_any(), "value")?,
            "zrem",
        )?;
        Self::run(slf, c, Shape::Raw)
    }

    /// ZRANGE by rank (or by score with `byscore`), optionally reversed, with scores as
    /// `(member, score)` tuples.
    #[pyo3(signature = (name, start, end, desc = false, withscores = false, byscore = false, offset = None, num = None))]
    #[allow(clippy::too_many_arguments)]
    fn zrange(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        desc: bool,
        withscores: bool,
        byscore: bool,
        offset: Option<i64>,
        num: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZRANGE", name, "name")?;
        push(&mut c, start, "start")?;
        push(&mut c, end, "end")?;
        if byscore {
            c.arg("BYSCORE");
        }
        if desc {
            c.arg("REV");
        }
        limit(&mut c, offset, num)?;
        if withscores {
            c.arg("WITHSCORES");
        }
        Self::run(
            slf,
            c,
            if withscores {
                Shape::Scored
            } else {
                Shape::Raw
            },
        )
    }

    /// ZREVRANGE by rank.
    #[pyo3(signature = (name, start, end, withscores = false))]
    fn zrevrange(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        start: i64,
        end: i64,
        withscores: bool,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZREVRANGE", name, "name")?;
        c.arg(start).arg(end);
        if withscores {
            c.arg("WITHSCORES");
        }
        Self::run(
            slf,
            c,
            if withscores {
                Shape::Scored
            } else {
                Shape::Raw
            },
        )
    }

    /// ZRANGEBYSCORE `min..=max` (numbers or `-inf`/`+inf`/`(x`).
    #[pyo3(signature = (name, min, max, start = None, num = None, withscores = false))]
    #[allow(clippy::too_many_arguments)]
    fn zrangebyscore(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        min: &Bound<'_, PyAny>,
        max: &Bound<'_, PyAny>,
        start: Option<i64>,
        num: Option<i64>,
        withscores: bool,
    ) -> PyResult<Py<PyAny>> {
        by_score(slf, "ZRANGEBYSCORE", name, min, max, start, num, withscores)
    }

    /// ZREVRANGEBYSCORE `max..=min`.
    #[pyo3(signature = (name, max, min, start = None, num = None, withscores = false))]
    #[allow(clippy::too_many_arguments)]
    fn zrevrangebyscore(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        max: &Bound<'_, PyAny>,
        min: &Bound<'_, PyAny>,
        start: Option<i64>,
        num: Option<i64>,
        withscores: bool,
    ) -> PyResult<Py<PyAny>> {
        by_score(
            slf,
            "ZREVRANGEBYSCORE",
            name,
            max,
            min,
            start,
            num,
            withscores,
        )
    }

    /// ZSCORE: the score, or `None`.
    fn zscore(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZSCORE", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Float)
    }

    /// ZMSCORE: one score (float) or `None` per member, in order.
    fn zmscore(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        members: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZMSCORE", key, "key")?;
        if push_keys(&mut c, members, &PyTuple::empty(slf.py()))? == 0 {
            return Err(value_error("zmscore needs at least one member"));
        }
        Self::run(slf, c, Shape::Floats)
    }

    /// ZINCRBY: the new score.
    fn zincrby(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        amount: f64,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZINCRBY", name, "name")?;
        c.arg(float_text(amount));
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Float)
    }

    /// ZCARD.
    fn zcard(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("ZCARD", name, "name")?, Shape::Raw)
    }

    /// ZCOUNT of scores in `min..=max`.
    fn zcount(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        min: &Bound<'_, PyAny>,
        max: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZCOUNT", name, "name")?;
        push(&mut c, min, "min")?;
        push(&mut c, max, "max")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// ZRANK: the rank from the lowest score, or `None`.
    fn zrank(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZRANK", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// ZREVRANK: the rank from the highest score, or `None`.
    fn zrevrank(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZREVRANK", name, "name")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// ZREMRANGEBYSCORE: how many were removed.
    fn zremrangebyscore(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        min: &Bound<'_, PyAny>,
        max: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZREMRANGEBYSCORE", name, "name")?;
        push(&mut c, min, "min")?;
        push(&mut c, max, "max")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// ZREMRANGEBYRANK: how many were removed.
    fn zremrangebyrank(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        min: i64,
        max: i64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZREMRANGEBYRANK", name, "name")?;
        c.arg(min).arg(max);
        Self::run(slf, c, Shape::Raw)
    }

    /// ZPOPMIN: `(member, score)` tuples.
    #[pyo3(signature = (name, count = None))]
    fn zpopmin(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZPOPMIN", name, "name")?;
        push_count(&mut c, count);
        Self::run(slf, c, Shape::Scored)
    }

    /// ZPOPMAX: `(member, score)` tuples.
    #[pyo3(signature = (name, count = None))]
    fn zpopmax(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        count: Option<i64>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("ZPOPMAX", name, "name")?;
        push_count(&mut c, count);
        Self::run(slf, c, Shape::Scored)
    }
}

fn limit(c: &mut redis::Cmd, offset: Option<i64>, num: Option<i64>) -> PyResult<()> {
    match (offset, num) {
        (Some(o), Some(n)) => {
            c.arg("LIMIT").arg(o).arg(n);
            Ok(())
        }
        (None, None) => Ok(()),
        _ => Err(value_error("give offset/start and num together")),
    }
}

#[allow(clippy::too_many_arguments)]
fn by_score(
    slf: &Bound<'_, Client>,
    word: &str,
    name: &Bound<'_, PyAny>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    start: Option<i64>,
    num: Option<i64>,
    withscores: bool,
) -> PyResult<Py<PyAny>> {
    let mut c = cmd1(word, name, "name")?;
    push(&mut c, a, "min")?;
    push(&mut c, b, "max")?;
    if withscores {
        c.arg("WITHSCORES");
    }
    limit(&mut c, start, num)?;
    Client::run(
        slf,
        c,
        if withscores {
            Shape::Scored
        } else {
            Shape::Raw
        },
    )
}
