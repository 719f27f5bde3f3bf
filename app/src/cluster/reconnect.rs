//! When a watch fails it waits before trying again: 250 ms doubling up to 3 s, so a long
//! outage costs the API little. Its end must still show within a second, whatever the
//! wait: while any watch of a client waits, one prober per client asks the API for its
//! version every 200 ms, and when the API answers again after having failed, every waiting
//! watch of that client retries at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::watcher;
use kube::Client;
use tokio::sync::watch;

/// Longest wait between two attempts of a failing watch.
pub const MAX_RETRY: Duration = Duration::from_secs(3);

/// How often the prober asks while the API does not answer.
const PROBE_EVERY: Duration = Duration::from_millis(200);

/// A probe that takes longer than this counts as failed (an API that hangs).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Retry delays for failing watches: 250 ms doubling up to [`MAX_RETRY`].
pub struct CappedBackoff {
    next: Duration,
}

impl Default for CappedBackoff {
    fn default() -> Self {
        Self { next: Duration::from_millis(250) }
    }
}

impl Iterator for CappedBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let current = self.next;
        self.next = (self.next * 2).min(MAX_RETRY);
        Some(current)
    }
}

/// Shared by every watch of one client.
#[derive(Default)]
pub struct Reconnect {
    /// Counts the outages that ended; a waiting watch wakes when it moves.
    ended: watch::Sender<u64>,
    probing: AtomicBool,
}

impl Reconnect {
    /// Waits `delay` before a failed watch tries again, or less: until the client's API
    /// answers again after an outage.
    pub async fn wait(self: &Arc<Self>, client: &Client, delay: Duration) {
        let mut ended = self.ended.subscribe();
        self.probe(client);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = ended.changed() => {}
        }
    }

    /// Starts the prober unless one runs. It ends when the API answers, or when no watch
    /// waits any more (the environments were dropped); it wakes the waiting watches only
    /// if the API had failed it first: a watch refused for its own reasons (a missing
    /// permission, a kind the cluster does not serve) keeps its backoff.
    fn probe(self: &Arc<Self>, client: &Client) {
        if self.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let me = Arc::clone(self);
        let client = client.clone();
        tokio::spawn(async move {
            let mut failed = false;
            while me.ended.receiver_count() > 0 {
                match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
                    Ok(Ok(_)) => {
                        if failed {
                            me.ended.send_modify(|n| *n += 1);
                        }
                        break;
                    }
                    _ => {
                        failed = true;
                        tokio::time::sleep(PROBE_EVERY).await;
                    }
                }
            }
            me.probing.store(false, Ordering::SeqCst);
        });
    }
}

type Events<K> =
    futures_util::stream::BoxStream<'static, Result<watcher::Event<K>, watcher::Error>>;

/// A watcher that lists afresh after any failure. kube's watcher, after a failed watch
/// request, only opens the watch again — and a watch that reopens says nothing until
/// something changes, so the panel could not tell a recovered kind from a still-failing
/// one for seconds. A new list answers at once (and replaces the cache whole).
pub fn relisting<K>(
    api: kube::Api<K>,
    config: watcher::Config,
) -> impl futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    use futures_util::StreamExt;
    futures_util::stream::unfold(None::<Events<K>>, move |inner| {
        let (api, config) = (api.clone(), config.clone());
        async move {
            let mut inner = inner.unwrap_or_else(|| watcher::watcher(api, config).boxed());
            let event = inner.next().await?;
            let keep = event.is_ok().then_some(inner);
            Some((event, keep))
        }
    })
}
