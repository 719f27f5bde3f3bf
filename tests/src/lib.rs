//! Helpers shared by the integration tests: start a real Gantry server on a free port
//! against a per-test database, and talk to it over HTTP.

pub mod actions;
pub mod backups;
pub mod history;
pub mod logs;
pub mod oidc;
pub mod prometheus;

pub use gantry_sim::wait::{eventually, eventually_some};

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
    /// What the server's pages read: tests run the engine's steps and background passes
    /// with it.
    pub context: gantry_app::context::ServerContext,
    /// Whether the sweeper and the recorder wait for this test to run them.
    on_demand: bool,
    recorder: tokio::sync::Mutex<gantry_app::history::recorder::Recorder>,
    backups: tokio::sync::Mutex<gantry_app::backups::recorder::Recorder>,
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

/// How a test server runs its background work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// As in production: the sweeper every 2 s, the recorder on every change.
    Running,
    /// Only when the test asks ([`TestApp::sweep`], [`TestApp::record_history`]).
    OnDemand,
}

/// Builds Gantry on `listener` and serves it in the background.
pub async fn serve(db: PgPool, settings: &Settings, listener: tokio::net::TcpListener) -> TestApp {
    serve_with(db, settings, listener, Background::Running).await
}

/// [`serve`], choosing how the background work runs.
pub async fn serve_with(
    db: PgPool,
    settings: &Settings,
    listener: tokio::net::TcpListener,
    background: Background,
) -> TestApp {
    let mut app =
        Application::build_on(settings, db.clone(), listener).await.expect("server builds");
    if background == Background::OnDemand {
        app.background_on_demand();
    }
    let context = app.context();
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
        context,
        on_demand: background == Background::OnDemand,
        recorder: tokio::sync::Mutex::default(),
        backups: tokio::sync::Mutex::default(),
        stop: Some(stop),
        server: Some(server),
    };
    // Most tests are about what a signed-in person sees: `client` is the demo admin's.
    if demo {
        app.client = app.client_as("admin").await;
    }
    app
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
    spawn_on_simulator_with(db, extra, Background::Running).await
}

/// [`spawn_on_simulator`], choosing how the background work runs.
pub async fn spawn_on_simulator_with(
    db: PgPool,
    extra: &[(&str, &str)],
    background: Background,
) -> TestApp {
    let mut vars = vec![
        ("GANTRY_SIMULATOR", "true"),
        ("GANTRY_SIMULATOR_PORT", "0"),
        ("GANTRY_CLUSTER", "simulator"),
    ];
    vars.extend_from_slice(extra);
    let settings = test_settings(&vars);
    let listener = tokio::net::TcpListener::bind(settings.server.listen).await.expect("bind");
    let app = serve_with(db, &settings, listener, background).await;
    app.wait_ready().await;
    app
}

impl Drop for TestApp {
    /// A test that ends without [`TestApp::stop`] cuts its server off at once: its tasks
    /// and their database connections go before the test's database is dropped (else the
    /// drop waits 5 s for them, and the connections count against every later test).
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
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

    /// The page at `path` as `client` sees it (any status), as text.
    pub async fn page_as(&self, client: &reqwest::Client, path: &str) -> String {
        let response = client.get(self.url(path)).send().await.expect("request sent");
        response.text().await.expect("a body")
    }

    /// Waits until /ready answers 200 (every environment's watches synced).
    pub async fn wait_ready(&self) {
        let ready = || async { self.get("/ready").await.status() == 200 };
        eventually(std::time::Duration::from_secs(20), "/ready to answer 200", ready).await;
    }

    /// One pass of the sweeper, as the server makes every 2 s, except that approved
    /// requests are claimed at once (the server waits 10 s for their approver's server).
    pub async fn sweep(&self) {
        use gantry_app::actions::engine::sweeper::{sweep_once, Patience};
        let patience = Patience { unclaimed_seconds: 0, ..Patience::SERVER };
        sweep_once(&self.context, patience).await;
    }

    /// One pass of the history recorder over every environment; true when all could be
    /// recorded. For servers started with [`Background::OnDemand`] (a running recorder
    /// would record the same, only at its own time).
    pub async fn record_history(&self) -> bool {
        assert!(self.on_demand, "the recorder runs by itself on this server");
        self.recorder.lock().await.record_once(&self.context).await
    }

    /// One pass of the backup recorder over every environment; true when all could be
    /// recorded (for servers started with [`Background::OnDemand`]).
    pub async fn record_backups(&self) -> bool {
        assert!(self.on_demand, "the backup recorder runs by itself on this server");
        self.backups.lock().await.record_once(&self.context).await
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

    /// How the server's database pool stands (it is the test's own pool): said with an
    /// unexpected 5xx, since a pool with every connection taken answers nothing in time.
    pub fn pool_state(&self) -> String {
        let (size, idle) = (self.db.size(), self.db.num_idle());
        let most = self.db.options().get_max_connections();
        format!("database pool: {size} of {most} open, {idle} idle")
    }

    pub fn server_finished(&self) -> bool {
        self.server.as_ref().is_none_or(JoinHandle::is_finished)
    }
}
