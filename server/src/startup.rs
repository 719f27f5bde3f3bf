//! Bringing the server up and down: database, state, listener, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use gantry_app::context::ServerContext;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::DbError;
use crate::http::{AppState, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Metrics(#[from] crate::http::MetricsError),
    #[error("cannot start the simulated cluster on 127.0.0.1:{port}: {source}")]
    Simulator { port: u16, source: std::io::Error },
    #[error("cannot write the simulated cluster's kubeconfig to {path}: {source}")]
    Kubeconfig { path: String, source: std::io::Error },
    #[error("cannot connect to the Kubernetes API ({source_kind}): {message}")]
    Cluster { source_kind: &'static str, message: String },
    #[error("cannot set up signing in: {0}")]
    Auth(String),
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("cannot set up the Prometheus client: {0}")]
    Monitoring(String),
}

/// The server's background tasks, stopped with it — also when serving is itself cut off
/// (its future dropped): a task left running would keep its database connection.
struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// Stops every task and waits until each is gone, so what they held (a database
    /// connection, a transaction to roll back) is let go before the server says it stopped.
    async fn stop(mut self) {
        for task in std::mem::take(&mut self.0) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A server that is bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
    /// Serving on, unready, between the stop signal and closing the listener.
    delay: Duration,
    stopping: Arc<std::sync::atomic::AtomicBool>,
    simulator: Option<gantry_sim::Running>,
    live: Arc<gantry_app::cluster::live::Live>,
    limits: crate::config::ServerLimits,
    /// `/metrics`, on a listener of its own (not published with the pages).
    metrics_listener: Option<(TcpListener, Router)>,
    /// What pages and server functions read; the background work reads it too.
    context: gantry_app::context::ServerContext,
    /// Whether the background work runs by itself (always, but in tests that run each
    /// pass themselves: see [`Application::background_on_demand`]).
    background: bool,
    webhook: Option<String>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let db = crate::db::connect(&settings.database).await?;
        Self::build_with_pool(settings, db).await
    }

    /// Like [`Application::build`] with a pool made elsewhere (tests get one per test).
    pub async fn build_with_pool(
        settings: &Settings,
        db: sqlx::PgPool,
    ) -> Result<Self, StartupError> {
        let addr = settings.server.listen;
        let listener =
            TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })?;
        Self::build_on(settings, db, listener).await
    }

    /// Like [`Application::build_with_pool`] on a listener bound beforehand (tests that
    /// must know the address first: the OpenID provider needs the callback address).
    pub async fn build_on(
        settings: &Settings,
        db: sqlx::PgPool,
        listener: TcpListener,
    ) -> Result<Self, StartupError> {
        migrate(settings, &db).await?;
        let host = hostname();
        let start_id = crate::db::record_start(&db, &host).await.map_err(DbError::Query)?;
        tracing::info!(start_id, host = %host, "database ready");
        let simulator = start_simulator(settings).await?;
        let watches = start_watches(settings, simulator.as_ref()).await?;
        let state = app_state(settings, db, watches)?;
        let metrics_listener = match settings.server.limits.metrics_listen {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?;
                Some((listener, crate::http::metrics_router(state.clone())))
            }
        };
        let live = Arc::clone(&state.context.live);
        let stopping = Arc::clone(&state.stopping);
        Ok(Self {
            listener,
            live,
            context: state.context.clone(),
            background: true,
            webhook: settings.notifications.webhook_url.clone(),
            router: crate::http::router(state),
            limits: settings.server.limits.clone(),
            metrics_listener,
            grace: settings.server.shutdown_grace,
            delay: settings.server.shutdown_delay,
            stopping,
            simulator,
        })
    }

    /// The simulated cluster started with the server, if any, and its URL (tests and
    /// benchmarks change it while the panel watches).
    pub fn simulator(&self) -> Option<(gantry_sim::Cluster, String)> {
        self.simulator.as_ref().map(|s| (s.cluster.clone(), s.url()))
    }

    /// What the pages read (tests run background passes and the engine's steps with it).
    pub fn context(&self) -> gantry_app::context::ServerContext {
        self.context.clone()
    }

    /// The sweeper and the history recorder do not run by themselves: the caller runs
    /// each pass (`sweeper::sweep_once`, `Recorder::record_once`) when it wants one, so a
    /// test waits for no timer. The audit anchor still runs.
    pub fn background_on_demand(&mut self) {
        self.background = false;
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        let addr = self.listener.local_addr();
        addr.map_err(|source| StartupError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for up to
    /// the grace period.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        // Expires, runs and reconciles action requests (`actions::engine`); records the
        // history the watch caches show (`history::recorder`); announces the audit log's
        // anchor every hour (`anchor`).
        let mut background =
            Background(vec![crate::anchor::start(self.context.db.clone(), self.webhook)]);
        // Hears which recorded tables change, so the record pages' kept rows are dropped
        // on every replica (`records`); not a timer, so it runs in tests too.
        let records = gantry_app::records::listen::run(
            self.context.db.clone(),
            Arc::clone(&self.context.records),
        );
        background.0.push(tokio::spawn(records));
        if self.background {
            background.0.push(gantry_app::actions::engine::start(self.context.clone()));
            background.0.push(gantry_app::history::recorder::start(self.context.clone()));
            background.0.push(gantry_app::backups::recorder::start(self.context.clone()));
            if self.context.monitoring.is_some() {
                background.0.push(gantry_app::monitoring::summary::start(self.context.clone()));
            }
        }
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let live = Arc::clone(&self.live);
        let (delay, stopping) = (self.delay, Arc::clone(&self.stopping));
        let signal = async move {
            shutdown.await;
            crate::shutdown::unready_for(delay, &stopping).await;
            tracing::info!("stop requested: finishing requests in flight");
            live.close();
            let _ = stopping_tx.send(());
        };
        let limits = self.limits.clone();
        let metrics = self.metrics_listener.map(|(listener, router)| {
            tokio::spawn(async move {
                crate::http::listen::serve(listener, router, &limits, std::future::pending()).await;
            })
        });
        let server = crate::http::listen::serve(self.listener, self.router, &self.limits, signal);
        let grace = self.grace;
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                // The server ended without a stop request; nothing to time out.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = server => {},
            () = deadline => tracing::warn!(grace_seconds = grace.as_secs(), "grace period over: closing connections still open"),
        }
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        // An action cut short here stays `executing`: the next start reconciles it.
        background.stop().await;
        if let Some(simulator) = self.simulator {
            simulator.stop().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Applies the migrations: through the migration role when one is configured (which then
/// owns the tables), else through the application's own role — said at start, since that
/// role then owns the audit log and could switch its triggers off.
async fn migrate(settings: &Settings, db: &sqlx::PgPool) -> Result<(), StartupError> {
    match &settings.database.migration_url {
        Some(url) => {
            let owner = crate::config::DatabaseSettings {
                url: url.clone(),
                migration_url: None,
                max_connections: 1,
                connect_timeout: settings.database.connect_timeout,
            };
            let owner = crate::db::connect(&owner).await?;
            crate::db::migrate_as_owner(&owner, db).await?;
            owner.close().await;
        }
        None => crate::db::migrate(db).await?,
    }
    if crate::db::owns_audit_log(db).await.unwrap_or(false) {
        tracing::warn!(
            "the application's database role owns the audit log and could switch its triggers off: set database.migration_url to migrate as a role of its own"
        );
    }
    Ok(())
}

/// The client for the configured cluster. kube's default of retrying 503s for minutes is
/// off: an unreachable API must show as a stale view within seconds, and the watches
/// retry on their own.
/// `context` overrides `cluster.context` (an environment on another cluster).
async fn cluster_client(
    settings: &Settings,
    simulator: Option<&gantry_sim::Running>,
    context: Option<&String>,
) -> Result<Option<kube::Client>, StartupError> {
    use crate::config::ClusterSource;
    let fail = |source_kind: &'static str| {
        move |e: &dyn std::fmt::Display| StartupError::Cluster {
            source_kind,
            message: e.to_string(),
        }
    };
    let mut config = match settings.cluster.source {
        ClusterSource::None => return Ok(None),
        ClusterSource::Simulator => {
            let url = simulator.map(gantry_sim::Running::url).unwrap_or_default();
            kube::Config::new(
                url.parse().map_err(|e: http::uri::InvalidUri| fail("simulator")(&e))?,
            )
        }
        ClusterSource::InCluster => {
            kube::Config::incluster().map_err(|e| fail("in-cluster")(&e))?
        }
        ClusterSource::Kubeconfig => {
            let options = kube::config::KubeConfigOptions {
                context: context.or(settings.cluster.context.as_ref()).cloned(),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options).await.map_err(|e| fail("kubeconfig")(&e))?
        }
    };
    config.default_retry = false;
    let client = kube::Client::try_from(config).map_err(|e| fail("client")(&e))?;
    Ok(Some(client))
}

async fn start_watches(
    settings: &Settings,
    simulator: Option<&gantry_sim::Running>,
) -> Result<Vec<gantry_app::cluster::EnvironmentWatch>, StartupError> {
    // One client per cluster: environments sharing a context share its connections, and
    // one prober that tells all their watches when the cluster's API is back.
    type Reconnect = std::sync::Arc<gantry_app::cluster::reconnect::Reconnect>;
    let mut clients: Vec<(Option<&String>, kube::Client, Reconnect)> = Vec::new();
    let mut watches = Vec::with_capacity(settings.environments.len());
    for env in &settings.environments {
        let context = env.cluster_context.as_ref();
        let (client, reconnect) = match clients.iter().find(|(c, _, _)| *c == context) {
            Some((_, client, reconnect)) => (client.clone(), Reconnect::clone(reconnect)),
            None => {
                let Some(client) = cluster_client(settings, simulator, context).await? else {
                    return Ok(Vec::new());
                };
                let reconnect = Reconnect::default();
                clients.push((context, client.clone(), Reconnect::clone(&reconnect)));
                (client, reconnect)
            }
        };
        let target = gantry_app::cluster::WatchTarget {
            name: env.name.clone(),
            namespace: env.namespace.clone(),
            application: env
                .argocd_application
                .clone()
                .map(|app| (env.argocd_namespace.clone(), app)),
        };
        let watch =
            gantry_app::cluster::EnvironmentWatch::start_sharing(&client, target, &reconnect);
        watches.push(watch);
    }
    tracing::info!(source = ?settings.cluster.source, environments = settings.environments.len(), "watching the cluster");
    Ok(watches)
}

fn app_state(
    settings: &Settings,
    db: sqlx::PgPool,
    watches: Vec<gantry_app::cluster::EnvironmentWatch>,
) -> Result<AppState, StartupError> {
    let environments = settings.environments.clone();
    let site_root = settings.server.site_root.to_string_lossy().into_owned();
    let leptos_options = LeptosOptions::builder()
        .output_name(gantry_app::shell::OUTPUT_NAME)
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(settings.server.listen)
        .build();
    let script = settings
        .server
        .site_root
        .join("pkg")
        .join(format!("{}.js", gantry_app::shell::OUTPUT_NAME));
    if !script.exists() {
        tracing::warn!(
            missing = %script.display(),
            "browser assets not found: pages will render but not become interactive (build them with ./run build)"
        );
    }
    let auth = crate::auth::Auth::new(settings).map_err(|e| StartupError::Auth(e.to_string()))?;
    let sessions = auth.session_layer(db.clone()).map_err(StartupError::Auth)?;
    let protection =
        Arc::new(crate::http::protect::Protection::new(settings, auth.public_origin.as_deref()));
    crate::auth::spawn_session_cleanup(db.clone());
    if let Some(openid) = auth.openid.is_some().then(|| auth.clone()) {
        tokio::spawn(async move {
            if let Some(openid) = &openid.openid {
                openid.warm_up().await;
            }
        });
    }
    let monitoring = match &settings.prometheus {
        None => None,
        Some(config) => {
            let alertmanager = settings
                .alertmanager
                .clone()
                .map(|url| (url, settings.alertmanager_auth.credentials()));
            let monitoring = gantry_app::monitoring::Monitoring::new(
                config.clone(),
                settings.prometheus_auth.credentials(),
                alertmanager,
            )
            .map_err(StartupError::Monitoring)?;
            Some(Arc::new(monitoring))
        }
    };
    Ok(AppState::new(crate::http::Shared {
        leptos_options,
        context: ServerContext {
            environments: Arc::new(environments),
            db,
            live: gantry_app::cluster::live::Live::start(
                watches,
                settings.environments.clone(),
                gantry_app::environment::present::for_live,
            ),
            role_mapping: auth.role_mapping(),
            values_visible_to: settings.values_visible_to,
            actions: Arc::new(gantry_app::actions::engine::Settings {
                host: hostname(),
                webhook: settings.notifications.webhook_url.clone(),
            }),
            monitoring,
            backups: Arc::default(),
            records: Arc::default(),
        },
        metrics: Arc::new(Metrics::new(settings.database.max_connections)?),
        auth,
        protection,
        streams: Arc::new(crate::http::streams::Streams::new(
            crate::http::live::MOST_PER_SESSION,
            crate::http::live::MOST_IN_ALL,
        )),
        log_streams: Arc::new(crate::http::streams::Streams::new(
            settings.server.limits.log_streams_per_person,
            settings.server.limits.log_streams_in_all,
        )),
        trusted_proxies: Arc::new(settings.server.limits.trusted_proxies.clone()),
        stopping: Arc::default(),
        sessions,
        pages: Arc::default(),
    }))
}

/// The demo's cluster: the simulator on loopback, with a kubeconfig for kubectl.
async fn start_simulator(settings: &Settings) -> Result<Option<gantry_sim::Running>, StartupError> {
    let config = &settings.simulator;
    if !config.enabled {
        return Ok(None);
    }
    let options = gantry_sim::Options {
        speed: config.speed,
        environments: config.environments,
        extra_workloads: config.extra_workloads,
        ..gantry_sim::Options::default()
    };
    let running = gantry_sim::Running::start(options, config.port)
        .await
        .map_err(|source| StartupError::Simulator { port: config.port, source })?;
    if let Some(path) = &config.kubeconfig {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, running.kubeconfig()));
        written.map_err(|source| StartupError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })?;
    }
    tracing::info!(
        url = %running.url(),
        speed = config.speed,
        kubeconfig = ?config.kubeconfig,
        "simulated cluster running (CO2 calculator in dev, staging and prod)"
    );
    Ok(Some(running))
}

/// This machine's name as Gantry records it (the start record, the executor of actions).
pub fn hostname() -> String {
    // In Kubernetes this is the pod name: what operators look for.
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `gantry`'s whole life.
pub async fn run(settings: Settings) -> Result<(), StartupError> {
    let stop = crate::shutdown::stop_signal();
    let app = Application::build(&settings).await?;
    let addr = app.local_addr()?;
    tracing::info!(%addr, "Gantry is listening on http://{addr}");
    app.serve(stop).await
}
