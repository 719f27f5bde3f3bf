//! Around every request: a span carrying its trace id (so all its log lines share it),
//! one log line when it ends, and the request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

use super::AppState;
use crate::telemetry::TraceId;

/// Endpoints polled by machines every few seconds: logged at debug, not info.
const QUIET_ROUTES: [&str; 4] = ["/health", "/ready", "/started", "/metrics"];

pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let trace_id = request
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceId::from_traceparent)
        .unwrap_or_else(TraceId::random);
    // Unmatched paths share one label so a scan of random URLs cannot grow the metrics.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let span =
        tracing::info_span!("request", trace_id = %trace_id, method = %method, route = %route);
    let in_flight = state.metrics.request_started();
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.observe_request(method.as_str(), &route, status, elapsed);
    if let Ok(value) = HeaderValue::from_str(&trace_id.to_string()) {
        response.headers_mut().insert("x-trace-id", value);
    }
    let _entered = span.enter();
    let millis = elapsed.as_secs_f64() * 1000.0;
    if QUIET_ROUTES.contains(&route.as_str()) {
        tracing::debug!(%path, status, duration_ms = millis, "request finished");
    } else if status >= 500 {
        tracing::warn!(%path, status, duration_ms = millis, "request failed");
    } else {
        tracing::info!(%path, status, duration_ms = millis, "request finished");
    }
    response
}
