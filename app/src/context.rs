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
    /// One watch cache per environment, in the order of `environments`; empty when no
    /// cluster is configured.
    pub watches: Arc<Vec<crate::cluster::EnvironmentWatch>>,
}
