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
        .route("/metrics", get(metrics))
}

/// Liveness: the process answers. Deliberately checks nothing else, so a database outage
/// never gets the pod restarted.
async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: this replica can serve pages (its database answers).
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match crate::db::ping(&state.context.db, Duration::from_secs(2)).await {
        Ok(()) => {
            (StatusCode::OK, Json(json!({ "status": "ready", "checks": { "database": "ok" } })))
        }
        Err(problem) => {
            tracing::warn!(%problem, "not ready: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "not ready",
                    "checks": { "database": format!("unreachable: {problem}") },
                })),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(&state.context.db),
    )
}
