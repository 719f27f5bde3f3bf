//! How this server runs actions, set at start: a leaf, so the server context can hold it
//! without depending on the action flow that reads it.

/// How the server runs actions: its name (recorded as the executor) and where to announce
/// requests and their outcomes.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub host: String,
    /// Outgoing webhook (Slack and Mattermost incoming-webhook compatible), if any.
    pub webhook: Option<String>,
}
