//! [`Lifecycle`]: the shutdown signal and the manager's background tasks.
//!
//! Shutdown is a small value passed where it is needed (a `watch` receiver), not a flag every
//! task polls: a task selects on [`Lifecycle::subscribe`]'s receiver next to whatever it waits
//! for, and ends when it fires.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The shutdown signal and the tasks to stop.
pub(crate) struct Lifecycle {
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Lifecycle {
    pub(crate) fn new() -> Lifecycle {
        Lifecycle {
            shutdown: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Spawns a background task that [`Lifecycle::stop_tasks`] will abort.
    pub(crate) fn spawn(
        &self,
        runtime: &tokio::runtime::Handle,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let handle = runtime.spawn(task);
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(handle);
        }
    }

    /// A receiver that changes once, when shutdown begins.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Tells every task to stop.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Whether shutdown has begun.
    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Aborts the background tasks and waits for them to end.
    pub(crate) async fn stop_tasks(&self) {
        let tasks = self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}
