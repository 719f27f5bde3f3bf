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
use super::throttle::Budget;
use crate::config::Cidr;
use crate::http::AppState;
use gantry_app::error::AppError;

/// Paths anyone may reach: the platform's probes, the browser assets, and
/// signing in itself.
fn is_public(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/started" | "/favicon.ico") || path.starts_with("/pkg/")
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Who sent `request` and from where, before knowing the person.
pub fn describe(request: &Request, trusted: &[Cidr]) -> Caller {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
    let header = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let (client, forwarded_for) = match (peer, header) {
        (Some(peer), Some(header)) if trusted.iter().any(|c| c.contains(peer)) => {
            forwarded(peer, header, trusted)
        }
        // From anyone else the header is whatever they wrote: not believed, not kept.
        _ => (peer, None),
    };
    Caller {
        principal: None,
        client_addr: client.map(|ip| ip.to_string()),
        forwarded_for,
        request: format!("{} {}", request.method(), request.uri().path()),
    }
}

/// The most entries of `X-Forwarded-For` read (a chain of proxies is a few long).
const MOST_HOPS: usize = 16;

/// Through trusted proxies: the client is the last address not a trusted proxy, walking
/// from the right (each proxy appends who it heard from; entries further left are the
/// client's own claim). Only addresses are kept; a header that is not a list of them
/// leaves the proxy as the client and nothing recorded.
fn forwarded(
    peer: std::net::IpAddr,
    header: &str,
    trusted: &[Cidr],
) -> (Option<std::net::IpAddr>, Option<String>) {
    let hops: Option<Vec<std::net::IpAddr>> =
        header.split(',').take(MOST_HOPS + 1).map(|h| h.trim().parse().ok()).collect();
    let Some(hops) = hops.filter(|h| !h.is_empty() && h.len() <= MOST_HOPS) else {
        return (Some(peer), None);
    };
    let client = hops.iter().rev().find(|ip| !trusted.iter().any(|c| c.contains(**ip)));
    let chain = hops.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    (Some(client.copied().unwrap_or(peer)), Some(chain))
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
    let mut caller = describe(&request, &state.trusted_proxies);
    if path.starts_with("/auth/") {
        if matches!(path.as_str(), "/auth/login" | "/auth/callback" | "/auth/demo") {
            if let Err(wait) = spend(&state, &caller, Budget::SignIn) {
                return too_many(&path, wait);
            }
        }
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    let signed_in = match current(&state, &session).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            tracing::error!(%error, "cannot read the session store");
            let reason =
                "Gantry cannot reach its database to check your sign-in. Try again in a moment.";
            return refuse(&path, AppError::Unavailable(reason.to_owned()), "Sign-in unavailable");
        }
    };
    let Some((_, principal)) = signed_in else {
        if !is_api(&path) && matches!(*request.method(), Method::GET | Method::HEAD) {
            let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let target = format!("/auth/login?next={}", urlencode(asked));
            return Redirect::to(&target).into_response();
        }
        if let Err(wait) = spend(&state, &caller, Budget::AnonymousApi) {
            return too_many(&path, wait);
        }
        let reason = Denial::SignInRequired.reason(Action::View);
        // One event a minute per address, saying how many refusals it stands for: a flood
        // cannot fill the log nor hold the audit table's lock.
        let address = caller.client_addr.as_deref().and_then(|a| a.parse().ok());
        let stands_for = match address {
            Some(address) => state.auth.throttle.record_refusal(address),
            None => Some(1),
        };
        if let Some(count) = stands_for {
            let reason = if count > 1 {
                format!("{reason} ({count} refusals from this address since the last record)")
            } else {
                reason.clone()
            };
            record_denial(&state.context, &caller, None, Action::View, &reason).await;
        }
        return refuse(&path, AppError::SignInRequired(reason.clone()), "Sign in first");
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
    let caller = describe(&request, &state.trusted_proxies);
    tracing::warn!(request = %caller.request, %reason, "cross-site request refused");
    let path = request.uri().path().to_owned();
    let text = format!("This request came from another site and was refused ({reason}).");
    // Counted as anonymous refusals are (the person is not known yet): at most one event a
    // minute per address.
    let address = caller.client_addr.as_deref().and_then(|a| a.parse().ok());
    let stands_for = address.map_or(Some(1), |a| state.auth.throttle.record_refusal(a));
    let recorded = match stands_for {
        Some(count) if count > 1 => {
            format!("{text} ({count} refusals from this address since the last record)")
        }
        Some(_) => text.clone(),
        None => {
            return refuse(&path, AppError::Forbidden(text.clone()), "Cross-site request refused")
        }
    };
    gantry_app::access::server::record(
        &state.context,
        &caller,
        gantry_app::access::server::AccessEvent {
            kind: "denied",
            user_id: None,
            display_name: None,
            environment: None,
            action: None,
            reason: Some(&recorded),
        },
    )
    .await
    .ok();
    refuse(&path, AppError::Forbidden(text.clone()), "Cross-site request refused")
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

/// Takes one request of `budget` from the caller's address (callers without an address
/// are not throttled: only tests build requests without a peer).
fn spend(state: &AppState, caller: &Caller, budget: Budget) -> Result<(), std::time::Duration> {
    match caller.client_addr.as_deref().and_then(|a| a.parse().ok()) {
        Some(address) => state.auth.throttle.take(address, budget),
        None => Ok(()),
    }
}

/// 429 with when to try again, in words and in `Retry-After`.
fn too_many(path: &str, wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let reason = format!(
        "Too many requests without signing in from your address; try again in {seconds} s."
    );
    let mut response = refuse(path, AppError::TooMany(reason), "Too many requests");
    if let Ok(value) = http::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A refusal as JSON for API calls (the one error answer, with where to sign in when
/// that would help) and as a page for people.
fn refuse(path: &str, error: AppError, title: &str) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::FORBIDDEN);
    if !is_api(path) {
        return (status, Html(pages::refused(title, &error.to_string()))).into_response();
    }
    if status != StatusCode::UNAUTHORIZED {
        return error.into_response();
    }
    (status, Json(json!({ "error": error.to_string(), "sign_in": "/auth/login" }))).into_response()
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
    fn forwarded_addresses_are_believed_only_from_trusted_proxies_and_only_as_addresses() {
        let trusted = [Cidr::parse("10.0.0.0/8").expect("range")];
        let proxy: std::net::IpAddr = "10.1.2.3".parse().expect("ip");
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        // The client's own claim on the left is recorded but the client is the last
        // untrusted hop.
        let (client, chain) = forwarded(proxy, "198.51.100.7, 203.0.113.9, 10.0.0.5", &trusted);
        assert_eq!(client, Some(ip("203.0.113.9")));
        assert_eq!(chain.as_deref(), Some("198.51.100.7, 203.0.113.9, 10.0.0.5"));
        for bad in ["=cmd|'/c calc'!A1", "1.2.3.4, <script>", "", "1.2.3.4,,5.6.7.8"] {
            assert_eq!(forwarded(proxy, bad, &trusted), (Some(proxy), None), "{bad:?}");
        }
        let long = vec!["192.0.2.1"; MOST_HOPS + 1].join(",");
        assert_eq!(forwarded(proxy, &long, &trusted), (Some(proxy), None), "too many hops");
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
