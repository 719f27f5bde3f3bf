//! Stopping: the signal Kubernetes sends, and the moment between it and closing the
//! listener.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// After the stop signal: `/ready` fails from now on while every request is still served,
/// for `delay`. A load balancer (the Service's endpoints, an ingress controller) keeps
/// sending new requests for a moment after the pod is told to stop; they are answered
/// while it takes this replica out.
pub async fn unready_for(delay: Duration, stopping: &AtomicBool) {
    stopping.store(true, Ordering::Relaxed);
    if !delay.is_zero() {
        tracing::info!(
            delay_seconds = delay.as_secs(),
            "stop requested: unready, serving on until the delay is over"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Resolves on SIGTERM (what Kubernetes sends) or Ctrl-C. Listens from the moment it is
/// called, not from when it is first awaited: a stop asked while the server is starting
/// (or in the instant between "listening" and serving) is kept, where a signal nobody
/// listens for yet kills the process outright.
pub fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                }
                // No signal handling here: the process stops when it is killed.
                _ => std::future::pending::<()>().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
