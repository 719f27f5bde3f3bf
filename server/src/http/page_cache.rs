//! The overview (`GET /`) as last rendered for each person, reused while nothing it shows
//! has changed. The page is a function of who asks (their name and roles), the live
//! snapshots of the environments and the time ("Loaded …", ages); rendering it with Leptos
//! is most of a request's cost, and the overview is the screen operators keep open and
//! reload. So a rendering is kept per person and reused while every environment's snapshot
//! version is the one it was made from, for at most a second (times on it stay right to
//! the second; the browser keeps ages current itself once hydrated).
//!
//! Measured with ./run bench (README "Performance"): see the overview figures there.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gantry_app::access::principal::Principal;
use gantry_app::access::server::Caller;
use http::{header, HeaderMap, Method, StatusCode};

use super::AppState;

/// How long one rendering is reused at most.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Past this many people, stale renderings are swept out on the next insert.
const SWEEP_ABOVE: usize = 1_000;
/// The most a rendering is read into memory (an overview is tens of KiB; past this the
/// request fails rather than the server holding an unbounded page).
const LARGEST: usize = 64 * 1024 * 1024;

struct Rendering {
    versions: Vec<u64>,
    made: Instant,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<String, Rendering>>,
}

/// Everything about the person the page shows or depends on.
fn person_key(p: &Principal) -> String {
    let mut key = format!("{}\u{0}{}\u{0}{:?}\u{0}{:?}", p.user_id, p.name, p.email, p.method);
    for group in &p.groups {
        let _ = write!(key, "\u{0}g:{group}");
    }
    for (environment, role) in &p.roles {
        let _ = write!(key, "\u{0}r:{environment}={role:?}");
    }
    key
}

impl PageCache {
    fn get(&self, key: &str, versions: &[u64]) -> Option<Response> {
        let entries = self.entries.lock().ok()?;
        let hit =
            entries.get(key).filter(|r| r.versions == versions && r.made.elapsed() < FRESH_FOR)?;
        let mut headers = hit.headers.clone();
        // Each response its own nonce, even when its page is one already made.
        let body = super::protect::renew_nonce(&mut headers, &hit.body);
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        Some(response)
    }

    fn put(&self, key: String, rendering: Rendering) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= SWEEP_ABOVE {
            entries.retain(|_, r| r.made.elapsed() < FRESH_FOR);
        }
        entries.insert(key, rendering);
    }
}

/// Serves `GET /` from the person's last rendering when it still holds, else renders and
/// keeps it. Runs after [`crate::auth::layer::identify`], so only signed-in people reach it.
pub async fn overview(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cacheable = request.method() == Method::GET
        && request.uri().path() == "/"
        && request.uri().query().is_none();
    let key = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.principal.as_deref())
        .filter(|_| cacheable)
        .map(person_key);
    let Some(key) = key else {
        return next.run(request).await;
    };
    // Read before rendering: a change during the rendering makes the next request miss.
    let versions = state.context.live.versions();
    let made = Instant::now();
    if let Some(hit) = state.pages.get(&key, &versions) {
        return hit;
    }
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if response.status() != StatusCode::OK
        || !html
        || response.headers().contains_key(header::SET_COOKIE)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, LARGEST).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "the overview could not be rendered");
            return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.")
                .into_response();
        }
    };
    state
        .pages
        .put(key, Rendering { versions, made, headers: parts.headers.clone(), body: body.clone() });
    Response::from_parts(parts, Body::from(body))
}
