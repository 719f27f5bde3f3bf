//! Asking for changes and deciding on them: `POST /api/actions` (a new request),
//! `POST /api/requests/{id}/{approve|reject|cancel|acknowledge}`, and
//! `GET /api/requests/{id}`. Browser forms get a redirect to the request's page (or a page
//! saying why not); scripts sending JSON get JSON. Every rule lives in
//! `gantry_app::actions::engine`; this only translates HTTP.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use gantry_app::access::server::Caller;
use gantry_app::actions::engine::{self, Ask};
use gantry_app::actions::plan::Asked;
use gantry_app::actions::store::Stored;
use gantry_app::error::AppError;
use serde_json::{json, Value};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/actions", post(request))
        .route("/api/requests/{id}", get(show))
        .route("/api/requests/{id}/{step}", post(step))
}

/// Whether the answer goes to a person's browser (a form) or to a script.
fn from_browser(headers: &HeaderMap) -> bool {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    form && html
}

/// The body as key-value pairs: a form, or a JSON object (numbers and booleans as text).
fn fields(headers: &HeaderMap, body: &Bytes) -> Result<Vec<(String, String)>, AppError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Ok(url::form_urlencoded::parse(body).into_owned().collect());
    }
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let invalid = AppError::Invalid;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("The body is not valid JSON: {e}.")))?;
    let Value::Object(map) = value else {
        return Err(invalid("The body must be a JSON object.".into()));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            Value::Bool(b) => Ok((k, if b { "1".into() } else { String::new() })),
            Value::Null => Ok((k, String::new())),
            _ => Err(invalid(format!("“{k}” must be a string, a number or a boolean."))),
        })
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn answer(browser: bool, result: Result<Stored, AppError>, created: bool) -> Response {
    match (result, browser) {
        (Ok(stored), true) => Redirect::to(&format!("/requests/{}", stored.id)).into_response(),
        (Ok(stored), false) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(json!({ "request": stored }))).into_response()
        }
        (Err(error), true) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Html(crate::auth::refused_page("Not done", &error.to_string())))
                .into_response()
        }
        (Err(error), false) => error.into_response(),
    }
}

async fn request(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let browser = from_browser(&headers);
    let result = async {
        let pairs = fields(&headers, &body)?;
        let asked = Asked::from_pairs(&pairs).map_err(AppError::Invalid)?;
        let required = |key: &str| {
            field(&pairs, key).filter(|v| !v.is_empty()).map(str::to_owned).ok_or_else(|| {
                AppError::Invalid(format!("Say which {key}: the “{key}” field is missing."))
            })
        };
        let ask = Ask {
            environment: required("environment")?,
            action: required("action")?,
            asked,
            reason: field(&pairs, "reason").unwrap_or_default().to_owned(),
            break_glass: matches!(field(&pairs, "break_glass"), Some("1" | "true" | "on")),
            previewed: field(&pairs, "previewed").filter(|v| !v.is_empty()).map(str::to_owned),
            confirm: field(&pairs, "confirm").map(str::to_owned),
        };
        engine::request(&state.context, &caller, ask).await
    }
    .await;
    answer(browser, result, true)
}

fn request_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::NotFound(format!("There is no request {id}.")))
}

async fn step(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, step)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let browser = from_browser(&headers);
    let result = async {
        let id = request_id(&id)?;
        let pairs = fields(&headers, &body)?;
        let comment = field(&pairs, "comment").unwrap_or_default().trim().to_owned();
        if comment.chars().count() > 2000 {
            return Err(AppError::Invalid(
                "The comment is too long (at most 2,000 characters).".into(),
            ));
        }
        let context = &state.context;
        let confirm = field(&pairs, "confirm");
        match step.as_str() {
            "approve" => engine::decide(context, &caller, id, true, &comment, confirm).await,
            "reject" => engine::decide(context, &caller, id, false, &comment, None).await,
            "cancel" => engine::cancel(context, &caller, id).await,
            "acknowledge" => engine::acknowledge(context, &caller, id).await,
            other => Err(AppError::NotFound(format!(
                "“{other}” is not a step: approve, reject, cancel or acknowledge."
            ))),
        }
    }
    .await;
    answer(browser, result, false)
}

async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let result = match request_id(&id) {
        Ok(id) => engine::visible(&state.context, &caller, id).await,
        Err(e) => Err(e),
    };
    answer(false, result, false)
}
