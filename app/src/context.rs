//! What server functions can read on the server. The server builds one `ServerContext`
//! at start and provides it to every render and server-function call.

use std::sync::Arc;

/// An environment as configured (the cluster-backed status arrives with the cluster
/// watch caches; until then the overview shows the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentRef {
    pub name: String,
    pub namespace: String,
}

#[derive(Clone)]
pub struct ServerContext {
    pub environments: Arc<Vec<EnvironmentRef>>,
    pub db: sqlx::PgPool,
    /// The environments' watch caches and derived status, in the order of
    /// `environments`; no watches when no cluster is configured.
    pub live: Arc<crate::cluster::live::Live>,
}

/// The server context of the current request (provided by the server to every render and
/// server function).
pub fn server_context() -> Result<ServerContext, crate::error::AppError> {
    leptos::prelude::use_context::<ServerContext>().ok_or_else(|| {
        tracing::error!("server context missing from the request");
        crate::error::AppError::Internal
    })
}
