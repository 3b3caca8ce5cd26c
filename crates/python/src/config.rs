//! `init(url, **options)` to a manager `Config`.
//!
//! With no URL the configuration comes from the environment exactly as for a Rust service
//! (`REDIS_URL`, `REDIS_PASSWORD`, every `REDIS_SSOT_*`); with a URL, from the URL alone.
//! Keyword options then override single fields. Durations are seconds, as in redis-py.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use redis_ssot::{Config, Secret};

use crate::args::{number_text, type_name};
use crate::client::MAX_SECONDS;
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
    let count = |v: &Bound<'_, PyAny>| whole(py, name, v, u64::from(u32::MAX)) as PyResult<u64>;
    let small = |v: &Bound<'_, PyAny>| -> PyResult<u32> {
        Ok(whole(py, name, v, u64::from(u32::MAX))? as u32)
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

/// A Python number as `f64`, `None` if it is not an int or float (a bool is not a number
/// here). Ints too large for `f64` are infinite, with their sign.
fn number(v: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    if v.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    if let Ok(i) = v.cast::<PyInt>() {
        return Ok(Some(match i.extract::<i64>() {
            Ok(n) => n as f64,
            Err(_) if i.lt(0)? => f64::NEG_INFINITY,
            Err(_) => f64::INFINITY,
        }));
    }
    Ok(v.cast::<PyFloat>().ok().map(|f| f.value()))
}

fn seconds(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let Some(s) = number(v)? else {
        return Err(config_error(
            py,
            name,
            format!("must be a number of seconds, not {}", type_name(v)),
        ));
    };
    let problem = if s.is_nan() {
        "must be a number of seconds, not nan".to_string()
    } else if s < 0.0 {
        format!("must not be negative, got {}", shown(v, s))
    } else if s > MAX_SECONDS {
        format!(
            "must be at most {MAX_SECONDS} seconds (about 31 years), got {}",
            shown(v, s)
        )
    } else {
        return Ok(Duration::from_secs_f64(s));
    };
    Err(config_error(py, name, problem))
}

/// A number as the caller wrote it, short: an int exactly (unless it is huge), a float as
/// Python prints it for everyday values (`1e300` for huge ones).
fn shown(v: &Bound<'_, PyAny>, n: f64) -> String {
    match v.cast::<PyInt>() {
        Ok(i) => {
            let t = i.to_string();
            if t.len() <= 24 {
                t
            } else {
                format!("a {}-digit number", t.trim_start_matches('-').len())
            }
        }
        Err(_) => number_text(n),
    }
}

/// A whole number from 0 to `max`.
fn whole(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>, max: u64) -> PyResult<u64> {
    let int = (!v.is_instance_of::<PyBool>())
        .then(|| v.cast::<PyInt>().ok())
        .flatten();
    let Some(i) = int else {
        return Err(config_error(
            py,
            name,
            format!("must be a whole number, not {}", type_name(v)),
        ));
    };
    match i.extract::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ if i.lt(0)? => Err(config_error(
            py,
            name,
            format!("must not be negative, got {}", shown(v, 0.0)),
        )),
        _ => Err(config_error(
            py,
            name,
            format!("must be at most {max}, got {}", shown(v, 0.0)),
        )),
    }
}

fn text(py: Python<'_>, name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.cast::<PyString>()
        .map_err(|_| config_error(py, name, format!("must be str, not {}", type_name(v))))?
        .to_cow()
        .map(|c| c.into_owned())
}

/// The first setting in which `new` differs from `old`, with both values as words (a
/// password is never shown), or `None` when they are the same configuration.
pub(crate) fn difference(old: &Config, new: &Config) -> Option<(&'static str, String, String)> {
    if old == new {
        return None;
    }
    if old.redacted_url() != new.redacted_url() {
        return Some(("url", old.redacted_url(), new.redacted_url()));
    }
    if old.password != new.password {
        return Some((
            "password",
            "one password".into(),
            "a different password".into(),
        ));
    }
    let secs = |d: Duration| format!("{} s", number_text(d.as_secs_f64()));
    macro_rules! compare {
        ($($field:ident => $show:expr),* $(,)?) => {$(
            if old.$field != new.$field {
                return Some((stringify!($field), $show(old.$field), $show(new.$field)));
            }
        )*};
    }
    let n = |v: u64| v.to_string();
    compare!(
        command_timeout => secs,
        connect_timeout => secs,
        blocking_margin => secs,
        backoff_base => secs,
        backoff_cap => secs,
        probe_interval => secs,
        breaker_cooldown => secs,
        health_interval => secs,
        health_timeout => secs,
        topology_refresh => secs,
        breaker_failure_threshold => |v: u32| n(u64::from(v)),
        breaker_half_open_probes => |v: u32| n(u64::from(v)),
        breaker_success_threshold => |v: u32| n(u64::from(v)),
        timeouts_before_reconnect => |v: u32| n(u64::from(v)),
        max_in_flight => |v: usize| n(v as u64),
        dedicated_pool_size => |v: usize| n(v as u64),
        db => |v: i64| v.to_string(),
    );
    Some((
        "url",
        old.redacted_url(),
        "the same URL with other TLS, Sentinel or username settings".into(),
    ))
}
