//! Puts a server-rendered page's HTML into its response in place of the marker the
//! rendering wrote (see `gantry_app::server_page::placed`): the page's hundreds of KiB
//! become one piece of the body as they are, and only Leptos' own output (the shell, tens
//! of KiB) is read here.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gantry_app::server_page::placed::Placed;
use http::{header, Method, StatusCode};

/// The most of Leptos' output read to find the marker (the shell is tens of KiB).
const LARGEST: usize = 16 * 1024 * 1024;

/// Gives each page rendering a slot for its HTML, and places what it left there.
pub async fn place(mut request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let placed = Placed::new(&format!("{:032x}", rand::random::<u128>()));
    request.extensions_mut().insert(placed.clone());
    let response = next.run(request).await;
    let Some(html) = placed.take() else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, LARGEST).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            return failed();
        }
    };
    let marker = placed.marker().as_bytes();
    let Some(at) = memchr::memmem::find(&body, marker) else {
        // The rendering held HTML but wrote no marker: the page would show without it.
        tracing::error!("a page's rendering lost its place");
        return failed();
    };
    let length = body.len() - marker.len() + html.len();
    let pieces = [body.slice(..at), Bytes::from(html), body.slice(at + marker.len()..)];
    parts.headers.insert(header::CONTENT_LENGTH, length.into());
    let stream = futures_util::stream::iter(pieces.map(Ok::<_, std::convert::Infallible>));
    Response::from_parts(parts, Body::from_stream(stream))
}

fn failed() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.").into_response()
}
