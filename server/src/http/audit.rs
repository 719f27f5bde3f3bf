//! `GET /api/audit.csv` and `GET /api/audit.json`: the audit events the caller may read,
//! with the Audit page's filters (same query string), for auditors' own tools.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gantry_app::access::server::Caller;
use gantry_app::audit::routes::readable;
use gantry_app::audit::store::{csv, fetch, MOST_EXPORTED};
use gantry_app::error::AppError;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/audit.csv", get(export_csv))
        .route("/api/audit.json", get(export_json))
}

async fn rows(
    state: &AppState,
    caller: &Caller,
    query: &[(String, String)],
) -> Result<Vec<gantry_app::audit::store::Row>, AppError> {
    let (scope, filter) = readable(&state.context, caller, query).await?;
    fetch(&state.context.db, &filter, &scope, MOST_EXPORTED)
        .await
        .map_err(|error| AppError::internal("cannot read the audit log for an export", &error))
}

async fn export_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let rows = rows(&state, &caller, &query).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"gantry-audit.csv\""),
        ],
        csv(&rows),
    )
        .into_response())
}

async fn export_json(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let rows = rows(&state, &caller, &query).await?;
    Ok(Json(json!({ "events": rows })).into_response())
}
