//! `GET /api/history.json` and `/api/history.csv`: the History page's timeline (same `env` and `workload`
//! filters) for people's own tools, limited to the environments the caller may see.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gantry_app::access::server::Caller;
use gantry_app::error::AppError;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/history.json", get(json_export))
        .route("/api/history.csv", get(csv_export))
}

async fn json_export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    match export(&state, &caller, &query).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn csv_export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    match export(&state, &caller, &query).await {
        Ok(entries) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (header::CONTENT_DISPOSITION, "attachment; filename=\"gantry-history.csv\""),
            ],
            gantry_app::history::csv(&entries),
        )
            .into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// The entries the caller may see with the asked filters (the History page's rule).
async fn export(
    state: &AppState,
    caller: &Caller,
    query: &[(String, String)],
) -> Result<Vec<gantry_app::history::timeline::Entry>, AppError> {
    let context = &state.context;
    let (visible, filter) = gantry_app::history::routes::readable(context, caller, query).await?;
    gantry_app::history::kept_timeline(context, &visible, &filter, gantry_app::history::LIMIT)
        .await
        .map(|entries| Vec::clone(&entries))
        .map_err(|error| AppError::internal("cannot read the history for an export", &error))
}
