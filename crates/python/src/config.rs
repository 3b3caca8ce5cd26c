//! `init(url, **options)` to a manager `Config`.
//!
//! With no URL the configuration comes from the environment exactly as for a Rust service
//! (`REDIS_URL`, `REDIS_PASSWORD`, every `REDIS_SSOT_*`); with a URL, from the URL alone.
//! Keyword options then override single fields. Durations are seconds, as in redis-py.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use redis_ssot::{Config, Secret};

use crate::args::type_name;
use crate::errors::{self, config_error};

/// Every option `init` accepts besides the URL.
pub(crate) const OPTIONS: &[&str] = &[
    "command_timeout",
    "connect_timeout",
    "blocking_margin",
    "backoff_base",
    "backoff_cap",
    "probe_interval",
    "breaker_failure_threshold",
    "breaker_cooldown",
    "breaker_half_open_probes",
    "breaker_success_threshold",
    "timeouts_before_reconnect",
    "max_in_flight",
    "health_interval",
    "health_timeout",
    "dedicated_pool_size",
    "topology_refresh",
    "username",
    "password",
    "db",
];

/// Builds the configuration; every error is a `ConfigError` naming the field.
pub(crate) fn build(
    py: Python<'_>,
    url: Option<&str>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<Config> {
    let mut config = match url {
        Some(url) => Config::from_url(url),
        None => Config::from_env(),
    }
    .map_err(|e| errors::to_py(py, e))?;
    if let Some(options) = options {
        for (k, v) in options.iter() {
            let name = k
                .cast::<PyString>()
                .map_err(|_| config_error(py, "options", "option names must be str".into()))?
                .to_cow()?
                .into_owned();
            if v.is_none() {
                continue;
            }
            apply(py, &mut config, &name, &v)?;
        }
    }
    config.validate().map_err(|e| errors::to_py(py, e))?;
    Ok(config)
}

fn apply(py: Python<'_>, c: &mut Config, name: &str, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let secs = |v: &Bound<'_, PyAny>| seconds(py, name, v);
    let count = |v: &Bound<'_, PyAny>| whole(py, name, v);
    let small = |v: &Bound<'_, PyAny>| -> PyResult<u32> {
        u32::try_from(whole(py, name, v)?).map_err(|_| config_error(py, name, "too large".into()))
    };
    match name {
        "command_timeout" => c.command_timeout = secs(v)?,
        "connect_timeout" => c.connect_timeout = secs(v)?,
        "blocking_margin" => c.blocking_margin = secs(v)?,
        "backoff_base" => c.backoff_base = secs(v)?,
        "backoff_cap" => c.backoff_cap = secs(v)?,
        "probe_interval" => c.probe_interval = secs(v)?,
        "breaker_cooldown" => c.breaker_cooldown = secs(v)?,
        "health_interval" => c.health_interval = secs(v)?,
        "health_timeout" => c.health_timeout = secs(v)?,
        "topology_refresh" => c.topology_refresh = secs(v)?,
        "breaker_failure_threshold" => c.breaker_failure_threshold = small(v)?,
        "breaker_half_open_probes" => c.breaker_half_open_probes = small(v)?,
        "breaker_success_threshold" => c.breaker_success_threshold = small(v)?,
        "timeouts_before_reconnect" => c.timeouts_before_reconnect = small(v)?,
        "max_in_flight" => c.max_in_flight = count(v)? as usize,
        "dedicated_pool_size" => c.dedicated_pool_size = count(v)? as usize,
        "db" => c.db = count(v)? as i64,
        "username" => c.username = Some(text(py, name, v)?),
        "password" => c.password = Some(Secret::new(text(py, name, v)?)),
        other => {
            return Err(config_error(
                py,
                other,
                format!("unknown option; known: {}", OPTIONS.join(", ")),
            ));
        }
    }
    Ok(())
}

fn seconds(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs = if v.is_instance_of::<PyBool>() {
        None
    } else if let Ok(i) = v.cast::<PyInt>() {
        i.extract::<u64>().ok().map(|n| n as f64)
    } else if let Ok(f) = v.cast::<PyFloat>() {
        Some(f.value())
    } else {
        None
    };
    match secs {
        Some(s) if s.is_finite() && (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        Some(s) => Err(config_error(
            py,
            name,
            format!("must be a non-negative number of seconds, got {s}"),
        )),
        None => Err(config_error(
            py,
            name,
            format!("must be a number of seconds, not {}", type_name(v)),
        )),
    }
}

fn whole(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    if v.is_instance_of::<PyBool>() {
        return Err(config_error(
            py,
            name,
            "must be a whole number, not bool".into(),
        ));
    }
    v.cast::<PyInt>()
        .ok()
        .and_then(|i| i.extract::<u64>().ok())
        .ok_or_else(|| {
            config_error(
                py,
                name,
                format!("must be a non-negative whole number, not {}", type_name(v)),
            )
        })
}

fn text(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.cast::<PyString>()
        .map_err(|_| config_error(py, name, format!("must be str, not {}", type_name(v))))?
        .to_cow()
        .map(|c| c.into_owned())
}
