//! The one error vocabulary from the domain to HTTP. Every refusal or failure, wherever it
//! is found (a plan, a rule, the database), is one of these kinds; the kind decides the
//! HTTP status ([`AppError::status`]) at every boundary — server functions and pages
//! ([`answer`]), JSON routes and exports (`IntoResponse`). Internal causes are logged once,
//! where they happen ([`AppError::internal`]); the answer never carries them.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request could not reach the server or the reply could not be read (in the
    /// browser only).
    #[error("could not talk to the Gantry server: {0}")]
    Transport(String),
    /// Something failed on the server; the cause is in the server's log, never sent here.
    #[error("the server hit an internal problem; nothing was changed, and the operators can find the cause in the server log")]
    Internal,
    /// The request itself is wrong (400): a filter that is not a date, say.
    #[error("{0}")]
    Invalid(String),
    /// Nobody is signed in (401): the page offers to sign in.
    #[error("{0}")]
    SignInRequired(String),
    /// The signed-in person may not do this (403); says why.
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist (an environment, a workload, a request).
    #[error("{0}")]
    NotFound(String),
    /// The thing has moved on since the person looked (409): decided already, changed
    /// since the preview, an operation running.
    #[error("{0}")]
    Conflict(String),
    /// Understood but not possible as asked (422): outside the scaling bounds, already so.
    #[error("{0}")]
    Unprocessable(String),
    /// Too many at once (429): open streams, say. Answered with `Retry-After`.
    #[error("{0}")]
    TooMany(String),
    /// Cannot be served right now, through nobody's fault (503): no cluster watched, the
    /// cluster view still loading.
    #[error("{0}")]
    Unavailable(String),
}

impl AppError {
    /// The HTTP status this kind is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::SignInRequired(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Unprocessable(_) => 422,
            AppError::TooMany(_) => 429,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
            AppError::Unavailable(_) => 503,
        }
    }

    /// The message with its first letter in capitals and a full stop, for a sentence
    /// made from a lower-case phrase.
    pub fn sentence(phrase: &str) -> String {
        let mut message = phrase.trim_end_matches('.').to_owned();
        if let Some(first) = message.get(..1) {
            message = first.to_uppercase() + &message[1..];
        }
        message + "."
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// An internal failure: its cause logged here, once, with what was being done; the
    /// answer says only that the cause is in the log.
    pub fn internal(doing: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{doing}");
        AppError::Internal
    }
}

/// Sets the response's status from the error, for a server function or a page rendered on
/// the server (they answer through the render's response options, not a `Response`).
/// Called once at each server function's boundary.
#[cfg(feature = "ssr")]
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    result.map_err(shown)
}

/// An error a component finds itself (not from a server function) and shows: on the
/// server, the response takes its status; in the browser, nothing more happens.
pub fn shown(error: AppError) -> AppError {
    #[cfg(feature = "ssr")]
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        let code = axum::http::StatusCode::from_u16(error.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        response.set_status(code);
    }
    error
}

/// JSON routes and exports: `{"error": "<what to tell the person>"}` with the kind's status.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let code = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let retry = matches!(self, AppError::TooMany(_));
        let mut response =
            (code, axum::Json(serde_json::json!({ "error": self.to_string() }))).into_response();
        if retry {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        response
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
