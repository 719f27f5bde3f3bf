//! The real OpenID provider the sign-in tests use (`tests/oidc/provider.mjs`, npm
//! `oidc-provider`), one per test binary, and a browser-like walk through its sign-in.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use gantry::config::Settings;
use sqlx::PgPool;

use crate::{anonymous_client, test_settings, TestApp};

pub const CLIENT_ID: &str = "gantry-test";
pub const CLIENT_SECRET: &str = "gantry-test-secret-long-enough-for-hs256";

pub struct Provider {
    pub issuer: String,
    /// Kept so the process lives as long as the tests; it exits when our stdin closes.
    _child: Child,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The provider for this test binary, started on first use.
pub fn provider() -> &'static Provider {
    static PROVIDER: OnceLock<Provider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let npm = std::env::var("GANTRY_NPM")
            .expect("GANTRY_NPM is not set: run through ./run test (scripts/bootstrap.sh installs oidc-provider)");
        let mut child = Command::new("node")
            .arg(root().join("oidc/provider.mjs"))
            .env("GANTRY_NPM", npm)
            .env("OP_USERS", root().join("oidc/people.json"))
            .env("OP_CLIENT_ID", CLIENT_ID)
            .env("OP_CLIENT_SECRET", CLIENT_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the test OpenID provider");
        let stdout = child.stdout.take().expect("provider stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("provider says where it listens");
        let port = line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("provider said {line:?}"));
        Provider { issuer: format!("http://127.0.0.1:{port}"), _child: child }
    })
}

/// Settings for a Gantry signing in through the test provider, with the EPFL claim
/// mapping (SCIPER in `uniqueid`, groups with the `_AppGrpU` suffix).
pub fn settings_for(address: std::net::SocketAddr, extra: &[(&str, &str)]) -> Settings {
    let provider = provider();
    let redirect = format!("http://{address}/auth/callback");
    let listen = address.to_string();
    let file = root().join("oidc/gantry.toml");
    let file = file.to_string_lossy().into_owned();
    let mut vars = vec![
        ("GANTRY_LISTEN", listen.as_str()),
        ("GANTRY_CONFIG", file.as_str()),
        ("GANTRY_AUTH_MODE", "oidc"),
        ("GANTRY_OIDC_ISSUER", provider.issuer.as_str()),
        ("GANTRY_OIDC_CLIENT_ID", CLIENT_ID),
        ("GANTRY_OIDC_CLIENT_SECRET", CLIENT_SECRET),
        ("GANTRY_OIDC_REDIRECT_URL", redirect.as_str()),
    ];
    vars.extend_from_slice(extra);
    test_settings(&vars)
}

/// Gantry on a port of its own, signing in through the test provider.
pub async fn spawn_with_provider(db: PgPool, extra: &[(&str, &str)]) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let settings = settings_for(address, extra);
    crate::serve(db, &settings, listener).await
}

/// Where a browser is after following redirects from `start` until it reaches `stop_at`
/// (a prefix) or a page that is not a redirect.
pub async fn follow(
    client: &reqwest::Client,
    start: String,
    stop_at: &str,
) -> (reqwest::StatusCode, String) {
    let mut url = reqwest::Url::parse(&start).expect("absolute url");
    for _ in 0..15 {
        if url.as_str().starts_with(stop_at) {
            return (reqwest::StatusCode::OK, url.to_string());
        }
        let response = client.get(url.clone()).send().await.expect("request");
        if !response.status().is_redirection() {
            return (response.status(), url.to_string());
        }
        let location = response.headers()["location"].to_str().expect("location").to_owned();
        url = url.join(&location).expect("location is a url");
    }
    panic!("too many redirects from {start}");
}

/// One sign-in walked like a browser, stopped before the callback so a test can meddle.
pub struct SignIn {
    pub client: reqwest::Client,
    /// The provider's authorization URL Gantry sent the browser to.
    pub authorize: reqwest::Url,
    /// The callback URL the provider sent the browser back to.
    pub callback: String,
}

impl SignIn {
    pub fn nonce(&self) -> String {
        self.query("nonce")
    }

    pub fn query(&self, key: &str) -> String {
        self.authorize
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }
}

/// Starts a sign-in as `person` asking for `next`, with a fresh browser.
pub async fn start_sign_in(
    app: &TestApp,
    person: &str,
    next: &str,
) -> (reqwest::Client, reqwest::Url) {
    let client = anonymous_client();
    let provider = provider();
    let chosen = client
        .get(format!("{}/__test/login-as/{person}", provider.issuer))
        .send()
        .await
        .expect("login-as");
    assert_eq!(chosen.status(), 200, "no test person {person}");
    let login = client
        .get(app.url(&format!("/auth/login?next={}", gantry::auth::layer::urlencode(next))))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 303, "login does not redirect to the provider");
    let location = login.headers()["location"].to_str().expect("location").to_owned();
    (client, reqwest::Url::parse(&location).expect("authorize url"))
}

/// A sign-in as `person` up to (not including) the callback.
pub async fn sign_in_until_callback(app: &TestApp, person: &str, next: &str) -> SignIn {
    let (client, authorize) = start_sign_in(app, person, next).await;
    let (_, callback) = follow(&client, authorize.to_string(), &app.url("/auth/callback")).await;
    assert!(
        callback.starts_with(&app.url("/auth/callback")),
        "the provider did not come back: {callback}"
    );
    SignIn { client, authorize, callback }
}

/// A whole sign-in as `person`: the client holds the session afterwards.
pub async fn signed_in_client(app: &TestApp, person: &str) -> reqwest::Client {
    let sign_in = sign_in_until_callback(app, person, "/").await;
    let response = sign_in.client.get(&sign_in.callback).send().await.expect("callback");
    assert_eq!(
        response.status(),
        303,
        "sign-in as {person} failed: {}",
        response.text().await.unwrap_or_default()
    );
    sign_in.client
}
