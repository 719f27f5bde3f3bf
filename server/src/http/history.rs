//! `GET /api/history.json` and `/api/history.csv`: the History page's timeline (same `env` and `workload`
//! filters) for people's own tools, limited to the environments the caller may see.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gantry_app::access::server::{record_denial, Caller};
use gantry_app::access::{check, check_named, Action, Decision};
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
        Err(refused) => refused,
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
        Err(refused) => refused,
    }
}

/// The entries the caller may see with the asked filters, or the refusal to send.
async fn export(
    state: &AppState,
    caller: &Caller,
    query: &[(String, String)],
) -> Result<Vec<gantry_app::history::timeline::Entry>, Response> {
    let context = &state.context;
    let visible: Vec<String> = context
        .environments
        .iter()
        .filter(|e| check(caller.principal(), e, Action::View).is_allowed())
        .map(|e| e.name.clone())
        .collect();
    if visible.is_empty() {
        let reason = "You may not see any environment, so you may not see their history.";
        record_denial(&context.db, caller, None, Action::View, reason).await;
        return Err((StatusCode::FORBIDDEN, Json(json!({ "error": reason }))).into_response());
    }
    let filter = gantry_app::history::filter(query).map_err(|error| {
        (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
    })?;
    if let Some(env) = filter.environment.as_deref() {
        // As the History page answers: 404 for a name that does not exist, 403 for one
        // the caller may not see.
        let decision = check_named(caller.principal(), &context.environments, env, Action::View);
        if let Decision::Denied(denial) = decision {
            let reason = denial.reason(Action::View);
            record_denial(&context.db, caller, Some(env), Action::View, &reason).await;
            let status = StatusCode::from_u16(denial.status()).unwrap_or(StatusCode::FORBIDDEN);
            return Err((status, Json(json!({ "error": reason }))).into_response());
        }
    }
    gantry_app::history::timeline(context, &visible, &filter).await.map_err(|error| {
        tracing::error!(%error, "cannot read the history");
        let error = "The history cannot be read right now; the cause is in the server log.";
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": error }))).into_response()
    })
}
