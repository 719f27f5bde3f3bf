//! The browser protections every response carries, the host names served, and
//! connections that trickle their headers.

use std::time::Duration;

use gantry_tests::oidc::spawn_with_provider;
use gantry_tests::{
    anonymous_client, eventually, spawn_app_with, spawn_on_simulator, test_settings,
};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The nonce a policy allows, if any.
fn nonce_of(policy: &str) -> Option<String> {
    policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).map(str::to_owned)
}

/// Every `<script` tag of a page with its attributes.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script").filter_map(|(at, _)| html[at..].split('>').next()).collect()
}

fn assert_common(response: &reqwest::Response, what: &str) {
    let policy = header(response, "content-security-policy");
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "connect-src 'self'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(part), "{what}: policy {policy:?} lacks {part}");
    }
    assert!(!policy.contains("unsafe-inline"), "{what}: {policy}");
    assert_eq!(header(response, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(response, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(response, "referrer-policy"), "same-origin", "{what}");
    let permissions = header(response, "permissions-policy");
    assert!(permissions.contains("camera=()") && !permissions.contains("self"), "{what}");
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn pages_run_only_the_scripts_their_policy_names(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let mut nonces = Vec::new();
    // The overview twice: the second comes from the kept rendering, with a nonce of its own.
    for path in ["/", "/", "/environments/prod", "/me", "/history", "/no/such/page"] {
        let response = app.get(path).await;
        assert_common(&response, path);
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
        let policy = header(&response, "content-security-policy").to_owned();
        let nonce = nonce_of(&policy).unwrap_or_else(|| panic!("{path}: no nonce in {policy}"));
        assert!(policy.contains("'wasm-unsafe-eval'"), "{path}: the WebAssembly must load");
        let html = response.text().await.expect("a page");
        let tags = script_tags(&html);
        assert!(tags.len() >= 2, "{path}: the theme and hydration scripts: {tags:?}");
        for tag in tags {
            let external = tag.contains(" src=");
            assert!(
                external || tag.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: an inline script without this response's nonce: {tag}"
            );
        }
        assert!(!html.contains(" style=\""), "{path}: inline styles are refused by the policy");
        nonces.push(nonce);
    }
    let mut distinct = nonces.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), nonces.len(), "every response its own nonce: {nonces:?}");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn every_other_response_carries_the_protections_too(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    let anonymous = anonymous_client();
    let cases = [
        (app.client.get(app.url("/api/me")), "no-store"),
        (app.client.post(app.url("/api/overview")), "no-store"),
        (app.client.get(app.url("/api/audit.csv")), "no-store"),
        (anonymous.get(app.url("/api/me")), "no-store"),
        (anonymous.get(app.url("/")), "no-store"),
        (anonymous.get(app.url("/auth/login")), "no-store"),
        (anonymous.get(app.url("/health")), "no-store"),
        (anonymous.get(app.url("/pkg/gantry.css")), "no-cache"),
    ];
    for (request, cache) in cases {
        let response = request.send().await.expect("sent");
        let what = response.url().path().to_owned();
        assert_common(&response, &what);
        assert_eq!(header(&response, "cache-control"), cache, "{what}");
        assert_eq!(header(&response, "strict-transport-security"), "", "{what}: plain http");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn a_host_name_that_is_not_configured_gets_nothing(db: PgPool) {
    let app = spawn_on_simulator(db, &[]).await;
    // A page on rebind.evil.example resolving to 127.0.0.1 cannot sign in as a demo person
    // nor read anything with a session.
    let evil = "rebind.evil.example";
    let browser = anonymous_client();
    let sign_in = browser
        .post(app.url("/auth/demo"))
        .header("host", evil)
        .form(&[("person", "admin"), ("next", "/")])
        .send()
        .await
        .expect("sent");
    assert_eq!(sign_in.status(), 421);
    assert!(sign_in.text().await.expect("text").contains("does not answer to that host name"));
    for path in ["/", "/api/me", "/api/live", "/auth/login"] {
        let response =
            app.client.get(app.url(path)).header("host", evil).send().await.expect("sent");
        assert_eq!(response.status(), 421, "{path}");
    }
    // Loopback names are the demo's; probes come by address and always pass.
    for host in ["localhost:3000", "127.0.0.1", "[::1]:8080"] {
        let response =
            app.client.get(app.url("/api/me")).header("host", host).send().await.expect("sent");
        assert_eq!(response.status(), 200, "{host}");
    }
    let probe = app.client.get(app.url("/ready")).header("host", "10.1.2.3:3000").send().await;
    assert_eq!(probe.expect("sent").status(), 200);
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn over_https_the_cookie_is_a_host_cookie_and_browsers_are_told_to_stay(db: PgPool) {
    let app = spawn_with_provider(
        db,
        &[("GANTRY_OIDC_REDIRECT_URL", "https://gantry.example.org/auth/callback")],
    )
    .await;
    let browser = anonymous_client();
    let response = browser
        .get(app.url("/auth/login"))
        .header("host", "gantry.example.org")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 303);
    assert_eq!(header(&response, "strict-transport-security"), "max-age=31536000");
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("__Host-gantry_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    // Signing out ends at the provider: the policy lets the form go there.
    let policy = header(&response, "content-security-policy");
    let provider = gantry_tests::oidc::provider().issuer.clone();
    assert!(policy.contains(&format!("form-action 'self' {provider}")), "{policy}");
    // The provider's own name is not this server's.
    let response = browser.get(app.url("/auth/login")).send().await.expect("sent");
    assert_eq!(response.status(), 421, "127.0.0.1 is not gantry.example.org");
    app.stop().await;
}

#[sqlx::test(migrator = "gantry::db::MIGRATOR")]
async fn connections_that_never_finish_their_headers_are_closed(db: PgPool) {
    let mut settings = test_settings(&[]);
    settings.server.limits.header_timeout = Duration::from_secs(1);
    let app = spawn_app_with(db, settings).await;
    let mut open = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(app.address).await.expect("connects");
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a").await.expect("writes");
        open.push(stream);
    }
    // Each is closed by the server (EOF or a reset), never answered.
    for (i, stream) in open.iter_mut().enumerate() {
        let mut buffer = [0u8; 512];
        let closed = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return true,
                    Ok(n) if buffer[..n].starts_with(b"HTTP/1.1 2") => return false,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert_eq!(closed, Ok(true), "connection {i} still open or answered");
    }
    // The server serves on.
    eventually(Duration::from_secs(10), "the server answers after the slow clients", || async {
        app.get("/health").await.status() == 200
    })
    .await;
    app.stop().await;
}
