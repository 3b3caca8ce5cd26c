//! Python values to Redis arguments, with redis-py's encoding rules.
//!
//! `bytes` go as they are, `str` as UTF-8, `int` and `float` as their decimal text. `bool`
//! and `None` are refused (as redis-py does): `True` would silently become `1` and `None`
//! the text `None`, and both are almost always a bug at the call site.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString};
use redis_ssot::redis::Cmd;

use crate::errors::type_error;

/// Appends one argument to `cmd`. `what` names it in the error (`key`, `value`, ...).
#[inline]
pub(crate) fn push(cmd: &mut Cmd, v: &Bound<'_, PyAny>, what: &str) -> PyResult<()> {
    if let Ok(b) = v.cast::<PyBytes>() {
        cmd.arg(b.as_bytes());
    } else if let Ok(s) = v.cast::<PyString>() {
        // abi3 for 3.9 has no borrowed UTF-8 view of a str; one encode is the cheapest way.
        cmd.arg(s.encode_utf8()?.as_bytes());
    } else if v.is_instance_of::<PyBool>() {
        return Err(type_error(format!(
            "{what} must be bytes, str, int or float, not bool (convert it first, e.g. to 1/0 or \"true\")"
        )));
    } else if let Ok(i) = v.cast::<PyInt>() {
        match i.extract::<i64>() {
            Ok(n) => {
                cmd.arg(n);
            }
            Err(_) => {
                cmd.arg(&*i.str()?.to_cow()?);
            }
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        cmd.arg(float_text(f.value()));
    } else if let Ok(b) = v.cast::<PyByteArray>() {
        cmd.arg(b.to_vec());
    } else {
        return Err(type_error(format!(
            "{what} must be bytes, str, int or float, not {}",
            type_name(v)
        )));
    }
    Ok(())
}

/// Appends every item of an iterable argument (`*names`, a list of keys, ...).
pub(crate) fn push_all(cmd: &mut Cmd, items: &Bound<'_, PyAny>, what: &str) -> PyResult<usize> {
    let mut n = 0;
    for item in items.try_iter()? {
        push(cmd, &item?, what)?;
        n += 1;
    }
    Ok(n)
}

/// A value's text as Redis reads numbers: `1.5`, `-inf`, `100`.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{f}")
    }
}

/// A number for a message: as Python would print it for everyday values, in exponent form
/// for huge ones (`1e300`, not three hundred digits).
pub(crate) fn number_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() || f.abs() < 1e15 {
        float_text(f)
    } else {
        format!("{f:e}")
    }
}

/// An argument as owned bytes (for the stores, which take `&str` names or raw values).
pub(crate) fn to_bytes(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        Ok(b.as_bytes().to_vec())
    } else if let Ok(s) = v.cast::<PyString>() {
        Ok(s.encode_utf8()?.as_bytes().to_vec())
    } else if v.is_instance_of::<PyBool>() {
        Err(type_error(format!(
            "{what} must be bytes, str, int or float, not bool"
        )))
    } else if let Ok(i) = v.cast::<PyInt>() {
        Ok(i.str()?.to_cow()?.as_bytes().to_vec())
    } else if let Ok(f) = v.cast::<PyFloat>() {
        Ok(float_text(f.value()).into_bytes())
    } else if let Ok(b) = v.cast::<PyByteArray>() {
        Ok(b.to_vec())
    } else {
        Err(type_error(format!(
            "{what} must be bytes, str, int or float, not {}",
            type_name(v)
        )))
    }
}

/// A name the stores take as text: `str`, or `bytes` holding UTF-8.
pub(crate) fn to_text(v: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|_| type_error(format!("{what} must be valid UTF-8 text")));
    }
    Err(type_error(format!(
        "{what} must be str, not {}",
        type_name(v)
    )))
}

/// The type name of a value, for error messages.
pub(crate) fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".into())
}
