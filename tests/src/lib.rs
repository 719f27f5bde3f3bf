//! Helpers shared by the integration tests: start a real Gantry server on a free port
//! against a per-test database, and talk to it over HTTP.

pub mod actions;
pub mod history;
pub mod oidc;

use std::net::SocketAddr;

use gantry::config::Settings;
use gantry::startup::Application;
use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub db: PgPool,
    /// The simulated cluster the server watches (when started with one) and its URL.
    pub simulator: Option<(gantry_sim::Cluster, String)>,
    /// Where `/metrics` is served (its own listener).
    pub metrics: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), gantry::startup::StartupError>>>,
}

/// Settings for a test server: port 0, the built browser assets when present.
pub fn test_settings(extra: &[(&str, &str)]) -> Settings {
    let site_root = std::env::var("GANTRY_SITE_ROOT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").to_owned());
    let mut vars: Vec<(&str, &str)> = vec![
        ("GANTRY_LISTEN", "127.0.0.1:0"),
        ("GANTRY_METRICS_LISTEN", "127.0.0.1:0"),
        // The pool is handed over directly; this URL only satisfies validation.
        ("GANTRY_DATABASE_URL", "postgres://unused@127.0.0.1:1/unused"),
        ("GANTRY_SITE_ROOT", site_root.as_str()),
        ("GANTRY_SHUTDOWN_GRACE_SECONDS", "5"),
        ("GANTRY_CLUSTER", "none"),
        // Demo people sign in without a provider; the OpenID tests start a real one.
        ("GANTRY_AUTH_MODE", "demo"),
    ];
    vars.extend_from_slice(extra);
    Settings::from_sources(vars).expect("test settings are valid")
}

/// Starts Gantry in this process on a free loopback port, using `db`.
pub async fn spawn_app(db: PgPool) -> TestApp {
    spawn_app_with(db, test_settings(&[])).await
}

pub async fn spawn_app_with(db: PgPool, settings: Settings) -> TestApp {
    let addr = settings.server.listen;
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    serve(db, &settings, listener).await
}

/// Builds Gantry on `listener` and serves it in the background.
pub async fn serve(db: PgPool, settings: &Settings, listener: tokio::net::TcpListener) -> TestApp {
    let app = Application::build_on(settings, db.clone(), listener).await.expect("server builds");
    let address = app.local_addr().expect("bound address");
    let simulator = app.simulator();
    let metrics = app.metrics_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(async move {
        let _ = stopped.await;
    }));
    let demo = matches!(settings.auth.method, gantry::config::SignInSettings::Demo(_));
    let mut app = TestApp {
        address,
        client: anonymous_client(),
        db,
        simulator,
        metrics,
        stop: Some(stop),
        server: Some(server),
    };
    // Most tests are about what a signed-in person sees: `client` is the demo admin's.
    if demo {
        app.client = app.client_as("admin").await;
    }
    app
}

/// Waits until `check` holds, trying again every few milliseconds (a little less often
/// as time goes by), for at most `timeout`; then fails naming what it waited for. Tests
/// wait for a named condition this way, never for a fixed time.
pub async fn eventually<F, Fut>(timeout: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        if check().await {
            return;
        }
        assert!(started.elapsed() < timeout, "waited {timeout:?} for {what}, in vain");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

/// The session cookie's value a response sets, if it sets one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("gantry_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
}

/// The audit events of `kind`, oldest first: who (user id) and why.
pub async fn audit_events(db: &PgPool, kind: &str) -> Vec<(Option<String>, Option<String>)> {
    sqlx::query_as::<_, (Option<String>, Option<String>)>(
        "select user_id, reason from audit_event where kind = $1 order by audit_event_id",
    )
    .bind(kind)
    .fetch_all(db)
    .await
    .expect("the audit log can be read")
}

/// A client with its own cookie jar that follows no redirects (tests look at them).
pub fn anonymous_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Starts Gantry on its own simulated cluster (as the demo does) and waits until every
/// environment's watches have synced. `extra` adds or overrides settings.
pub async fn spawn_on_simulator(db: PgPool, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("GANTRY_SIMULATOR", "true"),
        ("GANTRY_SIMULATOR_PORT", "0"),
        ("GANTRY_CLUSTER", "simulator"),
    ];
    vars.extend_from_slice(extra);
    let app = spawn_app_with(db, test_settings(&vars)).await;
    app.wait_ready().await;
    app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A new client signed in as one of the demo people (`admin`, `approver`, `operator`,
    /// `developer`, `stakeholder`, `newcomer`).
    pub async fn client_as(&self, person: &str) -> reqwest::Client {
        let client = anonymous_client();
        let response = client
            .post(self.url("/auth/demo"))
            .form(&[("person", person), ("next", "/")])
            .send()
            .await
            .expect("demo sign-in sent");
        assert_eq!(response.status(), 303, "demo sign-in as {person} failed");
        client
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// Waits until /ready answers 200 (every environment's watches synced).
    pub async fn wait_ready(&self) {
        for _ in 0..100 {
            if self.get("/ready").await.status() == 200 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("the server did not become ready on the simulated cluster");
    }

    /// Asks the server to stop, as SIGTERM would, without waiting.
    pub fn request_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server and waits until it has finished.
    pub async fn stop(mut self) {
        self.request_stop();
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server stopped cleanly");
        }
    }

    pub fn server_finished(&self) -> bool {
        self.server.as_ref().is_none_or(JoinHandle::is_finished)
    }
}
