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
        "text": chat_text(&text),
        "event": news,
        "request": stored,
    });
    tokio::spawn(async move {
        if let Err(problem) = deliver(&url, &body).await {
            tracing::warn!(%problem, "webhook not delivered");
        }
    });
}

/// The webhook's client: no redirects (a receiver that answers with one could send the
/// request, and the news in it, anywhere), a short timeout.
fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(5))
                .build()
                .ok()
        })
        .as_ref()
}

/// Posts `body` to the webhook. The error says what went wrong without the URL: it holds
/// the receiver's token, and reqwest's errors print it.
pub async fn deliver(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let client = client().ok_or_else(|| "no HTTP client could be made".to_owned())?;
    let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned));
    let host = host.unwrap_or_default();
    let answer = client.post(url).json(body).send().await;
    let answer = answer.map_err(|e| format!("{} (to {host})", e.without_url()))?;
    let status = answer.status();
    if status.is_redirection() {
        return Err(format!("{host} answered {status}, a redirect, which is not followed"));
    }
    if !status.is_success() {
        return Err(format!("{host} answered {status}"));
    }
    Ok(())
}

/// Text for chat tools: Slack and Mattermost read `<…>` as links and mentions
/// (`<!channel>`, `<http://x|click>`), so what people wrote cannot become one.
pub fn chat_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
