//! The overview (`GET /`) and the Metrics page (`GET /monitoring?…`) as last rendered for
//! each person (and, for Metrics, each address), reused while nothing they show has
//! changed. The overview is a function of who asks (their name and roles), the live
//! snapshots of the environments and the time ("Loaded …", ages); rendering it with Leptos
//! is most of a request's cost, and the overview is the screen operators keep open and
//! reload. So a rendering is kept per person and reused while every environment's snapshot
//! version is the one it was made from, for at most a second (times on it stay right to
//! the second; the browser keeps ages current itself once hydrated). The Metrics page's
//! charts change once per step (a scrape interval at the least): drawing sixteen of them
//! costs far more than answering them from the cache, so it is kept the same second.
//! The kept renderings are bounded in bytes as well as in number: a person asking for many
//! addresses cannot make the server hold many pages. A page is made by one request at a
//! time: when a rendering runs out, the requests for the same page that arrive while it
//! is made again wait for it rather than all making it at once (with 64 connections
//! reloading, that herd was the Metrics page's 99th percentile).
//!
//! Measured with ./run bench (README "Performance"): see the overview figures there.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
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
/// The most bytes kept in all: past it (after sweeping), a page is served but not kept.
const MOST_BYTES: usize = 64 * 1024 * 1024;
/// The most a rendering is read into memory (an overview is tens of KiB; past this the
/// request fails rather than the server holding an unbounded page).
const LARGEST: usize = 64 * 1024 * 1024;

struct Rendering {
    versions: Vec<u64>,
    made: Instant,
    headers: HeaderMap,
    body: Bytes,
    /// The policy's nonce and where it appears in `body`.
    nonce: Option<(String, Vec<usize>)>,
}

/// The renderings kept, and their bytes in all (counted as they come and go: summing them
/// at every insert was a few per cent of a flood of distinct Metrics addresses).
#[derive(Default)]
struct Kept {
    entries: HashMap<String, Rendering>,
    bytes: usize,
}

impl Kept {
    fn full_for(&self, rendering: &Rendering) -> bool {
        self.entries.len() >= SWEEP_ABOVE || self.bytes + rendering.body.len() > MOST_BYTES
    }
}

#[derive(Default)]
pub struct PageCache {
    kept: Mutex<Kept>,
    /// The pages being made, each with the turn its makers take one after the other.
    making: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The pages kept: the overview, and Metrics with whatever its address asks.
fn kept_address(method: &Method, uri: &http::Uri) -> Option<String> {
    if method != Method::GET {
        return None;
    }
    match (uri.path(), uri.query()) {
        ("/", None) => Some("/".to_owned()),
        ("/monitoring", query) => Some(format!("/monitoring?{}", query.unwrap_or_default())),
        _ => None,
    }
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
        let kept = self.kept.lock().ok()?;
        let hit = kept
            .entries
            .get(key)
            .filter(|r| r.versions == versions && r.made.elapsed() < FRESH_FOR)?;
        let mut headers = hit.headers.clone();
        // Each response its own nonce, even when its page is one already made.
        let body = match &hit.nonce {
            Some((old, at)) => {
                let new = super::protect::renew_policy(&mut headers, old);
                let chunks = super::protect::with_nonce(&hit.body, at, old, &new);
                // The new nonce need not be as long as the old one (Leptos makes its own).
                headers.remove(header::CONTENT_LENGTH);
                Body::from_stream(futures_util::stream::iter(
                    chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
                ))
            }
            None => Body::from(hit.body.clone()),
        };
        let mut response = Response::new(body);
        *response.headers_mut() = headers;
        Some(response)
    }

    fn put(&self, key: String, rendering: Rendering) {
        let mut kept = lock(&self.kept);
        let kept = &mut *kept;
        // The rendering it replaces goes first, so the bytes count each page once.
        if let Some(old) = kept.entries.remove(&key) {
            kept.bytes = kept.bytes.saturating_sub(old.body.len());
        }
        if kept.full_for(&rendering) {
            kept.entries.retain(|_, r| r.made.elapsed() < FRESH_FOR);
            kept.bytes = kept.entries.values().map(|r| r.body.len()).sum();
        }
        if kept.full_for(&rendering) {
            return;
        }
        kept.bytes += rendering.body.len();
        kept.entries.insert(key, rendering);
    }

    /// Waits for the turn to make `key`'s page: one request at a time makes it.
    async fn turn<'a>(&'a self, key: &'a str) -> Turn<'a> {
        let mutex = {
            let mut making = lock(&self.making);
            Arc::clone(making.entry(key.to_owned()).or_default())
        };
        Turn { pages: self, key, guard: Some(mutex.lock_owned().await) }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned map is still a good map: nothing in it is left half-made.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request's turn to make a page; the next one waiting takes it when this ends, also
/// when the request is dropped half-way (its client went away).
struct Turn<'a> {
    pages: &'a PageCache,
    key: &'a str,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else { return };
        let mutex = Arc::clone(tokio::sync::OwnedMutexGuard::mutex(&guard));
        drop(guard);
        let mut making = lock(&self.pages.making);
        // Only the map and `mutex` hold it: nobody waits for this turn any more.
        if Arc::strong_count(&mutex) <= 2 {
            making.remove(self.key);
        }
    }
}

/// Serves a kept page from the person's last rendering of it when that still holds, else
/// renders and keeps it. Runs after [`crate::auth::layer::identify`], so only signed-in
/// people reach it.
pub async fn overview(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let address = kept_address(request.method(), request.uri());
    let key = request
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.principal.as_deref())
        .zip(address)
        .map(|(person, address)| format!("{}\u{0}{address}", person_key(person)));
    let Some(key) = key else {
        return next.run(request).await;
    };
    // Read before rendering: a change during the rendering makes the next request miss.
    // The alert listing counts too (the Metrics page shows it; a silence just made or
    // expired must show on the next view).
    let mut versions = state.context.live.versions();
    if let Some(monitoring) = &state.context.monitoring {
        versions.push(monitoring.cache.generation());
    }
    if let Some(hit) = state.pages.get(&key, &versions) {
        return hit;
    }
    let _turn = state.pages.turn(&key).await;
    // Made by the request whose turn this one waited for.
    if let Some(hit) = state.pages.get(&key, &versions) {
        return hit;
    }
    let made = Instant::now();
    let response = next.run(request).await;
    keep(&state, key.clone(), versions, made, response).await
}

/// Keeps `response` when it is a page anyone may be shown again: a 200 HTML page that
/// sets no cookie.
async fn keep(
    state: &AppState,
    key: String,
    versions: Vec<u64>,
    made: Instant,
    response: Response,
) -> Response {
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
            tracing::error!(%error, "a kept page could not be rendered");
            return (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.")
                .into_response();
        }
    };
    let nonce = super::protect::nonce_places(&parts.headers, &body);
    let rendering =
        Rendering { versions, made, headers: parts.headers.clone(), body: body.clone(), nonce };
    state.pages.put(key, rendering);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendering(bytes: usize) -> Rendering {
        Rendering {
            versions: vec![1],
            made: Instant::now(),
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; bytes]),
            nonce: None,
        }
    }

    #[test]
    fn the_overview_and_every_metrics_address_are_kept_nothing_else() {
        let uri = |s: &str| s.parse::<http::Uri>().expect("a valid address");
        assert_eq!(kept_address(&Method::GET, &uri("/")), Some("/".into()));
        assert_eq!(kept_address(&Method::GET, &uri("/?n=1")), None);
        assert_eq!(
            kept_address(&Method::GET, &uri("/monitoring?env=prod&range=1h")),
            Some("/monitoring?env=prod&range=1h".into())
        );
        assert_eq!(kept_address(&Method::POST, &uri("/monitoring")), None);
        assert_eq!(kept_address(&Method::GET, &uri("/environments/prod")), None);
    }

    #[test]
    fn many_large_pages_are_not_all_kept() {
        let cache = PageCache::default();
        let page = MOST_BYTES / 4 + 1;
        for n in 0..8 {
            cache.put(format!("someone\u{0}/monitoring?n={n}"), rendering(page));
        }
        let kept = cache.kept.lock().expect("no test panicked holding it");
        let held: usize = kept.entries.values().map(|r| r.body.len()).sum();
        assert_eq!(kept.entries.len(), 3, "only what fits is kept");
        assert_eq!(kept.bytes, held, "the bytes counted are the bytes kept");
        assert!(held <= MOST_BYTES);
    }

    #[test]
    fn a_page_made_again_replaces_its_bytes() {
        let cache = PageCache::default();
        for size in [1_000, 3_000, 2_000] {
            cache.put("someone\u{0}/".to_owned(), rendering(size));
        }
        cache.put("someone\u{0}/monitoring?".to_owned(), rendering(500));
        let kept = cache.kept.lock().expect("no test panicked holding it");
        assert_eq!((kept.entries.len(), kept.bytes), (2, 2_500));
    }

    #[tokio::test]
    async fn one_request_at_a_time_makes_a_page_and_its_turn_is_forgotten_after() {
        let cache = PageCache::default();
        let first = cache.turn("someone\u{0}/").await;
        let waiting = cache.turn("someone\u{0}/");
        tokio::pin!(waiting);
        // Another page is not held up by this one.
        drop(cache.turn("someone\u{0}/monitoring?").await);
        assert!(
            futures_util::poll!(waiting.as_mut()).is_pending(),
            "the second maker waits while the first makes the page"
        );
        drop(first);
        let second = waiting.await;
        drop(second);
        assert!(lock(&cache.making).is_empty(), "no turn is left behind");
    }
}
