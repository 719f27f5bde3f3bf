//! The one server function every server-rendered page shares.

use leptos::prelude::*;

use super::model::ServerHtml;
use crate::error::AppError;

/// The server-rendered content at `path` (path and query of a page of the panel).
#[server(prefix = "/api", endpoint = "page", output = crate::codec::JsonAnswer)]
pub async fn get_page(path: String) -> Result<ServerHtml, AppError> {
    crate::error::answer(super::dispatch::page(&path).await)
}
