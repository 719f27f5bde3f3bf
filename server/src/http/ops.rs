//! Endpoints for the platform rather than for people: liveness, readiness, metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/started", get(started))
}

/// On its own listener (`server.metrics_listen`): an Ingress publishing the pages does not
/// publish the metrics with them.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/health", get(health))
}

/// Liveness: the process answers. Deliberately checks nothing else, so a database outage
/// never gets the pod restarted.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// How far the environments' watches are: those whose first attempt has not ended yet
/// (each kind listed or failed once), and those that failed (shown as stale or
/// unreachable, with the reason, while the others serve on).
fn environments(state: &AppState) -> (Vec<String>, Vec<String>) {
    let watches = state.context.live.watches();
    let waiting = watches.iter().filter(|w| !w.settled()).map(|w| w.name().to_owned()).collect();
    let failing = watches
        .iter()
        .filter(|w| w.settled())
        .filter_map(|w| w.failures().into_iter().next().map(|f| format!("{}: {f}", w.name())))
        .collect();
    (waiting, failing)
}

fn cluster_words(waiting: &[String], failing: &[String]) -> String {
    match (waiting.is_empty(), failing.is_empty()) {
        (false, _) => format!("waiting for the first sync of {}", waiting.join(", ")),
        (true, true) => "ok".to_owned(),
        (true, false) => format!("serving; stale: {}", failing.join("; ")),
    }
}

/// Startup: every environment's watches have been tried once (the startup probe; a pod
/// is not restarted while a large cluster is listed the first time).
async fn started(State(state): State<AppState>) -> impl IntoResponse {
    let (waiting, failing) = environments(&state);
    let code = if waiting.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if waiting.is_empty() { "started" } else { "starting" };
    (
        code,
        Json(
            json!({ "status": status, "checks": { "cluster": cluster_words(&waiting, &failing) } }),
        ),
    )
}

/// Readiness: this replica can serve pages — its database answers, and every
/// environment's watches have been tried once. One environment whose watch fails (no
/// permission, its API unreachable) does not make it unready: that environment shows as
/// stale with the reason, and the others are served.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let (waiting, failing) = environments(&state);
    let cluster = cluster_words(&waiting, &failing);
    let database = match crate::db::ping(&state.context.db, Duration::from_secs(2)).await {
        Ok(()) => "ok".to_owned(),
        Err(problem) => {
            tracing::warn!(%problem, "not ready: database unreachable");
            format!("unreachable: {problem}")
        }
    };
    let stopping = state.stopping.load(std::sync::atomic::Ordering::Relaxed);
    let ready = database == "ok" && waiting.is_empty() && !stopping;
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = match (ready, stopping) {
        (true, _) => "ready",
        (false, true) => "stopping",
        (false, false) => "not ready",
    };
    (
        code,
        Json(json!({ "status": status, "checks": { "database": database, "cluster": cluster } })),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(&state.context, state.log_streams.open()),
    )
}
