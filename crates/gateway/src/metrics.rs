//! The Prometheus recorder behind `GET /metrics`.
//!
//! The `metrics` facade has one global recorder per process. The gateway installs a
//! Prometheus recorder the first time it is asked (so the manager's own metrics, recorded
//! through the same facade, are exported too) and keeps the handle. If the embedding program
//! installed a different recorder first, `/metrics` says so instead of failing to start.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus handle, installing the recorder on first use; `None` when another
/// recorder was installed first.
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(_) => {
                    tracing::warn!("another metrics recorder is installed; /metrics is empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Renders the Prometheus text exposition.
pub fn render() -> String {
    match prometheus() {
        Some(h) => h.render(),
        None => "# another metrics recorder is installed in this process\n".to_string(),
    }
}
