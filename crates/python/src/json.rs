//! Python objects to JSON values and back, for the stores (which keep JSON in Redis, so a
//! Rust service and a Python service read each other's records).
//!
//! Only what JSON can hold round-trips: dict with str keys, list/tuple, str, int, float, bool
//! and None. Anything else is a `TypeError` naming the type and where it was found, rather
//! than a silent `str()` of it.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::args::type_name;
use crate::errors::{type_error, value_error};

/// A Python object as a JSON value; `what` names it in errors.
pub(crate) fn from_py(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    convert(v, what, 0)
}

const MAX_DEPTH: usize = 128;

fn convert(v: &Bound<'_, PyAny>, at: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(value_error(format!(
            "{at} is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if v.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = i.extract::<u64>() {
            return Ok(Value::Number(n.into()));
        }
        return Err(value_error(format!(
            "{at} is an integer too large for JSON"
        )));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| value_error(format!("{at} is {}, which JSON cannot hold", f.value())));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, item) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| {
                    type_error(format!(
                        "{at} has a key of type {}; JSON keys must be str",
                        type_name(&k)
                    ))
                })?
                .to_cow()?
                .into_owned();
            let inner = format!("{at}[{key:?}]");
            let value = convert(&item, &inner, depth + 1)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in v.try_iter()?.enumerate() {
            out.push(convert(&item?, &format!("{at}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    Err(type_error(format!(
        "{at} is of type {}, which cannot be stored as JSON; use dict, list, str, int, float, bool or None",
        type_name(v)
    )))
}

/// A JSON value as a Python object.
pub(crate) fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN))
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, item) in map {
                d.set_item(k, to_py(py, item)?)?;
            }
            d.into_any().unbind()
        }
    })
}
