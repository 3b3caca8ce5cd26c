//! Hash commands, with redis-py's names, arguments and reply shapes.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::args::{push, push_all};
use crate::client::Client;
use crate::cmd_keys::{cmd1, need_keys, push_keys};
use crate::errors::{type_error, value_error};
use crate::reply::Shape;

#[pymethods]
impl Client {
    /// HSET one field (`key`, `value`), a `mapping`, and/or flat `items`: how many fields
    /// were added.
    #[pyo3(signature = (name, key = None, value = None, mapping = None, items = None))]
    fn hset(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: Option<&Bound<'_, PyAny>>,
        value: Option<&Bound<'_, PyAny>>,
        mapping: Option<&Bound<'_, PyAny>>,
        items: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HSET", name, "name")?;
        let mut pairs = 0usize;
        match (key, value) {
            (Some(k), Some(v)) => {
                push(&mut c, k, "key")?;
                push(&mut c, v, "value")?;
                pairs += 1;
            }
            (None, None) => {}
            _ => return Err(value_error("hset: give key and value together")),
        }
        if let Some(m) = mapping {
            let m = m
                .cast::<PyDict>()
                .map_err(|_| type_error("hset: mapping must be a dict"))?;
            for (k, v) in m.iter() {
                push(&mut c, &k, "key")?;
                push(&mut c, &v, "value")?;
                pairs += 1;
            }
        }
        if let Some(items) = items {
            let n = push_all(&mut c, items, "item")?;
            if n % 2 != 0 {
                return Err(value_error("hset: items must hold field/value pairs"));
            }
            pairs += n / 2;
        }
        if pairs == 0 {
            return Err(value_error("hset: give key and value, a mapping or items"));
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// HMSET from a mapping: `True`. redis-py's deprecated alias of `hset(name,
    /// mapping=...)`, kept for migrating code; it warns as redis-py does (same category and
    /// text, so existing warning filters keep working).
    fn hmset(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        mapping: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        PyErr::warn(
            py,
            &py.get_type::<pyo3::exceptions::PyDeprecationWarning>(),
            c"Call to deprecated hmset. (Use 'hset' instead.) -- Deprecated since version 4.0.0.",
            1,
        )?;
        let m = mapping
            .cast::<PyDict>()
            .map_err(|_| type_error("hmset: mapping must be a dict"))?;
        if m.is_empty() {
            return Err(value_error(
                "hmset needs at least one field -> value pair (the mapping is empty)",
            ));
        }
        let mut c = cmd1("HMSET", name, "name")?;
        for (k, v) in m.iter() {
            push(&mut c, &k, "key")?;
            push(&mut c, &v, "value")?;
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// HSETNX: whether the field was set.
    fn hsetnx(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HSETNX", name, "name")?;
        push(&mut c, key, "key")?;
        push(&mut c, value, "value")?;
        Self::run(slf, c, Shape::Bool)
    }

    /// HGET: the field's value, or `None`.
    fn hget(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HGET", name, "name")?;
        push(&mut c, key, "key")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// HMGET: one value (or `None`) per field.
    #[pyo3(signature = (name, keys, *args))]
    fn hmget(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HMGET", name, "name")?;
        need_keys(slf.py(), push_keys(&mut c, keys, args)?, "hmget")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// HGETALL: a dict (empty when the key does not exist).
    fn hgetall(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("HGETALL", name, "name")?, Shape::Dict)
    }

    /// HDEL: how many fields were removed.
    #[pyo3(signature = (name, *keys))]
    fn hdel(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        keys: &Bound<'_, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HDEL", name, "name")?;
        need_keys(slf.py(), push_all(&mut c, keys.as_any(), "key")?, "hdel")?;
        Self::run(slf, c, Shape::Raw)
    }

    /// HINCRBY: the new value.
    #[pyo3(signature = (name, key, amount = 1))]
    fn hincrby(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        amount: i64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HINCRBY", name, "name")?;
        push(&mut c, key, "key")?;
        c.arg(amount);
        Self::run(slf, c, Shape::Raw)
    }

    /// HINCRBYFLOAT: the new value as a float.
    #[pyo3(signature = (name, key, amount = 1.0))]
    fn hincrbyfloat(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
        amount: f64,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HINCRBYFLOAT", name, "name")?;
        push(&mut c, key, "key")?;
        c.arg(crate::args::float_text(amount));
        Self::run(slf, c, Shape::Float)
    }

    /// HEXISTS: whether the field exists.
    fn hexists(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = cmd1("HEXISTS", name, "name")?;
        push(&mut c, key, "key")?;
        Self::run(slf, c, Shape::Bool)
    }

    /// HKEYS.
    fn hkeys(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("HKEYS", name, "name")?, Shape::Raw)
    }

    /// HVALS.
    fn hvals(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("HVALS", name, "name")?, Shape::Raw)
    }

    /// HLEN.
    fn hlen(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::run(slf, cmd1("HLEN", name, "name")?, Shape::Raw)
    }
}
