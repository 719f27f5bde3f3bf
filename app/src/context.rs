//! What the server knows about the environments (their configuration, shared with the
//! pages that show it) and, on the server, what server functions can read: one
//! `ServerContext` built at start and provided to every render and server-function call.

use serde::{Deserialize, Serialize};

use crate::status::model::WorkloadKind;

/// One environment as configured (`[[environments]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentConfig {
    pub name: String,
    pub namespace: String,
    /// The Argo CD Application deploying it, if any.
    pub argocd_application: Option<String>,
    /// Where Argo CD keeps its Applications.
    pub argocd_namespace: String,
    /// The kubeconfig context its cluster is reached through, when not the default one.
    pub cluster_context: Option<String>,
    /// PromQL label matchers selecting its series (no braces).
    pub prometheus_selector: String,
    /// Its Grafana dashboard, if any.
    pub grafana_url: Option<String>,
    /// The workloads the panel may act on, with their scaling bounds.
    pub workloads: Vec<WorkloadConfig>,
    /// How each change is allowed here (direct, after approvals, or not at all).
    pub policy: crate::access::EnvironmentPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    pub name: String,
    pub kind: WorkloadKind,
    /// Scaling bounds: the panel never scales outside them.
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub prometheus_selector: String,
    pub grafana_url: Option<String>,
}

impl EnvironmentConfig {
    pub fn workload(&self, name: &str) -> Option<&WorkloadConfig> {
        self.workloads.iter().find(|w| w.name == name)
    }
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use std::sync::Arc;

    use super::EnvironmentConfig;

    #[derive(Clone)]
    pub struct ServerContext {
        pub environments: Arc<Vec<EnvironmentConfig>>,
        pub db: sqlx::PgPool,
        /// The environments' watch caches and derived status, in the order of
        /// `environments`; no watches when no cluster is configured.
        pub live: Arc<crate::cluster::live::Live>,
        /// Which groups give which role on which environment.
        pub role_mapping: Arc<Vec<crate::access::GroupRoles>>,
        /// How this server runs actions (its name, the webhook).
        pub actions: Arc<crate::actions::engine::Settings>,
        /// The least role on an environment that sees literal settings in diffs and
        /// comparisons (`access.values_visible_to`).
        pub values_visible_to: crate::access::Role,
    }

    /// The server context of the current request (provided by the server to every render
    /// and server function).
    pub fn server_context() -> Result<ServerContext, crate::error::AppError> {
        leptos::prelude::use_context::<ServerContext>().ok_or_else(|| {
            tracing::error!("server context missing from the request");
            crate::error::AppError::Internal
        })
    }
}
