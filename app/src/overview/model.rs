use serde::{Deserialize, Serialize};

pub use crate::status::model::Health;

/// What the overview page shows, as sent from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub environments: Vec<EnvironmentCard>,
    /// When the server assembled this view, already formatted for people (UTC).
    pub generated_at: String,
    /// How many times this server has answered the overview; lets a client tell a fresh
    /// answer from a cached one.
    pub refresh_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentCard {
    pub name: String,
    pub namespace: String,
    pub health: Health,
    /// One sentence in plain language for people who do not read Kubernetes states.
    pub summary: String,
    /// The application version running there (the most common image tag), if known.
    pub version: Option<String>,
    /// Argo CD's view: "Synced", "OutOfSync"…, with auto-sync on or off.
    pub sync: Option<(String, bool)>,
    /// Rollouts in progress: workload and percent done.
    pub rollouts: Vec<(String, u8)>,
    /// Set when the view is no longer refreshed: since when (RFC 3339).
    pub stale_since: Option<String>,
}
