//! Fault injection: what goes wrong in real clusters, switched on and off by tests and by
//! the demo's chaos controls. API-level faults act on every request; workload faults are
//! read by the controllers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::Cluster;

/// Faults that belong to one workload (namespace + name) or one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadFault {
    /// Containers start, then exit: restarts climb, CrashLoopBackOff.
    CrashLoop,
    /// New pods wait forever on their image: ErrImagePull / ImagePullBackOff.
    ImageNeverPulls,
    /// New pods run but never become ready: the rollout stalls until its deadline.
    NeverReady,
    /// Backup Jobs in the namespace fail: pg_dump cannot connect.
    FailingBackups,
    /// Backups in the namespace dump almost nothing: the script refuses them as empty.
    EmptyBackups,
    /// The backup volume is full: pg_dump cannot write (and the script cannot report).
    FullStorage,
    /// Backups in the namespace take ten times as long.
    SlowBackups,
    /// Verifications in the namespace find the newest dump does not restore.
    FailingVerification,
    /// Restores in the namespace fail (and, in one transaction, change nothing).
    FailingRestores,
    /// The namespace's CronJobs miss their schedules (as when the controller is down past
    /// their starting deadline): no Job is made, a MissSchedule warning is.
    MissedSchedules,
    /// Argo CD sync operations in the namespace fail.
    FailingSync,
}

#[derive(Clone)]
pub struct Faults {
    inner: Arc<State_>,
}

struct State_ {
    unavailable: AtomicBool,
    refusing: AtomicBool,
    delay_ms: AtomicU64,
    /// Requests received and not yet answered (a watch counts until its headers are sent).
    answering: AtomicU64,
    outage: watch::Sender<bool>,
    workloads: Mutex<HashSet<(WorkloadFault, String, String)>>,
}

impl Default for Faults {
    fn default() -> Self {
        let (outage, _) = watch::channel(false);
        Self {
            inner: Arc::new(State_ {
                unavailable: AtomicBool::new(false),
                refusing: AtomicBool::new(false),
                delay_ms: AtomicU64::new(0),
                answering: AtomicU64::new(0),
                outage,
                workloads: Mutex::new(HashSet::new()),
            }),
        }
    }
}

impl Faults {
    /// Every API request answers 503 and open watches are cut.
    pub fn set_unavailable(&self, on: bool) {
        self.inner.unavailable.store(on, Ordering::SeqCst);
        self.notify_outage();
    }

    /// New connections are closed as soon as they are accepted; open watches are cut.
    pub fn set_refusing(&self, on: bool) {
        self.inner.refusing.store(on, Ordering::SeqCst);
        self.notify_outage();
    }

    /// Every API request waits this long before it is answered.
    pub fn set_delay(&self, delay: Duration) {
        self.inner
            .delay_ms
            .store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// API requests received and not answered yet: a test that stopped a client waits for
    /// zero before it looks, so a write still held by the delay cannot land afterwards.
    pub fn answering(&self) -> u64 {
        self.inner.answering.load(Ordering::SeqCst)
    }

    fn notify_outage(&self) {
        let down = self.inner.unavailable.load(Ordering::SeqCst)
            || self.inner.refusing.load(Ordering::SeqCst);
        self.inner.outage.send_replace(down);
    }

    pub fn outages(&self) -> watch::Receiver<bool> {
        self.inner.outage.subscribe()
    }

    pub fn refusing(&self) -> bool {
        self.inner.refusing.load(Ordering::SeqCst)
    }

    /// Switches a workload fault. `name` is the workload (or "" for namespace-wide ones).
    pub fn set(&self, fault: WorkloadFault, namespace: &str, name: &str, on: bool) {
        let mut set =
            self.inner.workloads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (fault, namespace.to_owned(), name.to_owned());
        if on {
            set.insert(key);
        } else {
            set.remove(&key);
        }
    }

    /// What is switched on, for the control API.
    pub fn describe(&self) -> serde_json::Value {
        let set = self.inner.workloads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut workloads: Vec<serde_json::Value> = set
            .iter()
            .map(|(f, ns, name)| serde_json::json!({"fault": format!("{f:?}"), "namespace": ns, "workload": name}))
            .collect();
        workloads.sort_by_key(ToString::to_string);
        serde_json::json!({
            "unavailable": self.inner.unavailable.load(Ordering::SeqCst),
            "refuseConnections": self.refusing(),
            "delayMs": self.inner.delay_ms.load(Ordering::SeqCst),
            "workloads": workloads,
        })
    }

    pub fn has(&self, fault: WorkloadFault, namespace: &str, name: &str) -> bool {
        let set = self.inner.workloads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        set.contains(&(fault, namespace.to_owned(), name.to_owned()))
    }
}

/// Counts a request out of [`Faults::answering`] when its answer is ready (or it is dropped).
struct Answering(Arc<State_>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.answering.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn middleware(State(cluster): State<Cluster>, request: Request, next: Next) -> Response {
    cluster.faults.inner.answering.fetch_add(1, Ordering::SeqCst);
    let _answering = Answering(Arc::clone(&cluster.faults.inner));
    let delay = cluster.faults.inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if cluster.faults.inner.unavailable.load(Ordering::SeqCst) {
        return crate::api::error(&ApiError::Unavailable(
            "the server is currently unable to handle the request (simulated outage)".into(),
        ));
    }
    next.run(request).await
}

/// The listener the simulated apiserver accepts on, so connections can be refused.
pub struct FaultyListener {
    pub listener: TcpListener,
    pub faults: Faults,
}

impl axum::serve::Listener for FaultyListener {
    type Io = TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = axum::serve::Listener::accept(&mut self.listener).await;
            if self.faults.refusing() {
                // Closed at once: the client sees its connection reset.
                drop(stream);
                continue;
            }
            return (stream, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
