//! On the server, what server functions can read: one `ServerContext` built at start and
//! provided to every render and server-function call.

use std::sync::Arc;

use crate::config::EnvironmentConfig;

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
    pub actions: Arc<crate::actions::settings::Settings>,
    /// The least role on an environment that sees literal settings in diffs and
    /// comparisons (`access.values_visible_to`).
    pub values_visible_to: crate::access::Role,
    /// Prometheus and the cache in front of it, when `[prometheus]` is configured.
    pub monitoring: Option<Arc<crate::monitoring::Monitoring>>,
    /// When each environment's last good backup finished (kept by `backups::recorder`).
    pub backups: Arc<crate::backups::known::Known>,
    /// The record pages' newest rows, kept between writes (`records`).
    pub records: Arc<crate::records::Records>,
}

/// The server context of the current request (provided by the server to every render
/// and server function).
pub fn server_context() -> Result<ServerContext, crate::error::AppError> {
    leptos::prelude::use_context::<ServerContext>().ok_or_else(|| {
        tracing::error!("server context missing from the request");
        crate::error::AppError::Internal
    })
}
