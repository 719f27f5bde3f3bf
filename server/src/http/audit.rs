//! `GET /api/audit.csv` and `GET /api/audit.json`: the audit events the caller may read,
//! with the Audit page's filters (same query string), for auditors' own tools.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use gantry_app::access::server::{record_denial, Caller};
use gantry_app::access::Action;
use gantry_app::audit::query::{csv, fetch, parse, Scope, MOST_EXPORTED};
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/audit.csv", get(export_csv))
        .route("/api/audit.json", get(export_json))
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the audit log cannot be read right now; the cause is in the server log")]
    Database,
}

impl IntoResponse for ExportError {
    fn into_response(self) -> Response {
        let status = match self {
            ExportError::Refused(_) => StatusCode::FORBIDDEN,
            ExportError::Invalid(_) => StatusCode::BAD_REQUEST,
            ExportError::Database => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

async fn rows(
    state: &AppState,
    caller: &Caller,
    query: &[(String, String)],
) -> Result<Vec<gantry_app::audit::query::Row>, ExportError> {
    let environments = &state.context.environments;
    let scope = caller.principal().and_then(|p| Scope::of(p, environments));
    let Some(scope) = scope else {
        let reason = "Reading the audit log takes the approver or admin role on an environment.";
        record_denial(&state.context.db, caller, None, Action::ViewAudit, reason).await;
        return Err(ExportError::Refused(reason.to_owned()));
    };
    let filter = parse(query).map_err(ExportError::Invalid)?;
    if let Some(env) =
        filter.environment.as_deref().filter(|e| !scope.environments.iter().any(|s| s == e))
    {
        let reason = format!("You may not read the audit log of {env}.");
        record_denial(&state.context.db, caller, Some(env), Action::ViewAudit, &reason).await;
        return Err(ExportError::Refused(reason));
    }
    fetch(&state.context.db, &filter, &scope, MOST_EXPORTED).await.map_err(|error| {
        tracing::error!(%error, "cannot read the audit log for an export");
        ExportError::Database
    })
}

async fn export_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ExportError> {
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
) -> Result<Response, ExportError> {
    let rows = rows(&state, &caller, &query).await?;
    Ok(Json(json!({ "events": rows })).into_response())
}
