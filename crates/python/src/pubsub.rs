//! `PubSub`: redis-py's pub/sub object over one [`DynamicSubscription`].
//!
//! One dedicated connection per `PubSub` whatever the number of channels and patterns; they
//! can be added and removed at any time (GLIDE fixes them at creation). After the connection
//! is lost and every channel is subscribed again, the next message is one of type `gap`:
//! whatever was published in between is gone, and the subscriber is told.
//!
//! The Python class (`redis_ssot.PubSub`) adds the subscribe/unsubscribe confirmation
//! messages redis-py users expect, `get_message` and `listen`.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use redis_ssot::{DynamicSubscription, PubSubControl, PubSubMessage};
use tokio::sync::watch;

use crate::args::to_bytes;
use crate::bridge::{self, Mode, Reply};
use crate::client::{Client, duration};
use crate::core::Core;
use crate::errors::closed_with;
use crate::reply::string;
use crate::runtime::Local;

/// The subscription and the signal that it was closed (which ends a `_next` waiting on it).
struct Live {
    control: PubSubControl,
    sub: tokio::sync::Mutex<Option<DynamicSubscription>>,
    closed: watch::Sender<bool>,
}

/// The native half of `redis_ssot.PubSub`.
#[pyclass(frozen, subclass, module = "redis_ssot._native", name = "PubSub")]
pub(crate) struct PubSub {
    core: Arc<Core>,
    decode: bool,
    mode: Mode,
    live: Mutex<Option<Local<Arc<Live>>>>,
}

const FORKED: &str = "this PubSub was made before os.fork() and belongs to the parent process; \
                      call manager.pubsub() again in this process";

impl PubSub {
    /// This process's subscription.
    fn live(&self, py: Python<'_>) -> PyResult<Arc<Live>> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        match live.as_ref() {
            None => Err(closed_with(
                py,
                "this PubSub is closed; make a new one with manager.pubsub()",
            )),
            Some(l) => l.get().cloned().ok_or_else(|| closed_with(py, FORKED)),
        }
    }

    fn change(
        &self,
        py: Python<'_>,
        names: &Bound<'_, PyTuple>,
        pattern: bool,
        subscribe: bool,
    ) -> PyResult<Py<PyAny>> {
        let what = if pattern { "pattern" } else { "channel" };
        let names: Vec<Vec<u8>> = names
            .iter()
            .map(|n| to_bytes(&n, what))
            .collect::<PyResult<_>>()?;
        let live = self.live(py)?;
        let lease = self.core.lease(py)?;
        bridge::submit(py, self.mode, lease.rt, async move {
            let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
            let c = &live.control;
            let count = match (subscribe, pattern) {
                (true, false) => c.subscribe(&refs).await?,
                (true, true) => c.psubscribe(&refs).await?,
                (false, false) => c.unsubscribe(&refs).await?,
                (false, true) => c.punsubscribe(&refs).await?,
            };
            Ok(Reply::Later(Box::new(move |py| {
                Ok((count as u64).into_pyobject(py)?.into_any().unbind())
            })))
        })
    }
}

/// A message as redis-py's dict: `type`, `pattern`, `channel`, `data`.
fn message_dict(py: Python<'_>, msg: PubSubMessage, decode: bool) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    match msg {
        PubSubMessage::Message {
            channel,
            pattern,
            payload,
        } => {
            d.set_item(
                "type",
                if pattern.is_some() {
                    "pmessage"
                } else {
                    "message"
                },
            )?;
            match pattern {
                Some(p) => d.set_item("pattern", string(py, &p, decode)?)?,
                None => d.set_item("pattern", py.None())?,
            }
            d.set_item("channel", string(py, &channel, decode)?)?;
            d.set_item("data", string(py, &payload, decode)?)?;
        }
        PubSubMessage::Gap => {
            d.set_item("type", "gap")?;
            d.set_item("pattern", py.None())?;
            d.set_item("channel", py.None())?;
            d.set_item("data", py.None())?;
        }
    }
    Ok(d.into_any().unbind())
}

#[pymethods]
impl PubSub {
    /// A pub/sub object on `manager`'s manager, with no channels yet (and no connection
    /// until the first subscribe).
    #[new]
    fn new(py: Python<'_>, manager: &Bound<'_, Client>) -> PyResult<PubSub> {
        let m = manager.get();
        let lease = m.core.lease(py)?;
        let _entered = lease.rt.enter();
        let sub = lease.manager.dynamic_subscription();
        let live = Live {
            control: sub.control(),
            sub: tokio::sync::Mutex::new(Some(sub)),
            closed: watch::channel(false).0,
        };
        Ok(PubSub {
            core: m.core.clone(),
            decode: m.decode,
            mode: m.mode(),
            live: Mutex::new(Some(Local::new(Arc::new(live)))),
        })
    }

    /// SUBSCRIBE; resolves once the server confirmed, to the number of subscriptions.
    #[pyo3(signature = (*channels))]
    fn _subscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.change(py, channels, false, true)
    }

    /// PSUBSCRIBE, as `_subscribe`.
    #[pyo3(signature = (*patterns))]
    fn _psubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.change(py, patterns, true, true)
    }

    /// UNSUBSCRIBE (all channels when none given); resolves to the subscriptions left.
    #[pyo3(signature = (*channels))]
    fn _unsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.change(py, channels, false, false)
    }

    /// PUNSUBSCRIBE (all patterns when none given).
    #[pyo3(signature = (*patterns))]
    fn _punsubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.change(py, patterns, true, false)
    }

    /// The next message dict, waiting up to `timeout` seconds (`None`: until one comes);
    /// resolves to `None` when none came in time. Raises `Closed` once closed.
    #[pyo3(signature = (timeout = None))]
    fn _next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let live = self.live(py)?;
        let decode = self.decode;
        // A message already waiting needs no trip through the runtime.
        if let Ok(mut guard) = live.sub.try_lock()
            && let Some(msg) = guard.as_mut().and_then(DynamicSubscription::try_recv)
        {
            drop(guard);
            return bridge::done(py, self.mode, message_dict(py, msg, decode)?);
        }
        let wait = timeout.map(|t| duration(t, "timeout")).transpose()?;
        let lease = self.core.lease(py)?;
        // Abortable: a cancelled wait must let go of the subscription, or it would swallow
        // the next message.
        bridge::submit_abortable(py, self.mode, lease.rt, async move {
            let mut closed = live.closed.subscribe();
            let mut guard = live.sub.lock().await;
            let Some(sub) = guard.as_mut() else {
                return Err(redis_ssot::Error::Closed);
            };
            let next = async {
                match wait {
                    Some(t) => tokio::time::timeout(t, sub.recv()).await.ok(),
                    None => Some(sub.recv().await),
                }
            };
            let msg = tokio::select! {
                m = next => m,
                _ = closed.wait_for(|c| *c) => return Err(redis_ssot::Error::Closed),
            };
            let msg = match msg {
                Some(Some(m)) => Some(m),
                Some(None) => return Err(redis_ssot::Error::Closed),
                None => None,
            };
            Ok(Reply::Later(Box::new(move |py| match msg {
                Some(m) => message_dict(py, m, decode),
                None => Ok(py.None()),
            })))
        })
    }

    /// Closes the connection; later calls raise `Closed`.
    fn _close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.live.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(local) = taken else { return Ok(()) };
        if let Some(live) = local.get() {
            live.closed.send_replace(true);
            let live = live.clone();
            let lease = self.core.lease(py)?;
            // A `_next` may hold the subscription right now; it lets go on the signal above,
            // and then the subscription (its task and connection) is dropped here.
            lease.rt.spawn(async move {
                live.sub.lock().await.take();
            });
        }
        Ok(())
    }
}
