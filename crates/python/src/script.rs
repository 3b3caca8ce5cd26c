//! `Script`: redis-py's `register_script` object.
//!
//! Calling it runs EVALSHA through the manager's `invoke`, which falls back to EVAL on
//! `NOSCRIPT`, so a script survives a server restart that emptied the script cache. Called
//! with a pipeline as `client`, it is buffered as an EVAL of the full text.

use std::sync::Arc;

use pyo3::prelude::*;
use redis_ssot::redis::{self, Value};

use crate::args::to_bytes;
use crate::bridge::Reply;
use crate::client::{Client, Kind};
use crate::reply::Shape;

/// A Lua script registered with a manager handle.
#[pyclass(frozen, module = "redis_ssot._native", name = "Script")]
pub(crate) struct Script {
    script: Arc<redis::Script>,
    text: String,
    client: Py<Client>,
}

fn list(v: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<Vec<u8>>> {
    match v {
        None => Ok(Vec::new()),
        Some(v) => v.try_iter()?.map(|i| to_bytes(&i?, what)).collect(),
    }
}

#[pymethods]
impl Script {
    /// Registers `script` (Lua source) for `client`.
    #[new]
    fn new(client: &Bound<'_, Client>, script: &Bound<'_, PyAny>) -> PyResult<Script> {
        let text = crate::args::to_text(script, "script")?;
        Ok(Script {
            script: Arc::new(redis::Script::new(&text)),
            text,
            client: client.clone().unbind(),
        })
    }

    /// The script's SHA1, as Redis names it.
    #[getter]
    fn sha(&self) -> String {
        self.script.get_hash().to_string()
    }

    /// Runs the script with `keys` and `args`, on `client` if given (a pipeline buffers it).
    #[pyo3(signature = (keys = None, args = None, client = None))]
    fn __call__(
        &self,
        py: Python<'_>,
        keys: Option<&Bound<'_, PyAny>>,
        args: Option<&Bound<'_, PyAny>>,
        client: Option<&Bound<'_, Client>>,
    ) -> PyResult<Py<PyAny>> {
        let keys = list(keys, "key")?;
        let args = list(args, "argument")?;
        let client = match client {
            Some(c) => c.clone(),
            None => self.client.bind(py).clone(),
        };
        let c = client.get();
        if matches!(c.kind, Kind::Pipeline { .. }) {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(&self.text).arg(keys.len());
            for k in keys.iter().chain(&args) {
                cmd.arg(k.as_slice());
            }
            return Client::run(&client, cmd, Shape::Raw);
        }
        let script = self.script.clone();
        let decode = c.decode;
        c.spawn(py, move |m| async move {
            let mut inv = script.prepare_invoke();
            for k in &keys {
                inv.key(k.as_slice());
            }
            for a in &args {
                inv.arg(a.as_slice());
            }
            let value: Value = m.invoke(&inv).await?;
            Ok(Reply::Value {
                value,
                shape: Shape::Raw,
                decode,
            })
        })
    }
}
