//! The simulator's own control API (not Kubernetes): switch faults on and off and push
//! commits to the simulated Git repository, for tests, demos and the chaos controls.
//!
//! ```text
//! GET  /simulator/requests                   API requests answered so far, by kind
//! GET  /simulator/faults                     what is switched on
//! PUT  /simulator/faults   {"fault": "crash-loop", "namespace": "co2-calculator-dev",
//!                           "workload": "backend", "on": true}
//!                          {"fault": "unavailable", "on": true, "seconds": 30}
//!                          {"fault": "slow", "delay_ms": 1500}
//! GET  /simulator/nas?namespace=co2-calculator-prod  the dumps on the simulated NAS
//! GET  /simulator/history?days=7            the exporters' last days, as OpenMetrics for
//!                                            `promtool tsdb create-blocks-from openmetrics`
//! POST /simulator/logs    {"namespace": "co2-calculator-dev", "pod": "backend-…",
//!                           "text": "a line"}     written into the pod's log now
//! POST /simulator/request {"namespace": "co2-calculator-dev", "path": "/api/v1/units"}
//!                          one request through frontend, backend and worker: its trace id
//! GET  /metrics                              the exporters' series now (Prometheus scrapes)
//! POST /simulator/git      {"application": "co2-calculator-dev", "reference": "main",
//!                           "images": {"backend": "registry/.../backend:1.9.1"}}
//! ```

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::json;
use crate::controllers::Manifests;
use crate::faults::WorkloadFault;
use crate::Cluster;

pub fn router() -> Router<Cluster> {
    Router::new()
        .route("/simulator/faults", get(list).put(switch))
        .route("/simulator/git", post(push))
        .route("/simulator/requests", get(requests))
        .route("/simulator/nas", get(nas))
        .route("/simulator/logs", post(crate::logs::control::write))
        .route("/simulator/request", post(crate::logs::control::request))
        .route("/simulator/history", get(crate::exporter::history))
        // The application's exporters: answer during a simulated API outage too.
        .route("/metrics", get(crate::exporter::metrics))
}

#[derive(Deserialize)]
struct FaultRequest {
    fault: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    workload: String,
    #[serde(default = "yes")]
    on: bool,
    /// API-level faults: switch back off after this many seconds.
    seconds: Option<u64>,
    delay_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

fn bad(message: &str) -> Response {
    json(StatusCode::BAD_REQUEST, &json!({"error": message}))
}

async fn requests(State(cluster): State<Cluster>) -> Response {
    json(StatusCode::OK, &json!(cluster.requests.snapshot()))
}

#[derive(Deserialize)]
struct NasQuery {
    #[serde(default)]
    namespace: String,
}

/// The dumps a namespace's backup volume holds, newest first.
async fn nas(
    State(cluster): State<Cluster>,
    axum::extract::Query(query): axum::extract::Query<NasQuery>,
) -> Response {
    // A namespace's name or nothing: a hostile value is refused, never repeated.
    let name = &query.namespace;
    let fine = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !fine {
        return bad("namespace must be a namespace's name (lowercase letters, digits and '-')");
    }
    let dumps: Vec<serde_json::Value> = cluster
        .nas
        .list(&query.namespace)
        .into_iter()
        .map(
            |d| json!({"file": d.file, "bytes": d.bytes, "sha256": d.sha256, "entries": d.entries}),
        )
        .collect();
    json(StatusCode::OK, &json!({"namespace": query.namespace, "dumps": dumps}))
}

async fn list(State(cluster): State<Cluster>) -> Response {
    json(StatusCode::OK, &cluster.faults.describe())
}

async fn switch(State(cluster): State<Cluster>, Json(request): Json<FaultRequest>) -> Response {
    let workload_fault = match request.fault.as_str() {
        "crash-loop" => Some(WorkloadFault::CrashLoop),
        "image-never-pulls" => Some(WorkloadFault::ImageNeverPulls),
        "never-ready" | "stalled-rollout" => Some(WorkloadFault::NeverReady),
        "failing-backups" => Some(WorkloadFault::FailingBackups),
        "empty-backups" => Some(WorkloadFault::EmptyBackups),
        "full-storage" => Some(WorkloadFault::FullStorage),
        "slow-backups" => Some(WorkloadFault::SlowBackups),
        "failing-verification" => Some(WorkloadFault::FailingVerification),
        "failing-restores" => Some(WorkloadFault::FailingRestores),
        "missed-schedules" => Some(WorkloadFault::MissedSchedules),
        "failing-sync" => Some(WorkloadFault::FailingSync),
        _ => None,
    };
    if let Some(fault) = workload_fault {
        if request.namespace.is_empty() {
            return bad("namespace is required for this fault");
        }
        let namespace_wide = matches!(
            fault,
            WorkloadFault::FailingBackups
                | WorkloadFault::EmptyBackups
                | WorkloadFault::FullStorage
                | WorkloadFault::SlowBackups
                | WorkloadFault::FailingVerification
                | WorkloadFault::FailingRestores
                | WorkloadFault::MissedSchedules
                | WorkloadFault::FailingSync
        );
        if !namespace_wide && request.workload.is_empty() {
            return bad("workload is required for this fault");
        }
        let workload = if namespace_wide { "" } else { request.workload.as_str() };
        cluster.faults.set(fault, &request.namespace, workload, request.on);
        return json(StatusCode::OK, &cluster.faults.describe());
    }
    if request.fault == "refuse-connections" && request.on && request.seconds.is_none() {
        // Refused connections include this API's own: only a timer can end the outage.
        return bad(
            "refuse-connections needs \"seconds\": the control API is unreachable while it lasts",
        );
    }
    let faults = cluster.faults.clone();
    let switch: Box<dyn Fn(bool) + Send> = match request.fault.as_str() {
        "unavailable" => Box::new(move |on| faults.set_unavailable(on)),
        "refuse-connections" => Box::new(move |on| faults.set_refusing(on)),
        "slow" => {
            let delay = Duration::from_millis(request.delay_ms.unwrap_or(1500));
            Box::new(move |on| faults.set_delay(if on { delay } else { Duration::ZERO }))
        }
        other => return bad(&format!("unknown fault {other:?}")),
    };
    switch(request.on);
    if let (true, Some(seconds)) = (request.on, request.seconds) {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            switch(false);
        });
    }
    json(StatusCode::OK, &cluster.faults.describe())
}

#[derive(Deserialize)]
struct PushRequest {
    application: String,
    reference: String,
    images: Manifests,
}

async fn push(State(cluster): State<Cluster>, Json(request): Json<PushRequest>) -> Response {
    match cluster.git.push(&request.application, &request.reference, &request.images) {
        Some(commit) => json(StatusCode::CREATED, &json!({"commit": commit})),
        None => bad("unknown application or reference"),
    }
}
