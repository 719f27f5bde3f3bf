//! Telling people: the overview's per-environment flags (pending approvals, unacknowledged
//! break-glass runs) and the optional outgoing webhook.

use std::time::Duration;

use crate::actions::store::{self, Stored};
use crate::context::ServerContext;

/// Re-reads what the overview flags per environment (pending requests, unacknowledged
/// break-glass runs) and shows it on the live pages.
pub async fn refresh_attention(context: &ServerContext) {
    match store::attention(&context.db).await {
        Ok(counts) => context.live.set_attention(&counts),
        Err(error) => tracing::warn!(%error, "cannot count pending requests"),
    }
}

pub(super) fn refresh_attention_soon(context: &ServerContext) {
    let context = context.clone();
    tokio::spawn(async move { refresh_attention(&context).await });
}

/// Announces a request's news on the webhook, in the background (a slow or failing
/// receiver never holds up an action). The body has a `text` line for chat tools and
/// the whole request for anything else.
pub(super) fn notify(context: &ServerContext, stored: &Stored, news: &str) {
    let Some(url) = context.actions.webhook.clone() else { return };
    let text = format!(
        "Gantry: {} on {} — {} ({}) by {}: {}{}",
        stored.action.replace('_', " "),
        stored.environment,
        stored.preview,
        news,
        stored.requested_by_name,
        stored.state.as_str(),
        stored.result.as_deref().map(|r| format!(" — {r}")).unwrap_or_default(),
    );
    let body = serde_json::json!({
        "text": text,
        "event": news,
        "request": stored,
    });
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let sent = client.post(&url).timeout(Duration::from_secs(5)).json(&body).send().await;
        match sent.map(reqwest::Response::error_for_status) {
            Ok(Ok(_)) => {}
            Ok(Err(error)) | Err(error) => tracing::warn!(%error, "webhook not delivered"),
        }
    });
}
