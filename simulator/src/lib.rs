//! A simulated Kubernetes cluster that speaks the real API over HTTP, for Gantry's demo
//! and tests: the panel's kube code runs unchanged against it. Controllers inside behave
//! as the real ones look from outside (rollouts, pods, CronJobs, Argo CD syncs), its clock
//! can run fast, and faults can be injected.

pub mod admission;
pub mod api;
pub mod clock;
pub mod controllers;
pub mod error;
pub mod exporter;
pub mod faults;
pub mod logs;
pub mod patch;
pub mod requests;
pub mod resources;
pub mod seed;
pub mod selectors;
pub mod store;
pub mod wait;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use faults::{Faults, WorkloadFault};
pub use store::Store;

/// How the simulated cluster behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Start with the CO2 calculator's three environments.
    pub seed: bool,
    /// How many changes a watch can resume from before 410 Gone.
    pub log_limit: usize,
    /// Real time between watch bookmarks.
    pub bookmark_interval: Duration,
    /// Simulated time from a pod's creation to Running and Ready.
    pub pod_start: Duration,
    /// Whether controllers run (off: a plain API server, as for contract tests).
    pub controllers: bool,
    /// How many environments the seed makes (see [`seed::environment_names`]): the CO2
    /// calculator's three by default, up to 100 to measure a platform team's cluster.
    pub environments: usize,
    /// Deployments of 10 replicas each that every seeded environment runs besides the
    /// calculator's five (0 by default).
    pub extra_workloads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            speed: 1.0,
            seed: true,
            log_limit: 20_000,
            bookmark_interval: Duration::from_secs(30),
            pod_start: Duration::from_secs(4),
            controllers: true,
            environments: 3,
            extra_workloads: 0,
        }
    }
}

/// Shared by the API handlers and the controllers.
#[derive(Clone)]
pub struct Cluster {
    pub store: Store,
    pub faults: Faults,
    pub options: Arc<Options>,
    /// The Git repository Argo CD deploys from.
    pub git: controllers::GitRepo,
    /// API requests answered so far, by kind.
    pub requests: requests::Requests,
    /// The application's metrics, served at `/metrics`.
    pub exporter: exporter::Exporter,
    /// The backup volumes: the dumps backup Jobs wrote and retention kept.
    pub nas: controllers::backups::Nas,
    /// The containers' logs, as the kubelets keep them.
    pub logs: logs::LogBook,
}

impl Cluster {
    pub fn new(options: Options) -> Self {
        let clock = Clock::new(options.speed);
        Self {
            store: Store::new(options.log_limit, clock),
            faults: Faults::default(),
            options: Arc::new(options),
            git: controllers::GitRepo::default(),
            requests: requests::Requests::default(),
            exporter: exporter::Exporter::default(),
            nas: controllers::backups::Nas::default(),
            logs: logs::LogBook::default(),
        }
    }

    pub fn clock(&self) -> &Clock {
        self.store.clock()
    }
}

/// A simulated cluster serving on loopback.
pub struct Running {
    pub addr: SocketAddr,
    pub cluster: Cluster,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Binds 127.0.0.1 (port 0 = any free port), seeds, starts controllers and serves.
    pub async fn start(options: Options, port: u16) -> std::io::Result<Self> {
        let cluster = Cluster::new(options);
        if cluster.options.seed {
            seed::co2_calculator(&cluster);
        }
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if cluster.options.controllers {
            tasks.extend(controllers::spawn_all(&cluster, &stopped));
        }
        let app = api::router(cluster.clone());
        let listener = faults::FaultyListener { listener, faults: cluster.faults.clone() };
        let mut stop_serving = stopped;
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_serving.wait_for(|stopped| *stopped).await;
            };
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(%error, "the simulated cluster stopped serving");
            }
        }));
        tracing::info!(%addr, "simulated cluster listening");
        Ok(Self { addr, cluster, stop, tasks })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig for kubectl (plain HTTP on loopback, no credentials).
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: simulated\n  cluster:\n    server: {}\ncontexts:\n- name: simulated\n  context:\n    cluster: simulated\n    user: panel\n    namespace: co2-calculator-dev\ncurrent-context: simulated\nusers:\n- name: panel\n  user: {{}}\n",
            self.url()
        )
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}
