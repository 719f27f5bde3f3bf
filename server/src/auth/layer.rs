//! Middleware: who each request comes from ([`identify`]) and whether a state-changing
//! request comes from this site ([`same_origin`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use gantry_app::access::principal::Principal;
use gantry_app::access::server::{record_denial, Caller};
use gantry_app::access::{Action, Denial};
use serde_json::json;
use tower_sessions::Session;

use super::identity::{SignedIn, SIGNED_IN};
use super::pages;
use crate::http::AppState;

/// Paths anyone may reach: the platform's probes and metrics, the browser assets, and
/// signing in itself.
fn is_public(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics" | "/favicon.ico") || path.starts_with("/pkg/")
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Who sent `request` and from where, before knowing the person.
pub fn describe(request: &Request) -> Caller {
    let client_addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let forwarded_for =
        request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(str::to_owned);
    Caller {
        principal: None,
        client_addr,
        forwarded_for,
        request: format!("{} {}", request.method(), request.uri().path()),
    }
}

/// Finds the signed-in person (if any) and puts a [`Caller`] on the request. Without one,
/// pages redirect to the sign-in and come back afterwards; API calls get 401.
pub async fn identify(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    let mut caller = describe(&request);
    if path.starts_with("/auth/") {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    let signed_in = match current(&state, &session).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::error!(%error, "cannot read the session store");
            let reason =
                "Gantry cannot reach its database to check your sign-in. Try again in a moment.";
            return refuse(&path, StatusCode::SERVICE_UNAVAILABLE, "Sign-in unavailable", reason);
        }
    };
    let Some((_, principal)) = signed_in else {
        if !is_api(&path) && matches!(*request.method(), Method::GET | Method::HEAD) {
            let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let target = format!("/auth/login?next={}", urlencode(asked));
            return Redirect::to(&target).into_response();
        }
        let reason = Denial::SignInRequired.reason(Action::View);
        record_denial(&state.context.db, &caller, None, Action::View, &reason).await;
        return refuse(&path, StatusCode::UNAUTHORIZED, "Sign in first", &reason);
    };
    caller.principal = Some(principal);
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The signed-in person of this session, ending sessions past their limits and noting
/// activity (at most once a minute, so a busy page does not write on every request).
/// Sessions read in the last few seconds come from this replica's memory.
async fn current(
    state: &AppState,
    session: &Session,
) -> Result<Option<(Arc<SignedIn>, Arc<Principal>)>, tower_sessions::session::Error> {
    let now = super::now();
    let id = session.id();
    if let Some(hit) = id.as_ref().and_then(|id| state.auth.recent.get(id)) {
        let (signed_in, _) = &hit;
        if !state.auth.expired(signed_in, now) && now - signed_in.last_seen < 60 {
            return Ok(Some(hit));
        }
    }
    let Some(mut signed_in) = session.get::<SignedIn>(SIGNED_IN).await? else {
        if let Some(id) = &id {
            state.auth.recent.remove(id);
        }
        return Ok(None);
    };
    if state.auth.expired(&signed_in, now) {
        if let Some(id) = &id {
            state.auth.recent.remove(id);
        }
        session.flush().await?;
        return Ok(None);
    }
    if now - signed_in.last_seen >= 60 {
        signed_in.last_seen = now;
        session.insert(SIGNED_IN, &signed_in).await?;
        session.set_expiry(Some(state.auth.expiry(&signed_in)));
    }
    let principal = Arc::new(state.auth.principal(&signed_in));
    let signed_in = Arc::new(signed_in);
    if let Some(id) = id {
        state.auth.recent.put(id, Arc::clone(&signed_in), Arc::clone(&principal));
    }
    Ok(Some((signed_in, principal)))
}

/// Refuses a state-changing request (anything but GET, HEAD, OPTIONS) that a browser sent
/// from another site. Browsers say where a request comes from in `Sec-Fetch-Site`, and
/// older ones in `Origin`; a request with neither is not from a browser, so it carries no
/// victim's cookies and cannot be a forgery. SameSite=Lax cookies are the second line.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let Err(reason) = check_origin(request.headers(), state.auth.public_origin.as_deref()) else {
        return next.run(request).await;
    };
    let caller = describe(&request);
    tracing::warn!(request = %caller.request, %reason, "cross-site request refused");
    let path = request.uri().path().to_owned();
    let text = format!("This request came from another site and was refused ({reason}).");
    gantry_app::access::server::record(
        &state.context.db,
        &caller,
        gantry_app::access::server::AccessEvent {
            kind: "denied",
            user_id: None,
            display_name: None,
            environment: None,
            action: None,
            reason: Some(&text),
        },
    )
    .await
    .ok();
    refuse(&path, StatusCode::FORBIDDEN, "Cross-site request refused", &text)
}

/// `Ok` when the headers show a same-origin request (or no browser at all).
pub fn check_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), String> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": typed into the address bar or a bookmark, never a page's doing.
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!("Sec-Fetch-Site: {other}")),
        };
    }
    let Some(origin) = text(header::ORIGIN) else {
        return Ok(());
    };
    if public_origin == Some(origin) {
        return Ok(());
    }
    // Behind a proxy that ends TLS the scheme differs; the host and port must not.
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    match (authority, text(header::HOST)) {
        (Some(authority), Some(host)) if authority == host => Ok(()),
        _ => Err(format!("Origin: {origin}")),
    }
}

/// A refusal as JSON for API calls and as a page for people.
fn refuse(path: &str, status: StatusCode, title: &str, reason: &str) -> Response {
    if is_api(path) {
        let mut body = json!({ "error": reason });
        if status == StatusCode::UNAUTHORIZED {
            body["sign_in"] = json!("/auth/login");
        }
        (status, Json(body)).into_response()
    } else {
        (status, Html(pages::refused(title, reason))).into_response()
    }
}

/// Percent-encodes a path and query for use as one query value.
pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a valid header value"));
        }
        map
    }

    #[test]
    fn same_origin_requests_and_non_browsers_pass_and_other_sites_do_not() {
        let public = Some("https://gantry.example.org");
        let pass = [
            vec![("sec-fetch-site", "same-origin")],
            vec![("sec-fetch-site", "none")],
            vec![("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")],
            vec![("origin", "https://gantry.example.org"), ("host", "10.0.0.7:3000")],
            vec![],
        ];
        for h in pass {
            assert_eq!(check_origin(&headers(&h), public), Ok(()), "{h:?}");
        }
        let refuse = [
            vec![("sec-fetch-site", "cross-site"), ("origin", "https://gantry.example.org")],
            vec![("sec-fetch-site", "same-site")],
            vec![("origin", "https://evil.example"), ("host", "gantry.example.org")],
            vec![("origin", "null"), ("host", "gantry.example.org")],
            vec![("origin", "http://127.0.0.1:3001"), ("host", "127.0.0.1:3000")],
        ];
        for h in refuse {
            assert!(check_origin(&headers(&h), public).is_err(), "{h:?}");
        }
    }
}
