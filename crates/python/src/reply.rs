//! Redis replies to Python values, shaped as redis-py returns them.
//!
//! The manager hands back a `redis::Value`; each command says which [`Shape`] its reply takes
//! in Python (`SET` is `True`/`None`, `HGETALL` a dict, `ZSCORE` a float, ...). Strings are
//! `bytes`, or `str` when the handle was made with `decode_responses=True`; a reply that is
//! not valid UTF-8 is then a `DecodeError`, never a string with replacement characters.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyList, PySet, PyString, PyTuple};
use redis_ssot::redis::Value;

use crate::errors::decode_error;

/// How a command's reply looks in Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The reply as it is: bulk strings as bytes/str, integers as int, arrays as lists,
    /// `OK` as `True`.
    Raw,
    /// An integer, `OK` or a status such as `PONG` as a bool (`EXPIRE`, `SISMEMBER`, `PING`).
    Bool,
    /// `SET`: `True` when written, `None` when NX/XX refused.
    SetResult,
    /// A float, or `None` for nil (`ZSCORE`, `ZINCRBY`, `INCRBYFLOAT`).
    Float,
    /// An array of numbers or nils as a list of floats and `None`s (`ZMSCORE`).
    Floats,
    /// Field/value pairs as a dict (`HGETALL`).
    Dict,
    /// An array as a Python set (`SMEMBERS`).
    Set,
    /// An array of integers as a list of bools (`SMISMEMBER`).
    Bools,
    /// Members with scores as a list of `(member, float)` tuples (`ZRANGE ... WITHSCORES`).
    Scored,
    /// `[cursor, keys]` as `(int, list)` (`SCAN`, `SSCAN`).
    Scan,
    /// `[cursor, field/value pairs]` as `(int, dict)` (`HSCAN`).
    HScan,
    /// `[cursor, member/score pairs]` as `(int, [(member, float)])` (`ZSCAN`).
    ZScan,
    /// A string as `str` whatever the decoding (`SCRIPT LOAD`'s SHA1, as redis-py).
    Text,
    /// `[seconds, microseconds]` as `(int, int)` (`TIME`).
    Time,
    /// An array as a tuple, nil as `None` (`BLPOP`).
    Tuple,
    /// `None` whatever the reply (commands whose reply carries nothing).
    Nothing,
}

/// Converts `value` to Python as `shape` says.
pub(crate) fn to_py(
    py: Python<'_>,
    value: Value,
    shape: Shape,
    decode: bool,
) -> PyResult<Py<PyAny>> {
    match shape {
        Shape::Raw => raw(py, value, decode),
        Shape::Nothing => Ok(py.None()),
        Shape::Bool => Ok(match value {
            Value::Int(n) => pybool(py, n != 0),
            Value::Okay | Value::SimpleString(_) => pybool(py, true),
            Value::Boolean(b) => pybool(py, b),
            Value::Nil => pybool(py, false),
            other => raw(py, other, decode)?,
        }),
        Shape::SetResult => Ok(match value {
            Value::Okay => pybool(py, true),
            Value::Nil => py.None(),
            other => raw(py, other, decode)?,
        }),
        Shape::Float => match value {
            Value::Nil => Ok(py.None()),
            v => Ok(PyFloat::new(py, float_of(py, v)?).into_any().unbind()),
        },
        Shape::Floats => {
            let list = PyList::empty(py);
            for item in items(value) {
                list.append(to_py(py, item, Shape::Float, decode)?)?;
            }
            Ok(list.into_any().unbind())
        }
        Shape::Dict => dict(py, value, decode),
        Shape::Set => {
            let set = PySet::empty(py)?;
            for item in items(value) {
                set.add(raw(py, item, decode)?)?;
            }
            Ok(set.into_any().unbind())
        }
        Shape::Bools => {
            let list = pyo3::types::PyList::empty(py);
            for item in items(value) {
                list.append(to_py(py, item, Shape::Bool, decode)?)?;
            }
            Ok(list.into_any().unbind())
        }
        Shape::Scored => scored(py, value, decode),
        Shape::Scan | Shape::HScan | Shape::ZScan => scan(py, value, shape, decode),
        Shape::Text => raw(py, value, true),
        Shape::Time => {
            let parts: PyResult<Vec<Py<PyAny>>> = items(value)
                .into_iter()
                .map(|v| Ok(int_of(py, v)?.into_pyobject(py)?.into_any().unbind()))
                .collect();
            Ok(PyTuple::new(py, parts?)?.into_any().unbind())
        }
        Shape::Tuple => match value {
            Value::Nil => Ok(py.None()),
            v => {
                let parts: PyResult<Vec<Py<PyAny>>> =
                    items(v).into_iter().map(|i| raw(py, i, decode)).collect();
                Ok(PyTuple::new(py, parts?)?.into_any().unbind())
            }
        },
    }
}

/// A cursor reply: the cursor as an int, the batch as `shape` says.
fn scan(py: Python<'_>, value: Value, shape: Shape, decode: bool) -> PyResult<Py<PyAny>> {
    let mut parts = items(value).into_iter();
    let (Some(cursor), Some(batch)) = (parts.next(), parts.next()) else {
        return Err(decode_error(
            py,
            "a SCAN-family command replied with something other than [cursor, items]".into(),
        ));
    };
    let cursor = int_of(py, cursor)?;
    let batch = match shape {
        Shape::HScan => dict(py, batch, decode)?,
        Shape::ZScan => scored(py, batch, decode)?,
        _ => raw(py, batch, decode)?,
    };
    Ok(
        PyTuple::new(py, [cursor.into_pyobject(py)?.into_any().unbind(), batch])?
            .into_any()
            .unbind(),
    )
}

fn pybool(py: Python<'_>, b: bool) -> Py<PyAny> {
    pyo3::types::PyBool::new(py, b)
        .to_owned()
        .into_any()
        .unbind()
}

/// A string reply as `bytes`, or `str` when decoding.
pub(crate) fn string(py: Python<'_>, bytes: &[u8], decode: bool) -> PyResult<Py<PyAny>> {
    if decode {
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(PyString::new(py, s).into_any().unbind()),
            Err(_) => Err(decode_error(
                py,
                "the reply is not valid UTF-8 text; use a handle without decode_responses to get bytes".into(),
            )),
        }
    } else {
        Ok(PyBytes::new(py, bytes).into_any().unbind())
    }
}

/// The generic conversion.
pub(crate) fn raw(py: Python<'_>, value: Value, decode: bool) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Nil => py.None(),
        Value::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
        Value::BulkString(b) => string(py, &b, decode)?,
        Value::SimpleString(s) => string(py, s.as_bytes(), decode)?,
        Value::Okay => pybool(py, true),
        Value::Double(f) => PyFloat::new(py, f).into_any().unbind(),
        Value::Boolean(b) => pybool(py, b),
        Value::VerbatimString { text, .. } => PyString::new(py, &text).into_any().unbind(),
        Value::BigNumber(digits) => {
            let text = String::from_utf8_lossy(&digits).into_owned();
            py.get_type::<pyo3::types::PyInt>().call1((text,))?.unbind()
        }
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            let list = PyList::empty(py);
            for item in items {
                list.append(raw(py, item, decode)?)?;
            }
            list.into_any().unbind()
        }
        Value::Map(pairs) => {
            let d = PyDict::new(py);
            for (k, v) in pairs {
                d.set_item(raw(py, k, decode)?, raw(py, v, decode)?)?;
            }
            d.into_any().unbind()
        }
        Value::Attribute { data, .. } => raw(py, *data, decode)?,
        Value::ServerError(e) => {
            return Err(crate::errors::to_py(
                py,
                redis_ssot::Error::Redis {
                    code: e.code().to_string(),
                    message: e.details().unwrap_or_default().to_string(),
                },
            ));
        }
        // `Value` is non-exhaustive; a reply type added to redis-rs later is reported, not
        // guessed at.
        other => {
            return Err(decode_error(
                py,
                format!("unsupported reply type: {}", kind(&other)),
            ));
        }
    })
}

/// The elements of an array-like reply (a scalar is a list of one; nil is empty).
fn items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(v) | Value::Set(v) | Value::Push { data: v, .. } => v,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        Value::Nil => Vec::new(),
        other => vec![other],
    }
}

fn dict(py: Python<'_>, value: Value, decode: bool) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    let mut it = items(value).into_iter();
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or(Value::Nil);
        d.set_item(raw(py, k, decode)?, raw(py, v, decode)?)?;
    }
    Ok(d.into_any().unbind())
}

fn scored(py: Python<'_>, value: Value, decode: bool) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    let flat = items(value);
    // RESP3 nests [member, score] pairs; RESP2 flattens them.
    let nested = flat.first().is_some_and(|v| matches!(v, Value::Array(_)));
    let push = |m: Value, s: Value| -> PyResult<()> {
        let member = raw(py, m, decode)?;
        let score = PyFloat::new(py, float_of(py, s)?).into_any().unbind();
        list.append(PyTuple::new(py, [member, score])?)
    };
    if nested {
        for pair in flat {
            let mut p = items(pair).into_iter();
            push(
                p.next().unwrap_or(Value::Nil),
                p.next().unwrap_or(Value::Nil),
            )?;
        }
    } else {
        let mut it = flat.into_iter();
        while let Some(m) = it.next() {
            push(m, it.next().unwrap_or(Value::Nil))?;
        }
    }
    Ok(list.into_any().unbind())
}

/// A numeric reply (bulk string, double or integer) as f64.
pub(crate) fn float_of(py: Python<'_>, v: Value) -> PyResult<f64> {
    match v {
        Value::Double(f) => Ok(f),
        Value::Int(n) => Ok(n as f64),
        Value::BulkString(b) => parse_float(&b).ok_or_else(|| not_a_number(py, &b)),
        Value::SimpleString(s) => {
            parse_float(s.as_bytes()).ok_or_else(|| not_a_number(py, s.as_bytes()))
        }
        other => Err(decode_error(
            py,
            format!("expected a number in the reply, got {}", kind(&other)),
        )),
    }
}

fn parse_float(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn not_a_number(py: Python<'_>, b: &[u8]) -> PyErr {
    decode_error(
        py,
        format!(
            "expected a number in the reply, got {:?}",
            String::from_utf8_lossy(b)
        ),
    )
}

/// An integer reply (or its text) as i64.
pub(crate) fn int_of(py: Python<'_>, v: Value) -> PyResult<i64> {
    match v {
        Value::Int(n) => Ok(n),
        Value::BulkString(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                decode_error(
                    py,
                    format!(
                        "expected an integer in the reply, got {:?}",
                        String::from_utf8_lossy(&b)
                    ),
                )
            }),
        other => Err(decode_error(
            py,
            format!("expected an integer in the reply, got {}", kind(&other)),
        )),
    }
}

/// A reply's kind in words, for errors.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) | Value::SimpleString(_) | Value::VerbatimString { .. } => "a string",
        Value::Array(_) | Value::Set(_) | Value::Push { .. } => "an array",
        Value::Map(_) | Value::Attribute { .. } => "a map",
        Value::Okay => "OK",
        Value::Double(_) => "a double",
        Value::Boolean(_) => "a boolean",
        Value::BigNumber(_) => "a big number",
        Value::ServerError(_) => "an error",
        _ => "a reply of an unknown type",
    }
}
