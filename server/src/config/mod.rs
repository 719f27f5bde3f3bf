//! Typed configuration, read once at start: an optional TOML file (`GANTRY_CONFIG`), then
//! environment variables on top. Every value is checked here, so a bad one stops the
//! server at start with a message that names it, instead of failing later.

pub mod access;
pub mod auth;
mod env;
mod environments;
mod error;
mod file;
mod prometheus;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

pub use auth::{
    AuthSettings, ClaimMapping, DemoPerson, OpenIdSettings, SessionSettings, SignInSettings,
};
pub use error::ConfigError;
pub use gantry_app::config::{EnvironmentConfig, PrometheusConfig, WorkloadConfig};
pub use prometheus::PrometheusAuth;
pub use server::{Cidr, ServerLimits};

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub environments: Vec<EnvironmentConfig>,
    pub simulator: SimulatorSettings,
    pub cluster: ClusterSettings,
    pub auth: AuthSettings,
    /// Which groups hold which role on which environment.
    pub role_mapping: Vec<gantry_app::access::GroupRoles>,
    /// The least role that sees literal values in diffs and comparisons.
    pub values_visible_to: gantry_app::access::Role,
    pub notifications: NotificationSettings,
    /// Where the metrics are (`[prometheus]`); none: the Metrics pages say so.
    pub prometheus: Option<PrometheusConfig>,
    /// How to sign in to it (from the environment only).
    pub prometheus_auth: PrometheusAuth,
    /// Alertmanager's base URL (`[alertmanager]`): silences; none: alerts only.
    pub alertmanager: Option<String>,
    /// How to sign in to it (from the environment only).
    pub alertmanager_auth: PrometheusAuth,
}

/// Where the panel announces action requests and their outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Incoming-webhook URL (Slack, Mattermost or anything taking JSON with a `text`).
    pub webhook_url: Option<String>,
}

/// The simulated cluster, started inside the server (demo and development only).
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorSettings {
    pub enabled: bool,
    /// Loopback port it listens on (0: any free port).
    pub port: u16,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Where to write a kubeconfig for kubectl, if anywhere.
    pub kubeconfig: Option<PathBuf>,
    /// How many environments it seeds, and how many extra workloads each runs.
    pub environments: usize,
    pub extra_workloads: usize,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    /// Where the built browser assets are (`pkg/gantry.js`, `.wasm`, `.css`).
    pub site_root: PathBuf,
    /// How long in-flight requests may take to finish after a stop signal.
    pub shutdown_grace: Duration,
    /// After a stop signal and before the listener closes: /ready says "stopping" and
    /// every request is still served, so a load balancer stops sending new ones first.
    pub shutdown_delay: Duration,
    /// Who may reach it and how much they may ask of it.
    pub limits: ServerLimits,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Holds the password: `SecretString` keeps it out of `Debug` output and logs.
    pub url: SecretString,
    /// A role of its own for the migrations, which then owns the tables (the application's
    /// role gets only what it needs: no UPDATE or DELETE of the audit log).
    pub migration_url: Option<SecretString>,
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// JSON when standard output is not a terminal, text when it is.
    Auto,
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,gantry=debug`.
    pub level: String,
}

/// Where the Kubernetes API is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterSource {
    /// The service account of the pod Gantry runs in.
    InCluster,
    /// The current (or a named) context of the kubeconfig (`KUBECONFIG` or ~/.kube/config).
    Kubeconfig,
    /// The simulated cluster started by this server.
    Simulator,
    /// No cluster: environments show as unknown.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    pub source: ClusterSource,
    /// kubeconfig context to use (source = kubeconfig); the current one when unset.
    pub context: Option<String>,
}

impl Settings {
    /// Reads the file named by `GANTRY_CONFIG` (if any) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::from_sources(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Same as [`Settings::load`] with the environment given explicitly (for tests).
    pub fn from_sources<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let vars = env::Vars::new(vars);
        let mut raw = match vars.get("GANTRY_CONFIG") {
            Some(path) => file::read(path)?,
            None => file::RawSettings::default(),
        };
        env::apply(&vars, &mut raw)?;
        file::validate(raw)
    }
}

#[cfg(test)]
mod tests;
