//! Counts the Kubernetes API requests the simulated cluster answers, by kind, so tests and
//! benchmarks can show what a client costs the API server (e.g. that page views cost
//! nothing beyond the panel's watches). Read at `GET /simulator/requests`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::Cluster;

#[derive(Default)]
pub struct Counts {
    watches: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
}

/// The counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Watch requests opened (`?watch=true`).
    pub watches: u64,
    /// Other GETs: lists, gets, discovery.
    pub reads: u64,
    /// Everything that may change something: POST, PUT, PATCH, DELETE.
    pub writes: u64,
}

impl Snapshot {
    pub fn total(&self) -> u64 {
        self.watches + self.reads + self.writes
    }
}

#[derive(Clone, Default)]
pub struct Requests(Arc<Counts>);

impl Requests {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            watches: self.0.watches.load(Ordering::Relaxed),
            reads: self.0.reads.load(Ordering::Relaxed),
            writes: self.0.writes.load(Ordering::Relaxed),
        }
    }

    fn count(&self, method: &Method, query: &str) {
        let watching = query.split('&').any(|p| p == "watch=true" || p == "watch=1");
        let counter = match *method {
            Method::GET if watching => &self.0.watches,
            Method::GET | Method::HEAD => &self.0.reads,
            _ => &self.0.writes,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts every API request, including those a simulated outage refuses.
pub async fn middleware(State(cluster): State<Cluster>, request: Request, next: Next) -> Response {
    cluster.requests.count(request.method(), request.uri().query().unwrap_or(""));
    next.run(request).await
}
