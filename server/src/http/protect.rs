//! What every response carries for the browser's protection, from one layer: a Content
//! Security Policy (inline scripts run only with this response's nonce), no framing, no
//! sniffing, no referrer to other sites, no powerful features, HSTS over https, and
//! `no-store` on everything that depends on who is asking. Also: only the configured host
//! names are served (a page on another name that resolves here — DNS rebinding — gets
//! nothing), and requests other than streams have a time limit.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};

use super::AppState;

/// What the layer needs, worked out once at start.
pub struct Protection {
    /// `form-action` sources besides 'self' (the provider, for signing out there).
    form_action: String,
    hsts: bool,
    /// Host names served (lowercase, without port); empty: any (demo on loopback only).
    hosts: Vec<String>,
    request_timeout: Duration,
}

/// Paths the platform reaches by address, not by name (kubelet probes send the pod's IP).
fn any_host(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/started")
}

/// Responses that carry no person's data and may be kept by the browser (revalidated).
fn shared(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.ico"
}

/// Streams stay open for as long as the page does: the request time limit is not theirs.
fn streaming(path: &str) -> bool {
    path == "/api/live"
}

impl Protection {
    pub fn new(settings: &crate::config::Settings, public_origin: Option<&str>) -> Self {
        let mut hosts: Vec<String> = settings.server.limits.public_hosts.clone();
        let demo = matches!(settings.auth.method, crate::config::SignInSettings::Demo(_));
        let mut form_action = String::new();
        if let crate::config::SignInSettings::OpenId(openid) = &settings.auth.method {
            if let Some(host) = openid.redirect_url.host_str() {
                hosts.push(host.to_ascii_lowercase());
            }
            let issuer = url::Url::parse(&openid.issuer).ok();
            if let Some(origin) = issuer.map(|u| u.origin().ascii_serialization()) {
                form_action = format!(" {origin}");
            }
        }
        if demo || hosts.iter().any(|h| is_loopback_name(h)) {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(str::to_owned));
        }
        Self {
            form_action,
            hsts: public_origin.is_some_and(|o| o.starts_with("https://")),
            hosts,
            request_timeout: settings.server.limits.request_timeout,
        }
    }

    /// The policy of one response; `nonce` is the one its inline scripts carry, if any.
    pub fn policy(&self, nonce: Option<&str>) -> String {
        let scripts = match nonce {
            Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
            None => "'self' 'wasm-unsafe-eval'".to_owned(),
        };
        format!(
            "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; \
             form-action 'self'{}",
            self.form_action
        )
    }

    /// Whether the request's `Host` is one this server answers to.
    fn host_allowed(&self, headers: &HeaderMap, uri: &http::Uri) -> bool {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(http::uri::Authority::as_str));
        let Some(host) = host else { return false };
        let name = strip_port(host).to_ascii_lowercase();
        self.hosts.contains(&name)
    }
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// `gantry.epfl.ch:443` → `gantry.epfl.ch`; `[::1]:3000` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').and_then(|end| host.get(..=end)).unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let protection = Arc::clone(&state.protection);
    let path = request.uri().path().to_owned();
    let reads = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    let mut response =
        if !any_host(&path) && !protection.host_allowed(request.headers(), request.uri()) {
            misdirected()
        } else if streaming(&path) || !reads {
            // Writes run to their end: an action cut off half-way would be left executing.
            next.run(request).await
        } else {
            within(protection.request_timeout, &path, next.run(request)).await
        };
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(headers, header::CONTENT_SECURITY_POLICY, &protection.policy(None));
    }
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        "permissions-policy",
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()",
    );
    if protection.hsts {
        set(headers, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    if !shared(&path) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn set(headers: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The response of `answer`, or a refusal in words once `limit` has passed.
async fn within(
    limit: Duration,
    path: &str,
    answer: impl std::future::Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, answer).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, "request took longer than server.request_timeout_seconds");
            let text = "This request took too long and was stopped. Try again in a moment.";
            (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
        }
    }
}

/// 421: this server does not answer to that name.
fn misdirected() -> Response {
    (
        StatusCode::MISDIRECTED_REQUEST,
        "This server does not answer to that host name. Use the address your administrator gave you.",
    )
        .into_response()
}

/// A new nonce: 128 random bits, hex.
pub fn nonce() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A kept rendering served again gets a nonce of its own: the old one appears in the
/// policy and in the page's script tags, and is replaced in both (it is 32 random hex
/// digits, so it appears nowhere else).
pub fn renew_nonce(headers: &mut HeaderMap, body: &Bytes) -> Bytes {
    let Some((old, at)) = nonce_places(headers, body) else { return body.clone() };
    let new = renew_policy(headers, &old);
    with_nonce(body, &at, &old, &new).concat().into()
}

/// The nonce of a page's policy and where it appears in the page, found once when the page
/// is kept (a Metrics page is hundreds of KiB: searching it at every view was most of the
/// cost of serving it again).
pub fn nonce_places(headers: &HeaderMap, body: &[u8]) -> Option<(String, Vec<usize>)> {
    let old = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.split("'nonce-").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .filter(|n| !n.is_empty())?
        .to_owned();
    // Comparing the nonce at every byte was 41 % of a Metrics view (178 KB) under load.
    let at = memchr::memmem::find_iter(body, old.as_bytes()).collect();
    Some((old, at))
}

/// Gives the policy a new nonce in place of `old`; returns it.
pub fn renew_policy(headers: &mut HeaderMap, old: &str) -> String {
    let new = nonce();
    if let Some(policy) = headers.get(header::CONTENT_SECURITY_POLICY).and_then(|p| p.to_str().ok())
    {
        let policy = policy.replace(old, &new);
        set(headers, header::CONTENT_SECURITY_POLICY, &policy);
    }
    new
}

/// The page with `new` at the places `old` was (`at`), as slices of the kept page (no copy
/// of it) and the new nonce between them.
pub fn with_nonce(body: &Bytes, at: &[usize], old: &str, new: &str) -> Vec<Bytes> {
    let new = Bytes::copy_from_slice(new.as_bytes());
    let mut chunks = Vec::with_capacity(at.len() * 2 + 1);
    let mut from = 0;
    for &i in at {
        chunks.push(body.slice(from..i));
        chunks.push(new.clone());
        from = i + old.len();
    }
    chunks.push(body.slice(from.min(body.len())..));
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_takes_too_long_is_answered_in_words() {
        let stuck = within(Duration::from_millis(20), "/history", std::future::pending()).await;
        assert_eq!(stuck.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(stuck.into_body(), 1024).await.expect("a body");
        assert!(String::from_utf8_lossy(&body).contains("took too long"));
        let quick = within(Duration::from_secs(5), "/", async { StatusCode::OK.into_response() });
        assert_eq!(quick.await.status(), StatusCode::OK);
    }

    #[test]
    fn host_names_are_compared_without_their_port() {
        assert_eq!(strip_port("gantry.epfl.ch:443"), "gantry.epfl.ch");
        assert_eq!(strip_port("gantry.epfl.ch"), "gantry.epfl.ch");
        assert_eq!(strip_port("[::1]:3000"), "[::1]");
        assert_eq!(strip_port("127.0.0.1:3000"), "127.0.0.1");
    }

    #[test]
    fn a_renewed_nonce_replaces_the_old_one_in_the_policy_and_the_page() {
        let mut headers = HeaderMap::new();
        let old = "0123456789abcdef0123456789abcdef";
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&format!("script-src 'self' 'nonce-{old}'")).expect("header"),
        );
        let body =
            Bytes::from(format!("<script nonce=\"{old}\">x</script><script nonce=\"{old}\">"));
        let renewed = renew_nonce(&mut headers, &body);
        let text = std::str::from_utf8(&renewed).expect("utf-8");
        assert!(!text.contains(old), "{text}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("text");
        let new =
            policy.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce");
        assert_eq!(new.len(), 32);
        assert_eq!(text.matches(&format!("nonce=\"{new}\"")).count(), 2);
    }

    #[test]
    fn a_kept_page_gets_the_new_nonce_exactly_where_the_old_one_was() {
        // Leptos' own nonces are 22 characters, Gantry's 32: the lengths may differ.
        let old = "waHX2MWntumNyCwnQlx63A";
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&format!("script-src 'nonce-{old}'")).expect("header"),
        );
        let page = format!("<head><script nonce=\"{old}\">try{{t=1}}</script></head><p>{old}</p>");
        let body = Bytes::from(page.clone());
        let (found, at) = nonce_places(&headers, &body).expect("a nonce");
        assert_eq!(found, old);
        let new = "fedcba9876543210fedcba9876543210";
        let served = with_nonce(&body, &at, old, new).concat();
        assert_eq!(String::from_utf8(served).expect("text"), page.replace(old, new));
    }
}
