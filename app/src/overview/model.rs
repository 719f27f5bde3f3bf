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
}
