//! Cursor scans inside one key (HSCAN, SSCAN, ZSCAN), with redis-py's names and reply shapes:
//! `(cursor, dict)`, `(cursor, list)` and `(cursor, [(member, float)])`.
//!
//! Only the single steps are native; the `*_iter` forms are plain Python loops over them in
//! `redis_ssot/__init__.py` and `redis_ssot/sync.py`, as `scan_iter` is. A key lives on one
//! node, so unlike SCAN these need no cluster walk: the manager routes them by their key.

use pyo3::prelude::*;
use redis_ssot::redis::Cmd;

use crate::args::push;
use crate::client::Client;
use crate::cmd_keys::cmd1;
use crate::reply::Shape;

/// `WORD name cursor [MATCH m] [COUNT n]`. A `count` of 0 is sent as 1, as `scan` does: Redis
/// refuses 0, and a hint of "as few as possible" means one.
fn scan_cmd(
    word: &str,
    name: &Bound<'_, PyAny>,
    cursor: u64,
    pattern: Option<&Bound<'_, PyAny>>,
    count: Option<usize>,
) -> PyResult<Cmd> {
    let mut c = cmd1(word, name, "name")?;
    c.arg(cursor);
    if let Some(m) = pattern {
        c.arg("MATCH");
        push(&mut c, m, "match")?;
    }
    if let Some(n) = count {
        c.arg("COUNT").arg(n.max(1));
    }
    Ok(c)
}

#[pymethods]
impl Client {
    /// One HSCAN step: `(next_cursor, {field: value})`, or with `no_values` (Redis 7.4+)
    /// `(next_cursor, [field, ...])`; cursor 0 again means done.
    #[pyo3(signature = (name, cursor = 0, r#match = None, count = None, no_values = None))]
    fn hscan(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        cursor: u64,
        r#match: Option<&Bound<'_, PyAny>>,
        count: Option<usize>,
        no_values: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        let mut c = scan_cmd("HSCAN", name, cursor, r#match, count)?;
        // redis-py sends NOVALUES for any `no_values` that is not None, even False, and then
        // pairs the bare fields up as a dict; here False means what it says.
        if no_values == Some(true) {
            c.arg("NOVALUES");
            return Self::run(slf, c, Shape::Scan);
        }
        Self::run(slf, c, Shape::HScan)
    }

    /// One SSCAN step: `(next_cursor, [member, ...])`.
    #[pyo3(signature = (name, cursor = 0, r#match = None, count = None))]
    fn sscan(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        cursor: u64,
        r#match: Option<&Bound<'_, PyAny>>,
        count: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let c = scan_cmd("SSCAN", name, cursor, r#match, count)?;
        Self::run(slf, c, Shape::Scan)
    }

    /// One ZSCAN step: `(next_cursor, [(member, score), ...])`, scores as floats.
    #[pyo3(signature = (name, cursor = 0, r#match = None, count = None))]
    fn zscan(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        cursor: u64,
        r#match: Option<&Bound<'_, PyAny>>,
        count: Option<usize>,
    ) -> PyResult<Py<PyAny>> {
        let c = scan_cmd("ZSCAN", name, cursor, r#match, count)?;
        Self::run(slf, c, Shape::ZScan)
    }
}
