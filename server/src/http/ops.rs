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
    Router::new().route("/health", get(health)).route("/ready", get(ready))
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

/// Readiness: this replica can serve pages (its database answers, and every environment's
/// watch cache has seen the cluster once).
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let waiting: Vec<String> = state
        .context
        .live
        .watches()
        .iter()
        .filter(|w| !w.synced())
        .map(|w| w.name().to_owned())
        .collect();
    let cluster = if waiting.is_empty() {
        "ok".to_owned()
    } else {
        format!("waiting for the first sync of {}", waiting.join(", "))
    };
    let database = match crate::db::ping(&state.context.db, Duration::from_secs(2)).await {
        Ok(()) => "ok".to_owned(),
        Err(problem) => {
            tracing::warn!(%problem, "not ready: database unreachable");
            format!("unreachable: {problem}")
        }
    };
    let ready = database == "ok" && waiting.is_empty();
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if ready { "ready" } else { "not ready" };
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
