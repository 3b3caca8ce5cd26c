//! Server and script-cache commands (TIME, FLUSHALL, SCRIPT LOAD/EXISTS), with redis-py's
//! names and reply shapes.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use redis_ssot::redis;

use crate::args::{push, push_all};
use crate::client::Client;
use crate::errors::value_error;
use crate::reply::Shape;

#[pymethods]
impl Client {
    /// TIME: the server's clock as `(seconds, microseconds)`, two ints.
    fn time(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::run(slf, redis::cmd("TIME"), Shape::Time)
    }

    /// FLUSHALL (every database of the server): `True`.
    #[pyo3(signature = (asynchronous = false))]
    fn flushall(slf: &Bound<'_, Self>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("FLUSHALL");
        if asynchronous {
            c.arg("ASYNC");
        }
        Self::run(slf, c, Shape::Raw)
    }

    /// SCRIPT LOAD: the script's SHA1, always as `str` (as redis-py returns it, whatever the
    /// decoding), ready for `evalsha`.
    fn script_load(slf: &Bound<'_, Self>, script: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("SCRIPT");
        c.arg("LOAD");
        push(&mut c, script, "script")?;
        Self::run(slf, c, Shape::Text)
    }

    /// SCRIPT EXISTS: one bool per SHA1, in order.
    #[pyo3(signature = (*args))]
    fn script_exists(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let mut c = redis::cmd("SCRIPT");
        c.arg("EXISTS");
        if push_all(&mut c, args.as_any(), "sha")? == 0 {
            return Err(value_error("script_exists needs at least one sha"));
        }
        Self::run(slf, c, Shape::Bools)
    }
}
