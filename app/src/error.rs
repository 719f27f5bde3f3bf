//! The one error type that crosses the server-function boundary. Internal causes are
//! logged on the server where they happen; the browser only ever sees these variants.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request could not reach the server or the reply could not be read.
    #[error("could not talk to the Gantry server: {0}")]
    Transport(String),
    /// Something failed on the server; the cause is in the server's log, never sent here.
    #[error("the server hit an internal problem; the operators can find it in the server log")]
    Internal,
    /// What the request names does not exist (an environment, a workload).
    #[error("{0}")]
    NotFound(String),
    /// Nobody is signed in (401): the page offers to sign in.
    #[error("{0}")]
    SignInRequired(String),
    /// The signed-in person may not do this (403); says why.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong (400): a filter that is not a date, say.
    #[error("{0}")]
    Invalid(String),
}

impl AppError {
    /// A "not found" error; on the server it also sets the response status to 404.
    pub fn not_found(what: String) -> Self {
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
        AppError::NotFound(what)
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// A refusal; on the server it also sets the response status (401 or 403).
    pub fn refused(status: u16, reason: String) -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            let code = axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::FORBIDDEN);
            response.set_status(code);
        }
        if status == 401 {
            AppError::SignInRequired(reason)
        } else {
            AppError::Forbidden(reason)
        }
    }

    /// A request that cannot be understood; sets 400 on the server.
    pub fn invalid(reason: String) -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::BAD_REQUEST);
        }
        AppError::Invalid(reason)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
